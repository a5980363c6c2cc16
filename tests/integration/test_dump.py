"""Issue 2: `dumpfs dump` against a real MariaDB 10.11.

The corpus (corpus/*.sql) is dumped by dumpfs as the least-privilege user,
decrypted with stock gpg, gunzipped, restored with stock
`mariadb --comments --max-allowed-packet=1G` into a fresh server and compared
with the source (harness/compare.py says exactly what is compared)."""

import os
import re
import subprocess
import time

import pytest

from harness import compare, corpus, dumpfile, dumpfs, restore, workload
from harness.config import write_config
from harness.server import BACKUP_PRIVS, Server

# ---------------------------------------------------------------------------
# Harness self-tests: the claims below are only as good as these.


def test_harness_servers_encrypt_at_rest(source):
    enc = dict(source.query(
        "SELECT NAME, ENCRYPTION_SCHEME FROM "
        "information_schema.INNODB_TABLESPACES_ENCRYPTION"))
    spaces = [r[0] for r in source.query(
        "SELECT NAME FROM information_schema.INNODB_SYS_TABLESPACES")]
    assert any(n.startswith("corpus_types/") for n in spaces)
    # innodb_temporary is encrypted page by page (the flag below), and is
    # not listed in INNODB_TABLESPACES_ENCRYPTION.
    unencrypted = [n for n in spaces + ["innodb_system"]
                   if enc.get(n) != "1" and n != "innodb_temporary"]
    assert not unencrypted, "unencrypted tablespaces: %s" % unencrypted
    flags = source.query("SELECT @@log_bin, @@encrypt_binlog, "
                         "@@innodb_encrypt_log, @@encrypt_tmp_files, "
                         "@@encrypt_tmp_disk_tables, "
                         "@@innodb_encrypt_temporary_tables")[0]
    assert flags == ("1",) * 6, flags


def test_harness_backup_user_is_least_privilege(source):
    grants = [r[0] for r in
              source.query("SHOW GRANTS FOR 'backup_ro'@'127.0.0.1'")]
    global_grant = [g for g in grants if " ON *.* " in g]
    assert len(global_grant) == 1, grants
    privs = set(p.strip() for p in global_grant[0].split(" ON ")[0][
        len("GRANT "):].split(","))
    want = set(p.strip() for p in BACKUP_PRIVS.split(","))
    # 10.5+ shows REPLICATION CLIENT under its new name.
    want = {"BINLOG MONITOR" if p == "REPLICATION CLIENT" else p
            for p in want}
    assert privs == want, grants
    assert "GRANT EXECUTE ON `corpus_prog`.* TO `backup_ro`@`127.0.0.1`" \
        in grants, grants


def test_harness_mariadb_dump_reference(source, mdump_target):
    """Stock mariadb-dump restores the corpus identically, apart from the
    documented losses, which must really be losses (or the list is stale)."""
    dbs = [d for d in source.user_databases()
           if d not in corpus.MARIADB_DUMP_SKIP_DBS]
    lines = compare.compare_servers(source, mdump_target, dbs,
                                    ignore=corpus.MARIADB_DUMP_LOSSY)
    assert not lines, "\n".join(lines)
    snap_a = compare.snapshot(source, dbs)
    snap_b = compare.snapshot(mdump_target, dbs)
    for key, why in corpus.MARIADB_DUMP_LOSSY.items():
        assert snap_a.get(key) != snap_b.get(key), \
            "%s is listed as lost by mariadb-dump (%s) but is equal" % (
                key, why)


_CMP_SETUP = """
CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
USE {db};
CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10));
INSERT INTO t VALUES (1, 'a'), (2, 'b');
CREATE TABLE g (id INT PRIMARY KEY, v INT, w INT AS (v * 2) VIRTUAL);
INSERT INTO g (id, v) VALUES (1, 1);
CREATE TABLE sv (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING;
INSERT INTO sv VALUES (1, 1);
CREATE TABLE st (id INT PRIMARY KEY, s SET('', 'a'));
INSERT INTO st VALUES (1, ',a');
CREATE VIEW vw AS SELECT id FROM t;
CREATE TRIGGER tr1 BEFORE INSERT ON t FOR EACH ROW SET NEW.v = 'x';
CREATE TRIGGER tr2 BEFORE INSERT ON t FOR EACH ROW SET NEW.v = 'y';
CREATE SEQUENCE s;
CREATE PROCEDURE p() SELECT 1;
CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1;
CREATE EVENT e ON SCHEDULE EVERY 1 DAY STARTS '2036-01-01' DISABLE DO SET @a = 1;
"""

_CMP_MUTATIONS = [
    ("row data (checksum)", "UPDATE t SET v = 'c' WHERE id = 2"),
    ("row data (rows)", "UPDATE g SET v = 2"),
    ("current rows of a versioned table", "UPDATE sv SET v = 2"),
    ("a SET's '' member", "UPDATE st SET s = 'a'"),
    ("auto_increment", "ALTER TABLE t AUTO_INCREMENT = 100"),
    ("view", "CREATE OR REPLACE VIEW vw AS SELECT id, v FROM t"),
    ("trigger order", "DROP TRIGGER tr1; CREATE TRIGGER tr1 BEFORE INSERT "
     "ON t FOR EACH ROW FOLLOWS tr2 SET NEW.v = 'x'"),
    ("sequence state", "DO NEXTVAL(s)"),
    ("procedure body", "DROP PROCEDURE p; CREATE PROCEDURE p() SELECT 2"),
    ("function sql_mode", "DROP FUNCTION f; SET sql_mode = 'ANSI_QUOTES'; "
     "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1"),
    ("event status", "ALTER EVENT e ENABLE"),
    ("database collation", "ALTER DATABASE {db} COLLATE utf8mb4_general_ci"),
    ("missing table", "DROP TABLE g"),
    ("missing trigger", "DROP TRIGGER tr2"),
]


def test_harness_compare_detects_differences(source, mdump_target):
    """One scratch database per mutation, identical on both servers, then
    each one mutated on one side: compare must flag exactly those."""
    dbs = ["zz_cmp_%d" % i for i in range(len(_CMP_MUTATIONS) + 1)]
    setup = "".join(_CMP_SETUP.format(db=db) for db in dbs)
    try:
        for srv in (source, mdump_target):
            srv.run_sql(setup)
        assert compare.compare_servers(source, mdump_target, dbs) == []
        for db, (what, sql) in zip(dbs, _CMP_MUTATIONS):
            mdump_target.run_sql(sql.format(db=db), db=db)
        lines = compare.compare_servers(source, mdump_target, dbs)
        for db, (what, sql) in zip(dbs, _CMP_MUTATIONS):
            assert any("`%s`" % db in l for l in lines), \
                "compare missed a difference in %s:\n%s" % (
                    what, "\n".join(lines))
        untouched = dbs[-1]
        assert not any("`%s`" % untouched in l for l in lines), lines
    finally:
        for srv in (source, mdump_target):
            srv.run_sql("".join("DROP DATABASE IF EXISTS %s;" % db
                                for db in dbs))


# ---------------------------------------------------------------------------
# (a) round trip


def test_dump_restores_identically(source, dumpfs_target):
    """Corpus -> dumpfs dump (as backup_ro, over TCP) -> gpg --decrypt ->
    gunzip -> mariadb into a fresh server: everything equal."""
    compare.assert_same(source, dumpfs_target, what="source vs restored "
                        "dumpfs dump")


# (b) differential


def test_dump_matches_mariadb_dump(source, dumpfs_target, mdump_target):
    """dumpfs and stock mariadb-dump restore to the same state (where
    mariadb-dump is faithful at all)."""
    dbs = [d for d in source.user_databases()
           if d not in corpus.MARIADB_DUMP_SKIP_DBS]
    compare.assert_same(dumpfs_target, mdump_target, databases=dbs,
                        ignore=corpus.MARIADB_DUMP_LOSSY,
                        what="dumpfs restore vs mariadb-dump restore")


# (e) the file


def test_dump_file_format(encrypted_dump, key):
    encrypted_dump.require()
    head = dumpfile.first_bytes(encrypted_dump.path)
    assert not head.startswith(b"-----BEGIN PGP"), "dump is ASCII-armored"
    assert dumpfile.is_binary_openpgp_start(head), \
        "first byte %#04x is not a binary OpenPGP PKESK/SKESK packet tag" % \
        head[0]

    rc, packets = key.list_packets(encrypted_dump.path)
    assert rc == 0, packets
    assert ":pubkey enc packet:" in packets, packets[:3000]
    assert any(kid.upper() in packets.upper() for kid in key.subkey_ids()), \
        "not encrypted to the configured key:\n" + packets[:3000]
    assert "compressed packet" not in packets, \
        "an OpenPGP compression layer is inside the message"

    gz = key.decrypt(encrypted_dump.path)
    assert gz[:2] == b"\x1f\x8b", "plaintext is not gzip: %r" % gz[:16]
    sql = dumpfile.gunzip(gz)
    assert dumpfile.last_line(sql) == dumpfile.COMPLETION_LINE, \
        "last line is %r" % dumpfile.last_line(sql)[-200:]
    first = sql.split(b"\n", 1)[0]
    assert dumpfile.SANDBOX_MARK not in first, \
        "first line is mariadb-dump's sandbox-mode line: %r" % first


TRAILER_TABLE = re.compile(
    rb"^-- dumpfs: table `((?:[^`]|``)+)`\.`((?:[^`]|``)+)` rows=(0|[1-9][0-9]*)"
    rb" digest=([0-9a-f]{64})$")


def _unquote(name):
    return name.replace(b"``", b"`").decode()


def test_trailer_counts_what_was_dumped(encrypted_dump, key, source):
    """docs/rehearse.md: just before the completion line, one line per
    base table with the rows dumped, then the object counts; all as on the
    source server."""
    encrypted_dump.require()
    sql = dumpfile.gunzip(key.decrypt(encrypted_dump.path))
    lines = sql.rstrip(b"\n").split(b"\n")
    assert lines[-1] == dumpfile.COMPLETION_LINE and lines[-2] == b""
    objects = lines[-3].decode()
    tables = {}
    i = len(lines) - 4
    while lines[i]:
        m = TRAILER_TABLE.match(lines[i])
        assert m, "not a trailer line: %r" % lines[i]
        tables[(_unquote(m.group(1)), _unquote(m.group(2)))] = int(m.group(3))
        i -= 1
    dbs = source.user_databases()
    inlist = ", ".join("'%s'" % d.replace("'", "''") for d in dbs)
    base = source.query(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE "
        "TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND TABLE_SCHEMA IN (%s)" % inlist)
    assert set(tables) == {(d, t) for d, t in base}
    counts = source.query_many(
        ["SELECT COUNT(*) FROM `%s`.`%s`" % (d.replace("`", "``"), t.replace("`", "``"))
         for d, t in sorted(tables)])
    for (d, t), rows in zip(sorted(tables), counts):
        assert tables[(d, t)] == int(rows[0][0]), (d, t)
    assert sum(tables.values()) > 0

    def count(sql):
        return int(source.query(sql % inlist)[0][0])

    want = "-- dumpfs: objects views=%d triggers=%d routines=%d events=%d sequences=%d" % (
        count("SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (%s)"),
        count("SELECT COUNT(*) FROM information_schema.TRIGGERS"
              " WHERE TRIGGER_SCHEMA IN (%s)"),
        count("SELECT COUNT(*) FROM information_schema.ROUTINES"
              " WHERE ROUTINE_SCHEMA IN (%s)"),
        count("SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (%s)"),
        count("SELECT COUNT(*) FROM information_schema.TABLES"
              " WHERE TABLE_TYPE = 'SEQUENCE' AND TABLE_SCHEMA IN (%s)"))
    assert objects == want


# (d) --plain


def test_plain_equals_encrypted(encrypted_dump, key, source_config):
    encrypted_dump.require()
    res = dumpfs.run(["dump", "-c", source_config, "--plain"], timeout=900)
    assert res.returncode == 0, res
    plain = res.stdout
    assert plain[:2] != b"\x1f\x8b", "--plain output is gzip"
    assert dumpfile.last_line(plain) == dumpfile.COMPLETION_LINE, \
        "--plain does not end with the completion line: %r" % \
        dumpfile.last_line(plain)[-200:]
    sql = dumpfile.gunzip(key.decrypt(encrypted_dump.path))
    a, b = dumpfile.normalise(plain), dumpfile.normalise(sql)
    if a != b:
        for i, (la, lb) in enumerate(zip(a, b)):
            if la != lb:
                break
        else:
            i = min(len(a), len(b))
        pytest.fail("--plain differs from the decrypted dump at normalised "
                    "line %d (%d vs %d lines):\n plain: %r\n  dump: %r" % (
                        i + 1, len(a), len(b), a[i][:300] if i < len(a)
                        else None, b[i][:300] if i < len(b) else None))


def test_plain_to_a_file_is_refused(source_config, workdir):
    """Plaintext goes to stdout only (docs/security.md): --plain with -o would put the
    unencrypted data on disk, so it is a usage error and nothing is written."""
    d = os.path.join(workdir, "plain-o")
    os.makedirs(d)
    out = os.path.join(d, "dump.sql")
    for args in (["--plain", "-o", out], ["-o", out, "--plain"],
                 ["--output=" + out, "--plain"]):
        res = dumpfs.run(["dump", "-c", source_config] + args, timeout=300)
        assert res.returncode == 2, res
        assert "--plain writes to stdout only" in res.stderr, res.stderr
        assert os.listdir(d) == [], "files left: %s" % os.listdir(d)


# ---------------------------------------------------------------------------
# (d) failures that need no live dump


def test_garbage_public_key_file(source, key, workdir):
    d = os.path.join(workdir, "garbage-key")
    os.makedirs(d)
    bad = os.path.join(d, "garbage.asc")
    with open(bad, "wb") as f:
        f.write(b"this is not an OpenPGP key\n" + os.urandom(300))
    cfg = write_config(os.path.join(d, "dumpfs.ini"), source, key,
                       extra={"gpg": {"public_key_file": bad}})
    out = os.path.join(d, "out", "dump.sql.gz.gpg")
    os.makedirs(os.path.dirname(out))
    res = dumpfs.run(["dump", "-c", cfg, "-o", out], timeout=300)
    assert res.returncode != 0, res
    assert bad in res.stderr, \
        "the message does not name the key file %s: %s" % (bad, res.stderr)
    assert os.listdir(os.path.dirname(out)) == [], \
        "files left: %s" % os.listdir(os.path.dirname(out))


@pytest.mark.parametrize("section,bad_key", [
    ("mariadb", "bogus_key"),
    ("dump", "compresion_level"),
])
def test_unknown_config_key(source, key, workdir, section, bad_key):
    d = os.path.join(workdir, "badkey-" + bad_key)
    os.makedirs(d)
    cfg = write_config(os.path.join(d, "dumpfs.ini"), source, key,
                       extra={section: {bad_key: "1"}})
    with open(cfg) as f:
        lineno = [i + 1 for i, l in enumerate(f)
                  if l.startswith(bad_key + " ")][0]
    out = os.path.join(d, "out.gpg")
    res = dumpfs.run(["dump", "-c", cfg, "-o", out], timeout=120)
    assert res.returncode != 0, res
    assert cfg in res.stderr, "message lacks the file name: " + res.stderr
    assert bad_key in res.stderr, "message lacks the key: " + res.stderr
    assert dumpfs.mentions_line(res.stderr, lineno), \
        "message lacks line %d: %s" % (lineno, res.stderr)
    assert not os.path.exists(out)


# ---------------------------------------------------------------------------
# (c) consistency under concurrent writes


def test_consistent_snapshot_under_writes(request, scratch, key, workdir):
    d = os.path.join(workdir, "consist")
    os.makedirs(d)
    cfg = write_config(os.path.join(d, "dumpfs.ini"), scratch, key,
                       via="socket", databases=["consist"],
                       compression_level=1)
    out = os.path.join(d, "consist.sql.gz.gpg")
    writer = workload.TransferWriter(scratch)
    try:
        deadline = time.monotonic() + 60
        while workload.balances(scratch)[1] < 50:
            assert time.monotonic() < deadline, "writer makes no progress"
            time.sleep(0.05)
        n_before = workload.balances(scratch)[1]
        t0 = time.monotonic()
        res = dumpfs.run(["dump", "-c", cfg, "-o", out], timeout=900)
        elapsed = time.monotonic() - t0
        n_after = workload.balances(scratch)[1]
    finally:
        writer.stop()
    assert res.returncode == 0, res
    total, _ = workload.balances(scratch)
    assert total == workload.TOTAL, "the writer itself broke the invariant"
    assert n_after - n_before >= 20, \
        "only %d transfers committed during the %.1fs dump: the test " \
        "proves nothing" % (n_after - n_before, elapsed)

    target = Server("rcon")
    request.addfinalizer(target.cleanup)
    target.start()
    restore.restore_encrypted(out, key, target)
    restored_total, restored_n = workload.balances(target)
    assert restored_total == workload.TOTAL, \
        "inconsistent dump: sum(acct_a)+sum(zacct_b) = %d, expected %d " \
        "(%d transfers in the snapshot)" % (restored_total, workload.TOTAL,
                                            restored_n)
    assert n_before <= restored_n <= n_after, \
        "snapshot (%d transfers) not taken during the dump (%d..%d)" % (
            restored_n, n_before, n_after)
    assert target.scalar("SELECT COUNT(*) FROM consist.bulk_m") == \
        scratch.scalar("SELECT COUNT(*) FROM consist.bulk_m")


# ---------------------------------------------------------------------------
# (d) the server dies mid-dump


def _dump_query_running(session, table):
    rows = session.query(
        "SELECT INFO FROM information_schema.PROCESSLIST WHERE USER = "
        "'backup_ro' AND INFO LIKE '%%%s%%' AND INFO LIKE 'SELECT%%'" % table)
    return bool(rows)


def _secret_exposed(pid, secret):
    """True when `secret` is in the argv or environment of pid or its
    children (docs/files.md: never on a command line or in an env)."""
    pids = [pid]
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        for what in ("cmdline", "environ"):
            try:
                with open("/proc/%d/%s" % (p, what), "rb") as f:
                    if secret.encode() in f.read():
                        return "%s of pid %d" % (what, p)
            except OSError:
                pass
    return None


def test_server_killed_mid_dump(scratch, key, workdir):
    d = os.path.join(workdir, "killed")
    outdir = os.path.join(d, "out")
    os.makedirs(outdir)
    cfg = write_config(os.path.join(d, "dumpfs.ini"), scratch, key,
                       databases=["consist"])
    out = os.path.join(outdir, "dump.sql.gz.gpg")
    errf = open(os.path.join(d, "stderr"), "w+b")
    proc = dumpfs.popen(["dump", "-c", cfg, "-o", out], stderr=errf)
    exposed = None
    killed = False
    watch = scratch.session()
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            exposed = exposed or _secret_exposed(
                proc.pid, scratch.backup_user.password)
            if _dump_query_running(watch, "bulk_m"):
                scratch.kill()
                killed = True
                break
            time.sleep(0.005)
        try:
            rc = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("dumpfs hangs after the server was killed")
    finally:
        watch.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if not scratch.running():
            scratch.kill(restart=True)
    errf.seek(0)
    stderr = errf.read().decode(errors="replace")
    errf.close()
    res = dumpfs.Result(proc.args, rc, None, stderr)
    dumpfs.check_sanitizers(res)
    assert killed, "never saw the dump read bulk_m (exit %s): %s" % (
        rc, stderr[-3000:])
    assert not exposed, "the database password is visible in " + exposed
    assert rc != 0, "dumpfs exited 0 although the server died mid-dump"
    assert stderr.strip(), "no error message"
    assert os.listdir(outdir) == [], \
        "output or temporary files left: %s" % os.listdir(outdir)
