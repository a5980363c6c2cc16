"""Alerts raised by the mount itself (docs/notifications.md), delivered to real
local sinks (sinks.py: an HTTP server for the webhook and the heartbeat,
an SMTP server for the mail), with a real MariaDB server and GnuPG key:

- a snapshot stream that fails, before it starts (the backup account's
  password changed) or in the middle (the server killed): the reader
  gets EIO, status/last_error names the failure, and exactly one webhook
  JSON with status "error" and one mail with the configured subject
  arrive;
- a snapshot its reader closes early: no notice at all;
- a scheduled backup that fails: one error webhook and one mail, the
  error in status/; the next scheduled run succeeds: "recovered" (on =
  failure), the heartbeat, status/ clear again;
- an archive whose newest backup is older than max_age_hours, already
  when mounted or from some moment while mounted: one "stale" notice
  from the mount's periodic check (every minute, the first at once),
  not repeated by the next check a minute later (seen happening through
  inotify on the archive dir).

Each mount has its own pair of sinks, so one mount's notices can never
be counted for another's.  The staleness mounts start with the module:
the minutes between their checks pass while the other tests run.
"""

import ctypes
import errno
import json
import os
import re
import select
import struct
import threading
import time

import pytest

from harness.config import write_config
from harness.gpg import GpgKey
from harness.mount import mounted, wait_for
from harness.server import Server, sql_quote
from harness.dumpfs import run_dumpfs
from harness.workspace import Workspace
from sinks import HttpSink, SmtpSink

SNAP = "snapshot/now.sql.gz.gpg"
KiB, MiB = 1 << 10, 1 << 20
SUBJECT = "[ALERTE][mount test] Echec du backup"
ISO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
ISO_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
# One notice is delivered within ~35 s (notify.h: webhook 15 s, retry
# after 2 s, 15 s; mail 30 s; in parallel).
NOTIFY_BOUND = 40
QUIET = 3  # seconds without a second notice after the expected one
STALE_HOURS = 30  # age given to the staleness mount's backup
CHECK_SECONDS = 60  # the mount's periodic check (fs/mount/cmd_mount.c)


class Channel:
    """A webhook + heartbeat HTTP sink and an SMTP sink for one mount."""

    def __init__(self, env, name):
        self.name = name
        self.http = HttpSink()
        self.smtp = SmtpSink()
        self.token = "T%s%s" % (name, os.urandom(6).hex())
        self.webhook_file = env.secret(name + "-hook",
                                       self.http.url("/hook/" + self.token))
        self.heartbeat_file = env.secret(name + "-hb",
                                         self.http.url("/hb/" + self.token))

    def notify_section(self, heartbeat=True):
        notify = {"on": "failure", "webhook_url_file": self.webhook_file,
                  "smtp_url": self.smtp.url, "mail_from": "dumpfs@db1.test.local",
                  "mail_to": "dpo@test.local", "mail_subject": SUBJECT}
        if heartbeat:
            notify["heartbeat_url_file"] = self.heartbeat_file
        return notify

    def requests(self):
        return self.http.posts("/hook/" + self.token)

    def hooks(self):
        return [json.loads(r["body"]) for r in self.requests()]

    def heartbeats(self):
        return self.http.gets("/hb/" + self.token)

    def wait_hooks(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.requests()) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.hooks()

    def clear(self):
        self.http.clear()
        self.smtp.clear()

    def close(self):
        self.http.close()
        self.smtp.close()


class DirWatch:
    """inotify (through ctypes) on a directory: when something opens a
    file in it or lists it, with the time it was seen."""

    IN_OPEN = 0x20
    IN_ISDIR = 0x40000000
    IN_NONBLOCK = 0o4000
    IN_CLOEXEC = 0o2000000

    def __init__(self, path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, path.encode(), self.IN_OPEN) < 0:
            e = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(e, "inotify_add_watch " + path)
        self.events = []  # (time.monotonic(), mask, name)
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            if not select.select([self.fd], [], [], 0.1)[0]:
                continue
            data = os.read(self.fd, 65536)
            now = time.monotonic()
            off = 0
            while off + 16 <= len(data):
                _, mask, _, n = struct.unpack_from("iIII", data, off)
                name = data[off + 16:off + 16 + n].rstrip(b"\0").decode()
                with self.lock:
                    self.events.append((now, mask, name))
                off += 16 + n

    def opens_since(self, t):
        with self.lock:
            return [e for e in self.events if e[0] >= t]

    def close(self):
        self.stopping = True
        self.thread.join()
        os.close(self.fd)


class Staleness:
    """A mount over an archive whose only backup gets too old."""

    def __init__(self, max_age_hours):
        self.max_age_hours = max_age_hours
        self.file = self.time = None  # the backup's name and time


class Env(Workspace):
    """One server (database `big`, a dump much larger than every buffer,
    and `small`), two backup accounts, a key that does not expire soon
    (no key warnings), and the two staleness mounts, started at once."""

    prefix = "malrt"

    def setup(self):
        self.alert_latency = 0.0  # the slowest snapshot failure notice
        self.server = self.own(Server(name="malrt")).start()
        self.server.run_sql(
            "CREATE DATABASE big;"
            "CREATE TABLE big.t (id INT PRIMARY KEY, h CHAR(64),"
            " p VARCHAR(200));"
            "CREATE DATABASE small;"
            "CREATE TABLE small.item (id INT PRIMARY KEY, name VARCHAR(40));"
            "INSERT INTO small.item VALUES (1,'apple'),(2,'pear');")
        self.server.run_sql(
            "INSERT INTO t SELECT seq, SHA2(seq,256),"
            " CONCAT(MD5(seq), SHA1(seq), SHA2(seq + 1, 256))"
            " FROM seq_1_to_300000;", db="big")
        self.snap_user = self.server.create_backup_user("snap_ro")
        self.sched_user = self.server.create_backup_user("sched_ro")
        self.key = self.own(GpgKey(expire="2y"))
        # Stale from the start (the first check, at once, notifies), and
        # stale a few seconds after the first check (the second one does).
        self.stale = self._start_stale_mount("stale", STALE_HOURS * 3600,
                                             max_age_hours=26)
        self.aging = self._start_stale_mount("aging", 3600 - 20,
                                             max_age_hours=1)

    def channel(self, name):
        return self.own(Channel(self, name))

    def config(self, name, user, databases, channel, heartbeat=True, fs=None,
               **archive):
        d = os.path.join(self.dir, "archive-" + name)
        os.makedirs(d, exist_ok=True)
        extra = {"archive": {k: str(v) for k, v in archive.items()},
                 "notify": channel.notify_section(heartbeat)}
        if fs:
            extra["fs"] = fs
        path = write_config(self.next_config_path(), self.server, self.key, user=user,
                            databases=[databases], archive_dir=d, extra=extra,
                            fingerprint=False)
        return path, d

    def set_password(self, user, password):
        self.server.run_sql("".join(
            "ALTER USER %s@%s IDENTIFIED BY %s;" % (
                sql_quote(user.name), sql_quote(host), sql_quote(password))
            for host in ("localhost", "127.0.0.1")))

    def _start_stale_mount(self, name, age, max_age_hours):
        """A real backup, renamed (with its sidecar and mtime) to `age`
        seconds ago, then mounted: the first check runs at once."""
        st = Staleness(max_age_hours)
        st.ch = self.channel(name)
        cfg, st.dir = self.config(name, self.snap_user, "small", st.ch,
                                  heartbeat=False,
                                  max_age_hours=max_age_hours)
        res = run_dumpfs(["backup"], cfg, timeout=300)
        assert res.returncode == 0, res.stderr.decode(errors="replace")
        d = st.dir
        new = [n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")]
        assert len(new) == 1, os.listdir(d)
        st.time = int(time.time()) - age
        st.file = "mariadb_%s.sql.gz.gpg" % time.strftime(
            "%Y-%m-%d_%H%M%S", time.localtime(st.time))
        with open(os.path.join(d, new[0] + ".sha256")) as f:
            digest = f.read().split()[0]
        os.rename(os.path.join(d, new[0]), os.path.join(d, st.file))
        os.unlink(os.path.join(d, new[0] + ".sha256"))
        with open(os.path.join(d, st.file + ".sha256"), "w") as f:
            f.write("%s  %s\n" % (digest, st.file))
        for n in (st.file, st.file + ".sha256"):
            os.utime(os.path.join(d, n), (st.time, st.time))
        # As if the backup had been made then: no record of a newer run.
        os.unlink(os.path.join(d, ".dumpfs-state"))
        st.watch = self.own(DirWatch(d))
        st.t_mount = time.monotonic()
        st.m = self.mount(cfg, name)
        return st


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


@pytest.fixture(scope="module")
def snap(env):
    """The mount whose snapshots the tests break: database `big`, no
    schedule, no archive (the periodic check has nothing to say)."""
    ch = env.channel("snap")
    cfg, _ = env.config("snap", env.snap_user, "big", ch)
    m = env.mount(cfg, "snap")
    m.ch = ch
    yield m
    assert m.stop() == 0


def read_to_error(path, first=0, between=None):
    """Opens and reads `path` to its end: the OSError that stopped it
    (open or read), or None after a clean EOF.  `between(got)` runs once
    after `first` bytes were read."""
    got = 0
    try:
        with open(path, "rb", buffering=0) as f:
            while got < first:
                data = f.read(65536)
                assert data, "EOF after %d bytes" % got
                got += len(data)
            if between:
                between()
            while True:
                data = f.read(65536)
                if not data:
                    return None
                got += len(data)
    except OSError as e:
        return e


def count(log, event):
    return len(re.findall(r" %s " % event, log))


def check_failure_notice(ch, t_fail, what):
    """Exactly one error webhook and one mail about one failure; its
    message, after a quiet period."""
    hooks = ch.wait_hooks(1, NOTIFY_BOUND)
    assert len(hooks) == 1, "%s: webhooks %s" % (what, hooks)
    latency = ch.requests()[0]["time"] - t_fail
    p = hooks[0]
    assert p["status"] == "error" and p["event"] == "failure", p
    assert p["message"], p
    assert ISO_OFFSET.match(p["timestamp"]), p["timestamp"]
    assert p["host"] == os.uname().nodename, p
    assert ch.requests()[0]["headers"].get("Content-Type") == \
        "application/json"
    mails = ch.smtp.wait(1, NOTIFY_BOUND)
    assert len(mails) == 1, what
    assert mails[0].subject == SUBJECT
    assert mails[0].rcpt == ["dpo@test.local"]
    body = mails[0].body()
    assert p["message"][:60] in body, body
    assert "Host:" in body and "Time:" in body, body
    time.sleep(QUIET)
    assert len(ch.hooks()) == 1, "%s: a second webhook %s" % (what,
                                                            ch.hooks())
    assert len(ch.smtp.mails) == 1, "%s: a second mail" % what
    return p, body, latency


def check_last_error(m, message):
    """status/last_error is "<ISO UTC> <message>"; status.json too."""
    with open(m.path("status/last_error")) as f:
        line = f.read()
    assert re.fullmatch(r"%s %s\n" % (ISO_UTC, re.escape(message)), line), \
        (line, message)
    doc = m.status()
    assert doc["last_error"] == message and doc["last_error_at"], doc


# ---- snapshot streams --------------------------------------------------------

def test_snapshot_failing_at_start_is_notified_once(env, snap):
    """The backup account's password changed before the open: the dump
    cannot connect."""
    m, ch = snap, snap.ch
    ch.clear()
    failed = count(m.log(), "snapshot_failed")
    env.set_password(env.snap_user, "changed-" + os.urandom(6).hex())
    try:
        t0 = time.monotonic()
        err = read_to_error(m.path(SNAP))
    finally:
        env.set_password(env.snap_user, env.snap_user.password)
    assert err is not None and err.errno == errno.EIO, \
        "a snapshot that cannot connect gave %r, not EIO" % err
    p, body, latency = check_failure_notice(ch, t0, "failed at start")
    assert "denied" in p["message"].lower(), p["message"]
    assert "snapshot_failed" in body  # the last log lines
    check_last_error(m, p["message"])
    assert count(m.log(), "snapshot_failed") == failed + 1
    assert ch.heartbeats() == []
    env.alert_latency = max(env.alert_latency, latency)


def test_snapshot_failing_mid_stream_is_notified_once(env, snap):
    """The server killed after the first MiB was read."""
    m, ch = snap, snap.ch
    ch.clear()
    failed = count(m.log(), "snapshot_failed")
    t_kill = []

    def kill():
        t_kill.append(time.monotonic())
        env.server.kill()

    try:
        err = read_to_error(m.path(SNAP), first=MiB, between=kill)
    finally:
        env.server.kill(restart=True)  # same datadir and port
    assert t_kill, "the reader never got its first MiB"
    assert err is not None and err.errno == errno.EIO, \
        "a dump whose server died gave %r, not EIO" % err
    p, body, latency = check_failure_notice(ch, t_kill[0], "failed mid-stream")
    check_last_error(m, p["message"])
    assert count(m.log(), "snapshot_failed") == failed + 1
    env.alert_latency = max(env.alert_latency, latency)


def test_snapshot_closed_early_is_not_notified(env, snap):
    m, ch = snap, snap.ch
    ch.clear()
    before = m.status()
    failed = count(m.log(), "snapshot_failed")
    aborted = count(m.log(), "snapshot_aborted")
    with open(m.path(SNAP), "rb", buffering=0) as f:
        got = len(f.read(8 * KiB))
    assert got > 0
    wait_for(lambda: count(m.log(), "snapshot_aborted") > aborted, 15,
             "the early close did not abort the dump:\n" + m.log()[-3000:])
    assert 'reason="reader closed"' in m.log()
    # Well past the time the failure notices above took to arrive.
    time.sleep(max(5.0, 3 * env.alert_latency + 2))
    assert ch.hooks() == []
    assert ch.smtp.mails == []
    assert count(m.log(), "snapshot_failed") == failed
    after = m.status()
    # The earlier failure stays the last error; the close is none.
    assert (after["last_error"], after["last_error_at"]) == \
        (before["last_error"], before["last_error_at"])


def test_spool_snapshot_failing_is_notified_once(env):
    """snapshot_mode = spool: the dump runs inside open(), which fails
    with EIO (not the dump's own errno: EACCES would read as a permission
    problem of the mount), notified once, no spool file left."""
    ch = env.channel("spool")
    cfg, d = env.config("spool", env.snap_user, "small", ch,
                        fs={"snapshot_mode": "spool"})
    m = env.mount(cfg, "spool")
    env.set_password(env.snap_user, "changed-" + os.urandom(6).hex())
    try:
        t0 = time.monotonic()
        err = read_to_error(m.path(SNAP))
    finally:
        env.set_password(env.snap_user, env.snap_user.password)
    assert err is not None and err.errno == errno.EIO, \
        "a spooled snapshot that cannot connect gave %r, not EIO" % err
    p, body, _ = check_failure_notice(ch, t0, "spool failed")
    assert "denied" in p["message"].lower(), p["message"]
    check_last_error(m, p["message"])
    # Logged once, by the dump that failed, not again by open().
    assert count(m.log(), "snapshot_failed") == 1, m.log()
    assert "snapshot_open_failed" not in m.log(), m.log()
    left = [n for n in os.listdir(d) if n.startswith(".snapshot.sql.gz.gpg")]
    assert left == [], "the failed spool was left behind: %s" % left
    # The next open, with the password back, spools a whole dump, and a
    # success is not notified (on = failure).
    with open(m.path(SNAP), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        data = f.read()
    assert size > 0 and len(data) == size
    assert len(ch.hooks()) == 1, ch.hooks()
    assert m.stop() == 0


# ---- scheduled backups -------------------------------------------------------

def test_scheduled_backup_failure_then_recovered(env):
    """The account's password is wrong for the first scheduled run and
    put right as soon as its failure is notified; the next run (a minute
    later) succeeds."""
    ch = env.channel("sched")
    user = env.sched_user
    cfg, d = env.config("sched", user, "small", ch, schedule="every 1m")
    env.set_password(user, "wrong-" + os.urandom(6).hex())
    try:
        m = env.mount(cfg, "sched")
        assert m.status()["next_run"]
        hooks = ch.wait_hooks(1, 60 + 15 + NOTIFY_BOUND)
    finally:
        env.set_password(user, user.password)
    assert len(hooks) == 1, "no notice of the failed scheduled run:\n" + \
        m.log()[-3000:]
    t_fail = ch.requests()[0]["time"]
    assert count(m.log(), "scheduled_backup_failed") == 1
    p = hooks[0]
    assert p["status"] == "error" and p["event"] == "failure", p
    assert "denied" in p["message"].lower(), p["message"]
    assert ISO_OFFSET.match(p["timestamp"]), p["timestamp"]
    assert p["host"] == os.uname().nodename
    mails = ch.smtp.wait(1, NOTIFY_BOUND)
    assert len(mails) == 1 and mails[0].subject == SUBJECT
    assert "scheduled_backup_failed" in mails[0].body()
    check_last_error(m, p["message"])
    assert ch.heartbeats() == []
    assert [n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")] == []

    # The next run, a minute after the first one.
    hooks = ch.wait_hooks(2, 60 + 30 + NOTIFY_BOUND)
    assert len(hooks) == 2, "no notice of the next scheduled run:\n" + \
        m.log()[-3000:]
    assert ch.requests()[1]["time"] - t_fail > 30  # not the same run
    p = hooks[1]
    assert p["status"] == "success" and p["event"] == "recovered", p
    names = [n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")]
    assert len(names) == 1 and p["file"] == names[0], (names, p)
    assert p["size_bytes"] == os.path.getsize(os.path.join(d, names[0]))
    assert p["duration_seconds"] >= 0
    mails = ch.smtp.wait(2, NOTIFY_BOUND)
    assert len(mails) == 2 and "recovered" in mails[1].subject, \
        [x.subject for x in mails]
    wait_for(lambda: len(ch.heartbeats()) == 1, NOTIFY_BOUND,
             "no heartbeat after the successful run")
    with open(m.path("status/last_error")) as f:
        assert f.read() == "\n"
    doc = m.status()
    assert doc["last_error"] is None and doc["state"] == "ok", doc
    assert doc["last_file"] == names[0]
    time.sleep(QUIET)
    assert [h["event"] for h in ch.hooks()] == ["failure", "recovered"]
    assert len(ch.smtp.mails) == 2
    assert count(m.log(), "scheduled_backup_failed") == 1
    assert ch.token not in m.log()
    assert m.stop() == 0


# ---- staleness ---------------------------------------------------------------

def check_stale_once(st, first_check):
    """One "stale" notice, from the check at `first_check` (monotonic),
    and none from the next check a minute later, which is seen opening
    the archive dir (scan, state file) while nobody reads this mount."""
    m, ch = st.m, st.ch
    hooks = ch.wait_hooks(1, first_check + NOTIFY_BOUND - time.monotonic())
    assert len(hooks) == 1, "staleness notices %s:\n%s" % (hooks,
                                                          m.log()[-3000:])
    t_notice = ch.requests()[0]["time"]
    assert t_notice >= first_check - 1, \
        "notified %.1f s before the check that should notify" % (
            first_check - t_notice)
    p = hooks[0]
    assert p["status"] == "error" and p["event"] == "stale", p
    assert p["file"] == st.file
    age = time.time() - st.time
    assert st.max_age_hours * 3600 < p["age_seconds"] <= age + 5, p
    assert "max_age_hours" in p["message"] and st.file in p["message"]
    assert ISO_OFFSET.match(p["timestamp"]), p["timestamp"]
    assert p["host"] == os.uname().nodename
    mails = ch.smtp.wait(1, NOTIFY_BOUND)
    assert len(mails) == 1
    assert "no backup for more than %d hours" % st.max_age_hours in \
        mails[0].subject, mails[0].subject
    wait_for(lambda: st.watch.opens_since(t_notice + CHECK_SECONDS - 10),
             t_notice + CHECK_SECONDS + 30 - time.monotonic(),
             "no check seen in the archive dir after the notifying one")
    time.sleep(QUIET)
    assert [h["event"] for h in ch.hooks()] == ["stale"]
    assert len(ch.smtp.mails) == 1
    assert ch.heartbeats() == []
    with open(os.path.join(st.dir, ".dumpfs-state")) as f:
        assert "stale_notified=1\n" in f.read()
    with open(m.path("status/health")) as f:
        health = f.read()
    assert re.fullmatch(r"CRITICAL \d+ %s older than %dh\n"
                        % (re.escape(st.file), st.max_age_hours),
                        health), health
    assert m.stop() == 0
    assert not mounted(m.mnt)


def test_stale_at_mount_is_notified_once(env):
    """The mount has been up since the module started; its first check
    (at once) notifies."""
    check_stale_once(env.stale, env.stale.t_mount)


def test_becoming_stale_is_notified_once(env):
    """Fresh at the first check, stale 20 s later: the second check
    notifies, the third does not.  Last: it needs two minutes of the
    mount's life, which the tests above use up."""
    st = env.aging
    check_stale_once(st, st.t_mount + CHECK_SECONDS - 5)
