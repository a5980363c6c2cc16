"""The binlog part of `make bench` (issue 13): `dumpfs binlog` archiving a
private server's binlog (ROW, encrypted at rest) under load.

1. Throughput: a sustained write load aimed at BENCH_BINLOG_MBPS (default
   20) MB/s of binlog for BENCH_BINLOG_SECONDS (default 60) while a backup
   (`dumpfs dump --plain` of the same database, in a loop) runs.  Reported:
   the binlog rate the server reached, the archive's largest backlog, the
   time the archive needed after the load to hold everything (caught up),
   the archived rate, and the streamer's CPU per GB of binlog (its own
   process and its reaped children, plus the gpg processes gpgme starts,
   sampled: the dump writes plaintext, so every gpg running then is the
   streamer's).  Target: the server reaches the rate and the archive
   catches up within segment_seconds + 5 s of the load's end.
2. Recovery point, with segment_seconds = 10 and a commit every 1.7 s:
   the time from a commit to the position file (written after the segment
   holding it is closed and renamed, sidecar included) passing it.
   Target: at most 15 s for every commit.
BENCH_BINLOG=0 skips this part.
"""

import os
import secrets
import shutil
import signal
import subprocess
import threading
import time

import benchdb
from runner import proc_cpu

TARGET_MBPS = float(os.environ.get("BENCH_BINLOG_MBPS", "20"))
LOAD_SECONDS = float(os.environ.get("BENCH_BINLOG_SECONDS", "60"))
SEGMENT_SECONDS = 10
TARGET_RECOVERY_POINT = 15.0
ROWS_PER_STATEMENT = 1000
MIB = 1024 * 1024
USER = "blbench"
DB = "blbench"
# about 1 KiB of hex text per row (compresses about 2:1, like real text)
ROW_SQL = ("INSERT INTO %s.t (payload) SELECT CONCAT(%s) FROM %s.seq_1_to_%d;" % (
    DB, ",".join(["SHA2(RAND(),512)"] * 8), DB, ROWS_PER_STATEMENT))


class BinlogServer(benchdb.Server):
    def _args(self):
        return super()._args() + ["--binlog-format=ROW", "--max-binlog-size=256M"]


def _binlog_total(srv):
    """(bytes of all binlog files, current file, position)."""
    logs = srv.sql("SHOW BINARY LOGS")
    total = sum(int(r[1]) for r in logs)
    f, pos = srv.sql("SHOW MASTER STATUS")[0][:2]
    return total, f, int(pos)


def _archived(pos_file):
    try:
        with open(pos_file) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    parts = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
    return parts.get("file"), int(parts.get("pos", "0"))


def _behind(srv, pos_file):
    """Bytes of binlog the archive does not hold yet (None: unknown)."""
    a = _archived(pos_file)
    logs = srv.sql("SHOW BINARY LOGS")
    if a is None:
        return None
    behind, seen = 0, False
    for name, size in ((r[0], int(r[1])) for r in logs):
        if name == a[0]:
            seen = True
            behind += max(0, size - a[1])
        elif seen:
            behind += size
    return behind if seen else None


def _gpg_cpu(seen):
    """Updates seen {pid: cpu} with every running gpg; their sum."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() != "gpg":
                    continue
        except OSError:
            continue
        cpu = proc_cpu(int(pid))
        if cpu is not None:
            seen[int(pid)] = max(cpu, seen.get(int(pid), 0.0))
    return sum(seen.values())


def _streamer_cpu(pid):
    """Its CPU and its reaped children's."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Setup:
    def __init__(self, ctx, log):
        self.ctx, self.log = ctx, log
        self.dir = os.path.join(ctx.run_dir, "binlog")
        os.makedirs(self.dir, exist_ok=True)
        self.archive = os.path.join(ctx.out_dir, "blarchive")
        os.makedirs(self.archive, exist_ok=True)
        self.pos_file = os.path.join(self.archive, "binlog", ".binlog-position")
        self.srv = BinlogServer(os.path.join(self.dir, "data"),
                                os.path.join(self.dir, "keys.txt"), self.dir, "256M",
                                ctx.pids)
        self.streamer = None
        self.err = os.path.join(self.dir, "streamer.err")

    def start(self):
        self.srv.install()
        self.srv.start()
        pw = secrets.token_hex(16)
        pw_file = os.path.join(self.dir, "pw")
        with open(pw_file, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(pw + "\n")
        self.srv.sql(
            "CREATE DATABASE %s; CREATE TABLE %s.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
            "payload VARCHAR(1100) NOT NULL) ENGINE=InnoDB;"
            "CREATE USER '%s'@'localhost' IDENTIFIED BY '%s';"
            "GRANT SELECT, SHOW VIEW, RELOAD, LOCK TABLES, REPLICATION CLIENT, "
            "REPLICATION SLAVE, EVENT, TRIGGER ON *.* TO '%s'@'localhost';" % (
                DB, DB, USER, pw, USER))
        for _ in range(100):  # 100k rows, ~100 MiB, for the dump to read
            self.srv.sql(ROW_SQL)
        self.config = os.path.join(self.dir, "dumpfs.ini")
        with open(self.config, "w") as f:
            f.write("[mariadb]\nsocket = %s\nuser = %s\npassword_file = %s\n"
                    "databases = %s\n\n[gpg]\npublic_key_file = %s\nrecipient = %s\n\n"
                    "[archive]\ndir = %s\nprefix = bench\nschedule = off\n\n"
                    "[binlog]\nenabled = true\nsegment_seconds = %d\n" % (
                        self.srv.socket, USER, pw_file, DB,
                        self.ctx.key.public_key_file, self.ctx.key.fingerprint,
                        self.archive, SEGMENT_SECONDS))
        errf = open(self.err, "wb")
        self.streamer = subprocess.Popen([self.ctx.dumpfs, "binlog", "-c", self.config],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=errf)
        errf.close()
        self.ctx.pids.add(self.streamer.pid)
        deadline = time.monotonic() + 60
        while "binlog_stream_open" not in self._err_text():
            if self.streamer.poll() is not None or time.monotonic() > deadline:
                raise benchdb.BenchError("dumpfs binlog did not start: " + self._err_text())
            time.sleep(0.1)

    def _err_text(self):
        with open(self.err, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_caught_up(self, timeout):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if _behind(self.srv, self.pos_file) == 0:
                return time.monotonic() - t0
            time.sleep(0.2)
        return None

    def stop(self):
        if self.streamer is not None and self.streamer.poll() is None:
            self.streamer.send_signal(signal.SIGTERM)
            try:
                self.streamer.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.streamer.kill()
                self.streamer.wait()
            self.ctx.pids.remove(self.streamer.pid)
        self.srv.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.archive, ignore_errors=True)


def _dump_loop(setup, stop, counts):
    while not stop.is_set():
        res = subprocess.run([setup.ctx.dumpfs, "dump", "--plain", "-c", setup.config],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        counts["dumps" if res.returncode == 0 else "failed"] += 1
        if res.returncode:
            counts["error"] = res.stderr.decode(errors="replace").strip()[-300:]
            stop.wait(1)


def _throughput(setup, log):
    srv = setup.srv
    client = subprocess.Popen(srv.client() + ["--max-allowed-packet=1G"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    stmt_bytes = None
    total0 = _binlog_total(srv)[0]
    # calibrate: the binlog bytes of one statement
    client.stdin.write((ROW_SQL + "\n").encode())
    client.stdin.flush()
    time.sleep(1)
    stmt_bytes = max(1, _binlog_total(srv)[0] - total0)
    interval = stmt_bytes / (TARGET_MBPS * MIB)
    stop = threading.Event()
    counts = {"dumps": 0, "failed": 0, "error": ""}
    dumper = threading.Thread(target=_dump_loop, args=(setup, stop, counts))
    gpg_seen = {}
    cpu0 = _streamer_cpu(setup.streamer.pid)
    gpg0 = _gpg_cpu(gpg_seen)
    total0, _, _ = _binlog_total(srv)
    dumper.start()
    t0 = time.monotonic()
    nxt, n, max_behind, last_sample = t0, 0, 0, t0
    while time.monotonic() - t0 < LOAD_SECONDS:
        now = time.monotonic()
        if now < nxt:
            time.sleep(min(nxt - now, 0.05))
            continue
        client.stdin.write((ROW_SQL + "\n").encode())
        client.stdin.flush()
        n += 1
        nxt += interval
        if now - last_sample >= 1:
            last_sample = now
            b = _behind(srv, setup.pos_file)
            if b is not None:
                max_behind = max(max_behind, b)
            _gpg_cpu(gpg_seen)
    client.stdin.close()
    client.wait()  # the server has run every statement
    load_wall = time.monotonic() - t0
    stop.set()
    total1, _, _ = _binlog_total(srv)
    catch_up = setup.wait_caught_up(120)
    dumper.join()
    cpu1 = _streamer_cpu(setup.streamer.pid)
    gpg1 = _gpg_cpu(gpg_seen)
    grown = total1 - total0
    cpu = (cpu1 - cpu0) + (gpg1 - gpg0) if cpu0 is not None and cpu1 is not None else None
    res = {
        "statements": n,
        "load_seconds": load_wall,
        "binlog_mib": grown / MIB,
        "server_mbps": grown / MIB / load_wall,
        "max_behind_mib": max_behind / MIB,
        "catch_up_seconds": catch_up,
        "archived_mbps": grown / MIB / (load_wall + catch_up) if catch_up is not None else None,
        "cpu_seconds": cpu,
        "cpu_per_gb": cpu / (grown / (1024 * MIB)) if cpu is not None and grown else None,
        "dumps_during_load": counts["dumps"],
        "dumps_failed": counts["failed"],
    }
    log("binlog throughput: load %.0f s, %d statements, binlog +%.0f MiB = %.1f MB/s "
        "(aimed at %.0f), %d dumps ran meanwhile (%d failed)" % (
            load_wall, n, res["binlog_mib"], res["server_mbps"], TARGET_MBPS,
            counts["dumps"], counts["failed"]))
    if counts["error"]:
        log("  a dump failed: " + counts["error"])
    log("  archive: largest backlog %.0f MiB, caught up %s after the load, archived "
        "%s MB/s; streamer CPU %s s = %s s per GB of binlog" % (
            res["max_behind_mib"],
            "%.1f s" % catch_up if catch_up is not None else "NOT within 120 s",
            "%.1f" % res["archived_mbps"] if res["archived_mbps"] else "?",
            "%.1f" % cpu if cpu is not None else "?",
            "%.1f" % res["cpu_per_gb"] if res["cpu_per_gb"] else "?"))
    return res


def _recovery_point(setup, log, samples=12, spacing=1.7):
    srv = setup.srv
    pending = []  # (commit time, file, pos)
    delays = []
    lock = threading.Lock()
    done = threading.Event()

    def watch():
        while not done.is_set() or pending:
            a = _archived(setup.pos_file)
            now = time.monotonic()
            with lock:
                for item in list(pending):
                    t, f, p = item
                    if a and (a[0] > f or (a[0] == f and a[1] >= p)):
                        delays.append(now - t)
                        pending.remove(item)
                if pending and now - min(x[0] for x in pending) > 60:
                    break
            time.sleep(0.05)

    w = threading.Thread(target=watch)
    w.start()
    for i in range(samples):
        srv.sql("INSERT INTO %s.t (payload) VALUES ('rp %d');" % (DB, i))
        t = time.monotonic()
        f, p = srv.sql("SHOW MASTER STATUS")[0][:2]
        with lock:
            pending.append((t, f, int(p)))
        time.sleep(spacing)
    done.set()
    w.join()
    worst = max(delays) if len(delays) == samples else None
    ok = worst is not None and worst <= TARGET_RECOVERY_POINT
    log("binlog recovery point (segment_seconds = %d): %d commits, commit -> archived "
        "%s s (worst %s)  target <= %.0f s  %s" % (
            SEGMENT_SECONDS, samples, " ".join("%.1f" % d for d in delays),
            "%.1f" % worst if worst is not None else "n/a (some never archived)",
            TARGET_RECOVERY_POINT, "PASS" if ok else "FAIL"))
    return {"delays": delays, "worst": worst, "ok": ok}


def run(ctx, log):
    if os.environ.get("BENCH_BINLOG", "1") == "0":
        return None
    log("")
    log("binlog archive (issue 13):")
    setup = Setup(ctx, log)
    try:
        setup.start()
        tp = _throughput(setup, log)
        keeps_up = (tp["server_mbps"] >= TARGET_MBPS * 0.95 and
                    tp["catch_up_seconds"] is not None and
                    tp["catch_up_seconds"] <= SEGMENT_SECONDS + 5)
        log("  keeps up with %.0f MB/s of binlog while a backup runs: %s" % (
            TARGET_MBPS, "PASS" if keeps_up else
            "FAIL (server reached %.1f MB/s, caught up %s)" % (
                tp["server_mbps"], tp["catch_up_seconds"])))
        tp["keeps_up"] = keeps_up
        rp = _recovery_point(setup, log)
        if "binlog_stream_failed" in setup._err_text():
            log("  note: the streamer logged failures: " +
                setup._err_text().count("binlog_stream_failed").__str__())
        return {"throughput": tp, "recovery_point": rp}
    except benchdb.BenchError as e:
        log("binlog part failed: %s" % e)
        return None
    finally:
        setup.stop()
