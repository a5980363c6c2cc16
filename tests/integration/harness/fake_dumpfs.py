#!/usr/bin/python3
"""A stand-in for `dumpfs dump`, built from stock tools, used only to
validate the harness itself:

    DUMPFS_BIN=tests/integration/harness/fake_dumpfs.py \\
        python3 -m pytest -q tests/integration

It runs mariadb-dump | gzip | gpg --encrypt with the config's account and
key.  It is NOT the product and inherits mariadb-dump's losses (see
corpus.MARIADB_DUMP_LOSSY): the tests that fail with it should be exactly
the ones those losses explain.  Events of MARIADB_DUMP_SKIP_DBS are left out
(mariadb-dump hangs on them).  The password reaches mariadb-dump through a
pipe (/dev/fd), never argv, env or a file."""

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from harness.corpus import MARIADB_DUMP_SKIP_DBS  # noqa: E402

KNOWN = {
    "mariadb": {"host", "port", "socket", "user", "password",
                "password_file", "databases", "ssl_ca"},
    "dump": {"routines", "triggers", "events", "compression_level"},
    "gpg": {"public_key_file", "recipient", "fingerprint",
            "warn_expiry_days"},
    "archive": {"dir", "prefix", "schedule", "keep_days", "min_keep",
                "max_age_hours"},
}
SYSTEM = {"information_schema", "performance_schema", "sys", "mysql"}


def die(msg):
    sys.stderr.write("fake-dumpfs: %s\n" % msg)
    sys.exit(1)


def load(path):
    section = None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            s = line.split(";", 1)[0].strip()
            if not s:
                continue
            m = re.match(r"\[(.*)\]$", s)
            if m:
                section = m.group(1)
                if section not in KNOWN:
                    die("%s:%d: unknown section [%s]" % (path, n, section))
                continue
            k = s.split("=", 1)[0].strip()
            if k not in KNOWN.get(section, ()):
                die("%s:%d: unknown key '%s' in [%s]" % (path, n, k,
                                                          section))
    cp = configparser.ConfigParser(inline_comment_prefixes=(";",))
    cp.read(path)
    return cp


def client_opts(cfg):
    m = cfg["mariadb"]
    with open(m["password_file"]) as f:
        password = f.read().rstrip("\n")
    opts = "[client]\nuser=%s\npassword=%s\n" % (m["user"], password)
    if m.get("socket"):
        opts += "socket=%s\n" % m["socket"]
    else:
        opts += "host=%s\nport=%s\nprotocol=TCP\n" % (m.get("host"),
                                                     m.get("port", "3306"))
    return opts


def databases(cfg, opts_fd):
    want = cfg["mariadb"].get("databases", "")
    names = [d for d in re.split(r"[,\s]+", want) if d]
    if names:
        return names
    res = subprocess.run(["mariadb", "--defaults-file=/dev/fd/%d" % opts_fd,
                          "-N", "-B", "-e", "SHOW DATABASES"],
                         pass_fds=(opts_fd,), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    if res.returncode:
        die("cannot list databases: " + res.stderr.decode())
    return [d for d in res.stdout.decode().split("\n")
            if d and d not in SYSTEM]


def opts_pipe(text):
    r, w = os.pipe()
    os.write(w, text.encode())
    os.close(w)
    return r


def dump_sql(cfg, out):
    """Writes SQL to the binary file object out."""
    opts = client_opts(cfg)
    fd = opts_pipe(opts)
    dbs = databases(cfg, fd)
    os.close(fd)
    groups = [([d for d in dbs if d not in MARIADB_DUMP_SKIP_DBS], True),
              ([d for d in dbs if d in MARIADB_DUMP_SKIP_DBS], False)]
    for names, events in groups:
        if not names:
            continue
        fd = opts_pipe(opts)
        # FAKE_DUMPFS_INCONSISTENT=1 reads table by table without a
        # snapshot: the consistency test must catch that.
        snap = ("--skip-lock-tables" if os.environ.get(
            "FAKE_DUMPFS_INCONSISTENT") else "--single-transaction")
        cmd = ["mariadb-dump", "--defaults-file=/dev/fd/%d" % fd,
               snap, "--routines", "--triggers",
               "--events" if events else "--skip-events", "--hex-blob",
               "--skip-add-locks", "--max-allowed-packet=1G", "--databases"
               ] + names
        p = subprocess.Popen(cmd, pass_fds=(fd,), stdout=subprocess.PIPE)
        os.close(fd)
        first = True
        for line in p.stdout:
            if first and b"enable the sandbox mode" in line:
                first = False
                continue
            first = False
            out.write(line)
        if p.wait():
            raise RuntimeError("mariadb-dump failed (%d)" % p.returncode)
    out.write(b"-- dumpfs: dump completed\n")


def main(argv):
    if not argv or argv[0] != "dump":
        die("only `dump` is faked")
    args = argv[1:]
    cfg_path = os.environ.get("DUMPFS_CONFIG", "/etc/dumpfs/dumpfs.ini")
    out_path, plain = None, False
    while args:
        a = args.pop(0)
        if a == "-c":
            cfg_path = args.pop(0)
        elif a == "-o":
            out_path = args.pop(0)
        elif a == "--plain":
            plain = True
        else:
            die("unknown option " + a)
    cfg = load(cfg_path)
    if plain:
        dump_sql(cfg, sys.stdout.buffer)
        return 0
    keyfile = cfg["gpg"]["public_key_file"]
    home = tempfile.mkdtemp(prefix="fkd")
    tmp = None
    try:
        imp = subprocess.run(["gpg", "--homedir", home, "--batch", "--quiet",
                              "--import", keyfile], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        if imp.returncode:
            die("cannot import public key file '%s': %s" % (
                keyfile, imp.stderr.decode().strip()))
        if out_path:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-",
                                       dir=os.path.dirname(out_path) or ".")
            dest = os.fdopen(fd, "wb")
        else:
            dest = sys.stdout.buffer
        level = cfg["dump"].get("compression_level", "6")
        gz = subprocess.Popen(["gzip", "-c", "-" + level],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gpg = subprocess.Popen(
            ["gpg", "--homedir", home, "--batch", "--quiet", "--trust-model",
             "always", "--compress-algo", "none", "--encrypt", "-r",
             cfg["gpg"]["recipient"]], stdin=gz.stdout, stdout=dest)
        gz.stdout.close()
        try:
            dump_sql(cfg, gz.stdin)
        finally:
            gz.stdin.close()
        if gz.wait() or gpg.wait():
            raise RuntimeError("gzip/gpg failed")
        if tmp:
            dest.close()
            os.rename(tmp, out_path)
            tmp = None
        return 0
    except (RuntimeError, BrokenPipeError) as e:
        die(str(e))
    finally:
        if tmp:
            os.unlink(tmp)
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"])
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
