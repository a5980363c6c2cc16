"""The dumpfs mount for tests: `dumpfs CONFIG MOUNTPOINT -f` in the
foreground, its output in a file that is scanned for sanitizer reports
when it stops.  Shared by test_mount.py and test_mount_alerts.py."""

import hashlib
import json
import os
import subprocess
import time

from .dumpfs import SANITIZER, child_env, dumpfs_bin  # noqa: F401 (also for the tests)


def mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def listing(d):
    """name -> (size, mtime_ns, sha256) of the regular files of d."""
    out = {}
    for n in os.listdir(d):
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p):
            st = os.stat(p)
            with open(p, "rb") as f:
                out[n] = (st.st_size, st.st_mtime_ns, hashlib.sha256(f.read()).hexdigest())
    return out


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


class Mount:
    """`dumpfs CONFIG MOUNTPOINT -f`, its stderr in a file."""

    def __init__(self, config, mountpoint, args=(), timeout=60, env=None):
        """`env`: variables added to the daemon's environment (TMPDIR...)."""
        self.config = config
        self.mnt = mountpoint
        try:
            os.makedirs(mountpoint)
        except FileExistsError:
            pass  # also a stale mount (ENOTCONN) left by a killed daemon
        self.log_path = mountpoint.rstrip("/") + ".log"
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [dumpfs_bin(), config, mountpoint, "-f"] + list(args),
            env=dict(child_env(), **(env or {})), stdin=subprocess.DEVNULL,
            stdout=self.log_file, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while not (mounted(mountpoint) and
                   ("info mounted" in self.log() or '"event":"mounted"' in self.log())):
            if self.proc.poll() is not None:
                raise AssertionError("dumpfs exited %s before mounting:\n%s"
                                     % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("not mounted in time:\n" + self.log())
            time.sleep(0.05)

    def path(self, rel):
        return os.path.join(self.mnt, rel)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def threads(self, name=None):
        """The daemon's threads; with `name`, those called so (a
        snapshot's worker names itself, its dump's threads inherit it)."""
        tids = os.listdir("/proc/%d/task" % self.pid)
        if name is None:
            return len(tids)
        n = 0
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/comm" % (self.pid, tid)) as f:
                    n += f.read().strip() == name
            except OSError:
                pass  # ended meanwhile
        return n

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def status(self):
        with open(self.path("status/status.json")) as f:
            return json.load(f)

    def running(self):
        return self.proc.poll() is None or mounted(self.mnt)

    def stop(self, timeout=60):
        """Unmounts (lazily when busy), waits for the daemon, scans its
        output; returns its exit code."""
        self.busy = None
        if mounted(self.mnt):
            res = subprocess.run(["fusermount3", "-u", self.mnt],
                                 stderr=subprocess.PIPE)
            if res.returncode != 0:
                self.busy = res.stderr.decode(errors="replace")
                subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                               stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Seen only on a loaded machine running other suites at the same
            # time: the mount is gone but the kernel kept the connection, so
            # the daemon never hears of the unmount.  SIGTERM is the other
            # documented clean way out (exit 0); a daemon that ignores it
            # too is killed and fails the caller's exit-code check.
            self.hung = self.stacks()
            print("dumpfs did not exit after the unmount (unmount: %s); "
                  "sending SIGTERM:\n%s" % (self.busy, self.hung))
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        self.check_sanitizers()
        return self.proc.returncode

    def stacks(self):
        """Every thread's stack, for a daemon that hangs."""
        res = subprocess.run(["gdb", "-p", str(self.pid), "-batch", "-ex",
                              "thread apply all bt"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=120)
        return res.stdout.decode(errors="replace")[-20000:]

    def check_sanitizers(self):
        log = self.log()
        assert not SANITIZER.search(log), log[-20000:]
