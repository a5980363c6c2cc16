"""The restore part of `make bench` (issue 12): `dumpfs restore --jobs 2`
and `--jobs 1` against the stock `gpg -d | gunzip | mariadb` pipeline,
loading the bench database's dumpfs backup into a second private server
(fresh datadir, same settings), in interleaved rounds.  Reported per
pipeline: wall, the client side's CPU (dumpfs, its gpg and its mariadb
clients; or the three pipeline stages) and mariadbd's CPU.

Also `dumpfs rehearse --jobs 2` of the same file (its own throwaway
server under the run dir: install, start, restore, re-read, compare).

Targets: stock wall / `--jobs 2` wall >= 1.6 (two cores: the server on
both); rehearse wall / `restore --jobs 2` wall <= 1.3.
BENCH_RESTORE=0 skips this part.
"""

import hashlib
import os
import shutil

import benchdb
from runner import fmt_samples, median, run_timed, shell

TARGET_JOBS_SPEEDUP = 1.6
TARGET_REHEARSE_RATIO = 1.3


def _config(ctx, target):
    """ctx's config plus a [restore] section for the target (root, socket)."""
    path = os.path.join(ctx.run_dir, "restore.ini")
    with open(ctx.config) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text + "\n[restore]\nsocket = %s\nuser = root\n" % target.socket)
    return path


LABELS = [("stock", "gpg -d | gunzip | mariadb"),
          ("jobs1", "dumpfs restore --jobs 1"),
          ("jobs2", "dumpfs restore --jobs 2"),
          ("rehearse", "dumpfs rehearse --jobs 2")]


def _contenders(ctx, cfg, dump, target):
    client = " ".join(target.client() + ["--comments", "--max-allowed-packet=1G"])
    gpg = "gpg --batch --no-tty --quiet --decrypt %s" % dump
    argv = {
        "stock": shell("%s | gzip -dc | %s" % (gpg, client)),
        "jobs1": [ctx.dumpfs, "restore", "-c", cfg, "--jobs", "1", dump],
        "jobs2": [ctx.dumpfs, "restore", "-c", cfg, "--jobs", "2", dump],
        "rehearse": [ctx.dumpfs, "rehearse", "--jobs", "2", dump],
    }
    return [(key, label, argv[key]) for key, label in LABELS]


def _rounds(ctx, cfg, dump, target, log):
    samples = {}
    for rnd in range(1, ctx.rounds + 1):
        log("restore round %d/%d" % (rnd, ctx.rounds))
        for key, label, argv in _contenders(ctx, cfg, dump, target):
            target.sql("DROP DATABASE IF EXISTS %s;" % benchdb.DB_NAME)
            env = dict(ctx.key.env(), TMPDIR=ctx.run_dir)
            s = run_timed(key, argv, env=env, errdir=ctx.run_dir,
                          server_pid=target.proc.pid)
            samples.setdefault(key, []).append(s)
            rows = "?"
            if s.ok and key == "rehearse":
                rows = "(its own server)"
            elif s.ok:
                rows = target.sql("SELECT COUNT(*) FROM %s.orders" %
                                  benchdb.DB_NAME)[0][0]
            log("  %-28s %6.1f s  client cpu %5.1f s  server %5.1f s  "
                "orders %s%s" % (label, s.wall, s.cpu + s.orphan_cpu,
                                 s.server_cpu or 0, rows,
                                 "" if s.ok else "  FAILED rc=%d: %s" % (
                                     s.rc, s.stderr.strip()[-600:])))
    return samples


def _report(ctx, samples, log):
    res = {}
    log("")
    log("restore (issue 12), dataset %s:" % ctx.ds.label)
    log("%-28s %-17s %6s %8s %7s" % ("pipeline", "wall samples (s)", "median",
                                     "client s", "srv s"))
    for key, label in LABELS:
        good = [s for s in samples.get(key, []) if s.ok]
        res[key] = {"wall": [s.wall for s in samples.get(key, [])],
                    "cpu": [s.cpu + s.orphan_cpu for s in good],
                    "server_cpu": [s.server_cpu for s in good]}
        log("%-28s %-17s %6s %8s %7s" % (
            label, fmt_samples(res[key]["wall"]),
            "%.1f" % median([s.wall for s in good]) if good else "FAIL",
            "%.1f" % median(res[key]["cpu"]) if good else "-",
            "%.1f" % median([x or 0 for x in res[key]["server_cpu"]])
            if good else "-"))
    st = median([s.wall for s in samples.get("stock", []) if s.ok])
    j2 = median([s.wall for s in samples.get("jobs2", []) if s.ok])
    if st and j2:
        ok = st / j2 >= TARGET_JOBS_SPEEDUP
        res["speedup_jobs2"] = [st / j2, ok]
        log("  stock/--jobs 2 time    %5.2fx  (>= %.1fx)        %s" % (
            st / j2, TARGET_JOBS_SPEEDUP, "PASS" if ok else "FAIL"))
    else:
        res["speedup_jobs2"] = [None, False]
        log("  stock/--jobs 2 time      n/a  (a run failed)    FAIL")
    rh = median([s.wall for s in samples.get("rehearse", []) if s.ok])
    if rh and j2:
        ok = rh / j2 <= TARGET_REHEARSE_RATIO
        res["rehearse_ratio"] = [rh / j2, ok]
        log("  rehearse/restore time  %5.2fx  (<= %.1fx)        %s" % (
            rh / j2, TARGET_REHEARSE_RATIO, "PASS" if ok else "FAIL"))
    else:
        res["rehearse_ratio"] = [None, False]
        log("  rehearse/restore time    n/a  (a run failed)    FAIL")
    return res


def write_sidecar(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    with open(path + ".sha256", "w") as f:
        f.write("%s  %s\n" % (h.hexdigest(), os.path.basename(path)))


def run(ctx, log):
    """Backs up the bench database with dumpfs, restores it into a fresh
    server with each contender; returns the result dict (or None)."""
    if os.environ.get("BENCH_RESTORE", "1") == "0":
        return None
    dump = ctx.out("restore-src.sql.gz.gpg")
    s = run_timed("restore-src", [ctx.dumpfs, "dump", "-c", ctx.config, "-o", dump],
                  errdir=ctx.run_dir)
    if not s.ok:
        log("restore part: dumpfs dump failed: %s" % s.stderr[-600:])
        return None
    # With its sidecar, as `dumpfs backup` writes it: without one, restore
    # first decrypts the whole file once as a dry run (README "Restore").
    write_sidecar(dump)
    tdir = os.path.join(ctx.run_dir, "restore-target")
    os.makedirs(tdir, exist_ok=True)
    target = benchdb.Server(os.path.join(tdir, "data"), os.path.join(tdir, "keys.txt"),
                            tdir, ctx.ds.buffer_pool(), ctx.pids)
    try:
        target.install()
        target.start()
        samples = _rounds(ctx, _config(ctx, target), dump, target, log)
        return _report(ctx, samples, log)
    finally:
        target.stop()
        shutil.rmtree(tdir, ignore_errors=True)
        os.unlink(dump)
        os.unlink(dump + ".sha256")
