#!/usr/bin/python3
"""The row digests' cost on `dumpfs dump` (issue 12): client CPU of
BEFORE_BIN (a build without them) and AFTER_BIN on a 1.5M-row table,
3 interleaved runs. Run from tests/integration:
  BEFORE_BIN=... AFTER_BIN=... python3 ../bench/digest_cost.py [--plain]
Not part of `make bench` yet."""
import os, resource, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, ".")
from harness.server import Server
from harness.gpg import GpgKey
from harness.config import write_config
srv = Server(name="digb").start()
key = GpgKey()
d = tempfile.mkdtemp(prefix="digb-")
try:
    srv.run_sql("CREATE DATABASE b; CREATE TABLE b.t (id INT PRIMARY KEY, h CHAR(64), p VARCHAR(200), n INT, d DATETIME);")
    srv.run_sql("INSERT INTO t SELECT seq, SHA2(seq,256), CONCAT(MD5(seq), SHA1(seq)), seq*7, NOW() FROM seq_1_to_1500000;", db="b")
    user = srv.create_backup_user()
    cfg = write_config(os.path.join(d, "c.ini"), srv, key, user=user, databases=["b"], archive_dir=d, fingerprint=False)
    res = {}
    for rnd in range(3):
        for name, binp in (("before", os.environ["BEFORE_BIN"]), ("after", os.environ["AFTER_BIN"])):
            env = dict(os.environ, DUMPFS_CONFIG=cfg)
            t0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            w0 = time.time()
            subprocess.run([binp, "dump"] + sys.argv[1:], stdout=subprocess.DEVNULL, env=env, check=True)
            t1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res.setdefault(name, []).append(t1.ru_utime - t0.ru_utime + t1.ru_stime - t0.ru_stime)
    for k, v in res.items():
        print(k, "client CPU s (1.5M rows%s):" % (", --plain" if "--plain" in sys.argv else ""), ["%.2f" % x for x in v], "median %.2f" % sorted(v)[1])
finally:
    srv.cleanup(); key.close()
    shutil.rmtree(d, ignore_errors=True)
