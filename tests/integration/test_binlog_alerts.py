"""The binlog archive in the mount (docs/pitr.md): with [binlog]
on, the mount streams the binlog in a thread beside the scheduler and
status/ reports it; a break is alerted once, its recovery once.

A real server with its binlog on, a real mount, a real HTTP sink for the
webhook.  Covered:
- the mount streams: segments appear, status.json "binlog" has lag 0 and
  the segment count, metrics.prom the lag and segment gauges, health and
  `dumpfs check` OK;
- the server stopped longer than max_lag_seconds: exactly one
  "binlog_broken" webhook, not before the break lasted 30 s and none per
  retry, last_error set, the lag
  growing past max_lag_seconds, health CRITICAL naming the binlog,
  `dumpfs check` exit 1; the server back: exactly one "binlog_recovered",
  what was written meanwhile archived (the archive ends where the
  server's binlog does), then lag 0, health OK, last_error null;
- `dumpfs binlog` already streaming into the archive: the mount says so
  and reports that streamer's status instead of fighting for the lock;
  once it stops, the mount takes over and archives what follows.
"""

import json
import os
import re
import signal
import time

import pytest

from harness import dumpfs
from harness.config import write_config
from harness.mount import Mount, wait_for
from harness.server import Server
from sinks import HttpSink

MAX_LAG = 10  # the least the config takes
SEGMENT_RE = re.compile(r"^mariadb_\d{4}-\d\d-\d\d_\d{6}_.+_\d+\.binlog\.gz\.gpg$")


class Env:
    def __init__(self, request, tmp_path, key):
        self.tmp = str(tmp_path)
        self.src = Server("blmnt")
        request.addfinalizer(self.src.cleanup)
        self.src.start()
        self.src.create_backup_user()
        user = self.src.backup_user.name
        self.src.run_sql("".join("GRANT REPLICATION SLAVE ON *.* TO '%s'@'%s';" % (user, h)
                                 for h in ("localhost", "127.0.0.1")))
        self.src.run_sql("CREATE DATABASE m; CREATE TABLE m.t (id INT PRIMARY KEY, v TEXT);")
        self.http = HttpSink()
        request.addfinalizer(self.http.close)
        hook = os.path.join(self.tmp, "hook.secret")
        with open(hook, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(self.http.url("/hook") + "\n")
        self.archive = os.path.join(self.tmp, "archive")
        os.makedirs(self.archive)
        self.segdir = os.path.join(self.archive, "binlog")
        self.cfg = write_config(
            os.path.join(self.tmp, "dumpfs.ini"), self.src, key, databases=["m"],
            archive_dir=self.archive,
            extra={"binlog": {"enabled": "true", "segment_seconds": "1",
                              "max_lag_seconds": str(MAX_LAG)},
                   "notify": {"on": "failure", "webhook_url_file": hook}})
        self.mounts = []
        self.procs = []
        request.addfinalizer(self._stop_all)

    def _stop_all(self):
        for m in self.mounts:
            if m.running():
                m.stop()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def mount(self):
        m = Mount(self.cfg, os.path.join(self.tmp, "mnt%d" % len(self.mounts)))
        self.mounts.append(m)
        return m

    def hooks(self, event):
        return [b for b in (json.loads(r["body"]) for r in self.http.posts("/hook"))
                if b.get("event") == event]

    def check(self):
        return dumpfs.run(["check", "-c", self.cfg], timeout=60)

    def archived(self):
        """(binlog file, offset) where the archive ends."""
        try:
            with open(os.path.join(self.segdir, ".binlog-position")) as f:
                m = re.fullmatch(r"file=(\S+)\npos=(\d+)\n", f.read())
        except FileNotFoundError:
            return None
        assert m
        return m.group(1), int(m.group(2))

    def server_position(self):
        row = self.src.query("SHOW MASTER STATUS")[0]
        return row[0], int(row[1])

    def segments(self):
        return sorted(n for n in os.listdir(self.segdir) if SEGMENT_RE.match(n))


@pytest.fixture
def env(request, tmp_path, key):
    return Env(request, tmp_path, key)


def binlog_status(m):
    return m.status()["binlog"]


def metric(m, name):
    with open(m.path("status/metrics.prom")) as f:
        for line in f:
            if line.startswith(name + " "):
                return line.split()[1]
    return None


def health(m):
    with open(m.path("status/health")) as f:
        return f.read()


def test_the_mount_streams_reports_and_alerts_once(env):
    res = dumpfs.run(["backup", "-c", env.cfg], timeout=120)
    assert res.returncode == 0, res
    m = env.mount()
    env.src.run_sql("INSERT INTO m.t VALUES (1, 'before');")
    wait_for(lambda: env.segments() and binlog_status(m)["lag_seconds"] == 0, 60,
             "the mount did not archive the binlog: " + m.log())
    st = binlog_status(m)
    assert st["enabled"] is True and st["last_error"] is None, st
    assert st["segments"] == len(env.segments()) >= 1, st
    assert st["last_event_at"] is not None and st["max_lag_seconds"] == MAX_LAG, st
    assert metric(m, "dumpfs_binlog_lag_seconds") == "0"
    assert metric(m, "dumpfs_binlog_segments") == str(st["segments"])
    assert health(m).startswith("OK "), health(m)
    res = env.check()
    assert res.returncode == 0, res.stdout

    # the server goes away for longer than max_lag_seconds
    stopped = time.monotonic()  # (the stream breaks during the shutdown)
    env.src.stop()
    wait_for(lambda: env.hooks("binlog_broken"), 70, "no binlog_broken webhook: " + m.log())
    # a break is alerted once it lasted 30 s (a server restart is no page)
    assert time.monotonic() - stopped >= 29, "alerted before the 30 s grace"
    wait_for(lambda: (binlog_status(m)["lag_seconds"] or 0) > MAX_LAG, 30,
             "the lag did not grow: %s" % binlog_status(m))
    st = binlog_status(m)
    assert st["last_error"] and st["last_error_at"], st
    text = health(m)
    assert text.startswith("CRITICAL ") and "binlog archive" in text, text
    assert m.status()["state"] == "critical"
    assert int(metric(m, "dumpfs_binlog_lag_seconds")) > MAX_LAG
    res = env.check()
    assert res.returncode == 1 and b"binlog archive" in res.stdout, res
    time.sleep(8)  # retries (5 s, then 10 s) alert nothing more
    assert len(env.hooks("binlog_broken")) == 1, env.http.posts("/hook")
    assert not env.hooks("binlog_recovered")
    broken = env.hooks("binlog_broken")[0]
    assert broken["status"] == "error" and "binlog" in broken["message"], broken

    # the server is back: one recovery, and the writes of meanwhile archived
    env.src.start()
    env.src.run_sql("INSERT INTO m.t VALUES (2, 'after the outage');")
    wait_for(lambda: env.hooks("binlog_recovered"), 60,
             "no binlog_recovered webhook: " + m.log())
    # behind while it catches up (by the age of what it reads), caught up
    # once it archived all the server wrote
    wait_for(lambda: env.archived() == env.server_position() and
             binlog_status(m)["lag_seconds"] == 0 and health(m).startswith("OK "), 60,
             "still behind after the restart: %s" % binlog_status(m))
    st = binlog_status(m)
    assert st["last_error"] is None and st["last_error_at"] is None, st
    assert health(m).startswith("OK "), health(m)
    res = env.check()
    assert res.returncode == 0, res.stdout
    time.sleep(2)
    assert len(env.hooks("binlog_broken")) == 1 and len(env.hooks("binlog_recovered")) == 1
    assert env.hooks("binlog_recovered")[0]["status"] == "success"
    assert m.stop() == 0


def test_the_mount_defers_to_a_running_streamer_then_takes_over(env):
    log = os.path.join(env.tmp, "binlog.err")
    with open(log, "wb") as f:
        p = dumpfs.popen(["binlog", "-c", env.cfg], stderr=f)
    env.procs.append(p)
    wait_for(lambda: "binlog_stream_open" in open(log, errors="replace").read(), 30,
             "dumpfs binlog did not start")
    m = env.mount()
    wait_for(lambda: "binlog_streamed_elsewhere" in m.log(), 30, m.log())
    assert "pid %d" % p.pid in m.log(), m.log()
    env.src.run_sql("INSERT INTO m.t VALUES (3, 'by the other streamer');")
    wait_for(lambda: env.segments() and binlog_status(m)["lag_seconds"] == 0, 60,
             "no segment from dumpfs binlog")
    assert binlog_status(m)["segments"] == len(env.segments())
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0
    assert not dumpfs.sanitizer_findings(open(log, errors="replace").read())
    # the other one gone, the mount streams (it tries every 10 s)
    wait_for(lambda: "binlog_streaming" in m.log(), 30, "no take-over: " + m.log())
    before = len(env.segments())
    env.src.run_sql("INSERT INTO m.t VALUES (4, 'by the mount');")
    wait_for(lambda: len(env.segments()) > before and env.archived() == env.server_position(),
             60, "the mount did not archive after taking over: " + m.log())
    assert m.stop() == 0
