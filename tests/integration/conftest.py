"""Fixtures for the dumpfs integration tests: real MariaDB 10.11 servers
(private datadir/socket/port, encryption at rest, binlog), a throwaway
GnuPG key pair, and the dumps the tests share.

Every server fixture stops its server in a finalizer, and harness.procs
SIGKILLs anything still alive at exit."""

import os
import shutil
import tempfile

import pytest

from harness import corpus, dumpfs, gpg, procs, restore, workload
from harness.config import write_config
from harness.server import Server


def pytest_configure(config):
    """No binary under test is an error at session start, never a suite
    of skipped (or passing) tests."""
    if config.option.help:
        return
    problem = dumpfs.find_dumpfs_bin()[1]
    if problem:
        raise pytest.UsageError(problem)


def _server(request, name, **kw):
    srv = Server(name, **kw)
    request.addfinalizer(srv.cleanup)
    srv.start()
    return srv


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="dfs-work-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def key():
    k = gpg.GpgKey()
    yield k
    k.close()


@pytest.fixture(scope="session", autouse=True)
def _cleanup_agents():
    yield
    if dumpfs._gnupg_home:
        gpg.kill_agents(dumpfs._gnupg_home[0])
        shutil.rmtree(dumpfs._gnupg_home[0], ignore_errors=True)
    procs.kill_all()


@pytest.fixture(scope="session")
def source(request):
    """The corpus, loaded once; with the least-privilege dump account."""
    srv = _server(request, "src")
    corpus.load_corpus(srv)
    srv.create_backup_user(execute_dbs=corpus.EXECUTE_DBS)
    return srv


class DumpRun:
    """One `dumpfs dump` run and its output file."""

    def __init__(self, result, path, config):
        self.result = result
        self.path = path
        self.config = config

    def require(self):
        assert self.result.returncode == 0, \
            "dumpfs dump failed (exit %d):\n%s" % (self.result.returncode,
                                                   self.result.stderr[-5000:])
        assert os.path.isfile(self.path), \
            "dumpfs dump exited 0 but wrote no %s" % self.path
        return self


@pytest.fixture(scope="session")
def source_config(source, key, workdir):
    """dumpfs config for the corpus server over TCP, every database."""
    d = os.path.join(workdir, "src")
    os.makedirs(os.path.join(d, "archive"))
    return write_config(os.path.join(d, "dumpfs.ini"), source, key)


@pytest.fixture(scope="session")
def encrypted_dump(source, source_config, workdir):
    out = os.path.join(workdir, "src", "corpus.sql.gz.gpg")
    res = dumpfs.run(["dump", "-c", source_config, "-o", out], timeout=900)
    return DumpRun(res, out, source_config)


@pytest.fixture(scope="session")
def dumpfs_target(request, encrypted_dump, key):
    """A fresh server restored from the dumpfs dump of the corpus."""
    encrypted_dump.require()
    srv = _server(request, "rdfs")
    restore.restore_encrypted(encrypted_dump.path, key, srv)
    return srv


def mariadb_dump_databases(server):
    return [d for d in server.user_databases()
            if d not in corpus.MARIADB_DUMP_SKIP_DBS]


@pytest.fixture(scope="session")
def mdump_target(request, source):
    """A fresh server restored from stock mariadb-dump of the corpus."""
    srv = _server(request, "rmdp")
    restore.mariadb_dump_to(source, srv, mariadb_dump_databases(source))
    return srv


@pytest.fixture(scope="module")
def scratch(request):
    """A server for the consistency and failure tests (they write to it
    and kill it): database `consist` plus the dump account."""
    srv = _server(request, "scr")
    workload.create_consist_db(srv)
    srv.create_backup_user()
    return srv
