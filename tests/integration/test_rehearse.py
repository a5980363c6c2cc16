"""`dumpfs rehearse` (docs/rehearse.md): a dump restored into a throwaway
server, re-read and compared with its trailer lines.

- a good backup of the corpus (every object kind): exit 0, JSON ok, every
  table of the trailer listed with its rows; the text form too;
- one row altered after dumping (decrypted, edited, re-encrypted, the
  trailer left as it was): exit 1 naming that table and only it;
- a table's data missing; a dump cut short (re-encrypted, and the
  encrypted file itself cut): exit 1, the reason named;
- after each: no throwaway directory, socket or server process left;
  nor after SIGTERM in the middle of the restore;
- a failed rehearsal is alerted through [notify] (a real local webhook
  sink); a config with only [notify] is enough;
- the throwaway server's files hold no plaintext of the rows.
Reuses test_restore.py's Env (source server with the corpus, key).
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from harness.dumpfs import assert_no_sanitizer, child_env, dumpfs_bin, run_dumpfs
from sinks import HttpSink
from test_restore import Env

DB = "rehearse_t"
SETUP_SQL = """
CREATE DATABASE %(db)s;
USE %(db)s;
CREATE TABLE %(db)s.notes (id INT PRIMARY KEY, body VARCHAR(100) NOT NULL);
INSERT INTO %(db)s.notes SELECT seq, CONCAT('hello world ', seq) FROM seq_1_to_500;
CREATE TABLE %(db)s.gone (id INT PRIMARY KEY, v DOUBLE, note TEXT);
INSERT INTO %(db)s.gone SELECT seq, seq / 7, IF(seq %% 3, NULL, 'x') FROM seq_1_to_300;
""" % {"db": DB}


class RehearseEnv(Env):
    def __init__(self):
        super().__init__()
        self.src.run_sql(SETUP_SQL)
        self.backup = self.new_backup()
        self.sink = HttpSink()
        self.tmp_parent = tempfile.mkdtemp(prefix="dfs-reh-", dir="/tmp")

    def new_backup(self):
        time.sleep(1.1)  # backup names are per second
        res = run_dumpfs(["backup"], self.config(None))
        assert res.returncode == 0, res.stderr.decode()
        names = sorted(n for n in os.listdir(self.archive) if n.endswith(".sql.gz.gpg"))
        return os.path.join(self.archive, names[-1])

    def tmpdir(self):
        """A fresh TMPDIR for one run: whatever is left in it is a leak."""
        return tempfile.mkdtemp(dir=self.tmp_parent)

    def run(self, path, *args, config=None, tmpdir=None, timeout=600):
        env = child_env(config, self.key.home)
        env["TMPDIR"] = tmpdir or self.tmpdir()
        res = subprocess.run([dumpfs_bin(), "rehearse", path] + list(args), env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=timeout)
        assert_no_sanitizer(res.stderr)
        self.check_no_secret(res.stdout + res.stderr)
        assert_nothing_left(env["TMPDIR"])
        return res

    def close(self):
        self.sink.close()
        super().close()


def server_processes(tmpdir):
    """Pids of processes whose command line names tmpdir."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if tmpdir.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def assert_nothing_left(tmpdir):
    assert os.listdir(tmpdir) == [], "left in TMPDIR: %s" % os.listdir(tmpdir)
    assert server_processes(tmpdir) == [], "processes left"


@pytest.fixture(scope="module")
def env():
    e = RehearseEnv()
    try:
        yield e
    finally:
        e.close()


def trailer_tables(plaintext):
    """{"db.name": rows} from a dump's trailer lines."""
    out = {}
    for m in re.finditer(rb"^-- dumpfs: table `((?:[^`]|``)+)`\.`((?:[^`]|``)+)` rows=(\d+) ",
                         plaintext, re.M):
        name = "%s.%s" % (m.group(1).decode().replace("``", "`"),
                          m.group(2).decode().replace("``", "`"))
        out[name] = int(m.group(3))
    return out


def as_json(res):
    out = res.stdout.decode()
    assert out.count("\n") == 1 and out.endswith("\n"), out
    return json.loads(out)


def test_good_backup_rehearses_ok(env):
    res = env.run(env.backup, "--json")
    assert res.returncode == 0, res.stderr.decode()
    doc = as_json(res)
    assert doc["ok"] is True and doc["mismatches"] == [], doc
    want = trailer_tables(env.plaintext(env.backup))
    assert len(want) >= 10 and "%s.notes" % DB in want, want
    got = {t["table"]: t["rows"] for t in doc["tables"]}
    assert got == want
    assert all(t["ok"] for t in doc["tables"]), doc["tables"]
    assert doc["rows"] == sum(want.values()) and doc["rows"] > 0
    assert doc["restore_seconds"] > 0


def test_text_output_and_jobs_1(env):
    res = env.run(env.backup, "--jobs", "1")
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr.decode()
    assert "MISMATCH" not in out
    assert re.search(r"^rehearse: OK: .*: \d+ tables, \d+ rows; restore [\d.]+ s \(\d+ rows/s\)",
                     out, re.M), out


def edited(env, name, edit):
    """The backup's SQL through edit(bytes) -> bytes, re-encrypted."""
    sql = env.plaintext(env.backup)
    changed = edit(sql)
    assert changed != sql
    return env.encrypt(changed, name)


def test_altered_row_names_its_table(env):
    path = edited(env, "altered.sql.gz.gpg",
                  lambda sql: sql.replace(b"'hello world 7'", b"'hellO world 7'", 1))
    res = env.run(path, "--json")
    assert res.returncode == 1, res.stderr.decode()
    doc = as_json(res)
    assert doc["ok"] is False
    assert len(doc["mismatches"]) == 1, doc["mismatches"]
    assert "table %s.notes" % DB in doc["mismatches"][0]
    assert "differ" in doc["mismatches"][0]
    bad = [t["table"] for t in doc["tables"] if not t["ok"]]
    assert bad == ["%s.notes" % DB]
    # The text form names it too.
    res = env.run(path)
    assert res.returncode == 1
    assert re.search(r"^MISMATCH table %s\.notes: " % DB, res.stdout.decode(), re.M)
    assert "rehearse: FAILED" in res.stdout.decode()


def drop_inserts(sql, table):
    out, skipping = [], False
    for line in sql.split(b"\n"):
        if line.startswith(b"INSERT INTO `%s` " % table):
            skipping = True
        if not skipping:
            out.append(line)
        elif line.endswith(b";"):
            skipping = False
    return b"\n".join(out)


def test_missing_table_data_is_named(env):
    path = edited(env, "nodata.sql.gz.gpg", lambda sql: drop_inserts(sql, b"gone"))
    res = env.run(path, "--json")
    assert res.returncode == 1, res.stderr.decode()
    doc = as_json(res)
    assert doc["mismatches"] == [
        "table %s.gone: 300 rows in the dump, 0 restored" % DB], doc["mismatches"]


def test_truncated_dump_fails(env):
    # A dump cut short, encrypted properly: no completion line.
    path = edited(env, "cut.sql.gz.gpg", lambda sql: sql[:len(sql) * 2 // 3])
    res = env.run(path, "--json")
    assert res.returncode == 1, res.stderr.decode()
    doc = as_json(res)
    assert doc["ok"] is False and "error" in doc
    assert "restore failed" in doc["error"], doc["error"]
    # The encrypted file itself cut.
    with open(env.backup, "rb") as f:
        data = f.read()
    cut = os.path.join(env.dir, "cut-gpg.sql.gz.gpg")
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2])
    res = env.run(cut)
    assert res.returncode == 1, res.stderr.decode()
    assert "rehearse: FAILED: %s: " % cut in res.stdout.decode()


def test_dump_without_trailer_is_not_a_pass(env):
    path = edited(env, "old.sql.gz.gpg",
                  lambda sql: re.sub(rb"^-- dumpfs: (table|objects) .*\n", b"", sql,
                                     flags=re.M))
    res = env.run(path, "--json")
    assert res.returncode == 1
    assert any("no trailer lines" in m for m in as_json(res)["mismatches"])


def test_usage_errors(env):
    for args in ([], ["a", "b"], [env.backup, "--jobs", "0"], [env.backup, "--nope"]):
        res = run_dumpfs(["rehearse"] + args)
        assert res.returncode == 2, (args, res.stderr.decode())
        assert b"usage: dumpfs rehearse" in res.stderr or b"--jobs" in res.stderr


def test_failure_is_alerted_with_a_notify_only_config(env):
    hook = os.path.join(env.dir, "hook.url")
    with open(hook, "w") as f:
        f.write(env.sink.url("/hook") + "\n")
    cfg = os.path.join(env.dir, "notify-only.ini")
    with open(cfg, "w") as f:
        f.write("[notify]\non = failure\nwebhook_url_file = %s\n" % hook)
    path = edited(env, "alert.sql.gz.gpg",
                  lambda sql: sql.replace(b"'hello world 9'", b"'hello world 99'", 1))
    res = env.run(path, config=cfg)
    assert res.returncode == 1, res.stderr.decode()
    posts = [json.loads(r["body"]) for r in env.sink.posts("/hook")]
    assert len(posts) == 1, posts
    assert posts[0]["event"] == "rehearsal_failed" and posts[0]["status"] == "error"
    assert "table %s.notes" % DB in posts[0]["message"], posts[0]
    assert posts[0]["file"] == "alert.sql.gz.gpg"
    # A good rehearsal sends nothing.
    env.sink.clear()
    res = env.run(env.backup, config=cfg)
    assert res.returncode == 0, res.stderr.decode()
    time.sleep(0.5)
    assert env.sink.posts("/hook") == []


SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib",
                      "rehearse", "dumpfs-rehearse-latest.sh")


def run_script(env, directory, report_dir):
    e = child_env(None, env.key.home)
    e["DUMPFS"] = dumpfs_bin()
    e["TMPDIR"] = env.tmpdir()
    res = subprocess.run([SCRIPT, directory, report_dir], env=e, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert_no_sanitizer(res.stderr)
    assert_nothing_left(e["TMPDIR"])
    return res


def test_contrib_script_rehearses_the_newest_backup(env):
    reports = tempfile.mkdtemp(dir=env.dir)
    newest = sorted(n for n in os.listdir(env.archive) if n.endswith(".sql.gz.gpg"))[-1]
    res = run_script(env, env.archive, reports)
    assert res.returncode == 0, res.stderr.decode()
    assert ("rehearsal of %s/%s: OK" % (env.archive, newest)) in res.stdout.decode()
    with open(os.path.join(reports, "rehearse-%s.json" % newest[:-len(".sql.gz.gpg")])) as f:
        doc = json.load(f)
    assert doc["ok"] is True and doc["file"].endswith(newest)
    # A copy whose sidecar does not match is not rehearsed.
    bad = tempfile.mkdtemp(dir=env.dir)
    with open(os.path.join(env.archive, newest), "rb") as f:
        data = f.read()
    with open(os.path.join(bad, newest), "wb") as f:
        f.write(data[:-1] + bytes([data[-1] ^ 1]))
    with open(os.path.join(env.archive, newest + ".sha256"), "rb") as f:
        sidecar = f.read()
    with open(os.path.join(bad, newest + ".sha256"), "wb") as f:
        f.write(sidecar)
    res = run_script(env, bad, reports)
    assert res.returncode == 1
    assert b"does not match its sidecar" in res.stderr
    # No backup at all: exit 2.
    res = run_script(env, tempfile.mkdtemp(dir=env.dir), reports)
    assert res.returncode == 2 and b"no backup" in res.stderr


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def test_sigterm_mid_restore_leaves_nothing(env):
    # Enough rows that the restore takes a while.
    env.src.run_sql("USE %s; CREATE TABLE %s.big (id INT PRIMARY KEY, pad VARCHAR(200));"
                    "INSERT INTO %s.big SELECT seq, REPEAT(CHAR(65 + seq %% 26), 150)"
                    " FROM seq_1_to_400000;" % (DB, DB, DB))
    big = env.new_backup()
    tmpdir = env.tmpdir()
    e = child_env(None, env.key.home)
    e["TMPDIR"] = tmpdir
    p = subprocess.Popen([dumpfs_bin(), "rehearse", big, "--jobs", "2"], env=e,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        def big_loading():
            for d in os.listdir(tmpdir):
                f = os.path.join(tmpdir, d, "data", DB, "big.ibd")
                if os.path.exists(f) and os.path.getsize(f) > (4 << 20):
                    return f
            return None
        ibd = wait_for(big_loading, 300, "the big table to be loading")
        # While it loads: the rows are not readable in the server's files
        # (tablespaces, redo log, temporary files).
        for top, _, files in os.walk(os.path.dirname(os.path.dirname(ibd))):
            for name in files:
                try:
                    with open(os.path.join(top, name), "rb") as f:
                        data = f.read()
                except OSError:
                    continue  # removed meanwhile
                assert b"A" * 150 not in data and b"B" * 150 not in data, name
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert_no_sanitizer(err)
    assert p.returncode == 1, err.decode()
    assert b"cancelled" in out + err
    assert_nothing_left(tmpdir)


def test_sigkill_leftover_is_swept_by_the_next_run(env):
    tmpdir = env.tmpdir()
    e = child_env(None, env.key.home)
    e["TMPDIR"] = tmpdir
    p = subprocess.Popen([dumpfs_bin(), "rehearse", env.backup], env=e,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: any(os.path.exists(os.path.join(tmpdir, d, "sock"))
                             for d in os.listdir(tmpdir)), 300, "the throwaway server")
        p.kill()
        p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    left = os.listdir(tmpdir)
    assert len(left) == 1 and left[0].startswith("dumpfs-rehearse-"), left
    # Its programs die with it (parent-death signal).
    wait_for(lambda: server_processes(tmpdir) == [], 30, "the server to die")
    res = env.run(env.backup, tmpdir=tmpdir)  # asserts nothing is left
    assert res.returncode == 0, res.stderr.decode()
