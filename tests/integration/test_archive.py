"""The archive side: `dumpfs backup`, `dumpfs check`, `dumpfs verify`,
retention, the run lock, the state and crash recovery, against a real
MariaDB server and a real GnuPG key pair (no mount needed).

Self-contained on purpose: it uses the harness' Server and GpgKey and writes
its own configs, so it does not depend on fixtures still being built.
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from harness.dumpfs import assert_no_sanitizer, child_env, dumpfs_bin, run_dumpfs
from harness.config import write_config
from harness.gpg import GpgKey
from harness.server import Server, free_port
from harness.workspace import Workspace

NAME_RE = re.compile(r"^mariadb_\d{4}-\d\d-\d\d_\d{6}\.sql\.gz\.gpg$")
DAY = 86400


def popen_dumpfs(args, config):
    env = child_env(config)
    return subprocess.Popen([dumpfs_bin()] + args, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class Env(Workspace):
    """A server with a small and a large database, the backup account, the
    configured key pair and a stranger's key, and a scratch directory."""

    prefix = "arch"

    def setup(self):
        self.server = self.own(Server(name="arch")).start()
        self.server.run_sql(
            "CREATE DATABASE shop;"
            "CREATE TABLE shop.item (id INT PRIMARY KEY, name VARCHAR(40));"
            "INSERT INTO shop.item VALUES (1,'apple'),(2,'pear');"
            # Large enough that a backup runs for a few seconds.
            "CREATE DATABASE big;"
            "CREATE TABLE big.t (id INT PRIMARY KEY, h CHAR(64), p VARCHAR(200));")
        self.server.run_sql(
            "INSERT INTO t SELECT seq, SHA2(seq,256), CONCAT(MD5(seq), SHA1(seq))"
            " FROM seq_1_to_400000;", db="big")
        self.user = self.server.create_backup_user()
        self.key = self.own(GpgKey())
        self.other_key = self.own(GpgKey(uid="Someone Else <else@test.local>"))

    def config(self, archive_dir, databases="shop", port=None, key=None, **archive):
        """Writes a config file; returns its path."""
        path = self.next_config_path()
        extra = {"archive": {k: str(v) for k, v in archive.items()}}
        if port:
            extra["mariadb"] = {"port": str(port)}
        return write_config(path, self.server, key or self.key, user=self.user,
                            databases=[databases], archive_dir=archive_dir, extra=extra,
                            fingerprint=False)

    archive_dir = Workspace.subdir


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


def backups(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".sql.gz.gpg"))


def temporaries(d):
    return [n for n in os.listdir(d) if ".tmp-" in n]


def read_state(d):
    state = {}
    with open(os.path.join(d, ".dumpfs-state")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                state[k] = v
    return state


def name_for(t):
    return "mariadb_%s.sql.gz.gpg" % time.strftime("%Y-%m-%d_%H%M%S", time.localtime(t))


def plant(d, src, t):
    """A copy of backup `src` named for time t, with its own sidecar."""
    name = name_for(t)
    shutil.copyfile(os.path.join(d, src), os.path.join(d, name))
    with open(os.path.join(d, name), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(d, name + ".sha256"), "w") as f:
        f.write("%s  %s\n" % (digest, name))
    return name


def wait_for_temporary(d, proc, timeout=60):
    """Waits for the backup's own temporary (not the state file's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if [n for n in temporaries(d) if n.startswith(".mariadb_")]:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no temporary appeared in %s" % d)


def test_backup_twice_makes_verifiable_archives(env):
    d = env.archive_dir("twice")
    cfg = env.config(d)
    for _ in range(2):
        res = run_dumpfs(["backup"], cfg)
        assert res.returncode == 0, res.stderr.decode()
    names = backups(d)
    assert len(names) == 2 and names[0] != names[1]
    for n in names:
        assert NAME_RE.match(n), n
        with open(os.path.join(d, n + ".sha256")) as f:
            assert re.fullmatch(r"[0-9a-f]{64}  %s\n" % re.escape(n), f.read())
        plain = subprocess.run(["gunzip"], input=env.key.decrypt(os.path.join(d, n)),
                               stdout=subprocess.PIPE, check=True).stdout
        assert b"apple" in plain
        assert plain.rstrip().endswith(b"-- dumpfs: dump completed")
    res = subprocess.run(["sha256sum", "-c"] + [n + ".sha256" for n in names], cwd=d,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert res.returncode == 0, res.stdout.decode()
    assert temporaries(d) == []
    st = read_state(d)
    assert st["successes"] == "2" and st["last_file"] == names[1]
    assert st["last_error"] == "" and st["started"] == "0"
    res = run_dumpfs(["check"], cfg)
    assert res.returncode == 0
    assert re.fullmatch(r"OK \d+ %s\n" % re.escape(names[1]), res.stdout.decode())
    res = run_dumpfs(["verify"] + [os.path.join(d, n) for n in names], cfg)
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()
    assert res.stdout.decode() == "".join("%s: OK\n" % os.path.join(d, n) for n in names)


def test_second_backup_while_one_runs_is_refused(env):
    d = env.archive_dir("concurrent")
    cfg = env.config(d, databases="big")
    first = popen_dumpfs(["backup"], cfg)
    try:
        wait_for_temporary(d, first)
        res = run_dumpfs(["backup"], cfg)
        assert res.returncode != 0
        assert ("another backup is running (pid %d)" % first.pid) in res.stderr.decode()
    finally:
        out, err = first.communicate(timeout=600)
    assert_no_sanitizer(err)
    assert first.returncode == 0, err.decode()
    assert len(backups(d)) == 1 and temporaries(d) == []
    st = read_state(d)
    assert st["successes"] == "1" and st["failures"] == "0"


def test_retention_keeps_min_keep_and_foreign_files(env):
    d = env.archive_dir("retention")
    cfg = env.config(d, keep_days=30, min_keep=4)
    assert run_dumpfs(["backup"], cfg).returncode == 0
    real = backups(d)[0]
    now = time.time()
    old = [plant(d, real, now - k * DAY) for k in (40, 35, 31)]
    recent = plant(d, real, now - 10 * DAY)
    foreign = ["other_2000-01-01_000000.sql.gz.gpg", "notes.txt",
               "mariadb_2000-01-01_000000.sql.gz", "mariadb_2000-01-01_000000.sql.gz.gpg.bak"]
    for n in foreign:
        with open(os.path.join(d, n), "w") as f:
            f.write("not ours\n")
    old_time = now - 400 * DAY
    os.utime(os.path.join(d, "notes.txt"), (old_time, old_time))
    time.sleep(1.1)  # a new name
    res = run_dumpfs(["backup"], cfg)
    assert res.returncode == 0, res.stderr.decode()
    # 6 backups, 3 past keep_days, min_keep 4: only the 2 oldest go.
    left = backups(d)
    assert old[0] not in left and old[1] not in left
    assert not os.path.exists(os.path.join(d, old[0] + ".sha256"))
    assert not os.path.exists(os.path.join(d, old[1] + ".sha256"))
    assert old[2] in left and os.path.exists(os.path.join(d, old[2] + ".sha256"))
    assert recent in left and real in left
    assert len([n for n in left if n.startswith("mariadb_")]) == 4
    for n in foreign:
        assert os.path.exists(os.path.join(d, n)), n
    assert "prune" in res.stderr.decode()
    # min_keep 1: the 31-day-old one goes too; recent ones never.
    cfg1 = env.config(d, keep_days=30, min_keep=1)
    time.sleep(1.1)
    assert run_dumpfs(["backup"], cfg1).returncode == 0
    left = backups(d)
    assert old[2] not in left and recent in left and real in left
    for n in foreign:
        assert os.path.exists(os.path.join(d, n)), n


def test_failed_run_prunes_nothing_and_records_the_error(env):
    d = env.archive_dir("failed")
    cfg = env.config(d, keep_days=1, min_keep=1)
    assert run_dumpfs(["backup"], cfg).returncode == 0
    real = backups(d)[0]
    old = plant(d, real, time.time() - 10 * DAY)
    before = sorted(os.listdir(d))
    # The server is down for this config: nothing listens on the port.
    down = env.config(d, port=free_port(), keep_days=1, min_keep=1)
    res = run_dumpfs(["backup"], down)
    assert res.returncode != 0
    assert "127.0.0.1" in res.stderr.decode()
    after = sorted(os.listdir(d))
    assert after == before and old in after
    st = read_state(d)
    assert st["failures"] == "1" and st["successes"] == "1"
    assert st["last_error"] and int(st["last_error_at"]) > 0
    assert st["started"] == "0"
    # The older backup is still fresh: health stays OK.
    res = run_dumpfs(["check"], cfg)
    assert res.returncode == 0 and res.stdout.decode().startswith("OK ")
    # A later success clears the error.
    assert run_dumpfs(["backup"], cfg).returncode == 0
    st = read_state(d)
    assert st["last_error"] == "" and st["last_error_at"] == "0"
    assert old not in backups(d)


def plant_named(d, template, name):
    """A copy of the backup file `template` as `name` in d, with a sidecar."""
    shutil.copyfile(template, os.path.join(d, name))
    with open(template, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(d, name + ".sha256"), "w") as f:
        f.write("%s  %s\n" % (digest, name))
    return name


def visible(d):
    return sorted(n for n in os.listdir(d) if not n.startswith("."))


def stamp(s):
    return "mariadb_%s.sql.gz.gpg" % s


TIERS = dict(keep_days=0, keep_daily=2, keep_monthly=3, keep_yearly=3, min_keep=1)


def test_retention_tiers_through_backup_then_prune(env):
    """Issue 11: daily/monthly/yearly tiers applied by `dumpfs backup`
    (after a success only), then `dumpfs prune --dry-run` and `dumpfs
    prune`.  The planted backups are years old so the expectation does not
    depend on today's date; the new backup is today's."""
    scratch = env.archive_dir("tiers-template")
    assert run_dumpfs(["backup"], env.config(scratch)).returncode == 0
    template = os.path.join(scratch, backups(scratch)[0])
    d = env.archive_dir("tiers")
    planted = {k: plant_named(d, template, stamp(v)) for k, v in {
        "p1": "2023-06-15_020000",
        "p2": "2023-12-31_230000",  # the newest of 2023
        "p3": "2024-01-31_020000",  # the newest of January 2024
        "p4": "2024-02-15_020000",
        "p5": "2024-02-15_140000",  # two on one day
        "p6": "2024-02-16_020000",  # the newest of 2024
    }.items()}
    with open(os.path.join(d, "notes.txt"), "w") as f:
        f.write("not ours\n")

    # A failed run deletes nothing (it only adds the hidden lock and state).
    before = visible(d)
    down = env.config(d, port=free_port(), **TIERS)
    assert run_dumpfs(["backup"], down).returncode == 1
    assert visible(d) == before

    cfg = env.config(d, **TIERS)
    res = run_dumpfs(["backup"], cfg)
    assert res.returncode == 0, res.stderr.decode()
    new = [n for n in backups(d) if n not in planted.values()]
    assert len(new) == 1
    # daily 2: today (new) and 2024-02-16 (p6); monthly 3: this month,
    # Feb 2024 (p6), Jan 2024 (p3); yearly 3: this year, 2024 (p6), 2023 (p2).
    kept = [new[0], planted["p6"], planted["p3"], planted["p2"]]
    assert backups(d) == sorted(kept), res.stderr.decode()
    for n in kept:
        assert os.path.exists(os.path.join(d, n + ".sha256")), n
    for k in ("p1", "p4", "p5"):
        assert not os.path.exists(os.path.join(d, planted[k] + ".sha256")), k
    assert os.path.exists(os.path.join(d, "notes.txt"))
    assert "retention_skipped" not in res.stderr.decode()

    # Two more old ones, then prune with the same rules.
    p7 = plant_named(d, template, stamp("2024-02-10_020000"))
    p8 = plant_named(d, template, stamp("2022-05-01_020000"))
    want = ("keep %s daily,monthly,yearly,min_keep\n"
            "keep %s daily,monthly,yearly\n"
            "delete %s\n"
            "keep %s monthly\n"
            "keep %s yearly\n"
            "delete %s\n") % (new[0], planted["p6"], p7, planted["p3"], planted["p2"], p8)
    before = visible(d)
    res = run_dumpfs(["prune", "--dry-run"], cfg)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout.decode() == want
    assert visible(d) == before

    res = run_dumpfs(["prune", "-c", cfg], None)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout.decode() == want
    assert backups(d) == sorted(kept)
    for n in (p7, p8):
        assert not os.path.exists(os.path.join(d, n + ".sha256")), n
    for n in kept:
        assert os.path.exists(os.path.join(d, n + ".sha256")), n
    assert os.path.exists(os.path.join(d, "notes.txt"))
    # Nothing left to delete.
    res = run_dumpfs(["prune"], cfg)
    assert res.returncode == 0 and "delete" not in res.stdout.decode()


def test_prune_usage_and_run_lock(env):
    d = env.archive_dir("prune-lock")
    assert run_dumpfs(["prune", "--bogus"]).returncode == 2
    cfg = env.config(d, databases="big", keep_days=1, min_keep=1)
    assert run_dumpfs(["prune", "extra"], cfg).returncode == 2
    # An empty archive: nothing to say, success.
    res = run_dumpfs(["prune"], cfg)
    assert res.returncode == 0 and res.stdout == b"", res.stderr.decode()
    assert run_dumpfs(["backup"], cfg).returncode == 0
    old = plant(d, backups(d)[0], time.time() - 10 * DAY)
    # While a backup runs, prune deletes nothing and says why.
    time.sleep(1.1)
    running = popen_dumpfs(["backup"], cfg)
    try:
        wait_for_temporary(d, running)
        res = run_dumpfs(["prune"], cfg)
        assert res.returncode == 1
        err = res.stderr.decode()
        assert "another backup is running (pid %d)" % running.pid in err, err
        assert res.stdout == b""
        assert os.path.exists(os.path.join(d, old))
        # A dry run does not need the lock.
        res = run_dumpfs(["prune", "--dry-run"], cfg)
        assert res.returncode == 0 and ("delete %s\n" % old) in res.stdout.decode()
        assert os.path.exists(os.path.join(d, old))
    finally:
        out, err = running.communicate(timeout=600)
    assert_no_sanitizer(err)
    assert running.returncode == 0, err.decode()
    # The backup's own retention removed it.
    assert old not in backups(d)
    # A backup dated in the future (a clock that ran ahead): measuring from
    # it would delete the real ones, so prune deletes nothing and says why.
    left = backups(d)
    future = plant(d, left[-1], time.time() + 3 * DAY)
    res = run_dumpfs(["prune"], cfg)
    assert res.returncode == 1, res.stdout.decode()
    assert "dated in the future" in res.stderr.decode(), res.stderr.decode()
    assert backups(d) == sorted(left + [future])


def test_check_exit_codes(env):
    d = env.archive_dir("check")
    cfg = env.config(d, max_age_hours=26)
    res = run_dumpfs(["check"], cfg)
    assert (res.returncode, res.stdout.decode()) == (2, "NONE no backup found\n")
    assert run_dumpfs(["backup"], cfg).returncode == 0
    real = backups(d)[0]
    res = run_dumpfs(["check"], cfg)
    assert res.returncode == 0
    assert re.fullmatch(r"OK \d+ %s\n" % re.escape(real), res.stdout.decode())
    # Only an old backup left: CRITICAL with its age.
    stale_dir = env.archive_dir("check-stale")
    t = time.time() - 30 * 3600
    shutil.copyfile(os.path.join(d, real), os.path.join(stale_dir, name_for(t)))
    res = run_dumpfs(["check"], env.config(stale_dir, max_age_hours=26))
    assert res.returncode == 1
    m = re.fullmatch(r"CRITICAL (\d+) %s older than 26h\n" % re.escape(name_for(t)),
                     res.stdout.decode())
    assert m and abs(int(m.group(1)) - 30 * 3600) < 60
    # Could not tell: missing dir, a file instead of a dir, a bad config.
    res = run_dumpfs(["check"], env.config(os.path.join(env.dir, "nope")))
    assert res.returncode == 3 and res.stdout.decode().startswith("UNKNOWN ")
    assert "nope" in res.stderr.decode()
    res = run_dumpfs(["check"], env.config(os.path.join(d, real)))
    assert res.returncode == 3
    bad = env.config(d)
    with open(bad, "a") as f:
        f.write("no_such_key = 1\n")
    res = run_dumpfs(["check"], bad)
    assert res.returncode == 3 and "no_such_key" in res.stderr.decode()
    res = run_dumpfs(["check"], os.path.join(env.dir, "missing.ini"))
    assert res.returncode == 3


def test_verify_reasons(env):
    d = env.archive_dir("verify")
    cfg = env.config(d)
    assert run_dumpfs(["backup"], cfg).returncode == 0
    good = os.path.join(d, backups(d)[0])
    work = env.archive_dir("verify-work")
    # A corrupted byte in a copy whose sidecar matches the original.
    bad = os.path.join(work, os.path.basename(good))
    shutil.copyfile(good, bad)
    shutil.copyfile(good + ".sha256", bad + ".sha256")
    with open(bad, "r+b") as f:
        f.seek(os.path.getsize(bad) // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0xFF]))
    nosum = os.path.join(work, "mariadb_2001-01-01_000000.sql.gz.gpg")
    shutil.copyfile(good, nosum)
    res = run_dumpfs(["verify", good, bad, nosum], cfg)
    assert res.returncode == 1
    lines = res.stdout.decode().splitlines()
    assert lines[0] == good + ": OK"
    assert lines[1].startswith(bad + ": ") and "sha256 does not match" in lines[1]
    assert lines[2] == "%s: missing sidecar '%s.sha256'" % (nosum, nosum)
    # Truncated, with a sidecar that matches the truncated bytes: the
    # OpenPGP framing catches it.
    trunc = os.path.join(work, "mariadb_2002-01-01_000000.sql.gz.gpg")
    with open(good, "rb") as f:
        data = f.read()[:-7]
    with open(trunc, "wb") as f:
        f.write(data)
    with open(trunc + ".sha256", "w") as f:
        f.write("%s  %s\n" % (hashlib.sha256(data).hexdigest(), os.path.basename(trunc)))
    res = run_dumpfs(["verify", trunc], cfg)
    assert res.returncode == 1 and "truncated" in res.stdout.decode()
    # The same good file checked against another configured key.
    res = run_dumpfs(["verify", good], env.config(d, key=env.other_key))
    assert res.returncode == 1
    assert "not to the configured key %s" % env.other_key.fingerprint in res.stdout.decode()
    res = run_dumpfs(["verify"], cfg)
    assert res.returncode == 2


def test_kill9_during_backup_is_a_failure_and_cleaned(env):
    d = env.archive_dir("kill9")
    cfg = env.config(d, databases="big")
    proc = popen_dumpfs(["backup"], cfg)
    wait_for_temporary(d, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert backups(d) == [] and len(temporaries(d)) == 1
    st = read_state(d)
    assert st["started"] != "0" and st["started_pid"] == str(proc.pid)
    # No stale lock: the next backup runs, removes the temporary and
    # records the killed run as a failure (once).
    small = env.config(d)
    res = run_dumpfs(["backup"], small)
    assert res.returncode == 0, res.stderr.decode()
    assert temporaries(d) == [] and len(backups(d)) == 1
    assert "stale_temporary" in res.stderr.decode()
    st = read_state(d)
    assert st["failures"] == "1" and st["successes"] == "1" and st["started"] == "0"


def test_sigterm_cancels_backup_cleanly(env):
    d = env.archive_dir("sigterm")
    cfg = env.config(d, databases="big")
    proc = popen_dumpfs(["backup"], cfg)
    wait_for_temporary(d, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert_no_sanitizer(err)
    assert proc.returncode == 1
    assert backups(d) == [] and temporaries(d) == []
    st = read_state(d)
    assert st["failures"] == "1" and "cancel" in st["last_error"]
    assert st["started"] == "0"
