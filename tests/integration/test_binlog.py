"""`dumpfs binlog` (docs/pitr.md): the binlog archived as encrypted segments.

A real server with its binlog on (ROW format, encrypted at rest), the
streamer in the foreground, real writes; the segments decrypted with gpg,
gunzipped and replayed by stock `mariadb-binlog | mariadb` into a second
server that started from the same schema: it must equal the source
(harness compare).  Covered:
- inserts, updates, deletes, DDL, a transaction with a pause inside,
  binlog rotations (FLUSH BINARY LOGS): every segment holds whole
  transactions, none is empty, each has a valid sidecar, none holds
  plaintext, and the position file ends where the server's binlog ends;
- kill -9 of the streamer with a segment open, writes while it is down,
  a restart: nothing lost, nothing doubled (rows have primary keys, so a
  doubled event fails the replay), the dead one's temporary removed;
- a server restart under a running streamer: it reconnects and goes on;
- refusals: [binlog] enabled = false (exit 2), a server without a binlog
  (exit 1 at once, the reason in .binlog-status), a corrupt position file
  (exit 1, naming it), server_id equal to the server's, a position the
  server no longer has (exit 1, saying what to do), a second streamer on
  the same directory.
"""

import gzip
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from harness import dumpfs
from harness.compare import assert_same
from harness.config import write_config
from harness.dumpfile import is_binary_openpgp_start
from harness.server import Server

DB = "pitr"
SCHEMA = """
CREATE DATABASE pitr;
CREATE TABLE pitr.acct (id INT PRIMARY KEY, owner VARCHAR(40) NOT NULL,
                        balance DECIMAL(12,2) NOT NULL) ENGINE=InnoDB;
CREATE TABLE pitr.log (id INT PRIMARY KEY, note TEXT) ENGINE=InnoDB;
"""
SEGMENT_RE = re.compile(r"^mariadb_\d{4}-\d\d-\d\d_\d{6}_(.+)_(\d+)\.binlog\.gz\.gpg$")


class Env:
    def __init__(self, request, tmp_path, key, extra_args=()):
        self.key = key
        self.src = self._server(request, "blsrc", extra_args)
        self.src.create_backup_user()
        user = self.src.backup_user.name
        self.src.run_sql("".join("GRANT REPLICATION SLAVE ON *.* TO '%s'@'%s';" % (user, h)
                                 for h in ("localhost", "127.0.0.1")))
        self.src.run_sql(SCHEMA)
        self.archive = str(tmp_path / "archive")
        os.makedirs(self.archive)
        self.dir = os.path.join(self.archive, "binlog")
        self.cfg = write_config(str(tmp_path / "dumpfs.ini"), self.src, key,
                                databases=[DB], archive_dir=self.archive,
                                extra={"binlog": {"enabled": "true",
                                                  "segment_seconds": "1"}})
        self.logs = []
        self.tmp = str(tmp_path)
        self.streamers = []
        request.addfinalizer(self._kill_streamers)  # also when a test fails midway

    def _kill_streamers(self):
        for p in self.streamers:
            if p.poll() is None:
                p.kill()
                p.wait()

    @staticmethod
    def _server(request, name, extra_args=()):
        srv = Server(name, extra_args=extra_args)
        request.addfinalizer(srv.cleanup)
        srv.start()
        return srv

    # -- the streamer ------------------------------------------------------
    def start(self, cfg=None):
        log = os.path.join(self.tmp, "binlog-%d.err" % len(self.logs))
        self.logs.append(log)
        with open(log, "wb") as f:
            p = dumpfs.popen(["binlog", "-c", cfg or self.cfg], stderr=f)
        self.streamers.append(p)
        request_stop = time.monotonic() + 30
        while "binlog_stream_open" not in self.log_text(log):
            assert p.poll() is None, "streamer exited: " + self.log_text(log)
            assert time.monotonic() < request_stop, "streamer did not start"
            time.sleep(0.1)
        return p

    def log_text(self, log=None):
        with open(log or self.logs[-1], "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0, self.log_text()
        text = self.log_text()
        assert not dumpfs.sanitizer_findings(text), text

    def server_position(self):
        row = self.src.query("SHOW MASTER STATUS")[0]
        return row[0], int(row[1])

    def archived_position(self):
        try:
            with open(os.path.join(self.dir, ".binlog-position")) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        m = re.fullmatch(r"file=(\S+)\npos=(\d+)\n", text)
        assert m, "position file: %r" % text
        return m.group(1), int(m.group(2))

    def wait_caught_up(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.archived_position() != self.server_position():
            assert time.monotonic() < deadline, "archive at %s, server at %s\n%s" % (
                self.archived_position(), self.server_position(), self.log_text())
            time.sleep(0.2)

    # -- the segments ------------------------------------------------------
    def segments(self):
        found = []
        for name in os.listdir(self.dir):
            m = SEGMENT_RE.match(name)
            if m:
                found.append(((m.group(1), int(m.group(2))), name))
        return [os.path.join(self.dir, n) for _, n in sorted(found)]

    def plaintexts(self):
        """Each segment checked (sidecar, OpenPGP, not empty) and decrypted
        into a private directory; paths in stream order."""
        out = tempfile.mkdtemp(prefix="binlog-plain-", dir=self.tmp)
        paths = []
        for seg in self.segments():
            with open(seg, "rb") as f:
                assert is_binary_openpgp_start(f.read(64)), seg
            res = subprocess.run(["sha256sum", "-c", os.path.basename(seg) + ".sha256"],
                                 cwd=self.dir, capture_output=True)
            assert res.returncode == 0, res.stdout + res.stderr
            data = gzip.decompress(self.key.decrypt(seg))
            assert data[:4] == b"\xfebin", seg
            path = os.path.join(out, os.path.basename(seg)[:-len(".gz.gpg")])
            with open(path, "wb") as f:
                f.write(data)
            paths.append(path)
        return paths

    def replay_into_fresh(self, request, name):
        tgt = self._server(request, name)
        tgt.run_sql(SCHEMA)
        paths = self.plaintexts()
        assert paths, "no segment"
        binlog = subprocess.Popen(["mariadb-binlog", "--skip-gtid-strict-mode"] + paths, stdout=subprocess.PIPE)
        load = subprocess.run(tgt.client_args(), stdin=binlog.stdout, capture_output=True)
        binlog.stdout.close()
        assert binlog.wait() == 0
        assert load.returncode == 0, load.stderr.decode()
        return tgt, paths


@pytest.fixture
def env(request, tmp_path, key):
    return Env(request, tmp_path, key)


def first_event_offset(path):
    """The offset of the first event after the format description and the
    padding, as mariadb-binlog prints it ("# at N")."""
    text = subprocess.run(["mariadb-binlog", path], capture_output=True,
                          check=True).stdout.decode(errors="replace")
    for at, what in re.findall(r"^# at (\d+)\n#\d{6} [^\n]*\t(\w+)", text, re.M):
        if what not in ("Start", "Ignorable"):
            return int(at)
    return None


def group_balance(path):
    """(transactions begun, transactions ended, events) in a segment,
    from mariadb-binlog's text."""
    text = subprocess.run(["mariadb-binlog", path], capture_output=True,
                          check=True).stdout.decode(errors="replace")
    begins = len(re.findall(r"^(?:START TRANSACTION|BEGIN)\b", text, re.M))
    ends = len(re.findall(r"^(?:COMMIT|ROLLBACK)\b(?! /\* added by)", text, re.M))
    return begins, ends, len(re.findall(r"^# at \d+", text, re.M))


def test_segments_replay_to_the_source(env, request):
    p = env.start()
    try:
        env.src.run_sql("INSERT INTO pitr.acct VALUES (1,'ann',10),(2,'bob',20),(3,'cy',30);"
                        "UPDATE pitr.acct SET balance = balance + 5 WHERE id = 2;"
                        "DELETE FROM pitr.acct WHERE id = 3;")
        time.sleep(1.5)  # a segment closes in between
        env.src.run_sql("ALTER TABLE pitr.acct ADD COLUMN note VARCHAR(20) DEFAULT 'x';"
                        "FLUSH BINARY LOGS;"
                        "CREATE TABLE pitr.extra (k INT PRIMARY KEY) ENGINE=InnoDB;"
                        "INSERT INTO pitr.extra VALUES (1),(2);")
        env.src.run_sql("BEGIN; INSERT INTO pitr.log VALUES (1, 'before the pause');"
                        "DO SLEEP(1.5); INSERT INTO pitr.log VALUES (2, 'after');"
                        "UPDATE pitr.acct SET note = 'moved' WHERE id = 1; COMMIT;")
        env.src.run_sql("FLUSH BINARY LOGS; INSERT INTO pitr.log VALUES (3, 'last');")
        env.wait_caught_up()
    finally:
        env.stop(p)
    assert "binlog_stream_failed" not in env.log_text()
    files = {re.search(r"_(\w+\.\d+)_\d+\.binlog", s).group(1) for s in env.segments()}
    assert len(files) >= 3, files  # two rotations: segments of three binlog files
    tgt, paths = env.replay_into_fresh(request, "bltgt")
    for path in paths:
        # events sit at their offsets in the server's file
        start = int(re.search(r"_(\d+)\.binlog$", path).group(1))
        assert first_event_offset(path) == start, path
        begins, ends, events = group_balance(path)
        assert events > 1, "%s holds no event" % path
        assert begins == ends, "%s ends inside a transaction (%d begun, %d ended)" % (
            path, begins, ends)
    assert_same(env.src, tgt, databases=[DB], what="binlog replay")
    # --start-position means the server's position inside a segment too
    log_at = [p for p in paths if "pitr.log" in subprocess.run(
        ["mariadb-binlog", "-v", p], capture_output=True).stdout.decode(errors="replace")]
    assert log_at, "no segment holds the transaction"
    text = subprocess.run(["mariadb-binlog", "-v", log_at[0]], capture_output=True,
                          check=True).stdout.decode(errors="replace")
    gtid_at = re.findall(r"^# at (\d+)\n#[^\n]*GTID", text, re.M)
    tail = subprocess.run(["mariadb-binlog", "-v", "--start-position=" + gtid_at[-1], log_at[0]],
                          capture_output=True, check=True).stdout.decode(errors="replace")
    assert tail.count("GTID ") == 1, tail
    for name in os.listdir(env.dir):
        with open(os.path.join(env.dir, name), "rb") as f:
            data = f.read()
        assert b"before the pause" not in data and b"ann" not in data, name


def test_kill9_then_restart_loses_and_doubles_nothing(env, request):
    slow = write_config(os.path.join(env.tmp, "slow.ini"), env.src, env.key, databases=[DB],
                        archive_dir=env.archive,
                        extra={"binlog": {"enabled": "true", "segment_seconds": "60"}})
    p = env.start(slow)
    first_file = env.server_position()[0]
    env.src.run_sql("INSERT INTO pitr.acct VALUES (1,'a',1),(2,'b',2);")
    env.src.run_sql("FLUSH BINARY LOGS;")  # closes a segment: the position moves
    deadline = time.monotonic() + 30
    while (env.archived_position() or (first_file,))[0] == first_file:
        assert time.monotonic() < deadline, env.log_text()
        time.sleep(0.1)
    env.src.run_sql("INSERT INTO pitr.acct VALUES (3,'c',3);")
    time.sleep(1)  # in the open segment (60 s) when killed
    temps = [n for n in os.listdir(env.dir) if ".tmp-" in n]
    assert temps, "no open segment to kill: %s" % os.listdir(env.dir)
    p.send_signal(signal.SIGKILL)
    p.wait()
    env.src.run_sql("INSERT INTO pitr.acct VALUES (4,'d',4); UPDATE pitr.acct SET balance = 9;")
    p = env.start()  # segment_seconds = 1 from here
    try:
        env.src.run_sql("INSERT INTO pitr.acct VALUES (5,'e',5); FLUSH BINARY LOGS;")
        env.src.run_sql("INSERT INTO pitr.log VALUES (1,'after the restart');")
        env.wait_caught_up()
        assert not [n for n in os.listdir(env.dir) if n in temps], os.listdir(env.dir)
    finally:
        env.stop(p)
    tgt, _ = env.replay_into_fresh(request, "bltgt2")
    assert_same(env.src, tgt, databases=[DB], what="replay after kill -9")


def test_server_restart_under_the_streamer(env, request):
    p = env.start()
    try:
        env.src.run_sql("INSERT INTO pitr.acct VALUES (1,'a',1);")
        env.src.stop()
        env.src.start()
        env.src.run_sql("INSERT INTO pitr.acct VALUES (2,'b',2); DELETE FROM pitr.acct "
                        "WHERE id = 1;")
        env.wait_caught_up(timeout=60)
    finally:
        env.stop(p)
    assert "binlog_stream_failed" in env.log_text()  # the restart was seen, and survived
    tgt, _ = env.replay_into_fresh(request, "bltgt3")
    assert_same(env.src, tgt, databases=[DB], what="replay across a server restart")


def test_refusals(env):
    off = write_config(os.path.join(env.tmp, "off.ini"), env.src, env.key,
                       archive_dir=env.archive, extra={"binlog": {"enabled": "false"}})
    res = dumpfs.run(["binlog", "-c", off])
    assert res.returncode == 2 and "[binlog] enabled" in res.stderr, res
    os.makedirs(env.dir, exist_ok=True)
    bad = os.path.join(env.dir, ".binlog-position")
    with open(bad, "w") as f:
        f.write("file=../../etc/passwd\npos=4\n")
    res = dumpfs.run(["binlog", "-c", env.cfg], timeout=60)
    assert res.returncode == 1 and ".binlog-position" in res.stderr, res
    os.unlink(bad)
    # what retrying cannot mend stops it, saying what to do
    own = write_config(os.path.join(env.tmp, "own.ini"), env.src, env.key,
                       archive_dir=env.archive,
                       extra={"binlog": {"enabled": "true", "server_id": "1"}})
    res = dumpfs.run(["binlog", "-c", own], timeout=60)
    assert res.returncode == 1 and "server_id 1 is the server's own" in res.stderr, res
    with open(bad, "w") as f:
        f.write("file=binlog.999999\npos=4\n")  # never written, or purged
    res = dumpfs.run(["binlog", "-c", env.cfg], timeout=60)
    assert res.returncode == 1 and "MariaDB error 1236" in res.stderr, res
    assert "remove '%s'" % bad in res.stderr, res
    os.unlink(bad)
    p = env.start()
    try:
        res = dumpfs.run(["binlog", "-c", env.cfg], timeout=60)
        assert res.returncode == 1 and "another binlog streamer" in res.stderr, res
    finally:
        env.stop(p)


def test_a_server_without_binlog_stops_it_at_once(request, tmp_path, key):
    """Retrying cannot give a server a binlog: the streamer stops (exit 1)
    saying what to turn on, and its status file keeps the reason."""
    srv = Env._server(request, "blnobin", ("--skip-log-bin",))
    srv.create_backup_user()
    archive = str(tmp_path / "archive")
    os.makedirs(archive)
    cfg = write_config(str(tmp_path / "nobin.ini"), srv, key, archive_dir=archive,
                       extra={"binlog": {"enabled": "true"}})
    started = time.monotonic()
    res = dumpfs.run(["binlog", "-c", cfg], timeout=60)
    assert res.returncode == 1 and "is the binary log on" in res.stderr, res
    assert time.monotonic() - started < 30, "retried instead of stopping"
    with open(os.path.join(archive, "binlog", ".binlog-status")) as f:
        status = dict(line.split("=", 1) for line in f.read().splitlines()
                      if line and not line.startswith("#"))
    assert "is the binary log on" in status["last_error"], status
    assert int(status["last_error_at"]) > 0 and int(status["behind_since"]) > 0, status
