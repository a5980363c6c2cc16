"""Timing, verification and key helpers of the benchmark.  Stdlib only.

Every timed command runs under GNU time (/usr/bin/time, Debian package
`time`), so its CPU time (its own plus that of the children it waited for:
a whole shell pipeline, or dumpfs and the gpg that gpgme runs) and peak RSS
(the largest of those processes) come from the kernel's rusage, not from
sampling.  Why not wait4 from Python: a child's peak RSS starts at its
parent's RSS at fork (the kernel carries the old mm's high-water mark over
exec), so every child of this ~20 MiB Python process would report at
least that; GNU time's own footprint is ~2 MiB.  Without GNU time we fall
back to wait4 and say the RSS is an upper bound.
"""

import ctypes
import os
import shutil
import statistics
import subprocess
import tempfile
import time

GNU_TIME = "/usr/bin/time"
RUSAGE_TAG = "@@dumpfs-bench-rusage"
COMPLETION_LINE = b"-- dumpfs: dump completed"
MARIADB_DUMP_END = b"-- Dump completed"


class Sample:
    """One timed run.  cpu: the command and the children it reaped (GNU
    time); orphan_cpu: processes that were reparented to us, i.e. the gpg
    that gpgme double-forks; server_cpu: mariadbd during the run."""

    def __init__(self, name, wall, cpu, maxrss_kib, rc, stderr, out_bytes,
                 load1):
        self.name = name
        self.wall = wall
        self.cpu = cpu
        self.orphan_cpu = 0.0
        self.orphan_maxrss_kib = 0
        self.server_cpu = None
        # A long-lived process serving the command (the FUSE daemon for a
        # read of snapshot/): its CPU during the run and its peak RSS
        # (VmHWM, reset before the run when we may), or None.
        self.daemon_cpu = None
        self.daemon_hwm_kib = None
        self.maxrss_kib = maxrss_kib
        self.rc = rc
        self.stderr = stderr
        self.out_bytes = out_bytes
        self.load1 = load1
        # CPU seconds the whole machine was busy during the run minus what
        # the run itself (command, orphans, server) used: other work that
        # competed with it.  None when /proc/stat is unreadable.
        self.foreign_cpu = None

    @property
    def ok(self):
        return self.rc == 0

    @property
    def total_cpu(self):
        """Client and server: the command, its orphans, the daemon it
        read from and mariadbd."""
        return (self.cpu + self.orphan_cpu + (self.daemon_cpu or 0) +
                (self.server_cpu or 0))

    @property
    def peak_rss_kib(self):
        """The largest process of the client side (GNU time's figure is
        the largest of the command and the children it waited for; the
        gpg that gpgme double-forks and the daemon are measured apart)."""
        return max(self.maxrss_kib, self.orphan_maxrss_kib,
                   self.daemon_hwm_kib or 0)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def load1():
    return float(loadavg()[0])


def busy_cpu():
    """CPU seconds all CPUs spent busy since boot (not idle, not iowait),
    or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest is in user)
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def sync():
    os.sync()


def drop_caches():
    """True when the page cache could be dropped (root)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


_PR_SET_CHILD_SUBREAPER = 36
# Long-lived children (servers, mounts) that reap_orphans must not wait
# for: bench.py points this at its PidFile's live set.
KEEP = set()


def become_subreaper():
    """Orphans of our descendants (gpgme double-forks gpg) are reparented
    to us instead of init, so their CPU time can be counted."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except OSError:
        return False


def _children():
    pids = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return pids


DAEMONS = ("gpg-agent", "dirmngr", "keyboxd", "scdaemon")


def _state(pid):
    """(state letter, comm) of pid, or (None, None)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None, None
    comm = text[text.index("(") + 1:text.rindex(")")]
    return text.rsplit(")", 1)[1].split()[0], comm


def reap_orphans(keep, grace=2.0):
    """Reaps children that are not in `keep` (our servers and mounts):
    orphans of the last command.  Returns (cpu seconds, peak RSS KiB)."""
    cpu, rss = 0.0, 0
    deadline = time.monotonic() + grace
    while True:
        left = []
        for pid in _children():
            if pid in keep:
                continue
            st, comm = _state(pid)
            if st == "Z":
                _, _, ru = os.wait4(pid, 0)
                cpu += ru.ru_utime + ru.ru_stime
                rss = max(rss, ru.ru_maxrss)
            elif st and comm not in DAEMONS:  # gpg agents stay up
                left.append(pid)
        if not left or time.monotonic() > deadline:
            return cpu, rss
        time.sleep(0.05)


def proc_cpu(pid):
    """CPU seconds of a process so far (all threads), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf(
            "SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def reset_hwm(pid):
    """Resets the peak RSS (VmHWM) of pid; False when not allowed."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5\n")
        return True
    except OSError:
        return False


def vm_hwm_kib(pid):
    """Peak RSS of a running process in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_timed(name, argv, out_path=None, env=None, errdir=None,
              server_pid=None, keep=(), daemon_pid=None):
    """Runs argv with stdout to out_path (or /dev/null), stderr to a file;
    returns a Sample.  The output file's old copy is removed and dirty pages
    are synced first so earlier runs' writeback does not land in this one."""
    if out_path and os.path.exists(out_path):
        os.unlink(out_path)
    sync()
    errf = tempfile.NamedTemporaryFile(prefix="err-", dir=errdir,
                                       delete=False)
    errf.close()
    out = out_path or os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT |
         os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, errf.name, os.O_WRONLY | os.O_TRUNC, 0),
    ]
    gnu_time = os.access(GNU_TIME, os.X_OK)
    if gnu_time:
        argv = [GNU_TIME, "-f", RUSAGE_TAG + " %U %S %M"] + list(argv)
    l1 = load1()
    srv0 = proc_cpu(server_pid) if server_pid else None
    dmn0 = proc_cpu(daemon_pid) if daemon_pid else None
    if daemon_pid:
        reset_hwm(daemon_pid)
    busy0 = busy_cpu()
    t0 = time.monotonic()
    pid = os.posix_spawnp(argv[0], argv, env if env is not None
                          else os.environ, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    busy1 = busy_cpu()
    rc = os.waitstatus_to_exitcode(status)
    with open(errf.name, "rb") as f:
        stderr = f.read().decode(errors="replace")
    os.unlink(errf.name)
    cpu, maxrss = ru.ru_utime + ru.ru_stime, ru.ru_maxrss
    if gnu_time:
        stderr, cpu, maxrss = _strip_rusage(stderr, cpu, maxrss)
    srv1 = proc_cpu(server_pid) if server_pid else None
    dmn1 = proc_cpu(daemon_pid) if daemon_pid else None
    size = None
    if out_path and os.path.exists(out_path):
        size = os.path.getsize(out_path)
    s = Sample(name, wall, cpu, maxrss, rc, stderr, size, l1)
    s.orphan_cpu, s.orphan_maxrss_kib = reap_orphans(set(keep) | KEEP)
    if srv0 is not None and srv1 is not None:
        s.server_cpu = srv1 - srv0
    if dmn0 is not None and dmn1 is not None:
        s.daemon_cpu = dmn1 - dmn0
        s.daemon_hwm_kib = vm_hwm_kib(daemon_pid)
    if busy0 is not None and busy1 is not None:
        s.foreign_cpu = max(0.0, (busy1 - busy0) - s.total_cpu)
    return s


def _strip_rusage(stderr, cpu, maxrss):
    """Takes GNU time's line (and its exit status note) out of stderr."""
    keep = []
    for line in stderr.split("\n"):
        if line.startswith(RUSAGE_TAG):
            f = line.split()
            cpu, maxrss = float(f[1]) + float(f[2]), int(f[3])
        elif not line.startswith("Command exited with non-zero status"):
            keep.append(line)
    return "\n".join(keep), cpu, maxrss


def shell(cmd):
    return ["bash", "-c", "set -o pipefail; " + cmd]


def sql_of(path, gpg_home, gunzip=True):
    """Decrypts (and gunzips) path; returns (ok, sql_bytes, tail, error)."""
    gpg = subprocess.Popen(
        ["gpg", "--homedir", gpg_home, "--batch", "--no-tty", "--quiet",
         "--decrypt", path], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    src = gpg
    gz = None
    if gunzip:
        gz = subprocess.Popen(["gzip", "-dc"], stdin=gpg.stdout,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        gpg.stdout.close()
        src = gz
    n, tail = 0, b""
    while True:
        chunk = src.stdout.read(1 << 20)
        if not chunk:
            break
        n += len(chunk)
        tail = (tail + chunk)[-4096:]
    errs = []
    if gz:
        gz.wait()
        if gz.returncode:
            errs.append("gunzip: %s" % gz.stderr.read().decode(
                errors="replace").strip()[-300:])
    gpg.wait()
    if gpg.returncode:
        errs.append("gpg: %s" % gpg.stderr.read().decode(
            errors="replace").strip()[-300:])
    return (not errs, n, tail, "; ".join(errs))


def verify_dumpfs(path, gpg_home):
    """(ok, sql_bytes, reason): decrypts, gunzips, ends with the line."""
    ok, n, tail, err = sql_of(path, gpg_home)
    if not ok:
        return False, n, err
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    if last != COMPLETION_LINE:
        return False, n, "last line is %r, not the completion line" % (
            last[:80],)
    return True, n, ""


def verify_mariadb_dump(path, gpg_home):
    ok, n, tail, err = sql_of(path, gpg_home)
    if ok and MARIADB_DUMP_END not in tail:
        return False, n, "no '-- Dump completed' at the end"
    return ok, n, err


class GpgKey:
    """A throwaway key pair (no passphrase, 1 day) in home; gpg pipelines
    encrypt to it, verification decrypts with it."""

    def __init__(self, home, uid="Bench DPO <dpo@bench.invalid>"):
        self.home = home
        self.uid = uid
        os.makedirs(home, mode=0o700, exist_ok=True)
        self._gpg(["--pinentry-mode", "loopback", "--passphrase", "",
                   "--quick-gen-key", uid, "future-default", "default",
                   "1d"])
        out = self._gpg(["--with-colons", "--list-keys", uid]).stdout
        self.fingerprint = next(l.split(":")[9] for l in
                                out.decode().splitlines()
                                if l.startswith("fpr:"))
        self.public_key_file = os.path.join(home, "..", "dpo_pubkey.asc")
        self.public_key_file = os.path.abspath(self.public_key_file)
        data = self._gpg(["--export", "--armor", self.fingerprint]).stdout
        with open(self.public_key_file, "wb") as f:
            f.write(data)

    def _gpg(self, args):
        return subprocess.run(["gpg", "--homedir", self.home, "--batch",
                               "--no-tty", "--quiet"] + args,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=True, timeout=300)

    def env(self):
        env = dict(os.environ)
        env["GNUPGHOME"] = self.home
        return env

    def close(self):
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "all"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.home, ignore_errors=True)


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_samples(xs, fmt="%.1f"):
    return " ".join(fmt % x for x in xs) if xs else "-"
