"""Secrets in /proc: which processes descend from a run, and whether a
secret shows in their environment or command line.  Shared by
test_access.py and test_jsonlog.py."""

import os
import subprocess
import time
import unittest

from .dumpfs import assert_no_sanitizer


def family(pid, mark):
    """pid first, then its descendants: its children's, and the processes
    with `mark` in their environment (gpgme double-forks gpg: not a child)."""
    todo = [pid]
    for p in os.listdir("/proc"):
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                if p.isdigit() and mark.encode() in f.read():
                    todo.append(int(p))
        except OSError:
            pass  # not a process, or ended meanwhile
    out = []
    while todo:
        p = todo.pop(0)
        if p in out:
            continue
        out.append(p)
        try:
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass  # ended meanwhile
    return out


def exposed(pids, secrets):
    """Where a secret (or its last 12 bytes) shows in the
    environment or command line of one of pids; [] when nowhere."""
    found = []
    for p in pids:
        for what in ("environ", "cmdline"):
            try:
                with open("/proc/%d/%s" % (p, what), "rb") as f:
                    data = f.read()
            except PermissionError as e:
                # Non-dumpable: reading it takes CAP_SYS_PTRACE, which
                # root lacks in a container.  Never a silent pass.
                raise unittest.SkipTest(
                    "cannot read /proc/%d/%s (%s): no CAP_SYS_PTRACE here, "
                    "as in a container" % (p, what, e))
            except OSError:
                continue  # ended meanwhile
            for s in secrets:
                if s.encode() in data or s.encode()[-12:] in data:
                    found.append("%s of pid %d holds %s..." % (what, p, s[:4]))
    return found


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def core_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    return None


def watch_for_secrets(argv, env, secrets, mark, err_path, ready):
    """Runs argv and, while it runs and once ready(child names, stderr so
    far) holds, scans it and its children for secrets.  Returns (exit
    status, stderr text, child names seen, exposures, core limit)."""
    errf = open(err_path, "w+b")
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=errf)
    found, children, limit = [], set(), None
    try:
        while proc.poll() is None:
            pids = family(proc.pid, mark)
            names = [comm(p) for p in pids[1:]]
            errf.seek(0)
            if ready(names, errf.read()):
                children.update(names)
                found += exposed(pids, secrets)
                limit = limit or core_limit(proc.pid)
            time.sleep(0.02)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errf.seek(0)
        err = errf.read().decode(errors="replace")
        errf.close()
    assert_no_sanitizer(err)
    return proc.returncode, err, children, found, limit
