"""snapshot/databases/: one <name>.sql.gz.gpg per database (docs/tree.md),
on a real FUSE mount over a real MariaDB server with the corpus, real gpg,
restored with the stock client into a fresh empty server.

- the listing is exactly the databases a dump takes (every non-system one
  when `databases` is empty, the configured ones otherwise), names that
  cannot be file names left out; listing and stat never start a dump (no
  snapshot_open in the daemon's log, and no consistent-snapshot query in
  the server's general log);
- one file restores that database alone, equal to the source;
- the reader limit is shared with now.sql.gz.gpg (EBUSY past it);
- a name that is not listed is ENOENT;
- a server that cannot be reached: the configured names are still listed
  and opening one fails with EIO, recorded in status/last_error; without
  configured names the listing fails with EIO (never an empty directory).
"""

import errno
import os
import subprocess
import time

import pytest

from harness import compare, corpus
from harness.config import write_config
from harness.gpg import GpgKey
from harness.restore import restore_encrypted
from harness.server import Server, ident
from harness.workspace import Workspace

COMPLETION = b"-- dumpfs: dump completed"
DBS = "snapshot/databases"
SNAP = "snapshot/now.sql.gz.gpg"
SUFFIX = ".sql.gz.gpg"
WEIRD = "we`ird-db.x é"  # corpus: backtick, dash, dot, space, non-ASCII
# Databases whose names cannot be file names: never listed.
UNSAFE = ("sl/ash", ".hidden")
LIST_TTL = 5  # DBSNAP_LIST_TTL, fs/mount/dbsnap.h


class Env(Workspace):
    prefix = "dbsnap"

    def setup(self):
        self.server = self.own(Server(name="dbs")).start()
        corpus.load_corpus(self.server)
        self.server.run_sql("".join(
            "CREATE DATABASE %s; CREATE TABLE %s.t (id INT PRIMARY KEY);"
            % (ident(d), ident(d)) for d in UNSAFE))
        self.user = self.server.create_backup_user(
            execute_dbs=corpus.EXECUTE_DBS)
        self.key = self.own(GpgKey())
        self.target = self.own(Server(name="dbs-restore")).start()

    def config(self, server=None, databases=(), fs=None):
        path = self.next_config_path()
        server = server or self.server
        d = self.subdir("archive-%d" % self.n)
        extra = {"fs": dict(fs or {})}
        if not databases:
            extra["mariadb"] = {"databases": None}  # every user database
        return write_config(path, server, self.key, user=server.backup_user,
                            databases=databases, archive_dir=d, extra=extra,
                            fingerprint=False)


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


@pytest.fixture(scope="module")
def all_mount(env):
    """`databases` empty; two readers at most."""
    m = env.mount(env.config(fs={"max_snapshot_readers": "2"}), "all")
    yield m
    assert m.stop() == 0


@pytest.fixture(scope="module")
def some_mount(env):
    # A config cannot name databases with spaces (the list is comma or
    # space separated): `select` (a keyword) stands for the odd ones.
    m = env.mount(env.config(databases=["corpus_types", "select"]), "some")
    yield m
    assert m.stop() == 0


def files(names):
    return sorted(n + SUFFIX for n in names)


def consistent_snapshots(server, user):
    """Consistent-snapshot transactions `user` started, from the general
    log: what every dump starts with, and what a listing must never do."""
    rows = server.query(
        "SELECT COUNT(*) FROM mysql.general_log WHERE user_host LIKE '%s[%%'"
        " AND argument LIKE '%%WITH CONSISTENT SNAPSHOT%%'" % user.name)
    return int(rows[0][0])


def plaintext(env, path):
    res = subprocess.run(
        "gpg --homedir '%s' --batch --no-tty --quiet --decrypt '%s' | gzip -dc"
        % (env.key.home, path), shell=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=600)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    return res.stdout


def test_listing_is_every_user_database_and_starts_no_dump(env, all_mount):
    m = all_mount
    env.server.run_sql("SET GLOBAL log_output = 'TABLE';"
                       "SET GLOBAL general_log = 1;")
    try:
        # The check below sees a dump: one open proves it.
        with open(m.path(SNAP), "rb") as f:
            f.read(1)
        seen = consistent_snapshots(env.server, env.user)
        assert seen >= 1
        opens = m.log().count(" snapshot_open ")
        want = [d for d in env.server.user_databases() if d not in UNSAFE]
        assert WEIRD in want and "corpus_prog" in want
        assert sorted(os.listdir(m.path(DBS))) == files(want)
        for cmd in (["ls", "-la", m.path(DBS)], ["find", m.mnt],
                    ["du", "-a", m.mnt], ["stat", m.path(DBS + "/" + WEIRD + SUFFIX)]):
            res = subprocess.run(cmd, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=120)
            assert res.returncode == 0, (cmd, res.stderr)
            assert (WEIRD + SUFFIX).encode() in res.stdout, cmd
        for name in files(want):
            st = os.stat(m.path(DBS + "/" + name))
            assert st.st_size == 0 and st.st_mode & 0o777 == 0o440, name
        assert m.log().count(" snapshot_open ") == opens
        assert consistent_snapshots(env.server, env.user) == seen
    finally:
        env.server.run_sql("SET GLOBAL general_log = 0;")
    for name in UNSAFE:
        assert "database_not_listed" in m.log() and name in m.log(), name


def test_configured_databases_are_listed_exactly(env, some_mount):
    assert sorted(os.listdir(some_mount.path(DBS))) == \
        files(["corpus_types", "select"])
    assert sorted(os.listdir(some_mount.path("snapshot"))) == \
        ["databases", "now.sql.gz.gpg"]


def test_one_database_restores_alone_into_an_empty_server(env, all_mount):
    src = all_mount.path(DBS + "/" + WEIRD + SUFFIX)
    dest = os.path.join(env.dir, "weird.sql.gz.gpg")
    subprocess.run(["cp", src, dest], check=True, timeout=600)
    sql = plaintext(env, dest)
    assert sql.rstrip().endswith(COMPLETION)
    head = sql[:2000].decode(errors="replace")
    assert "-- Databases: %s\n" % WEIRD in head, head
    env.target.drop_user_databases()
    assert env.target.user_databases() == []
    restore_encrypted(dest, env.key, env.target)
    assert env.target.user_databases() == [WEIRD]
    compare.assert_same(env.server, env.target, databases=[WEIRD],
                        what="databases/%s%s" % (WEIRD, SUFFIX))


def test_reader_limit_is_shared_with_now(env, all_mount):
    m = all_mount
    fds = [os.open(m.path(SNAP), os.O_RDONLY),
           os.open(m.path(DBS + "/corpus_types" + SUFFIX), os.O_RDONLY)]
    try:
        assert m.status()["snapshot_readers"] == 2
        for path in (DBS + "/corpus_tables" + SUFFIX, SNAP):
            with pytest.raises(OSError) as exc:
                os.open(m.path(path), os.O_RDONLY)
            assert exc.value.errno == errno.EBUSY, path
    finally:
        for fd in fds:
            os.close(fd)
    # The slots are given back: a databases/ file opens again, complete.
    dest = os.path.join(env.dir, "types.sql.gz.gpg")
    subprocess.run(["cp", m.path(DBS + "/corpus_types" + SUFFIX), dest],
                   check=True, timeout=600)
    assert plaintext(env, dest).rstrip().endswith(COMPLETION)


def test_a_name_not_listed_is_enoent(env, all_mount, some_mount):
    opens = [m.log().count(" snapshot_open ") for m in (all_mount, some_mount)]
    # Listed ones are there (so the ENOENTs below are not just an empty
    # directory).
    for m in (all_mount, some_mount):
        assert os.stat(m.path(DBS + "/corpus_types" + SUFFIX)).st_size == 0
    for m, name in ((all_mount, "nope" + SUFFIX),
                    (all_mount, "mysql" + SUFFIX),
                    (all_mount, "information_schema" + SUFFIX),
                    (all_mount, "corpus_types.sql"),
                    (all_mount, ".hidden" + SUFFIX),
                    (all_mount, SUFFIX),
                    (some_mount, "corpus_tables" + SUFFIX)):
        for op in (os.stat, lambda p: os.open(p, os.O_RDONLY)):
            with pytest.raises(OSError) as exc:
                op(m.path(DBS + "/" + name))
            assert exc.value.errno == errno.ENOENT, (m.mnt, name)
    assert opens == [m.log().count(" snapshot_open ")
                     for m in (all_mount, some_mount)]


def test_server_down(env):
    """Configured names stay listed and an open fails with EIO, recorded;
    without configured names the listing itself fails with EIO."""
    srv = Server(name="dbs-down").start()
    try:
        srv.run_sql("CREATE DATABASE shop; CREATE TABLE shop.t (id INT);")
        srv.create_backup_user()
        some = env.mount(env.config(server=srv, databases=["shop"]), "down1")
        every = env.mount(env.config(server=srv), "down2")
        assert os.listdir(every.path(DBS)) == ["shop" + SUFFIX]
        srv.kill()
        assert os.listdir(some.path(DBS)) == ["shop" + SUFFIX]
        with pytest.raises(OSError) as exc:
            with open(some.path(DBS + "/shop" + SUFFIX), "rb") as f:
                f.read()
        assert exc.value.errno == errno.EIO
        assert "snapshot of database 'shop'" in \
            open(some.path("status/last_error")).read()
        assert some.status()["last_error"]
        time.sleep(LIST_TTL + 0.5)  # the server's answer is kept that long
        with pytest.raises(OSError) as exc:
            os.listdir(every.path(DBS))
        assert exc.value.errno == errno.EIO
        assert "database_list_failed" in every.log()
        assert sorted(os.listdir(every.path("snapshot"))) == \
            ["databases", "now.sql.gz.gpg"]
        for m in (some, every):
            assert m.stop() == 0
    finally:
        srv.cleanup()


def test_spool_mode_rsync_copies_one_database(env):
    """Spool mode applies to databases/ too: fstat on the open file gives
    the exact size, so rsync copies it whole."""
    m = env.mount(env.config(fs={"snapshot_mode": "spool"}), "spool")
    src = m.path(DBS + "/corpus_types" + SUFFIX)
    with open(src, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        assert size > 0 and len(f.read()) == size
    dest = os.path.join(env.dir, "rsync-spool")
    os.makedirs(dest)
    subprocess.run(["rsync", src, dest + "/"], check=True, timeout=600)
    sql = plaintext(env, os.path.join(dest, "corpus_types" + SUFFIX))
    assert sql.rstrip().endswith(COMPLETION)
    assert b"-- Databases: corpus_types\n" in sql[:2000]
    assert m.stop() == 0
