#!/usr/bin/env python3
"""`make bench`: dumpfs dump against the shell pipelines it replaces.

Run through tests/bench/bench.sh (which owns the temporary directories and
the exit trap).  Environment:
  BENCH_SIZE=1G        table data (InnoDB DATA_LENGTH) of the dataset: 256M, 1G
  BENCH_DIR=/var/tmp/dumpfs-bench   dataset cache and output files
  BENCH_ROUNDS=3       rounds of the alternating A B C ... sequence
  BENCH_COMPARE=1      run 256M and 1G (BENCH_COMPARE_SIZES) and compare RSS
  BENCH_MOUNT=0        skip the FUSE mount part
  BENCH_RESTORE=0      skip the restore part (restorebench.py)
  BENCH_DIGEST=0       skip the digest cost part (digestbench.py)
  BENCH_BINLOG=0       skip the binlog archive part (binlogbench.py;
                       BENCH_BINLOG_MBPS=20, BENCH_BINLOG_SECONDS=60)
  DUMPFS_NODIGEST=...  the build without row digests (build/nodigest/dumpfs)
  BENCH_BOOST=-10      own session/autogroup at that nice (see boost_priority)
  DUMPFS=./dumpfs      the binary under test (optimized build)
It is a measurement, not a test: it exits 0 when targets are missed (the
summary says PASS/FAIL per target) and non-zero only when it could not
measure at all.
"""

import argparse
import json
import re
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchdb  # noqa: E402
import binlogbench  # noqa: E402
import digestbench  # noqa: E402
import mountbench  # noqa: E402
import restorebench  # noqa: E402
import runner  # noqa: E402
from runner import (GpgKey, become_subreaper, fmt_samples, loadavg, median,  # noqa
                    run_timed, shell, verify_dumpfs, verify_mariadb_dump)

MB = 1e6
MIB = 1024 * 1024
# Issue 10's targets, against the old stack (mariadb-dump | gzip | gpg,
# "reference") and the floor (mariadb-dump > /dev/null).
TARGET_SPEEDUP = 3.5     # reference wall / dumpfs wall, at least
TARGET_FLOOR_RATIO = 1.5  # dumpfs wall / floor wall, at most
TARGET_SIZE_RATIO = 1.0  # dumpfs output / reference output, at most
TARGET_CPU_RATIO = 0.40  # dumpfs total CPU / reference total CPU, at most
TARGET_RSS_MIB = 64
RSS_GROWTH_TOLERANCE = 1.15  # 1G peak may exceed 256M peak by 15% (noise)


def log(msg):
    print(msg, flush=True)


def verdict(ok):
    return "PASS" if ok else "FAIL"


class Ctx:
    """What one dataset size's run needs."""

    def __init__(self, args, key, pids, ds, srv):
        self.dumpfs = args.dumpfs
        self.rounds = args.rounds
        self.key = key
        self.pids = pids
        self.ds = ds
        self.srv = srv
        self.run_dir = os.path.join(args.run_dir, ds.label)
        self.out_dir = os.path.join(args.out_dir, ds.label)
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(self.out_dir, exist_ok=True)
        self.archive_dir = os.path.join(self.out_dir, "archive")
        os.makedirs(self.archive_dir, exist_ok=True)
        self.config = self._write_config()
        self.cnf = self._write_cnf()
        self.mount = None  # mountbench.Mount while mounted

    def _write_config(self):
        path = os.path.join(self.run_dir, "dumpfs.ini")
        with open(path, "w") as f:
            f.write(
                "[mariadb]\nsocket = %s\nuser = %s\npassword_file = %s\n"
                "databases = %s\n\n[dump]\ncompression_level = 6\n\n"
                "[gpg]\npublic_key_file = %s\nrecipient = %s\n\n"
                "[archive]\ndir = %s\nprefix = bench\nschedule = off\n\n"
                "[log]\nlevel = info\n\n[fs]\nmax_snapshot_readers = 2\n" % (
                    self.srv.socket, benchdb.BACKUP_USER,
                    self.ds.password_file, benchdb.DB_NAME,
                    self.key.public_key_file, self.key.fingerprint,
                    self.archive_dir))
        return path

    def _write_cnf(self):
        """Client options for mariadb-dump: same user and socket as dumpfs,
        the password in a 0600 file, never on a command line."""
        with open(self.ds.password_file) as f:
            password = f.read().strip()
        path = os.path.join(self.run_dir, "client.cnf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("[client]\nuser=%s\npassword=%s\nsocket=%s\n" % (
                benchdb.BACKUP_USER, password, self.srv.socket))
        return path

    def mariadb_dump(self):
        return ("mariadb-dump --defaults-file=%s --single-transaction "
                "--routines --triggers %s" % (self.cnf, benchdb.DB_NAME))

    def out(self, name):
        return os.path.join(self.out_dir, name)


# -- the contenders -----------------------------------------------------------

def contenders(ctx):
    """(key, label, argv, output file or None, env), in round order: the
    rows of issue 10's table, then --plain and the snapshot through the
    mount (when mounted)."""
    fpr = ctx.key.fingerprint
    gpg = "gpg --batch --no-tty --quiet"
    rows = [
        ("mdump_null", "mariadb-dump > /dev/null (floor)",
         shell(ctx.mariadb_dump()), None, None),
        ("dumpfs", "dumpfs dump -o FILE",
         [ctx.dumpfs, "dump", "-c", ctx.config, "-o", ctx.out("dumpfs.gpg")],
         None, None),
        ("pigz", "mariadb-dump | pigz -6 | gpg -e -z0",
         shell("%s | pigz -6 | %s --compress-algo none --encrypt -r %s" % (
             ctx.mariadb_dump(), gpg, fpr)),
         ctx.out("pigz.gpg"), ctx.key.env()),
        ("reference", "mariadb-dump | gzip -6 | gpg -e",
         shell("%s | gzip -6 | %s --encrypt -r %s" % (
             ctx.mariadb_dump(), gpg, fpr)),
         ctx.out("reference.gpg"), ctx.key.env()),
        ("plain_null", "dumpfs dump --plain > /dev/null",
         [ctx.dumpfs, "dump", "-c", ctx.config, "--plain"], None, None),
    ]
    if ctx.mount is not None:
        argv, name = mountbench.snapshot_pipeline(ctx.mount)
        rows.append(("snapshot", "cp MOUNT/snapshot/now.sql.gz.gpg",
                     argv + [ctx.out(name)], None, None))
    return rows


# Whose output is a dumpfs dump (verified with verify_dumpfs), and which
# SQL size each row's MB/s is of.
DUMPFS_OUTPUT = ("dumpfs", "snapshot")
DUMPFS_SQL = ("dumpfs", "plain_null", "snapshot")


def run_rounds(ctx):
    samples = {c[0]: [] for c in contenders(ctx)}
    snap_verified = []
    checks = []  # (what, ok, detail)
    sql = {}
    daemon = ctx.mount.proc.pid if ctx.mount is not None else None
    for rnd in range(1, ctx.rounds + 1):
        log("round %d/%d (load %s)" % (rnd, ctx.rounds, " ".join(loadavg())))
        for key, label, argv, out, env in contenders(ctx):
            dest = ctx.out("dumpfs.gpg") if key == "dumpfs" else (
                argv[-1] if key == "snapshot" else None)
            if dest and os.path.exists(dest):
                os.unlink(dest)
            s = run_timed(key, argv, out_path=out, env=env,
                          errdir=ctx.run_dir, server_pid=ctx.srv.proc.pid,
                          daemon_pid=daemon if key == "snapshot" else None)
            if dest:
                s.out_bytes = (os.path.getsize(dest)
                               if os.path.exists(dest) else None)
            samples[key].append(s)
            m = re.search(r"sql_bytes=(\d+)", s.stderr)
            if m and key in ("dumpfs", "plain_null"):
                sql.setdefault("dumpfs_log", int(m.group(1)))
            extra = ""
            if key in DUMPFS_OUTPUT:
                ok, n, why = (verify_dumpfs(dest, ctx.key.home) if s.ok
                              else (False, 0, "rc=%d" % s.rc))
                checks.append(("%s output round %d" % (key, rnd), ok, why))
                if ok:
                    sql[key] = n
                if key == "snapshot":
                    snap_verified.append(ok)
                extra = " verify %s" % verdict(ok)
            elif s.ok and key in ("reference", "pigz") and key not in sql:
                ok, n, why = verify_mariadb_dump(out, ctx.key.home)
                checks.append(("%s output" % key, ok, why))
                sql[key] = n
                extra = " verify %s" % verdict(ok)
            log("  %-34s %6.1f s  cpu %5.1f+%.1f s, server %4.1f s, total "
                "%5.1f s  rss %5.1f MiB  other %s%s%s" % (
                    label[:34], s.wall, s.cpu, s.orphan_cpu +
                    (s.daemon_cpu or 0), s.server_cpu or 0, s.total_cpu,
                    s.peak_rss_kib / 1024, fmt_foreign(s),
                    "" if s.ok else "  FAILED rc=%d" % s.rc, extra))
            if not s.ok:
                log("    stderr: %s" % s.stderr.strip()[-800:])
            for path in (out, dest):
                if rnd < ctx.rounds and path and os.path.exists(path):
                    os.unlink(path)
    return samples, checks, sql, snap_verified


# -- reporting ----------------------------------------------------------------

# A run shared the machine when other work took more than this many CPUs
# on average during it (kernel I/O threads alone stay well below).
FOREIGN_NOISY = 0.25


def foreign_share(s):
    """CPUs used by other work during sample s, or None."""
    if s.foreign_cpu is None or s.wall <= 0:
        return None
    return s.foreign_cpu / s.wall


def fmt_foreign(s):
    f = foreign_share(s)
    return "?" if f is None else "%.2f CPU" % f

def med_wall(samples, key):
    return median([s.wall for s in samples[key] if s.ok])


def summarize(ctx, info, samples, checks, sql, mount, load_start):
    """Prints the table and targets; returns the result dict."""
    res = {"size": ctx.ds.label, "data_bytes": info["data_bytes"],
           "index_bytes": info["index_bytes"], "rows": info["tables"],
           "sql_bytes": sql, "load_start": load_start,
           "load_end": loadavg(), "rounds": ctx.rounds, "contenders": {},
           "targets": {}, "checks": checks, "mount": mount}
    ref_sql = sql.get("reference")
    log("")
    log("=" * 78)
    log("dumpfs benchmark, dataset %s: DATA_LENGTH %.0f MiB (+%.0f MiB "
        "indexes), %s rows" % (ctx.ds.label, info["data_bytes"] / MIB,
                               info["index_bytes"] / MIB,
                               sum(info["tables"].values())))
    log("SQL text: mariadb-dump %s MB, dumpfs %s MB (BLOBs as hex)" % (
        "%.0f" % (ref_sql / MB) if ref_sql else "?",
        "%.0f" % ((sql.get("dumpfs") or sql["dumpfs_log"]) / MB)
        if (sql.get("dumpfs") or sql.get("dumpfs_log")) else "?"))
    shares = [foreign_share(s) for ss in samples.values() for s in ss]
    shares = [f for f in shares if f is not None]
    worst = max(shares, default=None)
    res["foreign_cpu_max"] = worst
    log("load average at start %s, at end %s on %d CPUs" % (
        " ".join(load_start), " ".join(res["load_end"]), os.cpu_count()))
    log("other work during the timed runs: at most %s%s" % (
        "?" if worst is None else "%.2f CPU" % worst,
        "  -> NOISY figures (> %.2f CPU)" % FOREIGN_NOISY
        if worst is None or worst > FOREIGN_NOISY else "  -> quiet"))
    res["boost"] = args_boost[0]
    if args_boost[0] is not None:
        log("BOOSTED: the bench ran in its own autogroup at nice %d" %
            args_boost[0])
    log("")
    log("%-34s %-17s %6s %8s %6s %6s %6s %7s %7s" % (
        "pipeline", "wall samples (s)", "median", "SQL MB/s", "CPU s",
        "srv s", "total", "out MB", "RSS MiB"))
    for key, label, _, _, _ in contenders(ctx):
        ss = samples[key]
        good = [s for s in ss if s.ok]
        m = median([s.wall for s in good])
        sq = (sql.get("dumpfs") or sql.get("dumpfs_log")
              if key in DUMPFS_SQL else sql.get("reference"))
        outs = [s.out_bytes for s in good if s.out_bytes]
        rss = max([s.peak_rss_kib for s in good], default=0) / 1024
        tot = median([s.total_cpu for s in good])
        res["contenders"][key] = {
            "label": label, "wall": [s.wall for s in ss],
            "ok": [s.ok for s in ss], "cpu": [s.cpu for s in ss],
            "orphan_cpu": [s.orphan_cpu for s in ss],
            "server_cpu": [s.server_cpu for s in ss],
            "daemon_cpu": [s.daemon_cpu for s in ss],
            "total_cpu": [s.total_cpu for s in ss],
            "total_cpu_median": tot,
            "orphan_maxrss_kib": [s.orphan_maxrss_kib for s in ss],
            "maxrss_kib": [s.maxrss_kib for s in ss],
            "peak_rss_kib": [s.peak_rss_kib for s in ss], "median": m,
            "out_bytes": outs[-1] if outs else None, "load1":
            [s.load1 for s in ss],
            "foreign_cpu": [s.foreign_cpu for s in ss]}
        log("%-34s %-17s %6s %8s %6s %6s %6s %7s %7s" % (
            label[:34], fmt_samples([s.wall for s in ss]),
            "%.1f" % m if m else "FAIL",
            "%.1f" % (sq / MB / m) if (m and sq) else "?",
            "%.1f" % median([s.cpu + s.orphan_cpu + (s.daemon_cpu or 0)
                             for s in good]) if good else "-",
            "%.1f" % median([s.server_cpu or 0 for s in good])
            if good else "-",
            "%.1f" % tot if good else "-",
            "%.1f" % (outs[-1] / MB) if outs else "-",
            "%.1f" % rss if good else "-"))
    log("CPU s = the command and its children incl. the gpg that gpgme "
        "double-forks (and the FUSE daemon for the snapshot); srv s = "
        "mariadbd; total = both.")
    log("RSS = the largest single process of the pipeline (for dumpfs: "
        "dumpfs itself or its gpg; the snapshot: the daemon's peak).")
    log("Under load, wall time follows each pipeline's CPU share; total "
        "CPU per dump is the load-independent figure.")
    targets(ctx, res, samples)
    if mount:
        mountbench.report(mount, log)
    return res


def targets(ctx, res, samples):
    t = res["targets"]
    d, r, p, f = (med_wall(samples, k) for k in (
        "dumpfs", "reference", "pigz", "mdump_null"))
    cpu = {k: res["contenders"][k]["total_cpu_median"]
           for k in ("dumpfs", "reference")}
    outs = {k: res["contenders"][k]["out_bytes"] for k in res["contenders"]}
    rss = [s.maxrss_kib for s in samples["dumpfs"] if s.ok]
    grss = [s.orphan_maxrss_kib for s in samples["dumpfs"] if s.ok]
    mine = [ok for what, ok, _ in res["checks"] if what.startswith("dumpfs")]
    allv = all(mine)
    n_ok = len(mine)  # dumpfs outputs checked
    n_runs = len(samples["dumpfs"])
    log("")
    log("targets (issue 10; compression level 6):")
    if d and r:
        t["speedup_vs_reference"] = [r / d, r / d >= TARGET_SPEEDUP]
        log("  reference/dumpfs time  %5.2fx  (>= %.1fx)        %s" % (
            r / d, TARGET_SPEEDUP, verdict(r / d >= TARGET_SPEEDUP)))
    else:
        log("  reference/dumpfs time    n/a  (a run failed)    FAIL")
        t["speedup_vs_reference"] = [None, False]
    if d and f:
        t["floor_ratio"] = [d / f, d / f <= TARGET_FLOOR_RATIO]
        log("  dumpfs/floor time      %5.2fx  (<= %.1fx)        %s" % (
            d / f, TARGET_FLOOR_RATIO, verdict(d / f <= TARGET_FLOOR_RATIO)))
    else:
        log("  dumpfs/floor time        n/a  (a run failed)    FAIL")
        t["floor_ratio"] = [None, False]
    if cpu["dumpfs"] and cpu["reference"]:
        q = cpu["dumpfs"] / cpu["reference"]
        t["cpu_vs_reference"] = [q, q <= TARGET_CPU_RATIO]
        log("  dumpfs/reference total CPU %5.2f (<= %.2f)       %s   "
            "(%.1f vs %.1f CPU s, server included)" % (
                q, TARGET_CPU_RATIO, verdict(q <= TARGET_CPU_RATIO),
                cpu["dumpfs"], cpu["reference"]))
    else:
        log("  dumpfs/reference total CPU n/a                  FAIL")
        t["cpu_vs_reference"] = [None, False]
    if d and p:
        t["speedup_vs_pigz"] = [p / d, p / d > 1.0]
        log("  pigz/dumpfs time       %5.2fx  (> 1.0x)          %s" % (
            p / d, verdict(p / d > 1.0)))
    else:
        t["speedup_vs_pigz"] = [None, False]
        log("  pigz/dumpfs time         n/a                    FAIL")
    if outs.get("dumpfs") and outs.get("reference"):
        q = outs["dumpfs"] / outs["reference"]
        t["size_vs_reference"] = [q, q <= TARGET_SIZE_RATIO]
        log("  dumpfs/reference size  %5.3f   (<= %.2f)         %s   "
            "(pigz/reference %.3f)" % (
                q, TARGET_SIZE_RATIO, verdict(q <= TARGET_SIZE_RATIO),
                (outs["pigz"] or 0) / outs["reference"]))
    else:
        t["size_vs_reference"] = [None, False]
        log("  dumpfs/reference size    n/a                    FAIL")
    if rss:
        peak = max(rss) / 1024
        t["peak_rss_mib"] = [peak, peak < TARGET_RSS_MIB]
        log("  dumpfs peak RSS      %6.1f MiB (< %d MiB)       %s   "
            "(samples %s; its gpg process: %.1f MiB)" % (
                peak, TARGET_RSS_MIB, verdict(peak < TARGET_RSS_MIB),
                fmt_samples([x / 1024 for x in rss]), max(grss) / 1024))
    else:
        t["peak_rss_mib"] = [None, False]
        log("  dumpfs peak RSS          n/a                    FAIL")
    good = allv and n_ok == n_runs and n_ok > 0
    t["outputs_verified"] = [sum(mine), good]
    log("  dumpfs outputs decrypt+gunzip+completion line: %d of %d runs  "
        "%s" % (sum(mine), n_runs, verdict(good)))
    for what, ok, why in res["checks"]:
        if not ok:
            log("    %s: %s" % (what, why))
    log("  snapshot through the mount within 10% of dump -o: see the mount "
        "part below")
    log("  RSS not growing with size: run BENCH_COMPARE=1 (256M vs 1G)")


def compare(results):
    log("")
    log("=" * 78)
    log("RSS vs dataset size (BENCH_COMPARE):")
    peaks = []
    for r in results:
        p = r["targets"].get("peak_rss_mib", [None])[0]
        peaks.append(p)
        log("  %-5s DATA_LENGTH %6.0f MiB  dumpfs median %s s  peak RSS %s "
            "MiB" % (r["size"], r["data_bytes"] / MIB,
                     "%.1f" % r["contenders"]["dumpfs"]["median"]
                     if r["contenders"]["dumpfs"]["median"] else "?",
                     "%.1f" % p if p else "?"))
    if None in peaks or len(peaks) < 2:
        log("  RSS not growing with size: n/a                FAIL")
        return
    ok = peaks[-1] <= peaks[0] * RSS_GROWTH_TOLERANCE
    log("  RSS not growing with size: %.1f -> %.1f MiB (<= +%d%%)  %s" % (
        peaks[0], peaks[-1], round((RSS_GROWTH_TOLERANCE - 1) * 100),
        verdict(ok)))


# -- driver -------------------------------------------------------------------

def bench_size(args, key, pids, size):
    ds = benchdb.Dataset(args.bench_dir, size)
    ds.ensure(args.run_dir, pids, log)
    inuse = ds.lock(log)
    srv = ds.server(os.path.join(args.run_dir, "srv-" + ds.label), pids)
    try:
        srv.start()
        info = benchdb.dataset_info(srv)
        ctx = Ctx(args, key, pids, ds, srv)
        load_start = loadavg()
        s = run_timed("warmup", shell(ctx.mariadb_dump()), errdir=ctx.run_dir)
        log("warm-up (fills the buffer pool): mariadb-dump %.1f s%s" % (
            s.wall, "" if s.ok else " FAILED: " + s.stderr[-500:]))
        mount = None
        if args.mount:
            mount, ctx.mount = mountbench.start(ctx, log)
        try:
            samples, checks, sql, snap_ok = run_rounds(ctx)
            if ctx.mount is not None:
                mountbench.take_snapshot_samples(
                    mount, samples["snapshot"], samples["dumpfs"], snap_ok)
            mountbench.finish(mount, ctx, ctx.mount, log)
        finally:
            if ctx.mount is not None:
                ctx.mount.stop()
        res = summarize(ctx, info, samples, checks, sql, mount, load_start)
        res["digests"] = digestbench.run(ctx, log)
        res["restore"] = restorebench.run(ctx, log)
        res["binlog"] = binlogbench.run(ctx, log)
    finally:
        srv.stop()
        inuse.close()
    with open(os.path.join(args.bench_dir, "last-%s.json" % ds.label),
              "w") as f:
        json.dump(res, f, indent=1, default=str)
    return res


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    a.bench_dir = os.environ.get("BENCH_DIR", "/var/tmp/dumpfs-bench")
    a.dumpfs = os.path.abspath(os.environ.get("DUMPFS", "./dumpfs"))
    a.rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    a.mount = os.environ.get("BENCH_MOUNT", "1") != "0"
    if os.environ.get("BENCH_COMPARE", "0") not in ("", "0"):
        names = os.environ.get("BENCH_COMPARE_SIZES", "256M 1G").split()
    else:
        names = [os.environ.get("BENCH_SIZE", "1G")]
    a.sizes = [benchdb.parse_size(n) for n in names]
    return a


def boost_priority():
    """BENCH_BOOST=N (e.g. -10): run in a session of our own whose
    autogroup has that nice value.  With Linux autogroups, CPU is shared
    between sessions first, so on a machine busy with other people's work
    the bench then gets most of the CPU and its figures approach a quiet
    machine's, at the others' expense for the bench's duration."""
    val = os.environ.get("BENCH_BOOST", "")
    if val in ("", "0"):
        return None
    try:
        os.setsid()
        with open("/proc/self/autogroup", "w") as f:
            f.write("%d\n" % int(val))
    except (OSError, ValueError) as e:
        log("bench: BENCH_BOOST=%s not applied: %s" % (val, e))
        return None
    return int(val)


args_boost = [None]


def _term(signum, frame):
    raise SystemExit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, _term)
    become_subreaper()
    boost = boost_priority()
    args_boost[0] = boost
    args = parse_args()
    if not os.access(args.dumpfs, os.X_OK):
        log("bench: %s is not an executable; run `make` first" % args.dumpfs)
        return 2
    ver = subprocess.run([args.dumpfs, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT).stdout.decode().strip()
    log("dumpfs bench: %s (%s); %d CPUs, load %s; %s%s" % (
        args.dumpfs, ver or "?", os.cpu_count(),
        " ".join(loadavg()), time.strftime("%Y-%m-%d %H:%M:%S"),
        "; BOOSTED (own autogroup, nice %d)" % boost if boost is not None
        else ""))
    pids = benchdb.PidFile(os.path.join(args.run_dir, "pids"))
    runner.KEEP = pids.pids
    key = GpgKey(os.path.join(args.run_dir, "gnupg"))
    results = []
    try:
        for size in args.sizes:
            results.append(bench_size(args, key, pids, size))
        if len(results) > 1:
            compare(results)
    except benchdb.BenchError as e:
        log("bench: %s" % e)
        return 1
    finally:
        key.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
