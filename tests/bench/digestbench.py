"""The row digests' cost on `dumpfs dump` (issue 12), part of `make bench`:
the client CPU (user + system, dumpfs and its threads) of `dumpfs dump`
of the bench database, by the binary under test and by the same sources
built with -DDUMPFS_BENCH_NO_DIGESTS (rows counted, not hashed;
`make bench` builds it as build/nodigest/dumpfs), in interleaved rounds.

On this 2-core VM the same dump's CPU varies by 5-10% from run to run,
more than the cost to be measured, so the A/B figures (medians and
minima) come with a direct one: `perf record` (cpu-clock samples) of the
dump and everything it starts, and the share of samples in the digest's
code (rowdigest_add, the row hash inlined into it).  That share is the
figure held against the target when perf runs.

Target: the digests cost under 3% of the dump's CPU.
DUMPFS_NODIGEST overrides the second binary; BENCH_DIGEST=0 skips this.
"""

import os
import re
import shutil
import subprocess

from runner import fmt_samples, median, run_timed

DIGEST_SYMBOLS = ("rowdigest_add",)


def perf_share(ctx, out, log):
    """The digest's share of the dump's CPU samples, or None."""
    perf = shutil.which("perf")
    if not perf:
        log("digest share: no perf (package linux-perf): not measured")
        return None
    data = os.path.join(ctx.run_dir, "digest.perf")
    rec = subprocess.run([perf, "record", "-q", "-e", "cpu-clock", "-F", "4000", "-o", data,
                          "--", ctx.dumpfs, "dump", "-c", ctx.config, "-o", out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if rec.returncode:
        log("digest share: perf record failed: %s" % rec.stderr[-300:])
        return None
    rep = subprocess.run([perf, "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                          "--sort", "sym", "--percent-limit", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    os.unlink(data)
    share, seen = 0.0, False
    for line in rep.stdout.splitlines():
        m = re.match(r"\s*([0-9.]+)%\s+\[\.\]\s+(\S+)", line)
        if m and m.group(2) in DIGEST_SYMBOLS:
            share += float(m.group(1)) / 100
            seen = True
    if rep.returncode or not seen:
        log("digest share: %s not in perf's report (stripped binary?): not measured"
            % "/".join(DIGEST_SYMBOLS))
        return None
    return share

TARGET_DIGEST_COST = 0.03


def run(ctx, log):
    if os.environ.get("BENCH_DIGEST", "1") == "0":
        return None
    nodigest = os.path.abspath(os.environ.get("DUMPFS_NODIGEST", "build/nodigest/dumpfs"))
    if not os.access(nodigest, os.X_OK):
        log("digest cost: no %s (make bench builds it): not measured  FAIL" % nodigest)
        return {"digest_cost": [None, False]}
    out = os.path.join(ctx.run_dir, "digest-cost.sql.gz.gpg")
    cpu = {"with": [], "without": []}
    for rnd in range(1, ctx.rounds + 1):
        for key, binary in (("with", ctx.dumpfs), ("without", nodigest)):
            s = run_timed("digest-" + key, [binary, "dump", "-c", ctx.config, "-o", out],
                          errdir=ctx.run_dir)
            if s.ok:
                cpu[key].append(s.cpu)
            log("digest round %d/%d: %-8s digests  client cpu %5.1f s%s" % (
                rnd, ctx.rounds, key, s.cpu, "" if s.ok else "  FAILED: " + s.stderr[-300:]))
    shares = []
    for rnd in range(1, ctx.rounds + 1):
        share = perf_share(ctx, out, log)
        if share is None:
            break
        shares.append(share)
        log("digest round %d/%d: perf share of rowdigest_add %.2f%%" % (rnd, ctx.rounds, share * 100))
    if os.path.exists(out):
        os.unlink(out)
    log("")
    log("row digests' cost on dumpfs dump (client CPU):")
    log("  with digests      %-17s median %.2f s" % (fmt_samples(cpu["with"]),
                                                     median(cpu["with"]) or 0))
    log("  without digests   %-17s median %.2f s" % (fmt_samples(cpu["without"]),
                                                     median(cpu["without"]) or 0))
    w, wo = median(cpu["with"]), median(cpu["without"])
    ab = None
    if w and wo:
        ab = (w - wo) / w
        mins = (min(cpu["with"]) - min(cpu["without"])) / min(cpu["with"])
        log("  A/B cost, medians      %5.1f%%  (minima %.1f%%; within the runs' noise)" % (
            ab * 100, mins * 100))
    else:
        log("  A/B cost                 n/a  (a run failed)")
    cost = median(shares) if shares else ab
    if cost is None:
        log("  digest cost              n/a                    FAIL")
        return {"digest_cost": [None, False], "cpu": cpu, "perf_share": shares}
    ok = cost < TARGET_DIGEST_COST
    log("  digest cost (%s)  %5.1f%%  (< %.0f%%)          %s" % (
        "perf share" if shares else "A/B medians", cost * 100, TARGET_DIGEST_COST * 100,
        "PASS" if ok else "FAIL"))
    return {"digest_cost": [cost, ok], "cpu": cpu, "perf_share": shares, "ab_cost": ab}
