"""The mount part of `make bench` (the filesystem issue): time to first byte
of snapshot/now.sql.gz.gpg, snapshot throughput through the mount against
`dumpfs dump -o FILE`, and archive read throughput through the mount
against reading the same file directly.

start() mounts before the timed rounds: bench.py times `cp` of the
snapshot as one more pipeline of its interleaved rounds (snapshot_pipeline)
and hands the samples to finish(), which then measures the time to first
byte and the archive reads and unmounts.

Reads of the archive are cold: the page cache is dropped before each
(needs root; otherwise the report says the numbers are warm).  When the
mount does not come up, the result says "mount not available" and why;
nothing is estimated.
"""

import glob
import os
import signal
import subprocess
import time

from runner import drop_caches, fmt_samples, median, proc_cpu, run_timed
from throttle import DiskThrottle

MB = 1e6
SNAP = os.path.join("snapshot", "now.sql.gz.gpg")
TARGET_SNAPSHOT_SLOWDOWN = 1.10
TARGET_ARCHIVE_RATIO = 0.80
# The disk-bound variant of the archive read: a SATA SSD's bandwidth.
DISK_MBPS = float(os.environ.get("BENCH_DISK_MBPS", "500"))


class Mount:
    def __init__(self, ctx):
        self.ctx = ctx
        self.mnt = os.path.join(ctx.run_dir, "mnt")
        self.log_path = os.path.join(ctx.run_dir, "mount.log")
        self.proc = None
        os.makedirs(self.mnt, exist_ok=True)

    def start(self, timeout=30):
        """None when mounted, else the reason it is not."""
        logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.ctx.dumpfs, self.ctx.config, self.mnt, "-f"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        self.ctx.pids.add(self.proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "dumpfs exited with %s: %s" % (self.proc.returncode,
                                                      self.log_tail())
            if os.path.ismount(self.mnt) and os.path.isdir(
                    os.path.join(self.mnt, "snapshot")):
                return None
            time.sleep(0.2)
        return "not mounted after %ds: %s" % (timeout, self.log_tail())

    def log_tail(self, n=600):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace").strip()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if os.path.ismount(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.ismount(self.mnt):
            subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        self.ctx.pids.remove(self.proc.pid)


def ttfb(path):
    """Seconds from open() to the first byte read, and the open() time."""
    t0 = time.monotonic()
    fd = os.open(path, os.O_RDONLY)
    t_open = time.monotonic() - t0
    try:
        data = os.read(fd, 65536)
        t = time.monotonic() - t0
    finally:
        os.close(fd)
    if not data:
        raise OSError("empty first read")
    return t, t_open


def self_cpu():
    # This thread only: the bench's other threads are not the reader.
    return time.thread_time()


def daemon_cpu(pid):
    return (proc_cpu(pid) or 0.0) if pid else 0.0


def read_rate(path, cold, daemon=None):
    """(MB/s, seconds, CPU seconds) reading path to the end with 1 MiB
    reads; the CPU is the reader's plus the daemon's (a pid) when given."""
    if cold:
        drop_caches()
    n = 0
    c0 = self_cpu() + daemon_cpu(daemon)
    t0 = time.monotonic()
    fd = os.open(path, os.O_RDONLY)
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            n += len(b)
    finally:
        os.close(fd)
    dt = time.monotonic() - t0
    cpu = self_cpu() + daemon_cpu(daemon) - c0
    return n / MB / dt, dt, cpu


def measure_ttfb(res, snap, rounds, log):
    ts = []
    for _ in range(rounds):
        t, t_open = ttfb(snap)
        ts.append(t)
        log("  time to first byte %.3f s (open %.3f s)" % (t, t_open))
        time.sleep(2)  # let the aborted dump wind down
    res["ttfb"] = ts


def snapshot_pipeline(mount):
    """The (argv, output name) that copies the snapshot out of the mount."""
    return ["cp", os.path.join(mount.mnt, SNAP)], "mount.gpg"


def take_snapshot_samples(res, snap, dump, snap_verified):
    """Records the interleaved rounds' samples: `cp` of the snapshot and
    `dumpfs dump -o` (runner.Sample lists, same rounds)."""
    res["snap_mount"] = [s.wall if s.ok and v else None
                         for s, v in zip(snap, snap_verified)]
    res["snap_file"] = [s.wall if s.ok else None for s in dump]
    res["snap_mount_cpu"] = [s.total_cpu for s in snap if s.ok]
    res["snap_file_cpu"] = [s.total_cpu for s in dump if s.ok]
    res["snap_verify"] = list(snap_verified)
    outs = [s.out_bytes for s in snap if s.ok and s.out_bytes]
    if outs:
        res["snap_bytes"] = outs[-1]


def measure_archive(res, ctx, mount, log):
    """`dumpfs backup` made one archive before the mount; read it both
    ways, alternating, cold when root can drop the page cache; then once
    more with both reads held to a disk's bandwidth (throttle.py)."""
    files = sorted(glob.glob(os.path.join(ctx.archive_dir,
                                          "bench_*.sql.gz.gpg")))
    if not files:
        res["archive_error"] = "no archive file (dumpfs backup failed?)"
        return
    name = os.path.basename(files[-1])
    direct, via = files[-1], os.path.join(mount.mnt, "archive", name)
    daemon = mount.proc.pid
    cold = drop_caches()
    res["archive_cold"] = cold
    res["archive_bytes"] = size = os.path.getsize(direct)
    for k in ("arch_direct", "arch_mount", "arch_direct_warm",
              "arch_mount_warm", "arch_direct_cpu", "arch_mount_cpu"):
        res[k] = []
    for rnd in range(1, ctx.rounds + 1):
        d, _, dc = read_rate(direct, cold)
        dw, _, _ = read_rate(direct, False)
        m, _, mc = read_rate(via, cold, daemon)
        mw, _, _ = read_rate(via, False, daemon)
        res["arch_direct"].append(d)
        res["arch_mount"].append(m)
        res["arch_direct_warm"].append(dw)
        res["arch_mount_warm"].append(mw)
        # CPU seconds per GB read: where the mount's time goes.
        res["arch_direct_cpu"].append(dc / (size / 1e9))
        res["arch_mount_cpu"].append(mc / (size / 1e9))
        log("  round %d: archive read direct %.0f MB/s, mount %.0f MB/s "
            "(%s; CPU-s/GB %.2f vs %.2f incl. the daemon); warm: direct "
            "%.0f, mount %.0f MB/s" % (
                rnd, d, m, "cold" if cold else "warm",
                res["arch_direct_cpu"][-1], res["arch_mount_cpu"][-1], dw,
                mw))
    if not cold:
        return  # a bandwidth limit means nothing for page-cache reads
    thr = DiskThrottle(direct, DISK_MBPS)
    why = thr.open()
    if why:
        res["disk_bound_error"] = why
        log("  disk-bound archive read: not available (%s)" % why)
        return
    res["disk_mbps"] = DISK_MBPS
    res["arch_direct_disk"], res["arch_mount_disk"] = [], []
    try:
        thr.add(os.getpid())
        thr.add(daemon)  # it does the mount's reads of the real file
        for rnd in range(1, ctx.rounds + 1):
            d, _, _ = read_rate(direct, True)
            m, _, _ = read_rate(via, True)
            res["arch_direct_disk"].append(d)
            res["arch_mount_disk"].append(m)
            log("  round %d: disk-bound (%.0f MB/s limit) archive read "
                "direct %.0f MB/s, mount %.0f MB/s" % (rnd, DISK_MBPS, d, m))
    finally:
        thr.close()


def make_backup(res, ctx, log):
    b = run_timed("backup", [ctx.dumpfs, "backup", "-c", ctx.config],
                  errdir=ctx.run_dir)
    res["backup_seconds"] = b.wall if b.ok else None
    log("  dumpfs backup (archive file for the read test) %.1f s%s" % (
        b.wall, "" if b.ok else " FAILED: " + b.stderr.strip()[-300:]))


def start(ctx, log):
    """Makes the archive file for the read test, then mounts: (result
    dict, Mount or None when the mount is not available)."""
    log("mount part (snapshot/ and archive/ through FUSE):")
    res = {"available": False}
    make_backup(res, ctx, log)
    mount = Mount(ctx)
    why = mount.start()
    if why:
        res["reason"] = why
        log("  mount not available: %s" % why)
        mount.stop()
        res["mount_log_tail"] = mount.log_tail(2000)
        return res, None
    res["available"] = True
    return res, mount


def finish(res, ctx, mount, log):
    """Time to first byte and archive reads, then unmounts."""
    if mount is None:
        return res
    log("mount part, after the rounds:")
    snap = os.path.join(mount.mnt, SNAP)
    try:
        try:
            measure_ttfb(res, snap, ctx.rounds, log)
        except OSError as e:
            res["snapshot_error"] = str(e)
            log("  snapshot read failed: %s" % e)
        try:
            measure_archive(res, ctx, mount, log)
        except OSError as e:
            res["archive_error"] = str(e)
            log("  archive read failed: %s" % e)
    finally:
        mount.stop()
    res["mount_log_tail"] = mount.log_tail(2000)
    return res


def _v(ok):
    return "PASS" if ok else "FAIL"


def report(res, log):
    log("")
    log("mount (FUSE):")
    if not res.get("available"):
        log("  mount not available: %s" % res.get("reason", "?"))
        return
    if res.get("ttfb"):
        log("  time to first byte of snapshot: median %.3f s (samples %s)"
            % (median(res["ttfb"]), fmt_samples(res["ttfb"], "%.3f")))
    sm = [x for x in res.get("snap_mount", []) if x]
    sf = [x for x in res.get("snap_file", []) if x]
    if sm and sf and len(sm) == len(res["snap_mount"]):
        q = median(sm) / median(sf)
        mb = res.get("snap_bytes", 0) / MB
        log("  snapshot via mount (cp) median %.1f s [%s] vs dump -o %.1f s"
            " [%s]: %.2fx time (<= %.2fx)  %s   (%.0f MB output)" % (
                median(sm), fmt_samples(sm), median(sf), fmt_samples(sf), q,
                TARGET_SNAPSHOT_SLOWDOWN, _v(q <= TARGET_SNAPSHOT_SLOWDOWN),
                mb))
        res["snapshot_ratio"] = [q, q <= TARGET_SNAPSHOT_SLOWDOWN]
        cm, cf = res.get("snap_mount_cpu"), res.get("snap_file_cpu")
        if cm and cf:
            log("  total CPU (client, daemon, gpg, server): snapshot %.1f s "
                "vs dump -o %.1f s: %.2fx (the steadier figure under load)"
                % (median(cm), median(cf), median(cm) / median(cf)))
    else:
        log("  snapshot throughput: FAIL (%s)" % (
            res.get("snapshot_error") or "a read or dump failed"))
        res["snapshot_ratio"] = [None, False]
    if res.get("arch_mount"):
        d, m = median(res["arch_direct"]), median(res["arch_mount"])
        log("  archive read (%s cache, %.0f MB file): mount %.0f MB/s [%s] "
            "vs direct %.0f MB/s [%s]: %.0f%% (>= %d%%)  %s" % (
                "cold" if res["archive_cold"] else "WARM",
                res["archive_bytes"] / MB, m,
                fmt_samples(res["arch_mount"], "%.0f"), d,
                fmt_samples(res["arch_direct"], "%.0f"), 100 * m / d,
                TARGET_ARCHIVE_RATIO * 100,
                _v(m / d >= TARGET_ARCHIVE_RATIO)))
        dw, mw = median(res["arch_direct_warm"]), median(
            res["arch_mount_warm"])
        log("  archive read, warm (second read): mount %.0f MB/s vs direct "
            "%.0f MB/s: %.0f%%" % (mw, dw, 100 * mw / dw))
        if res.get("arch_mount_cpu"):
            log("  archive read CPU per GB (reader + daemon): mount %.2f s "
                "vs direct %.2f s" % (median(res["arch_mount_cpu"]),
                                      median(res["arch_direct_cpu"])))
        res["archive_ratio"] = [m / d, m / d >= TARGET_ARCHIVE_RATIO]
        if res.get("arch_mount_disk"):
            dd, md = median(res["arch_direct_disk"]), median(
                res["arch_mount_disk"])
            log("  archive read, disk-bound (%.0f MB/s limit, cold): mount "
                "%.0f MB/s vs direct %.0f MB/s: %.0f%% (information: not "
                "the target)" % (res["disk_mbps"], md, dd, 100 * md / dd))
    else:
        log("  archive read: FAIL (%s)" % res.get("archive_error", "?"))
        res["archive_ratio"] = [None, False]
