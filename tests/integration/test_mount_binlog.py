"""archive/binlog/ in the mount (docs/tree.md, docs/pitr.md): the binlog
segments `dumpfs binlog` wrote, read through a real FUSE mount.

A real server with its binlog on, one backup, the streamer in the
foreground until segments of two binlog files are closed; then the mount
with [binlog] enabled must list exactly the segments of its prefix and
their sidecars (never the position file, temporaries, foreign prefixes,
orphan sidecars, symlinks or directories named like segments), with
their real sizes and mtimes, read-only, so that `sha256sum -c`, `cp` and
`rsync -a` work.  With [binlog] enabled and no segment directory yet,
archive/binlog/ is an empty directory; with [binlog] disabled it does
not exist.
"""

import errno
import os
import re
import signal
import stat
import subprocess
import time

import pytest

from harness import dumpfs
from harness.config import write_config
from harness.dumpfs import run_dumpfs
from harness.gpg import GpgKey
from harness.mount import listing
from harness.server import Server
from harness.workspace import Workspace

DB = "pitr"
SEGMENT_RE = re.compile(r"^mariadb_\d{4}-\d\d-\d\d_\d{6}_(.+)_(\d+)\.binlog\.gz\.gpg$")
BACKUP_RE = re.compile(r"^mariadb_\d{4}-\d\d-\d\d_\d{6}\.sql\.gz\.gpg$")
LATEST = "latest.sql.gz.gpg"
JUNK_SEGMENT = "mariadb_2020-01-01_000000_binlog.000001_4.binlog.gz.gpg"


class Env(Workspace):
    """A server with the binlog on, the backup account (with REPLICATION
    SLAVE), a key pair, and an archive holding one backup and the
    segments of two binlog files."""

    prefix = "mbl"

    def setup(self):
        self.server = self.own(Server(name="mbl")).start()
        self.user = self.server.create_backup_user()
        self.server.run_sql("".join(
            "GRANT REPLICATION SLAVE ON *.* TO '%s'@'%s';" % (self.user.name, h)
            for h in ("localhost", "127.0.0.1")))
        self.server.run_sql(
            "CREATE DATABASE pitr;"
            "CREATE TABLE pitr.t (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB;")
        self.key = self.own(GpgKey())
        self.archive = self.subdir("archive")
        self.binlog = os.path.join(self.archive, "binlog")

    def config(self, archive_dir, enabled):
        return write_config(self.next_config_path(), self.server, self.key, user=self.user,
                            databases=[DB], archive_dir=archive_dir, fingerprint=False,
                            extra={"binlog": {"enabled": "true" if enabled else "false",
                                              "segment_seconds": "1"}})

    def stream(self, cfg):
        """`dumpfs binlog` until the server's binlog is archived, through
        a rotation; stopped with SIGTERM (exit 0)."""
        log = os.path.join(self.dir, "binlog.err")
        with open(log, "wb") as f:
            p = dumpfs.popen(["binlog", "-c", cfg], stderr=f)
        try:
            wait_log(p, log, "binlog_stream_open")
            self.server.run_sql("INSERT INTO pitr.t VALUES (1, 'one'), (2, 'two');"
                                "FLUSH BINARY LOGS;"
                                "INSERT INTO pitr.t VALUES (3, 'three');")
            deadline = time.monotonic() + 60
            while self.archived_position() != self.server_position():
                assert p.poll() is None, read_text(log)
                assert time.monotonic() < deadline, read_text(log)
                time.sleep(0.2)
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=30)
        text = read_text(log)
        assert rc == 0, text
        assert not dumpfs.sanitizer_findings(text), text

    def server_position(self):
        row = self.server.query("SHOW MASTER STATUS")[0]
        return "file=%s\npos=%s\n" % (row[0], row[1])

    def archived_position(self):
        try:
            with open(os.path.join(self.binlog, ".binlog-position")) as f:
                return f.read()
        except FileNotFoundError:
            return None


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def wait_log(p, log, what, timeout=30):
    deadline = time.monotonic() + timeout
    while what not in read_text(log):
        assert p.poll() is None, "exited: " + read_text(log)
        assert time.monotonic() < deadline, "no %s: %s" % (what, read_text(log))
        time.sleep(0.1)


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        e.cfg_on = e.config(e.archive, True)
        res = run_dumpfs(["backup"], e.cfg_on)
        assert res.returncode == 0, res.stderr.decode()
        e.backups = sorted(n for n in os.listdir(e.archive) if BACKUP_RE.match(n))
        assert len(e.backups) == 1, os.listdir(e.archive)
        e.stream(e.cfg_on)
        e.segments = sorted(n for n in os.listdir(e.binlog) if SEGMENT_RE.match(n))
        files = {SEGMENT_RE.match(n).group(1) for n in e.segments}
        assert len(files) >= 2, e.segments  # the rotation closed one
        for n in e.segments:
            assert os.path.isfile(os.path.join(e.binlog, n + ".sha256")), n
        yield e


def test_binlog_view_lists_segments_and_sidecars_only(env):
    d = env.binlog
    assert os.path.isfile(os.path.join(d, ".binlog-position"))
    # Things that must never be listed: a hidden temporary, foreign
    # prefixes (also one that starts like ours), an orphan sidecar, a
    # symlink and a directory named like segments, a stray file.
    junk = [".%s.tmp-AbC123" % env.segments[0],
            env.segments[0].replace("mariadb_", "other_", 1),
            env.segments[0].replace("mariadb_", "other_", 1) + ".sha256",
            env.segments[0].replace("mariadb_", "mariadb_x_", 1),
            JUNK_SEGMENT + ".sha256", "notes.txt"]
    for n in junk:
        with open(os.path.join(d, n), "w") as f:
            f.write("junk\n")
    link = JUNK_SEGMENT.replace("2020-01-01", "2020-01-02")
    os.symlink(env.segments[0], os.path.join(d, link))
    subdir = JUNK_SEGMENT.replace("2020-01-01", "2020-01-03")
    os.mkdir(os.path.join(d, subdir))
    junk += [".binlog-position", link, subdir, JUNK_SEGMENT]

    m = env.mount(env.cfg_on, "on")
    try:
        b = env.backups[0]
        arch = m.path("archive")
        assert sorted(os.listdir(arch)) == sorted([b, b + ".sha256", LATEST, "binlog"])
        assert os.readlink(os.path.join(arch, LATEST)) == b
        mb = m.path("archive/binlog")
        st = os.lstat(mb)
        assert stat.S_ISDIR(st.st_mode) and st.st_mode & 0o222 == 0
        want = sorted(env.segments + [n + ".sha256" for n in env.segments])
        ls = subprocess.run(["ls", "-A", mb], stdout=subprocess.PIPE, check=True)
        assert sorted(ls.stdout.decode().split()) == want
        for n in want:
            real, seen = os.stat(os.path.join(d, n)), os.lstat(os.path.join(mb, n))
            assert stat.S_ISREG(seen.st_mode), n
            assert (seen.st_size, seen.st_mtime_ns) == (real.st_size, real.st_mtime_ns), n
            assert seen.st_mode & 0o222 == 0, n
        for n in junk:
            assert not os.path.lexists(os.path.join(mb, n)), n
        res = subprocess.run(["sha256sum", "-c"] + [n + ".sha256" for n in env.segments],
                             cwd=mb, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert res.returncode == 0, res.stdout.decode()
        assert res.stdout.decode().count(": OK\n") == len(env.segments), res.stdout.decode()
        copy = os.path.join(env.dir, "copy.binlog.gz.gpg")
        subprocess.run(["cp", os.path.join(mb, env.segments[-1]), copy], check=True)
        with open(copy, "rb") as a, open(os.path.join(d, env.segments[-1]), "rb") as o:
            assert a.read() == o.read()
        dest = env.subdir("rsync-binlog")
        subprocess.run(["rsync", "-a", mb + "/", dest + "/"], check=True, timeout=300)
        real = listing(d)
        assert listing(dest) == {n: real[n] for n in want}  # bytes and mtimes
        seg = os.path.join(mb, env.segments[0])
        for attempt in (lambda: open(seg, "ab"), lambda: os.unlink(seg),
                        lambda: os.mkdir(os.path.join(mb, "x")),
                        lambda: os.rename(seg, seg + ".x")):
            with pytest.raises(OSError) as e:
                attempt()
            assert e.value.errno in (errno.EROFS, errno.EACCES), e.value
        with pytest.raises(IsADirectoryError):
            open(mb, "rb")
        after = listing(d)
        assert {n: after.get(n) for n in want} == {n: real[n] for n in want}  # unchanged
    finally:
        assert m.stop() == 0
    for n in junk:
        p = os.path.join(d, n)
        if os.path.isdir(p) and not os.path.islink(p):
            os.rmdir(p)
        elif os.path.lexists(p) and n != ".binlog-position":
            os.unlink(p)


def test_binlog_enabled_without_segments_is_an_empty_directory(env):
    fresh = env.subdir("archive-fresh")
    m = env.mount(env.config(fresh, True), "fresh")
    try:
        assert os.listdir(m.path("archive")) == ["binlog"]
        assert os.path.isdir(m.path("archive/binlog"))
        assert os.listdir(m.path("archive/binlog")) == []
        assert not os.path.lexists(m.path("archive/" + LATEST))
    finally:
        assert m.stop() == 0


def test_binlog_disabled_has_no_binlog_directory(env):
    m = env.mount(env.config(env.archive, False), "off")
    try:
        b = env.backups[0]
        assert sorted(os.listdir(m.path("archive"))) == sorted([b, b + ".sha256", LATEST])
        assert not os.path.lexists(m.path("archive/binlog"))
        assert not os.path.lexists(m.path("archive/binlog/" + env.segments[0]))
        with pytest.raises(FileNotFoundError):
            os.listdir(m.path("archive/binlog"))
        with open(m.path("archive/" + LATEST), "rb") as a, \
                open(os.path.join(env.archive, b), "rb") as o:
            assert a.read() == o.read()
    finally:
        assert m.stop() == 0
