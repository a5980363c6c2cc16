"""Hostile conditions on the archive side (issue 9, docs/security.md): a
clock that jumps a year ahead and back, failures after a backup is linked
into place, backups without a sidecar, and temporary GnuPG homes left by a
SIGKILL.  Real MariaDB, real gpg, real files; the clock is moved with
libfaketime (Debian package `faketime`) around the real binary.
"""

import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from harness.config import write_config
from harness.dumpfs import assert_no_sanitizer, child_env, dumpfs_bin, run_dumpfs
from harness.gpg import GpgKey
from harness.mount import Mount
from harness.server import Server
from harness.workspace import Workspace
from sinks import HttpSink
from test_archive import backups, name_for, plant, temporaries, wait_for_temporary

DAY = 86400
NOBODY = pwd.getpwnam("nobody").pw_uid
NOGROUP = grp.getgrnam("nogroup").gr_gid
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


class Env(Workspace):
    """A small server (database shop), the backup account, a key pair, a
    webhook sink and a scratch directory."""

    prefix = "host"

    def setup(self):
        self.server = self.own(Server(name="host")).start()
        self.server.run_sql(
            "CREATE DATABASE shop;"
            "CREATE TABLE shop.item (id INT PRIMARY KEY, name VARCHAR(40));"
            "INSERT INTO shop.item VALUES (1,'apple'),(2,'pear');"
            # Large enough that a backup runs for a few seconds.
            "CREATE DATABASE big;"
            "CREATE TABLE big.t (id INT PRIMARY KEY, h CHAR(64), p VARCHAR(200));")
        self.server.run_sql(
            "INSERT INTO t SELECT seq, SHA2(seq,256), CONCAT(MD5(seq), SHA1(seq))"
            " FROM seq_1_to_300000;", db="big")
        self.user = self.server.create_backup_user()
        self.key = self.own(GpgKey(expire="3y"))  # still valid with the clock a year ahead
        self.http = self.own(HttpSink())
        self.hook = self.secret("webhook", self.http.url("/hook"))

    def config(self, archive_dir, databases="shop", where=None, extra=None, **archive):
        path = self.next_config_path(where)
        sections = {"archive": {k: str(v) for k, v in archive.items()},
                    "notify": {"webhook_url_file": self.hook}}
        for sect, kv in (extra or {}).items():
            sections.setdefault(sect, {}).update(kv)
        return write_config(path, self.server, self.key, user=self.user,
                            databases=[databases], archive_dir=archive_dir,
                            extra=sections, fingerprint=False)

    def nobody(self, databases="shop"):
        """An archive dir, a config and its secrets owned by `nobody`, for
        runs that must not have root's powers (root reads any directory).
        Returns (archive dir, config, argv prefix, environment)."""
        base = tempfile.mkdtemp(prefix="nobody-", dir=self.dir)
        os.chmod(self.dir, 0o755)
        os.chmod(base, 0o755)
        arch, home = os.path.join(base, "archive"), os.path.join(base, "gnupg")
        os.mkdir(arch, 0o700)
        os.mkdir(home, 0o700)
        pw, pub = os.path.join(base, "password"), os.path.join(base, "key.asc")
        shutil.copyfile(self.user.password_file, pw)
        shutil.copyfile(self.key.public_key_file, pub)
        cfg = self.config(arch, databases=databases, where=base, extra={
            "mariadb": {"password_file": pw}, "gpg": {"public_key_file": pub},
            "notify": {"webhook_url_file": None}})
        for p in (base, arch, home, pw, pub, cfg):
            os.chown(p, NOBODY, NOGROUP)
        os.chmod(pw, 0o600)
        env = child_env(cfg, gnupghome=home)
        env["HOME"] = base
        argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOGROUP, "--clear-groups",
                "--", dumpfs_bin()]
        return arch, cfg, argv, env

    archive_dir = Workspace.subdir


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


def faketime_env(config, offset):
    """The environment for dumpfs with its clock moved by `offset`
    (libfaketime syntax, e.g. "+365d"); the children (gpg) get the same
    clock, as with a real jump.

    With the ASan build: LD_PRELOAD=libfaketime alone makes ASan abort
    ("ASan runtime does not come first in initial library list"), and
    preloading libasan first makes the non-ASan children hang (gpgconf,
    spawned by gpgme, deadlocks in start-up under libasan + libfaketime).
    What works: libfaketime alone in LD_PRELOAD and ASan told not to
    insist on coming first (verify_asan_link_order=0); the sanitizers still
    run in dumpfs."""
    if not os.path.exists(FAKETIME_LIB):
        pytest.fail("libfaketime is missing: tests/deps.sh test installs `faketime`")
    env = child_env(config)
    env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
    env["LD_PRELOAD"] = FAKETIME_LIB
    env["FAKETIME"] = offset
    return env


def test_clock_a_year_ahead_prunes_nothing_then_health_says_future(env):
    d = env.archive_dir("clock")
    cfg = env.config(d, keep_days=30, min_keep=2, max_age_hours=26)
    res = run_dumpfs(["backup"], cfg)
    assert res.returncode == 0, res.stderr.decode()
    first = backups(d)[0]
    now = time.time()
    real = sorted([first] + [plant(d, first, now - k * DAY) for k in (1, 2, 5, 20)])
    env.http.clear()

    # One run with the clock a year ahead.
    res = subprocess.run([dumpfs_bin(), "backup"], env=faketime_env(cfg, "+365d"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=60)
    err = res.stderr.decode()
    assert_no_sanitizer(err)
    assert res.returncode == 0, err
    ahead = [n for n in backups(d) if n not in real]
    assert len(ahead) == 1, backups(d)
    year = int(time.strftime("%Y", time.localtime(now + 365 * DAY)))
    assert ahead[0].startswith("mariadb_%d-" % year), ahead  # the fake clock worked
    assert os.path.exists(os.path.join(d, ahead[0] + ".sha256"))
    # Every real backup is still there, retention said why it skipped.
    assert backups(d) == sorted(real + ahead)
    assert "retention_skipped" in err and "prune file=" not in err, err
    assert "clock may have jumped" in err and "keep_days = 30" in err, err
    # The run succeeded, and a notice went out (on = failure by default).
    posts = [json.loads(r["body"]) for r in env.http.wait(1)]
    skipped = [p for p in posts if "retention skipped" in p["message"]]
    assert len(skipped) == 1, posts
    assert skipped[0]["status"] == "error" and ahead[0] in skipped[0]["message"]

    # The clock is fixed: health is CRITICAL, whatever the age says.
    res = run_dumpfs(["check"], cfg)
    assert res.returncode == 1, res.stdout.decode() + res.stderr.decode()
    assert re.fullmatch(r"CRITICAL \d+ %s dated in the future\n" % re.escape(ahead[0]),
                        res.stdout.decode())
    # The next real run does not measure retention from the future either.
    time.sleep(1.1)
    res = run_dumpfs(["backup"], cfg)
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert "dated in the future" in err and "prune file=" not in err, err
    left = backups(d)
    assert all(n in left for n in real + ahead) and len(left) == len(real) + 2
    # Once the operator moves it away, retention and health are normal.
    for n in (ahead[0], ahead[0] + ".sha256"):
        os.rename(os.path.join(d, n), os.path.join(env.dir, n))
    res = run_dumpfs(["check"], cfg)
    assert res.returncode == 0 and res.stdout.decode().startswith("OK "), res.stdout


def sidecars(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".sha256"))


def test_failure_after_link_leaves_no_backup_without_sidecar(env):
    """The backup is linked into place, then syncing the directory fails
    (it lost its read permission mid-run: a real EACCES for a non-root
    user, who may still create, link and unlink in it).  The run fails
    and nothing is left that would pass for a complete backup."""
    d, cfg, argv, penv = env.nobody(databases="big")
    proc = subprocess.Popen(argv + ["backup", "-c", cfg], env=penv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_temporary(d, proc)
        os.chmod(d, 0o300)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.chmod(d, 0o700)
    err = err.decode()
    assert_no_sanitizer(err)
    assert proc.returncode == 1, err
    assert "cannot sync directory" in err, err
    assert backups(d) == [] and sidecars(d) == [], os.listdir(d)
    assert temporaries(d) == [], os.listdir(d)
    assert "backup_removed" in err, err


def test_backup_without_sidecar_is_reported_at_start(env):
    d = env.archive_dir("lone")
    cfg = env.config(d)
    assert run_dumpfs(["backup"], cfg).returncode == 0
    real = backups(d)[0]
    lone = name_for(time.time() - DAY)
    shutil.copyfile(os.path.join(d, real), os.path.join(d, lone))
    time.sleep(1.1)
    res = run_dumpfs(["backup"], cfg)
    err = res.stderr.decode()
    assert res.returncode == 0, err
    lines = [l for l in err.splitlines() if "backup_without_sidecar" in l]
    assert len(lines) == 1 and lone in lines[0] and " warn " in lines[0], err


def read(path):
    with open(path) as f:
        return f.read()


def test_mount_status_when_the_archive_dir_breaks(env):
    """status/ of a mount whose archive dir cannot be read any more (here
    replaced by a file: ENOTDIR even for root) says so: CRITICAL,
    dumpfs_up 0, archive_error; the reads themselves succeed.  The mount
    also reports, at start, a backup without a sidecar, and removes the
    temporary of a state save that a crash cut short."""
    d = env.archive_dir("broken")
    cfg = env.config(d)
    assert run_dumpfs(["backup"], cfg).returncode == 0
    real = backups(d)[0]
    lone = name_for(time.time() - DAY)
    shutil.copyfile(os.path.join(d, real), os.path.join(d, lone))
    cut_save = os.path.join(d, "..dumpfs-state.tmp-Ab12Cd")
    with open(cut_save, "w") as f:
        f.write("half a state file")
    m = Mount(cfg, os.path.join(env.dir, "mnt-broken"))
    try:
        assert not os.path.exists(cut_save), m.log()
        lines = [l for l in m.log().splitlines() if "backup_without_sidecar" in l]
        assert len(lines) == 1 and lone in lines[0], m.log()
        st = m.status()
        assert st["state"] == "ok" and st["missing_sidecars"] == [lone], st
        assert "dumpfs_archive_missing_sidecars 1\n" in read(m.path("status/metrics.prom"))

        moved = d + ".away"
        os.rename(d, moved)
        with open(d, "w") as f:
            f.write("not a directory\n")
        health = read(m.path("status/health"))
        assert health.startswith("CRITICAL cannot read archive directory '%s'" % d), health
        assert "Not a directory" in health
        st = m.status()
        assert st["state"] == "critical" and "Not a directory" in st["archive_error"], st
        metrics = read(m.path("status/metrics.prom"))
        assert "\ndumpfs_up 0\n" in metrics and "\ndumpfs_healthy 0\n" in metrics, metrics
        assert read(m.path("status/age_seconds")) == "\n"
        assert os.stat(m.path("status/health")).st_size == len(health)

        # Back: healthy again, nothing cached.
        os.unlink(d)
        os.rename(moved, d)
        assert read(m.path("status/health")).startswith("OK ")
        assert "\ndumpfs_up 1\n" in read(m.path("status/metrics.prom"))
    finally:
        if os.path.isfile(d):
            os.unlink(d)
            os.rename(d + ".away", d)
        assert m.stop() == 0


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_stale_gpg_homes_are_swept_live_ones_kept(env):
    """A SIGKILLed dumpfs leaves its GnuPG homes in TMPDIR; the next run
    removes those of dead processes only: never one whose pid is alive,
    nor one whose lock is held (a live owner in another pid namespace)."""
    import fcntl
    tmp = tempfile.mkdtemp(prefix="tmpdir-", dir=env.dir)
    live = subprocess.Popen(["sleep", "300"])
    try:
        dead = dead_pid()
        names = {
            "stale_gpg": "dumpfs-gpg-%d-Ab12Cd" % dead,
            "stale_v": "dumpfs-v-%d-Zz99aa" % dead,
            "live_gpg": "dumpfs-gpg-%d-Ef34Gh" % live.pid,
            "live_v": "dumpfs-v-%d-Ij56Kl" % live.pid,
            "held": "dumpfs-gpg-%d-Mn78Op" % dead,
            "old_format": "dumpfs-gpg-Qr90St",       # no pid: not ours to judge
            "not_a_dir": "dumpfs-v-%d-Uv12Wx" % dead,
        }
        for key, n in names.items():
            p = os.path.join(tmp, n)
            if key == "not_a_dir":
                with open(p, "w") as f:
                    f.write("x")
            else:
                os.mkdir(p, 0o700)
                with open(os.path.join(p, "pubring.kbx"), "w") as f:
                    f.write("x")
        held = os.open(os.path.join(tmp, names["held"]), os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(held, fcntl.LOCK_SH)
        try:
            d = env.archive_dir("sweep")
            cfg = env.config(d)
            penv = child_env(cfg)
            penv["TMPDIR"] = tmp
            res = subprocess.run([dumpfs_bin(), "backup"], env=penv, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        finally:
            os.close(held)
        err = res.stderr.decode()
        assert_no_sanitizer(err)
        assert res.returncode == 0, err
        left = sorted(os.listdir(tmp))
        assert names["stale_gpg"] not in left and names["stale_v"] not in left, left
        for key in ("live_gpg", "live_v", "held", "old_format", "not_a_dir"):
            assert names[key] in left, (key, left)
        assert len([l for l in err.splitlines() if "stale_gpg_home" in l]) == 2, err
        # The run removed its own home too: nothing else is left.
        assert len(left) == 5, left
    finally:
        live.kill()
        live.wait()


def test_home_of_a_killed_backup_is_swept_by_the_next(env):
    tmp = tempfile.mkdtemp(prefix="tmpdir-", dir=env.dir)
    d = env.archive_dir("killed")
    penv = child_env(env.config(d, databases="big"))
    penv["TMPDIR"] = tmp
    proc = subprocess.Popen([dumpfs_bin(), "backup"], env=penv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_temporary(d, proc)
    proc.kill()
    proc.communicate()
    mine = [n for n in os.listdir(tmp) if n.startswith("dumpfs-gpg-%d-" % proc.pid)]
    assert len(mine) == 1, os.listdir(tmp)
    penv = child_env(env.config(d))
    penv["TMPDIR"] = tmp
    res = subprocess.run([dumpfs_bin(), "backup"], env=penv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    err = res.stderr.decode()
    assert_no_sanitizer(err)
    assert res.returncode == 0, err
    assert os.listdir(tmp) == [], os.listdir(tmp)
    assert "stale_gpg_home" in err and mine[0] in err, err
