"""The mount: snapshot/, archive/ and status/ on a real FUSE mount, read by
real clients (cp, cat, dd, rsync, sha256sum, find, du, promtool) against a
real MariaDB server and a real GnuPG key pair.

Every daemon runs in the foreground (-f) with its stderr in a file that is
scanned for sanitizer reports when it stops; every mount is unmounted and
every daemon stopped in teardown, also when a test fails.

Self-contained like test_archive.py: the harness' Server, GpgKey, Mount
(harness/mount.py, shared with test_mount_alerts.py) and Workspace
(harness/workspace.py), our own configs and mount fixture.
"""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from harness import compare, corpus
from harness.dumpfs import run_dumpfs
from harness.config import write_config
from harness.gpg import GpgKey
from harness.mount import SANITIZER, child_env, dumpfs_bin, listing, mounted, wait_for
from harness.restore import restore_encrypted, run_pipeline, _restore_cmd
from harness.server import Server
from harness.workspace import Workspace

COMPLETION = b"-- dumpfs: dump completed"
SNAP = "snapshot/now.sql.gz.gpg"
STATUS_FILES = ("health", "last_success", "last_error", "age_seconds",
                "status.json", "metrics.prom")
MiB = 1 << 20


class Env(Workspace):
    """A server with the corpus, another with one big table, the backup
    account on both, the key pair, a restore target and a scratch
    directory."""

    prefix = "mount"

    def setup(self):
        self.server = self.own(Server(name="mnt")).start()
        corpus.load_corpus(self.server)
        self.corpus_dbs = self.server.user_databases()
        self.user = self.server.create_backup_user(
            execute_dbs=corpus.EXECUTE_DBS)
        self.big = self.own(Server(name="mnt-big")).start()
        self.big.run_sql(
            "CREATE DATABASE big;"
            "CREATE TABLE big.t (id INT PRIMARY KEY, h CHAR(64),"
            " p VARCHAR(200));")
        self.big.run_sql(
            "INSERT INTO t SELECT seq, SHA2(seq,256),"
            " CONCAT(MD5(seq), SHA1(seq), SHA2(seq + 1, 256))"
            " FROM seq_1_to_400000;", db="big")
        self.big_user = self.big.create_backup_user()
        self.key = self.own(GpgKey())
        self.target = self.own(Server(name="mnt-restore")).start()

    def config(self, archive_dir, server=None, user=None, fs=(), **archive):
        """A config for `server` (the corpus one: every user database)."""
        path = self.next_config_path()
        server = server or self.server
        user = user or (self.big_user if server is self.big else self.user)
        extra = {"mariadb": {"databases": None},  # every user database
                 "archive": {k: str(v) for k, v in archive.items()},
                 "fs": {k: str(v) for k, v in fs}}
        return write_config(path, server, self.key, user=user,
                            archive_dir=archive_dir, extra=extra,
                            fingerprint=False)

    def dump_queries(self, server=None):
        """Connections of the backup account still on the server."""
        server = server or self.big
        return server.query(
            "SELECT ID, COMMAND, INFO FROM information_schema.PROCESSLIST"
            " WHERE USER = '%s'" % self.user.name)


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


@pytest.fixture
def stop_mounts(env):
    """Stops (and sanitizer-checks) the mounts a test started, even when it
    failed; a test that expects exit code 0 asserts it itself."""
    start = len(env.mounts)
    yield
    for m in env.mounts[start:]:
        if m.proc.poll() is None or mounted(m.mnt):
            m.stop()
        m.check_sanitizers()


@pytest.fixture(scope="module")
def corpus_mount(env):
    """The corpus databases, two readers at most."""
    d = env.subdir("archive-corpus")
    m = env.mount(env.config(d, fs=[("max_snapshot_readers", 2)]), "corpus")
    m.archive = d
    yield m
    assert m.stop() == 0


@pytest.fixture(scope="module")
def big_mount(env):
    """The big table only: a dump much larger than every buffer.  Its own
    TMPDIR, so that its temporaries and gpg processes can be told from
    those of anything else running on the machine."""
    d = env.subdir("archive-big")
    tmp = env.subdir("tmp-big")
    m = env.mount(env.config(d, server=env.big), "big", env={"TMPDIR": tmp})
    m.archive = d
    m.tmp = tmp
    yield m
    assert m.stop() == 0


def restore_and_compare(env, path, what):
    env.target.drop_user_databases()
    restore_encrypted(path, env.key, env.target)
    compare.assert_same(env.server, env.target, databases=env.corpus_dbs,
                        what=what)


def plaintext_tail(env, path, nbytes=200):
    """gpg --decrypt | gunzip of a file, checked whole; its last bytes."""
    with tempfile.TemporaryFile() as out:
        gpg = subprocess.Popen(["gpg", "--homedir", env.key.home, "--batch",
                                "--no-tty", "--quiet", "--decrypt", path],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-dc"], stdin=gpg.stdout, stdout=out,
                              stderr=subprocess.PIPE)
        gpg.stdout.close()
        gz_err = gz.communicate(timeout=600)[1]
        gpg_err = gpg.communicate(timeout=60)[1]
        assert gpg.returncode == 0, gpg_err.decode(errors="replace")
        assert gz.returncode == 0, gz_err.decode(errors="replace")
        size = out.seek(0, os.SEEK_END)
        out.seek(max(0, size - nbytes))
        return out.read()


def assert_complete(env, path):
    assert plaintext_tail(env, path).rstrip().endswith(COMPLETION)


def count(log, event):
    return len(re.findall(r" %s " % event, log))


# ---- the tree and status/ -------------------------------------------------

def read_status(m, name):
    """Content of a status file and the size stat reported for it; the
    content may change between the two (age_seconds ticks), so retry
    until a stat brackets a read."""
    p = m.path("status/" + name)
    for _ in range(20):
        before = os.stat(p).st_size
        with open(p, "rb") as f:
            data = f.read()
            fsize = os.fstat(f.fileno()).st_size
        after = os.stat(p).st_size
        assert fsize == len(data), name  # the open handle: always exact
        if before == after == len(data):
            return data
    raise AssertionError("st_size of %s never matched its content" % name)


def test_tree_and_status_files(env, corpus_mount):
    m = corpus_mount
    assert sorted(os.listdir(m.mnt)) == ["archive", "snapshot", "status"]
    assert sorted(os.listdir(m.path("snapshot"))) == ["databases",
                                                      "now.sql.gz.gpg"]
    assert sorted(os.listdir(m.path("snapshot/databases"))) == sorted(
        d + ".sql.gz.gpg" for d in env.corpus_dbs)
    assert sorted(os.listdir(m.path("status"))) == sorted(STATUS_FILES)
    assert os.listdir(m.path("archive")) == []
    st = os.stat(m.path(SNAP))
    assert st.st_size == 0 and st.st_mode & 0o777 == 0o440  # [fs] group only
    for name in STATUS_FILES:
        data = read_status(m, name)
        assert data.endswith(b"\n"), name
    assert read_status(m, "health") == b"NONE no backup found\n"
    assert read_status(m, "last_success") == b"\n"
    assert read_status(m, "age_seconds") == b"\n"
    doc = json.loads(read_status(m, "status.json"))
    for key in ("state", "last_success", "age_seconds", "max_age_seconds",
                "last_file", "last_size_bytes", "last_duration_seconds",
                "last_error", "last_error_at", "running", "archive_count",
                "next_run", "key_fingerprint", "key_expires", "version"):
        assert key in doc, key
    assert doc["state"] == "none" and doc["archive_count"] == 0
    assert doc["key_fingerprint"] == env.key.fingerprint
    assert doc["next_run"] is None  # schedule = off
    prom = os.path.join(env.dir, "metrics.prom")
    with open(prom, "wb") as f:
        f.write(read_status(m, "metrics.prom"))
    res = subprocess.run(["promtool", "check", "metrics"],
                         stdin=open(prom, "rb"), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    assert res.returncode == 0, res.stdout.decode()
    text = open(prom).read()
    for metric in ("dumpfs_last_success_timestamp_seconds",
                   "dumpfs_backup_age_seconds",
                   "dumpfs_last_backup_size_bytes",
                   "dumpfs_last_backup_duration_seconds",
                   "dumpfs_backups_total", "dumpfs_archive_files",
                   "dumpfs_snapshot_readers", "dumpfs_up"):
        assert metric in text, metric


def test_ls_stat_find_du_never_start_a_dump(env, corpus_mount):
    m = corpus_mount
    before = count(m.log(), "snapshot_open")
    for cmd in (["ls", "-laR", m.mnt], ["stat", m.path(SNAP)],
                ["find", m.mnt, "-ls"], ["du", "-a", m.mnt],
                ["find", m.mnt, "-type", "f", "-size", "0"]):
        res = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=60)
        assert res.returncode == 0, (cmd, res.stderr)
        assert b"now.sql.gz.gpg" in res.stdout, cmd
    time.sleep(0.5)
    assert count(m.log(), "snapshot_open") == before
    assert env.dump_queries(env.server) == []


# ---- snapshot/ streams -------------------------------------------------------

def test_cp_of_snapshot_restores_the_same_data(env, corpus_mount):
    dest = os.path.join(env.dir, "cp.sql.gz.gpg")
    subprocess.run(["cp", corpus_mount.path(SNAP), dest], check=True,
                   timeout=600)
    assert os.path.getsize(dest) > 0
    restore_and_compare(env, dest, "cp of the snapshot")


def test_cat_through_a_pipe_restores_the_same_data(env, corpus_mount):
    env.target.drop_user_databases()
    gpg = ["gpg", "--homedir", env.key.home, "--batch", "--no-tty",
           "--quiet", "--decrypt"]
    run_pipeline([["cat", corpus_mount.path(SNAP)], gpg, ["gzip", "-dc"],
                  _restore_cmd(env.target)])
    compare.assert_same(env.server, env.target, databases=env.corpus_dbs,
                        what="cat | gpg | gunzip | mariadb")


def test_dd_4k_restores_the_same_data(env, corpus_mount):
    dest = os.path.join(env.dir, "dd.sql.gz.gpg")
    subprocess.run(["dd", "if=" + corpus_mount.path(SNAP), "of=" + dest,
                    "bs=4k", "status=none"], check=True, timeout=600)
    restore_and_compare(env, dest, "dd bs=4k")


def test_direct_io_and_threads_on_one_fd_keep_the_order(env, corpus_mount):
    # O_DIRECT with large blocks: requests go straight to the daemon.
    dest = os.path.join(env.dir, "direct.sql.gz.gpg")
    subprocess.run(["dd", "if=" + corpus_mount.path(SNAP), "of=" + dest,
                    "bs=4M", "iflag=direct", "status=none"], check=True,
                   timeout=600)
    assert_complete(env, dest)
    # Four threads reading one fd: the kernel and the daemon must hand
    # out every byte once, in order of the file position.
    fd = os.open(corpus_mount.path(SNAP), os.O_RDONLY)
    pieces, lock, errors = [], threading.Lock(), []

    def reader():
        try:
            while True:
                with lock:  # the read and its place in the list together
                    data = os.read(fd, 100000)
                    pieces.append(data)
                if not data:
                    return
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    os.close(fd)
    assert not errors
    dest2 = os.path.join(env.dir, "threads.sql.gz.gpg")
    with open(dest2, "wb") as f:
        f.write(b"".join(pieces))
    assert_complete(env, dest2)


def test_two_readers_get_two_dumps_a_third_gets_ebusy(env, corpus_mount):
    m = corpus_mount
    outs = [os.path.join(env.dir, "r%d.sql.gz.gpg" % i) for i in (1, 2)]
    fds = [os.open(m.path(SNAP), os.O_RDONLY) for _ in outs]
    try:
        assert m.status()["snapshot_readers"] == 2
        with pytest.raises(OSError) as exc:
            os.open(m.path(SNAP), os.O_RDONLY)
        assert exc.value.errno == errno.EBUSY

        def drain(fd, out):
            with open(out, "wb") as f:
                while True:
                    data = os.read(fd, 131072)
                    if not data:
                        return
                    f.write(data)

        threads = [threading.Thread(target=drain, args=a)
                   for a in zip(fds, outs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
    finally:
        for fd in fds:
            os.close(fd)
    for out in outs:
        assert_complete(env, out)
    assert count(m.log(), "snapshot_busy") >= 1
    # Slots are given back on close.
    deadline = time.monotonic() + 10
    while m.status()["snapshot_readers"] != 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def read_and_close(m, nbytes):
    fd = os.open(m.path(SNAP), os.O_RDONLY)
    got = 0
    try:
        while got < nbytes:
            data = os.read(fd, 65536)
            assert data, "EOF after %d bytes" % got
            got += len(data)
    finally:
        os.close(fd)


def helper_procs(m):
    """Processes the daemon started: its children (zombies included), and
    the gpg that gpgme double-forks (so not a child), known by the daemon's
    own TMPDIR (its --homedir) in the command line."""
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        n += ppid == m.pid or m.tmp.encode() in cmdline
    return n


def fds_readable(pid):
    """None when the fds of pid can be read, else why not: the daemon is
    not dumpable, so reading its /proc/PID/fd links takes CAP_SYS_PTRACE,
    which root lacks in a container (podman and docker drop it)."""
    try:
        os.readlink("/proc/%d/fd/0" % pid)
        return None
    except PermissionError as e:
        return "cannot read the fds of the non-dumpable daemon (%s): no " \
            "CAP_SYS_PTRACE here, as in a container" % e


def open_fds(pid):
    """The open fds of pid, as sorted targets ("socket", "pipe", paths);
    [] when they cannot be read (see fds_readable)."""
    out = []
    if fds_readable(pid):
        return out
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue  # closed meanwhile
        out.append(re.sub(r"^(socket|pipe|anon_inode):.*", r"\1", target))
    return sorted(out)


def resources(m, sess, user):
    """What a snapshot holds while it runs and must give back: the
    daemon's open fds and threads, the backup account's connections (and
    all the server's), helper processes, temp dirs in the daemon's TMPDIR
    (dumpfs-gpg-*, dumpfs-v-*, ...) and hidden temporaries in the archive."""
    conns, connected = sess.query(
        "SELECT (SELECT COUNT(*) FROM information_schema.PROCESSLIST"
        "        WHERE USER = '%s'),"
        " (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
        "  WHERE VARIABLE_NAME = 'THREADS_CONNECTED')" % user)[0]
    return {
        "fds": open_fds(m.pid),
        "threads": m.threads(),
        "dump_threads": m.threads("dumpfs-snap"),
        "backup_connections": int(conns),
        "threads_connected": int(connected),
        "helper_procs": helper_procs(m),
        "tmp_entries": sorted(os.listdir(m.tmp)),
        "archive_temps": sorted(n for n in os.listdir(m.archive)
                                if n.startswith(".")),
    }


def settled(now, base):
    """Everything back to the baseline.  libfuse's idle workers stay (at
    most 10) and a busy moment may add one, so threads get 2 of slack; each
    worker keeps its own splice pipe pair, so pipes may follow threads, two
    per thread, and no further.  The dump's own threads must all be gone,
    every other fd and everything else must be exactly as before."""
    def pipes(r):
        return r["fds"].count("pipe")

    def others(r):
        return [f for f in r["fds"] if f != "pipe"]

    return (now["dump_threads"] == 0 and now["threads"] <= base["threads"] + 2
            and pipes(now) - 2 * now["threads"] <= pipes(base) - 2 * base["threads"]
            and others(now) == others(base)
            and all(now[k] == base[k] for k in base
                    if k not in ("threads", "dump_threads", "fds")))


def test_early_close_releases_everything_the_dump_held(env, big_mount):
    """A reader that closes the snapshot early, 20 times: each time the
    query is killed and the daemon's fds, threads, server connections, gpg
    processes and temporaries return to what they were."""
    m = big_mount
    user = env.big_user.name
    no_fds = fds_readable(m.pid)
    with env.big.session() as sess:
        # Warm up: the FUSE loop keeps the worker threads it once needed.
        for _ in range(3):
            read_and_close(m, MiB)
        deadline = time.monotonic() + 30
        prev = None
        while True:
            base = resources(m, sess, user)
            if base["dump_threads"] == 0 and base == prev:
                break
            assert time.monotonic() < deadline, \
                "never quiet after the warm-up: %s then %s" % (prev, base)
            prev = base
            time.sleep(0.2)
        assert base["backup_connections"] == 0, base
        for i in range(20):
            aborted = count(m.log(), "snapshot_aborted")
            fd = os.open(m.path(SNAP), os.O_RDONLY)
            try:
                os.read(fd, MiB)
                busy = resources(m, sess, user)
            finally:
                os.close(fd)
            # The counters see the running dump (else they prove nothing).
            assert busy["dump_threads"] >= 2, busy  # worker, gzip, gpg...
            assert busy["backup_connections"] > base["backup_connections"], busy
            assert busy["helper_procs"] > base["helper_procs"], busy
            assert no_fds or len(busy["fds"]) > len(base["fds"]), busy
            deadline = time.monotonic() + 15
            while True:
                now = resources(m, sess, user)
                if settled(now, base) and \
                        count(m.log(), "snapshot_aborted") > aborted:
                    break
                assert time.monotonic() < deadline, (
                    "after close #%d, not back to the baseline:\n%s\n"
                    "baseline:\n%s\n%s"
                    % (i + 1, "\n".join("  %s: %s (was %s)" % (k, now[k], base[k])
                                         for k in now if now[k] != base[k]),
                       base, m.log()[-3000:]))
                time.sleep(0.1)
    assert 'reason="reader closed"' in m.log()
    assert "snapshot_failed" not in m.log()
    assert m.status()["last_error"] is None
    if no_fds:
        # Everything else was checked; say plainly what was not.
        pytest.skip("fd counts not checked (threads, connections, helpers "
                    "and temporaries were): " + no_fds)


def test_reader_pausing_90s_gets_a_complete_dump(env, big_mount):
    m = big_mount
    dest = os.path.join(env.dir, "paused.sql.gz.gpg")
    rss0 = m.rss_kib()
    with open(m.path(SNAP), "rb", buffering=0) as src, \
            open(dest, "wb") as out:
        out.write(src.read(MiB))
        time.sleep(45)
        # Backpressure: the dump waits, memory stays bounded.
        assert m.rss_kib() - rss0 < 200 * 1024
        time.sleep(45)
        shutil.copyfileobj(src, out, 1 << 18)
    assert os.path.getsize(dest) > 8 * MiB  # far more than the buffers
    assert_complete(env, dest)


def test_server_stopped_mid_stream_gives_eio_and_last_error(env, stop_mounts):
    srv = Server(name="mnt-fail").start()
    try:
        srv.run_sql(
            "CREATE DATABASE doomed;"
            "CREATE TABLE doomed.t (id INT PRIMARY KEY, h CHAR(64),"
            " p VARCHAR(200));")
        srv.run_sql(
            "INSERT INTO t SELECT seq, SHA2(seq,256),"
            " CONCAT(MD5(seq), SHA1(seq), SHA2(seq + 1, 256))"
            " FROM seq_1_to_300000;", db="doomed")
        user = srv.create_backup_user()
        cfg = env.config(env.subdir("archive-fail"), server=srv, user=user)
        m = env.mount(cfg, "fail")
        got, err = 0, None
        with open(m.path(SNAP), "rb", buffering=0) as src:
            got += len(src.read(MiB))
            srv.kill()
            try:
                while True:
                    data = src.read(65536)
                    if not data:
                        break
                    got += len(data)
            except OSError as e:
                err = e
        assert err is not None and err.errno == errno.EIO, \
            "clean EOF after %d bytes of a failed dump" % got
        last_error = open(m.path("status/last_error")).read()
        assert last_error.strip(), "status/last_error is empty"
        assert m.status()["last_error"]
        assert "snapshot_failed" in m.log()
        assert m.stop() == 0
    finally:
        srv.cleanup()


# ---- archive/ ---------------------------------------------------------------

def test_archive_view_after_two_backups(env, corpus_mount):
    m = corpus_mount
    d = m.archive
    for _ in range(2):
        res = run_dumpfs(["backup"], m.config)
        assert res.returncode == 0, res.stderr.decode()
    backups = sorted(n for n in os.listdir(d) if n.endswith(".sql.gz.gpg"))
    assert len(backups) == 2
    # Things that must never be listed.
    for junk in (".%s.tmp-AbC123" % backups[0], "notes.txt",
                 "other_2020-01-01_000000.sql.gz.gpg"):
        with open(os.path.join(d, junk), "w") as f:
            f.write("junk\n")
    want = sorted(backups + [b + ".sha256" for b in backups] +
                  ["latest.sql.gz.gpg"])
    assert sorted(os.listdir(m.path("archive"))) == want
    for n in backups + [b + ".sha256" for b in backups]:
        real, seen = os.stat(os.path.join(d, n)), os.stat(m.path("archive/" + n))
        assert (seen.st_size, seen.st_mtime_ns) == (real.st_size,
                                                   real.st_mtime_ns), n
        assert seen.st_mode & 0o222 == 0, n
    latest = m.path("archive/latest.sql.gz.gpg")
    assert os.path.islink(latest) and os.readlink(latest) == backups[-1]
    with open(latest, "rb") as a, open(os.path.join(d, backups[-1]), "rb") as b:
        assert a.read() == b.read()
    res = subprocess.run(["sha256sum", "-c"] + [b + ".sha256" for b in backups],
                         cwd=m.path("archive"), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    assert res.returncode == 0, res.stdout.decode()
    dest = env.subdir("rsync-archive")
    subprocess.run(["rsync", "-a", m.path("archive") + "/", dest + "/"],
                   check=True, timeout=600)
    got = listing(dest)
    real = listing(d)
    assert sorted(got) == sorted(n for n in want if n != "latest.sql.gz.gpg")
    for n in got:
        assert got[n] == real[n], n  # bytes and mtime
    assert os.readlink(os.path.join(dest, "latest.sql.gz.gpg")) == backups[-1]
    # status/ follows the archive at once.
    doc = m.status()
    assert doc["state"] == "ok" and doc["archive_count"] == 2
    assert doc["last_file"] == backups[-1]
    # Issue 11: the rules in force (the defaults) and what each keeps.
    assert doc["retention"] == {
        "keep_days": 30, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0,
        "keep_yearly": 0, "min_keep": 3, "kept": 2,
        "kept_by": {"days": 2, "daily": 0, "weekly": 0, "monthly": 0, "yearly": 0,
                    "min_keep": 2}}
    health = read_status(m, "health").decode()
    assert re.fullmatch(r"OK \d+ %s\n" % re.escape(backups[-1]), health)
    assert read_status(m, "last_success").strip()
    assert re.fullmatch(rb"\d+\n", read_status(m, "age_seconds"))


def test_every_write_fails_with_erofs_and_changes_nothing(env, corpus_mount):
    m = corpus_mount
    if not any(n.endswith(".gpg") for n in os.listdir(m.archive)):
        assert run_dumpfs(["backup"], m.config).returncode == 0
    before = listing(m.archive)
    backup = sorted(n for n in before if n.endswith(".gpg"))[0]
    arch = m.path("archive/" + backup)
    new = m.path("archive/new")
    ops = {
        "create": lambda: os.open(new, os.O_WRONLY | os.O_CREAT, 0o644),
        "open for writing": lambda: os.open(arch, os.O_WRONLY),
        "open read-write": lambda: os.open(arch, os.O_RDWR),
        "open O_TRUNC": lambda: os.open(arch, os.O_RDONLY | os.O_TRUNC),
        "status for writing": lambda: os.open(m.path("status/health"),
                                              os.O_WRONLY),
        "snapshot for writing": lambda: os.open(m.path(SNAP), os.O_WRONLY),
        "unlink": lambda: os.unlink(arch),
        "rmdir": lambda: os.rmdir(m.path("status")),
        "mkdir": lambda: os.mkdir(m.path("archive/d")),
        "rename": lambda: os.rename(arch, arch + ".x"),
        "link": lambda: os.link(arch, new),
        "symlink": lambda: os.symlink(backup, new),
        "chmod": lambda: os.chmod(arch, 0o600),
        "chown": lambda: os.chown(arch, 1, 1),
        "truncate": lambda: os.truncate(arch, 0),
        "utime": lambda: os.utime(arch, (0, 0)),
        "setxattr": lambda: os.setxattr(arch, "user.x", b"1"),
        "removexattr": lambda: os.removexattr(arch, "user.x"),
        "mknod": lambda: os.mkfifo(new),
    }
    for what, op in ops.items():
        with pytest.raises(OSError) as exc:
            op()
        assert exc.value.errno in (errno.EROFS, errno.EACCES), \
            (what, exc.value)
    # The usual tools too.
    for cmd in (["touch", new], ["sh", "-c", "echo x > '%s'" % arch],
                ["rm", "-f", arch], ["mv", arch, new], ["chmod", "600", arch],
                ["mkdir", m.path("archive/d")], ["truncate", "-s0", arch],
                ["ln", arch, new], ["ln", "-s", backup, new],
                ["setfattr", "-n", "user.x", "-v", "1", arch]):
        if shutil.which(cmd[0]) is None:
            continue
        res = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        assert res.returncode != 0, cmd
    assert listing(m.archive) == before


# ---- spool mode --------------------------------------------------------------

def test_spool_mode_rsync_copies_a_complete_snapshot(env, stop_mounts):
    d = env.subdir("archive-spool")
    m = env.mount(env.config(d, fs=[("snapshot_mode", "spool")]), "spool")
    assert os.stat(m.path(SNAP)).st_size == 0  # unknown until opened
    with open(m.path(SNAP), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        assert size > 0
        spools = [n for n in os.listdir(d) if n.startswith(".snapshot")]
        assert len(spools) == 1 and os.stat(os.path.join(d, spools[0])).st_mode & 0o077 == 0
        assert os.listdir(m.path("archive")) == []  # never listed
        assert len(f.read()) == size
    dest = env.subdir("rsync-spool")
    subprocess.run(["rsync", m.path(SNAP), dest + "/"], check=True,
                   timeout=600)
    out = os.path.join(dest, "now.sql.gz.gpg")
    assert os.path.getsize(out) > 0
    restore_and_compare(env, out, "rsync in spool mode")
    time.sleep(0.5)
    assert [n for n in os.listdir(d) if ".tmp-" in n] == []
    assert m.stop() == 0


# ---- the daemon's life -------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_with_an_open_reader_exits_0_and_unmounts(env, stop_mounts,
                                                         sig):
    d = env.subdir("archive-sig%d" % sig)
    m = env.mount(env.config(d, server=env.big), "sig%d" % sig)
    f = open(m.path(SNAP), "rb", buffering=0)
    try:
        f.read(MiB)
        t = time.monotonic()
        m.proc.send_signal(sig)
        rc = m.proc.wait(timeout=30)
        assert rc == 0, m.log()
        assert time.monotonic() - t < 10
        assert not mounted(m.mnt)
    finally:
        try:
            f.close()
        except OSError as e:  # the daemon is gone
            assert e.errno == errno.ENOTCONN
    assert "unmount_requested" in m.log() and "unmounted" in m.log()
    assert [n for n in os.listdir(d) if ".tmp-" in n] == []
    deadline = time.monotonic() + 5
    while env.dump_queries():
        assert time.monotonic() < deadline, env.dump_queries()
        time.sleep(0.1)


def test_sigint_ignored_at_start_still_unmounts(env, stop_mounts):
    # A script's `dumpfs ... &` starts with SIGINT ignored; SIGINT must
    # still unmount (it aborted the dumps and left the loop running).
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        m = env.mount(env.config(env.subdir("archive-sigign")), "sigign")
    finally:
        signal.signal(signal.SIGINT, old)
    with open("/proc/%d/status" % m.pid) as f:
        ignored = int(next(l for l in f if l.startswith("SigIgn:")).split()[1], 16)
    assert not ignored & (1 << (signal.SIGINT - 1))
    m.proc.send_signal(signal.SIGINT)
    assert m.proc.wait(timeout=30) == 0, m.log()
    assert not mounted(m.mnt)
    assert "unmount_requested" in m.log() and "unmounted" in m.log()


def test_fusermount_u_exits_0(env, stop_mounts):
    m = env.mount(env.config(env.subdir("archive-fu")), "fu")
    subprocess.run(["fusermount3", "-u", m.mnt], check=True)
    assert m.proc.wait(timeout=30) == 0
    assert "unmounted" in m.log()


def test_kill9_during_scheduled_backup_then_restart(env, stop_mounts):
    d = env.subdir("archive-kill9")
    cfg = env.config(d, server=env.big, schedule="every 1m")
    m = env.mount(cfg, "kill9")
    nxt = m.status()["next_run"]
    assert nxt and nxt.endswith("Z")
    # The run starts at the next minute; catch the backup's temporary
    # (not the state file's: its ".dumpfs-state.tmp-" exists while the
    # run's start is being recorded, before the backup begins).
    wait_for(lambda: any(".sql.gz.gpg.tmp-" in n for n in os.listdir(d)),
             90, "no scheduled backup started")
    assert m.status()["running"] is True
    m.proc.send_signal(signal.SIGKILL)
    m.proc.wait()
    with pytest.raises(OSError) as exc:
        os.stat(m.mnt)
    assert exc.value.errno == errno.ENOTCONN
    m2 = env.mount(env.config(d, server=env.big), "kill9")
    log = m2.log()
    assert "stale_mount" in log and "stale_mount_detached" in log
    assert [n for n in os.listdir(d) if ".tmp-" in n] == []
    doc = m2.status()
    assert doc["last_error"] and doc["running"] is False
    assert open(m2.path("status/last_error")).read().strip()
    assert m2.stop() == 0


def test_mount_fuse3_helper_with_fstab_options(env, stop_mounts):
    """What `mount -t fuse.dumpfs` and an fstab line end up running."""
    d = env.subdir("archive-helper")
    cfg = env.config(d)
    mnt = os.path.join(env.dir, "mnt-helper")
    os.makedirs(mnt)
    bindir = env.subdir("bin")
    os.symlink(os.path.abspath(dumpfs_bin()), os.path.join(bindir, "dumpfs"))
    e = child_env()
    e["PATH"] = bindir + ":" + e["PATH"]
    e["ASAN_OPTIONS"] = "log_path=%s/asan" % env.dir
    res = subprocess.run(["mount.fuse3", "dumpfs#" + cfg, mnt, "-o",
                          "rw,dev,suid,exec,relatime,nofail,_netdev,"
                          "x-systemd.automount,allow_other"], env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    try:
        assert mounted(mnt)
        with open("/proc/self/mountinfo") as f:
            line = [l for l in f if l.split()[4] == os.path.realpath(mnt)][0]
        assert line.split()[5].startswith("ro"), line
        assert "fuse.dumpfs" in line
        assert open(os.path.join(mnt, "status/health")).read().startswith(
            "NONE")
        with pytest.raises(OSError) as exc:
            open(os.path.join(mnt, "archive/x"), "w")
        assert exc.value.errno == errno.EROFS
    finally:
        subprocess.run(["fusermount3", "-u", mnt])
    wait_for(lambda: not subprocess.run(
        ["pgrep", "-f", "dumpfs %s" % cfg], stdout=subprocess.DEVNULL
    ).returncode == 0, 30, "daemon still running")
    for n in os.listdir(env.dir):
        if n.startswith("asan"):
            report = open(os.path.join(env.dir, n)).read()
            assert not SANITIZER.search(report), report


def test_errors_mount_nothing(env, stop_mounts):
    mnt = env.subdir("mnt-errors")
    good = env.config(env.subdir("archive-errors"))
    bad_key = env.config(env.subdir("archive-errors2"))
    with open(bad_key) as f:
        text = f.read()
    with open(bad_key, "w") as f:
        f.write(text.replace("recipient = %s" % env.key.email,
                             "recipient = nobody@nowhere.invalid"))
    bad_option = env.config(env.subdir("archive-errors3"))
    cases = [
        ([env.config(os.path.join(env.dir, "missing-dir"))], "missing-dir"),
        ([bad_key], "nobody@nowhere.invalid"),
        ([os.path.join(env.dir, "no-such.ini")], "no-such.ini"),
        ([bad_option, "-o", "no_such_option"], "no_such_option"),
        ([good, "extra-argument"], "extra-argument"),
    ]
    for args, needle in cases:
        argv = [dumpfs_bin(), args[0], mnt, "-f"] + args[1:]
        res = subprocess.run(argv, env=child_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=60)
        err = res.stderr.decode(errors="replace")
        assert res.returncode != 0, argv
        assert needle in err, (argv, err)
        assert not SANITIZER.search(err), err
        assert not mounted(mnt), argv
    # A second daemon on a live mount is refused; the first one goes on.
    m = env.mount(good, "errors-twice")
    res = subprocess.run([dumpfs_bin(), good, m.mnt, "-f"], env=child_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=60)
    assert res.returncode != 0 and b"already mounted" in res.stderr
    assert read_status(m, "health").startswith(b"NONE")
    assert m.stop() == 0
