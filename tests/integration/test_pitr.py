"""`dumpfs restore FILE --until` (docs/pitr.md): the dump, then the
archived binlog up to a time, into a fresh server.

A real source with its binlog on (ROW, encrypted at rest), `dumpfs binlog`
archiving it, `dumpfs backup` taking the dump, real writes at known times;
each restore goes into a fresh server and is compared with the source as
it was at that time (harness snapshots: CHECKSUM TABLE, definitions).
Covered:
- inserts, updates, deletes, DDL, a transaction spanning a segment's
  time and a binlog rotation, writes to a database the dump does not
  hold (skipped: the target has no such database);
- --until between writes, and latest;
- refusals before anything is loaded: a segment deleted in the middle
  (named), a damaged segment (named), a time before the dump, a bad time.
"""

import gzip
import os
import re
import subprocess
import time

import pytest

from harness import dumpfs
from harness.compare import diff, snapshot, assert_same
from harness.config import write_config

from test_binlog import DB, SEGMENT_RE, Env

OTHER = "pitr_other"  # on the source, not in the dump


def wait_next_second():
    """Sleeps into the next whole second; returns it as local time text.
    Events before the call are stamped earlier, events after it not."""
    now = time.time()
    t = int(now) + 1
    time.sleep(t - now + 0.05)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


class Pitr:
    def __init__(self, env, request):
        self.env = env
        self.request = request
        env.src.run_sql("CREATE DATABASE %s; CREATE TABLE %s.t (k INT PRIMARY KEY) "
                        "ENGINE=InnoDB;" % (OTHER, OTHER))
        self.n = 0

    def backup(self):
        res = dumpfs.run(["backup", "-c", self.env.cfg])
        assert res.returncode == 0, res.stderr
        names = sorted(n for n in os.listdir(self.env.archive) if n.endswith(".sql.gz.gpg"))
        assert names, os.listdir(self.env.archive)
        return os.path.join(self.env.archive, names[-1])

    def target(self):
        self.n += 1
        return self.env._server(self.request, "pitrtgt%d" % self.n)

    def restore(self, dump, target, *args, extra_env=None):
        cfg = write_config(os.path.join(self.env.tmp, "restore-%d.ini" % self.n), self.env.src,
                           self.env.key, databases=[DB], archive_dir=self.env.archive,
                           extra={"restore": {"socket": target.socket, "user": "root"}})
        env = dict({"GNUPGHOME": self.env.key.home}, **(extra_env or {}))
        res = dumpfs.run(["restore", "-c", cfg, dump] + list(args), env=env, timeout=300)
        assert not dumpfs.sanitizer_findings(res.stderr), res.stderr
        return res


@pytest.fixture
def pitr(env, request):
    return Pitr(env, request)


@pytest.fixture
def env(request, tmp_path, key):
    # ROW: what docs/pitr.md asks for (row changes are filtered by their
    # table's database, statements only by their default one)
    return Env(request, tmp_path, key, extra_args=("--binlog-format=ROW",))


def test_until_between_writes_and_latest(env, pitr):
    src = env.src
    p = env.start()
    try:
        src.run_sql("INSERT INTO pitr.acct VALUES (1,'ann',10),(2,'bob',20),(3,'cy',30);")
        dump = pitr.backup()
        # phase 1: after the dump
        src.run_sql("INSERT INTO pitr.acct VALUES (4,'dee',40);"
                    "UPDATE pitr.acct SET balance = balance + 5 WHERE id = 2;"
                    "DELETE FROM pitr.acct WHERE id = 3;"
                    "INSERT INTO pitr_other.t VALUES (1),(2);")
        at1 = snapshot(src, [DB])
        t1 = wait_next_second()
        time.sleep(1.2)
        # phase 2: DDL, a rotation, a transaction longer than a segment
        src.run_sql("ALTER TABLE pitr.acct ADD COLUMN note VARCHAR(20) DEFAULT 'x';"
                    "CREATE TABLE pitr.extra (k INT PRIMARY KEY) ENGINE=InnoDB;"
                    "INSERT INTO pitr.extra VALUES (1),(2);"
                    "FLUSH BINARY LOGS;")
        src.run_sql("BEGIN; INSERT INTO pitr.log VALUES (1, 'before the pause');"
                    "INSERT INTO pitr_other.t VALUES (3);"
                    "DO SLEEP(1.5); INSERT INTO pitr.log VALUES (2, 'after');"
                    "UPDATE pitr.acct SET note = 'moved' WHERE id = 1; COMMIT;")
        at2 = snapshot(src, [DB])
        t2 = wait_next_second()
        time.sleep(1.2)
        # phase 3
        src.run_sql("DELETE FROM pitr.log WHERE id = 1; DROP TABLE pitr.extra;"
                    "INSERT INTO pitr.acct (id, owner, balance) VALUES (9,'zed',1);")
        env.wait_caught_up()
    finally:
        env.stop(p)

    for until, want in ((t1, at1), (t2, at2)):
        tgt = pitr.target()
        res = pitr.restore(dump, tgt, "--until", until)
        assert res.returncode == 0, res.stderr
        lines = diff(want, snapshot(tgt, [DB]), "source at " + until, "restored")
        assert not lines, "\n".join(lines) + "\n" + res.stderr
        assert OTHER not in tgt.user_databases()
        assert "pitr_done" in res.stderr and "skipped=0 " not in res.stderr, res.stderr
    tgt = pitr.target()
    res = pitr.restore(dump, tgt, "--until", "latest")
    assert res.returncode == 0, res.stderr
    assert_same(src, tgt, databases=[DB], what="restore --until latest")


def many_segments(env, pitr):
    """A dump, then writes in four segments; the segments in order."""
    p = env.start()
    try:
        dump = pitr.backup()
        for i in range(4):
            env.src.run_sql("INSERT INTO pitr.log VALUES (%d, 'seg %d');" % (i, i))
            time.sleep(2.2)  # segment_seconds = 1, closed at a heartbeat (1 s)
        env.wait_caught_up()
    finally:
        env.stop(p)
    segs = env.segments()
    assert len(segs) >= 4, segs
    return dump, segs


def test_a_missing_segment_is_refused_before_loading(env, pitr):
    dump, segs = many_segments(env, pitr)
    gone = segs[len(segs) // 2]
    os.unlink(gone)
    os.unlink(gone + ".sha256")
    tgt = pitr.target()
    res = pitr.restore(dump, tgt, "--until", "latest")
    assert res.returncode == 1, res.stderr
    start = gone.rsplit("_", 1)[1]  # "<offset>.binlog.gz.gpg"
    assert "gap" in res.stderr and start in res.stderr, res.stderr
    assert "nothing was loaded" in res.stderr
    assert DB not in tgt.user_databases()


def test_a_damaged_segment_is_refused_before_loading(env, pitr):
    dump, segs = many_segments(env, pitr)
    bad = segs[-1]
    with open(bad, "r+b") as f:
        f.seek(os.path.getsize(bad) // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0xFF]))
    tgt = pitr.target()
    res = pitr.restore(dump, tgt, "--until", "latest")
    assert res.returncode == 1 and os.path.basename(bad) in res.stderr, res.stderr
    assert DB not in tgt.user_databases()


def test_times_before_the_dump_or_malformed(env, pitr):
    p = env.start()
    try:
        dump = pitr.backup()
    finally:
        env.stop(p)
    tgt = pitr.target()
    res = pitr.restore(dump, tgt, "--until", "2001-01-01 00:00:00")
    assert res.returncode == 1 and "before the dump" in res.stderr, res.stderr
    for bad in ("yesterday", "2026-02-31 00:00:00", "2026-01-01T00:00:00"):
        res = pitr.restore(dump, tgt, "--until", bad)
        assert res.returncode == 2 and "--until" in res.stderr, res.stderr
    res = pitr.restore(dump, tgt, "--until", "latest", "--binlog-dir", "/nonexistent/bl")
    assert res.returncode == 1 and "/nonexistent/bl" in res.stderr, res.stderr
    empty = os.path.join(env.tmp, "empty-binlog")
    os.makedirs(empty)
    res = pitr.restore(dump, tgt, "--until", "latest", "--binlog-dir", empty)
    assert res.returncode == 1 and "holds no segment" in res.stderr, res.stderr
    nobin = os.path.join(env.tmp, "no-tools")
    os.makedirs(nobin)
    res = pitr.restore(dump, tgt, "--until", "latest", extra_env={"PATH": nobin})
    assert res.returncode == 1 and "'mariadb-binlog' is not in PATH" in res.stderr, res.stderr
    res = pitr.restore(dump, tgt, "--until", "2026-10-25 02:30:00",
                       extra_env={"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"})
    assert res.returncode == 2 and "happens twice" in res.stderr, res.stderr
    assert DB not in tgt.user_databases()


def test_the_stream_starts_at_the_newest_backup(env, pitr):
    """Without a position file of its own, `dumpfs binlog` starts at the
    position the newest backup recorded in plaintext beside it: writes
    made after the backup but before the streamer ran are archived too."""
    env.src.run_sql("INSERT INTO pitr.acct VALUES (1,'ann',10);")
    dump = pitr.backup()
    name = os.path.basename(dump)
    record = os.path.join(env.archive, "." + name + ".binlog-position")
    with open(record) as f:
        text = f.read()
    header = subprocess.run(["gpg", "--homedir", env.key.home, "--batch", "-q", "-d", dump],
                            capture_output=True, check=True).stdout
    header = gzip.decompress(header).decode(errors="replace")
    m = re.search(r"MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+);", header)
    assert m and text == "file=%s\npos=%s\n" % (m.group(1), m.group(2)), (text, m)
    assert oct(os.stat(record).st_mode & 0o777) == "0o440"
    env.src.run_sql("INSERT INTO pitr.acct VALUES (2,'bob',20);")  # streamer not running
    p = env.start()
    try:
        env.src.run_sql("UPDATE pitr.acct SET balance = 99 WHERE id = 1;")
        env.wait_caught_up()
    finally:
        env.stop(p)
    assert "binlog_start" in env.log_text() and name in env.log_text(), env.log_text()
    tgt = pitr.target()
    res = pitr.restore(dump, tgt, "--until", "latest")
    assert res.returncode == 0, res.stderr
    assert_same(env.src, tgt, databases=[DB], what="rolled forward from the backup")
    # a second backup, more writes archived after it
    time.sleep(1.1)
    env.src.run_sql("INSERT INTO pitr.log VALUES (1, 'between the backups');")
    newer = pitr.backup()
    assert newer != dump and os.path.exists(
        os.path.join(env.archive, "." + os.path.basename(newer) + ".binlog-position"))
    p = env.start()
    try:
        env.src.run_sql("INSERT INTO pitr.log VALUES (2, 'after the second');")
        env.wait_caught_up()
    finally:
        env.stop(p)
    before = env.segments()
    # retention: the first backup goes with its record, and the segments
    # that end before the second backup's position with their sidecars
    rules = {k: "0" for k in ("keep_days", "keep_daily", "keep_weekly", "keep_monthly",
                               "keep_yearly")}
    rules["min_keep"] = "1"
    res = dumpfs.run(["prune", "-c", write_config(
        os.path.join(env.tmp, "keep1.ini"), env.src, env.key, databases=[DB],
        archive_dir=env.archive, extra={"archive": rules})])
    assert res.returncode == 0, res.stderr
    assert not os.path.exists(dump) and not os.path.exists(record), os.listdir(env.archive)
    after = env.segments()
    assert 0 < len(after) < len(before) and after == before[-len(after):], (before, after)
    assert "binlog_prune" in res.stderr, res.stderr
    for seg in set(before) - set(after):
        assert not os.path.exists(seg + ".sha256")
    tgt = pitr.target()
    res = pitr.restore(newer, tgt, "--until", "latest")
    assert res.returncode == 0, res.stderr
    assert_same(env.src, tgt, databases=[DB], what="rolled forward after segment retention")


def test_without_a_position_file_segments_make_it_start_at_the_server(env, pitr):
    """The position file removed to start afresh while segments are there:
    starting at the newest backup again would archive what the segments
    hold a second time, so the stream starts at the server's current
    position (docs/pitr.md), and nothing already archived is repeated."""
    env.src.run_sql("INSERT INTO pitr.acct VALUES (1,'ann',10);")
    pitr.backup()
    p = env.start()
    try:
        env.src.run_sql("INSERT INTO pitr.acct VALUES (2,'bob',20);")
        env.wait_caught_up()
    finally:
        env.stop(p)
    assert "binlog_start" in env.log_text(), env.log_text()  # the first: at the backup
    before = env.segments()
    assert before
    os.unlink(os.path.join(env.dir, ".binlog-position"))
    env.src.run_sql("INSERT INTO pitr.acct VALUES (3,'cy',30);")  # not streamed
    here = env.server_position()
    p = env.start()
    try:
        env.src.run_sql("INSERT INTO pitr.acct VALUES (4,'di',40);")
        env.wait_caught_up()
    finally:
        env.stop(p)
    assert "binlog_start " not in env.log_text(), env.log_text()  # not at a backup
    new = [seg for seg in env.segments() if seg not in before]
    assert new, env.log_text()
    m = SEGMENT_RE.match(os.path.basename(new[0]))
    assert m and (m.group(1), int(m.group(2))) == here, (new, here)


def test_a_position_in_a_routine_body_is_not_the_dumps(request, tmp_path, key):
    """Only the dump's header (its leading comment lines) is read for the
    binlog position: a routine of a server without a binlog whose body
    holds a line spelled like the header's position is not taken for it,
    and --until is refused as for any dump taken without the binlog."""
    srv = Env._server(request, "plnobin", ("--skip-log-bin",))
    srv.run_sql(
        "CREATE DATABASE pitr_fake; CREATE TABLE pitr_fake.t (k INT PRIMARY KEY); "
        "INSERT INTO pitr_fake.t VALUES (1);\nDELIMITER //\n"
        "CREATE PROCEDURE pitr_fake.p() BEGIN\n"
        "--   CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4;\n"
        "SELECT 1; END//\nDELIMITER ;\n")
    srv.create_backup_user(execute_dbs=("pitr_fake",))
    archive = str(tmp_path / "archive")
    os.makedirs(os.path.join(archive, "binlog"))
    cfg = write_config(str(tmp_path / "nobin.ini"), srv, key, databases=["pitr_fake"],
                       archive_dir=archive)
    res = dumpfs.run(["backup", "-c", cfg])
    assert res.returncode == 0, res.stderr
    dump = [os.path.join(archive, n) for n in os.listdir(archive) if n.endswith(".gpg")][0]
    sql = gzip.decompress(subprocess.run(
        ["gpg", "--homedir", key.home, "--batch", "-q", "-d", dump],
        capture_output=True, check=True).stdout).decode(errors="replace")
    assert "\n--   CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001'" in sql  # the body
    tgt = Env._server(request, "plnobintgt")
    rcfg = write_config(str(tmp_path / "restore.ini"), srv, key, databases=["pitr_fake"],
                        archive_dir=archive,
                        extra={"restore": {"socket": tgt.socket, "user": "root"}})
    res = dumpfs.run(["restore", "-c", rcfg, dump, "--until", "latest"],
                     env={"GNUPGHOME": key.home}, timeout=300)
    assert res.returncode != 0 and "was taken without the binary log" in res.stderr, res
    assert not dumpfs.sanitizer_findings(res.stderr), res.stderr
    assert tgt.query("SHOW DATABASES LIKE 'pitr_fake'") == [], "loaded before refusing"


def test_server_restarts_between_the_backup_and_the_time(env, pitr):
    """A restarted server goes on in a new binlog file without a rotate
    event ending the old one; the streamer ends that file's last segment
    with one (opening a segment for it when none is open), so the chain
    holds and the restore rolls forward across the restarts."""
    src = env.src
    p = env.start()
    try:
        dump = pitr.backup()
        src.run_sql("INSERT INTO pitr.acct VALUES (1,'ann',10);")
        env.wait_caught_up()
        src.stop()  # idle: no segment open
        src.start()
        src.run_sql("INSERT INTO pitr.acct VALUES (2,'bob',20);")
        time.sleep(0.3)  # in the open segment
        src.stop()
        src.start()
        src.run_sql("UPDATE pitr.acct SET balance = 5;")
        env.wait_caught_up(timeout=90)
    finally:
        env.stop(p)
    tgt = pitr.target()
    res = pitr.restore(dump, tgt, "--until", "latest")
    assert res.returncode == 0, res.stderr
    assert_same(src, tgt, databases=[DB], what="rolled forward across server restarts")
