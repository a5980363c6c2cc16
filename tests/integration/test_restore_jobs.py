"""`dumpfs restore --jobs N` (docs/rehearse.md): table data on N connections.

- `--jobs 4` of the corpus plus a database of parent/child tables with
  foreign keys and a trigger that writes an audit table equals the source
  (harness compare); the target's general log shows the data of those
  tables spread over several connections (children and parents loaded on
  different ones) and the audit table is not doubled;
- a statement that fails on one connection (a duplicate key planted in one
  table's INSERT) stops the others and is reported once, with its line in
  the SQL and its table; exit 1;
- `--jobs 1` is the one-client restore; a bad --jobs is a usage error.
Reuses test_restore.py's Env (servers, key, configs).
"""

import os
import re
import time

import pytest

from harness.compare import assert_same
from harness.dumpfs import run_dumpfs
from test_restore import Env

JOBS_DB = "jobs_fk"
N_PARENTS = 6
CHILD_ROWS = 30000  # ~3 MB of INSERTs per child table: several statements

JOBS_SQL = """
CREATE DATABASE %(db)s;
USE %(db)s;
SET foreign_key_checks = 0;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(64) NOT NULL);
""" % {"db": JOBS_DB}


def jobs_sql():
    """Parents p0..p5, children c0..c5 (child i references parent i and,
    crosswise, parent i+1), rows from the SEQUENCE engine; an AFTER
    INSERT trigger on c0 writes the audit table."""
    out = [JOBS_SQL]
    for i in range(N_PARENTS):
        out.append("CREATE TABLE p%d (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);" % i)
        out.append("INSERT INTO p%d SELECT seq, CONCAT('parent ', seq) FROM seq_1_to_2000;"
                   % i)
    for i in range(N_PARENTS):
        out.append(
            "CREATE TABLE c%d (id INT PRIMARY KEY, parent_id INT NOT NULL, other_id INT,"
            " note VARCHAR(80) NOT NULL,"
            " CONSTRAINT fk_c%d_p FOREIGN KEY (parent_id) REFERENCES p%d (id),"
            " CONSTRAINT fk_c%d_o FOREIGN KEY (other_id) REFERENCES p%d (id)"
            " ON DELETE SET NULL);" % (i, i, i, i, (i + 1) % N_PARENTS))
    out.append("SET foreign_key_checks = 1;")
    out.append("CREATE TRIGGER c0_ai AFTER INSERT ON c0 FOR EACH ROW"
               " INSERT INTO audit (what) VALUES (CONCAT('c0 ', NEW.id));")
    for i in range(N_PARENTS):
        out.append(
            "INSERT INTO c%d SELECT seq, 1 + seq %% 2000, 1 + (seq * 7) %% 2000,"
            " CONCAT('child row ', seq, ' of c%d with some text to fill it up')"
            " FROM seq_1_to_%d;" % (i, i, CHILD_ROWS))
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def env():
    e = Env()
    try:
        e.src.run_sql(jobs_sql())
        assert e.src.query("SELECT COUNT(*) FROM %s.audit" % JOBS_DB) == [
            (str(CHILD_ROWS),)]
        # A second backup, with the jobs database (names are per second).
        time.sleep(1.1)
        res = run_dumpfs(["backup"], e.config(None))
        assert res.returncode == 0, res.stderr.decode()
        names = sorted(n for n in os.listdir(e.archive) if n.endswith(".sql.gz.gpg"))
        e.backup = os.path.join(e.archive, names[-1])
        yield e
    finally:
        e.close()


def insert_threads(target):
    """{table: set of connection ids} of the INSERTs into JOBS_DB's tables,
    from the general log."""
    rows = target.query(
        "SELECT thread_id, argument FROM mysql.general_log"
        " WHERE command_type = 'Query' AND argument LIKE 'INSERT INTO %'")
    seen = {}
    for tid, arg in rows:
        m = re.match(r"INSERT INTO `([pc]\d+|audit)`", arg or "")
        if m:
            seen.setdefault(m.group(1), set()).add(tid)
    return seen


def logging_target(env):
    t = env.target()
    t.run_sql("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1;")
    return t


def test_jobs_4_equals_the_source(env):
    t = logging_target(env)
    res = env.restore(env.backup, t, "--jobs", "4")
    assert res.returncode == 0, res.stderr.decode()
    assert b"jobs=4" in res.stderr, res.stderr.decode()
    t.run_sql("SET GLOBAL general_log = 0;")
    assert_same(env.src, t, databases=env.src.user_databases(), what="restore --jobs 4")
    # The trigger did not fire during the load: the audit table has the
    # source's rows, not one more per restored c0 row.
    assert t.query("SELECT COUNT(*) FROM %s.audit" % JOBS_DB) == [(str(CHILD_ROWS),)]
    seen = insert_threads(t)
    tables = ["p%d" % i for i in range(N_PARENTS)] + ["c%d" % i for i in range(N_PARENTS)]
    assert set(tables) <= set(seen), seen
    everyone = set().union(*seen.values())
    assert len(everyone) >= 2, "all data on one connection: %s" % seen
    # Big tables are split by statement over several connections ...
    assert any(len(seen["c%d" % i]) >= 2 for i in range(N_PARENTS)), seen
    # ... and a child and its parent were loaded (at least partly) on
    # different connections.
    assert any(seen["c%d" % i] != seen["p%d" % i] for i in range(N_PARENTS)), seen
    # The foreign keys work after the restore.
    with pytest.raises(Exception):
        t.run_sql("INSERT INTO %s.c1 VALUES (999999, 424242, NULL, 'x');" % JOBS_DB)


def planted_duplicate(env):
    """The backup's SQL with the first row of the 2nd INSERT statement into
    c3 repeated in it (a duplicate key the server refuses), re-encrypted;
    returns (path, the statement's line in the SQL)."""
    lines = env.plaintext().split(b"\n")
    starts = [i for i, l in enumerate(lines) if l.startswith(b"INSERT INTO `c3` ")]
    assert len(starts) >= 2, "c3 has one INSERT only: make CHILD_ROWS larger"
    at = starts[1]
    lines.insert(at + 2, lines[at + 1].rstrip(b",;") + b",")
    return env.encrypt(b"\n".join(lines), "dup-c3.sql.gz.gpg"), at + 1


def test_failure_on_one_connection_stops_all_and_is_reported_once(env):
    path, line = planted_duplicate(env)
    t = env.target()
    res = env.restore(path, t, "--jobs", "4")
    err = res.stderr.decode()
    assert res.returncode == 1, err
    # One report on the terminal, one restore_failed in the log: nothing
    # from the clients that were stopped.
    reports = [l for l in err.split("\n") if l.startswith("dumpfs: restore:")]
    assert len(reports) == 1, err
    assert err.count("the server rejected the SQL") == 2, err
    assert err.count("restore_failed") == 1, err
    assert ("the server rejected the SQL at line %d, table `%s`.`c3`" % (line, JOBS_DB)
            in reports[0]), err
    assert "Duplicate entry" in reports[0], err
    # Stopped there: what the dump holds after c3 (c4, c5) was never created.
    have = [r[0] for r in t.query(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s'"
        % JOBS_DB)]
    assert "c3" in have and "c4" not in have and "c5" not in have, have


def test_jobs_1_is_the_one_client_restore(env):
    t = logging_target(env)
    res = env.restore(env.backup, t, "--jobs", "1")
    assert res.returncode == 0, res.stderr.decode()
    assert b"jobs=1" in res.stderr, res.stderr.decode()
    t.run_sql("SET GLOBAL general_log = 0;")
    assert_same(env.src, t, databases=[JOBS_DB], what="restore --jobs 1")
    seen = insert_threads(t)
    assert len(set().union(*seen.values())) == 1, seen


@pytest.mark.parametrize("bad", ["0", "65", "-1", "two", ""])
def test_bad_jobs_is_a_usage_error(env, bad):
    res = run_dumpfs(["restore", env.backup, "--jobs", bad], env.config(None),
                     gnupghome=env.key.home)
    assert res.returncode == 2, res.stderr.decode()
    assert b"--jobs" in res.stderr
