"""A server that stops answering (docs/security.md): every exchange with the
server is bounded by [mariadb] read_timeout, and cancelling never waits on
the server.

dumpfs talks to a real MariaDB server through harness.proxy.SilentProxy, a
TCP relay on 127.0.0.1 that, on command or after a number of bytes, stops
relaying without closing anything: no packet, no reset, as a black-holed
server or a dead network path.  The webhook goes to the real HTTP sink of
sinks.py.

- `dumpfs backup` with read_timeout = 10 fails about 10 s after the server
  went silent, exit 1, last_error recorded, one error webhook, no
  temporary; the run lock is free: the next backup works once the proxy
  relays again;
- a reader pausing longer than read_timeout still gets a complete
  snapshot (the dump waits for the reader, not for the server);
- a mount whose snapshot dump is stuck on the silent server (default
  read_timeout, 600 s): SIGTERM ends it, unmounted, within 10 s; a reader
  that closes the stuck snapshot and `fusermount3 -u` also end it within
  10 s; a reader killed while its read() waits is reaped within 10 s.

Spool mode, each dump stuck on its own connection (the proxy's
per-connection limit), every other connection relayed:
- an opener killed while open() spools is reaped within 10 s, and its
  dump, server query and spool file go with it;
- 12 openers spooling at once (more than libfuse's default 10 workers):
  status/ still reads within 5 s, a 13th opener gets EBUSY at once.
"""

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from harness.config import write_config
from harness.dumpfs import child_env, dumpfs_bin, run_dumpfs, assert_no_sanitizer
from harness.gpg import GpgKey
from harness.mount import mounted, wait_for
from harness.proxy import SilentProxy
from harness.server import Server
from harness.workspace import Workspace
from sinks import HttpSink

SNAP = "snapshot/now.sql.gz.gpg"
KiB, MiB = 1 << 10, 1 << 20
READ_TIMEOUT = 10
# A loaded 2-core machine (ASan build, other suites running): what may
# come on top of a timeout or a shutdown.
SLACK = 25


class Env(Workspace):
    prefix = "silent"

    def setup(self):
        self.server = self.own(Server(name="silent")).start()
        # Far more rows than the proxy lets through before it goes
        # silent, and than every buffer between the server and a reader.
        self.server.run_sql(
            "CREATE DATABASE big;"
            "CREATE TABLE big.t (id INT PRIMARY KEY, h CHAR(64),"
            " p VARCHAR(200));")
        self.server.run_sql(
            "INSERT INTO t SELECT seq, SHA2(seq,256),"
            " CONCAT(MD5(seq), SHA1(seq), SHA2(seq + 1, 256))"
            " FROM seq_1_to_200000;", db="big")
        self.user = self.server.create_backup_user()
        self.key = self.own(GpgKey(expire="2y"))  # no expiry notice
        self.http = self.own(HttpSink())
        self.token = "T" + os.urandom(8).hex()
        self.webhook_file = self.secret("webhook", self.http.url("/hook/" + self.token))

    def proxy(self):
        return self.own(SilentProxy(self.server.host, self.server.port))

    def config(self, archive_dir, proxy, read_timeout=None):
        path = self.next_config_path()
        mariadb = {"host": "127.0.0.1", "port": str(proxy.port),
                   "databases": "big"}
        if read_timeout is not None:
            mariadb["read_timeout"] = str(read_timeout)
        extra = {"mariadb": mariadb,
                 "notify": {"on": "failure",
                            "webhook_url_file": self.webhook_file}}
        return write_config(path, self.server, self.key, user=self.user,
                            archive_dir=archive_dir, extra=extra,
                            fingerprint=False)

    def hooks(self):
        return [json.loads(r["body"])
                for r in self.http.posts("/hook/" + self.token)]

    def dump_connections(self):
        return self.server.query(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '%s'"
            % self.user.name)

    def stop_mount(self, m):
        # Killed: a daemon stuck on a silent server may not stop.
        if m.running():
            m.proc.kill()
            m.proc.wait()
            subprocess.run(["fusermount3", "-u", "-z", m.mnt],
                           stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


def read_state(d):
    state = {}
    with open(os.path.join(d, ".dumpfs-state")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                state[k] = v
    return state


def temporaries(d):
    return [n for n in os.listdir(d) if ".tmp-" in n]


def wait_silent(proxy, timeout=120):
    wait_for(proxy.silent, timeout, "the dump never got that far")
    return time.monotonic()


def test_backup_fails_within_read_timeout_and_releases_the_lock(env):
    d = env.subdir("archive-backup")
    proxy = env.proxy()
    cfg = env.config(d, proxy, read_timeout=READ_TIMEOUT)
    env.http.clear()
    proxy.silence_after(MiB)
    p = subprocess.Popen([dumpfs_bin(), "backup"], env=child_env(cfg),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        wait_for(lambda: proxy.silent() or p.poll() is not None, 120,
                 "the backup never got that far")
        silent_at = time.monotonic()
        assert proxy.silent(), p.communicate()[1].decode(errors="replace")
        out, err = p.communicate(timeout=READ_TIMEOUT + SLACK + 30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("dumpfs backup still running %ds after the "
                             "server went silent" % (READ_TIMEOUT + SLACK + 30))
    elapsed = time.monotonic() - silent_at
    err = err.decode(errors="replace")
    assert_no_sanitizer(err)
    assert p.returncode == 1, err
    # Not before the timeout (a slow reader is not a silent server), and
    # not long after it.
    assert READ_TIMEOUT - 1 <= elapsed <= READ_TIMEOUT + SLACK, (elapsed, err)
    st = read_state(d)
    assert st["last_error"] and int(st["last_error_at"]) > 0, st
    assert "read_timeout" in st["last_error"], st["last_error"]
    assert "read_timeout" in err
    hooks = [h for h in env.hooks() if h["status"] == "error"]
    assert len(hooks) == 1, [(h["event"], h.get("message")) for h in env.hooks()]
    assert hooks[0]["event"] == "failure"
    assert temporaries(d) == []
    assert [n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")] == []

    # The run lock went with the run: the next one works.
    proxy.resume()
    res = run_dumpfs(["backup"], cfg, timeout=600)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    assert len([n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")]) == 1
    assert read_state(d)["last_error"] == ""


def test_reader_pausing_longer_than_read_timeout_gets_everything(env):
    d = env.subdir("archive-pause")
    proxy = env.proxy()  # relays all along
    m = env.mount(env.config(d, proxy, read_timeout=READ_TIMEOUT), "pause")
    got = 0
    with open(m.path(SNAP), "rb", buffering=0) as src:
        got += len(src.read(MiB))
        # Backpressure stops the dump meanwhile: the server waits for
        # dumpfs, dumpfs waits for the reader, nobody for the server.
        time.sleep(READ_TIMEOUT * 2 + 5)
        while True:
            data = src.read(256 * KiB)  # EIO would raise: a failed dump
            if not data:
                break
            got += len(data)
    assert got > 8 * MiB
    log = m.log()
    assert "snapshot_done" in log and "snapshot_failed" not in log, log[-3000:]
    assert m.stop() == 0


def stuck_mount(env, name):
    """A mount whose next snapshot dump gets stuck on the silent server
    (default read_timeout: 600 s).  Returns (mount, proxy)."""
    d = env.subdir("archive-" + name)
    proxy = env.proxy()
    m = env.mount(env.config(d, proxy), name)
    m.archive = d
    # Less than the mount's buffers hold (gzip blocks in flight, 4 MiB
    # of encrypted output): the server goes silent before backpressure
    # could pause the dump.
    proxy.silence_after(4 * MiB)
    return m, proxy


def test_sigterm_with_a_reader_stuck_on_a_silent_server(env):
    m, proxy = stuck_mount(env, "sigterm")
    state = {"got": 0, "error": None, "at": time.monotonic()}

    def reader():
        try:
            with open(m.path(SNAP), "rb", buffering=0) as src:
                while True:
                    data = src.read(64 * KiB)
                    if not data:
                        break
                    state["got"] += len(data)
                    state["at"] = time.monotonic()
        except OSError as e:
            state["error"] = e

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    wait_silent(proxy)
    # The reader has everything that got through and waits for more.
    wait_for(lambda: time.monotonic() - state["at"] > 2, 60,
             "the reader never caught up")
    assert t.is_alive() and state["error"] is None
    t0 = time.monotonic()
    m.proc.send_signal(signal.SIGTERM)
    try:
        rc = m.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise AssertionError("SIGTERM: still running after 10 s\n"
                             + m.log()[-3000:])
    assert time.monotonic() - t0 < 10
    assert rc == 0, m.log()[-3000:]
    assert not mounted(m.mnt)
    t.join(30)
    assert not t.is_alive()
    assert state["error"] is not None  # never a clean EOF
    assert temporaries(m.archive) == []
    m.log_file.close()
    m.check_sanitizers()
    proxy.close()  # the server's side of the held connections


def test_fusermount_u_after_a_reader_left_a_stuck_snapshot(env):
    m, proxy = stuck_mount(env, "fusermount")
    # Opening starts the dump (stream mode); it gets stuck on the silent
    # server before it has output enough to fill the mount's buffers, so
    # no read is needed (nor possible without blocking).
    src = open(m.path(SNAP), "rb", buffering=0)
    wait_silent(proxy)
    time.sleep(1)
    # Closing aborts the dump; the reader does not wait for that, the
    # unmount does.
    src.close()
    t0 = time.monotonic()
    res = subprocess.run(["fusermount3", "-u", m.mnt], stderr=subprocess.PIPE,
                         timeout=10)
    assert res.returncode == 0, res.stderr
    try:
        rc = m.proc.wait(timeout=max(0.1, 10 - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        raise AssertionError("fusermount3 -u: daemon still running after "
                             "10 s\n" + m.log()[-3000:])
    assert rc == 0, m.log()[-3000:]
    assert not mounted(m.mnt)
    assert "unmounted" in m.log()
    assert temporaries(m.archive) == []
    m.log_file.close()
    m.check_sanitizers()
    proxy.close()  # the server's side of the held connections



def test_killed_stream_reader_stuck_on_a_silent_server(env):
    m, proxy = stuck_mount(env, "streamkill")
    cat = subprocess.Popen(["cat", m.path(SNAP)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    wait_silent(proxy)
    time.sleep(2)  # cat has what got through and waits in read()
    assert cat.poll() is None
    cat.kill()
    try:
        cat.wait(timeout=10)  # the kernel waits for read() to answer
    except subprocess.TimeoutExpired:
        raise AssertionError("the killed reader is still waiting for read() "
                             "after 10 s\n" + m.log()[-3000:])
    # Its release aborts the dump, as any early close.
    wait_for(lambda: 'reason="reader closed"' in m.log(), 15,
             "the dump was not aborted\n" + m.log()[-3000:])
    assert "snapshot_failed" not in m.log()
    assert m.stop() == 0
    proxy.close()

# ---- spool openers and the FUSE worker pool ---------------------------------

def spool_mount(env, name, readers):
    """Spool mode, `readers` reader slots; each dump gets stuck on its own
    once the server sent it 256 KiB (the proxy's per-connection limit),
    every other connection (a KILL) still goes through."""
    d = env.subdir("archive-" + name)
    proxy = env.proxy()
    proxy.per_conn_limit = 256 * KiB
    cfg = env.config(d, proxy)
    with open(cfg, "a") as f:
        f.write("\n[fs]\nsnapshot_mode = spool\nmax_snapshot_readers = %d\n"
                % readers)
    m = env.mount(cfg, name)
    m.archive = d
    return m, proxy


def spools(d):
    return [n for n in os.listdir(d) if n.startswith(".snapshot")]


def opener(m):
    """`cat` of the snapshot: blocks in open() while the spool runs."""
    return subprocess.Popen(["cat", m.path(SNAP)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def test_killed_spool_opener_aborts_the_spool(env):
    m, proxy = spool_mount(env, "spoolkill", 2)
    before = set(env.dump_connections())
    cat = opener(m)
    wait_for(lambda: proxy.silent_conns() == 1, 120, "the spool never started")
    ours = set(env.dump_connections()) - before
    assert len(spools(m.archive)) == 1 and ours
    time.sleep(1)
    assert cat.poll() is None  # still in open()
    cat.kill()
    try:
        cat.wait(timeout=10)  # the kernel waits for open() to answer
    except subprocess.TimeoutExpired:
        raise AssertionError("the killed opener is still waiting for open() "
                             "after 10 s\n" + m.log()[-3000:])
    # The dump, its server query and its spool go with it.
    wait_for(lambda: not spools(m.archive) and
             not ours & set(env.dump_connections()), 15,
             "spool %s or server connections %s left"
             % (spools(m.archive), ours & set(env.dump_connections())))
    log = m.log()
    assert 'reason="opener interrupted"' in log, log[-3000:]
    assert "snapshot_failed" not in log
    # The reader slot is free again: status/ shows no reader.
    with open(m.path("status/metrics.prom")) as f:
        assert "dumpfs_snapshot_readers 0" in f.read()
    assert m.stop() == 0


def test_every_reader_slot_busy_status_still_reads(env):
    # More readers than libfuse's default pool (10 workers).
    readers = 12
    m, proxy = spool_mount(env, "spoolbusy", readers)
    cats = [opener(m) for _ in range(readers)]
    try:
        wait_for(lambda: proxy.silent_conns() == readers, 180,
                 "not every spool started")
        time.sleep(1)
        assert all(c.poll() is None for c in cats)  # each one in open()
        for name in ("health", "status.json", "metrics.prom"):
            t0 = time.monotonic()
            try:
                res = subprocess.run(["cat", m.path("status/" + name)],
                                     stdout=subprocess.PIPE, timeout=10)
            except subprocess.TimeoutExpired:
                raise AssertionError("status/%s: no answer in 10 s with %d "
                                     "spooling openers" % (name, readers))
            assert res.returncode == 0 and res.stdout.endswith(b"\n")
            assert time.monotonic() - t0 < 5
        assert ("dumpfs_snapshot_readers %d" % readers).encode() in \
            subprocess.run(["cat", m.path("status/metrics.prom")],
                           stdout=subprocess.PIPE, timeout=10).stdout
        # One more opener: no slot, told so at once.
        res = subprocess.run(["cat", m.path(SNAP)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, timeout=10)
        assert res.returncode != 0 and b"busy" in res.stderr.lower()
        assert os.listdir(m.path("archive")) is not None
    finally:
        for c in cats:
            c.kill()
        deadline = time.monotonic() + 30
        for c in cats:
            try:
                c.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass  # stuck in open(): ended with the daemon (teardown)
    wait_for(lambda: not spools(m.archive), 30, "spools left")
    assert m.stop() == 0
