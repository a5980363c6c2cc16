"""The row digests' cost on `dumpfs dump` (issue 12), part of `make bench`:
the client CPU (user + system, dumpfs and its threads) of `dumpfs dump`
of the bench database, by the binary under test and by the same sources
built with -DDUMPFS_BENCH_NO_DIGESTS (rows counted, not hashed;
`make bench` builds it as build/nodigest/dumpfs), in interleaved rounds.

Target: the digests cost under 3% of the dump's CPU.
DUMPFS_NODIGEST overrides the second binary; BENCH_DIGEST=0 skips this.
"""

import os

from runner import fmt_samples, median, run_timed

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
    if os.path.exists(out):
        os.unlink(out)
    log("")
    log("row digests' cost on dumpfs dump (client CPU):")
    log("  with digests      %-17s median %.2f s" % (fmt_samples(cpu["with"]),
                                                     median(cpu["with"]) or 0))
    log("  without digests   %-17s median %.2f s" % (fmt_samples(cpu["without"]),
                                                     median(cpu["without"]) or 0))
    w, wo = median(cpu["with"]), median(cpu["without"])
    if not w or not wo:
        log("  digest cost              n/a  (a run failed)    FAIL")
        return {"digest_cost": [None, False], "cpu": cpu}
    cost = (w - wo) / w
    ok = cost < TARGET_DIGEST_COST
    log("  digest cost            %5.1f%%  (< %.0f%%)          %s" % (
        cost * 100, TARGET_DIGEST_COST * 100, "PASS" if ok else "FAIL"))
    return {"digest_cost": [cost, ok], "cpu": cpu}
