"""A read-bandwidth limit on the disk that holds a path, for processes put
into a private block-I/O cgroup (v1 blkio or v2 io).  The mount bench uses
it to read the archive as if from a real disk: on a virtual machine whose
"disk" is the host's page cache, a cold read is a memory copy and FUSE's
extra copy dominates; on a disk slower than that copy, it should not.

Needs root and a cgroup with block-I/O throttling; otherwise
DiskThrottle.open() returns the reason it is not available.
"""

import os

V1_ROOT = "/sys/fs/cgroup/blkio"
V2_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")
NAME = "dumpfs-bench-throttle"


def _disk_of(path):
    """'MAJ:MIN' of the whole disk holding path (throttle rules name
    disks, not partitions), or None."""
    st = os.stat(path)
    dev = "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
    sys_dev = "/sys/dev/block/" + dev
    if not os.path.exists(sys_dev):
        return None  # not a block device (tmpfs, overlay, ...)
    real = os.path.realpath(sys_dev)
    if os.path.exists(os.path.join(real, "partition")):
        with open(os.path.join(os.path.dirname(real), "dev")) as f:
            return f.read().strip()
    return dev


def _read(path):
    with open(path) as f:
        return f.read()


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


class DiskThrottle:
    def __init__(self, path, mbps):
        self.path = path
        self.bps = int(mbps * 1e6)
        self.dir = None
        self.root = None
        self.members = []

    def open(self):
        """None when ready, else why not."""
        if os.geteuid() != 0:
            return "needs root"
        try:
            disk = _disk_of(self.path)
        except OSError as e:
            return "cannot stat %s: %s" % (self.path, e)
        if not disk:
            return "%s is not on a block device" % self.path
        try:
            if os.path.isdir(V1_ROOT):
                self.root = V1_ROOT
                self.dir = os.path.join(V1_ROOT, NAME)
                os.makedirs(self.dir, exist_ok=True)
                _write(os.path.join(self.dir,
                                    "blkio.throttle.read_bps_device"),
                       "%s %d\n" % (disk, self.bps))
                return None
            for root in V2_ROOTS:
                ctl = os.path.join(root, "cgroup.controllers")
                if os.path.exists(ctl) and "io" in _read(ctl).split():
                    _write(os.path.join(root, "cgroup.subtree_control"), "+io")
                    self.root = root
                    self.dir = os.path.join(root, NAME)
                    os.makedirs(self.dir, exist_ok=True)
                    _write(os.path.join(self.dir, "io.max"),
                           "%s rbps=%d\n" % (disk, self.bps))
                    return None
        except OSError as e:
            self.close()
            return "cgroup setup failed: %s" % e
        return "no blkio/io cgroup controller"

    def add(self, pid):
        """Moves process pid (all its threads) into the limited cgroup."""
        _write(os.path.join(self.dir, "cgroup.procs"), "%d\n" % pid)
        self.members.append(pid)

    def close(self):
        """Moves the members back to the root cgroup and removes it."""
        if not self.dir:
            return
        for pid in self.members:
            try:
                _write(os.path.join(self.root, "cgroup.procs"), "%d\n" % pid)
            except OSError:
                pass  # exited
        self.members = []
        try:
            os.rmdir(self.dir)
        except OSError:
            pass
        self.dir = None
