"""Who may read, and what the running processes show (docs/security.md),
against a real MariaDB server, a real GnuPG key pair and a real FUSE mount
with allow_other:

- the snapshot is 0440, owner the daemon's user, group `[fs] group`: a
  second uid outside that group gets EACCES and no dump starts (no new
  server connection); status/ stays readable by it; a process in the
  group reads the snapshot; archive files are created 0440 with the
  group, and the mount shows them so;
- no secret given as a DUMPFS_* variable is left in /proc/PID/environ of
  the daemon, of `dumpfs backup`, of `dumpfs restore`, or of any of their
  children (gpg, the mariadb client), and the processes are not dumpable
  (core file size limit 0, /proc/PID owned by root).

The tests run as root (FUSE allow_other, setpriv); the second uid is
`nobody`, given supplementary groups with setpriv so that no entry in
/etc/group is needed.
"""

import errno
import os
import subprocess
import time

import pytest

from harness.config import write_config
from harness.dumpfs import assert_no_sanitizer, child_env, dumpfs_bin, run_dumpfs
from harness.gpg import GpgKey
from harness.mount import mounted
from harness.procsecrets import comm, core_limit, exposed, family, watch_for_secrets
from harness.server import Server
from harness.workspace import Workspace
from sinks import HttpSink, SmtpSink

SNAP = "snapshot/now.sql.gz.gpg"
GROUP = 4242  # [fs] group: a number, no /etc/group entry needed
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup"]
OUTSIDER = NOBODY + ["--clear-groups", "--"]
MEMBER = NOBODY + ["--groups=%d" % GROUP, "--"]

if os.geteuid() != 0:
    pytest.fail("test_access.py needs root (allow_other, setpriv)", pytrace=False)


def as_user(who, code, *args):
    """Runs python `code` (sys.argv[1:] = args) as `who` (OUTSIDER or
    MEMBER); the CompletedProcess, text output."""
    return subprocess.run(who + ["/usr/bin/python3", "-c", code] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=300)


# Prints "ok <bytes>" or "errno <n>" for reading the whole file argv[1].
READ = """
import sys
try:
    with open(sys.argv[1], "rb") as f:
        print("ok", len(f.read()))
except OSError as e:
    print("errno", e.errno)
"""


class Env(Workspace):
    prefix = "access"

    def setup(self):
        os.chmod(self.dir, 0o755)  # reachable by the second uid
        self.server = self.own(Server(name="acc")).start()
        self.server.run_sql(
            "CREATE DATABASE shop;"
            "CREATE TABLE shop.item (id INT PRIMARY KEY, name VARCHAR(40));"
            "INSERT INTO shop.item VALUES (1,'apple'),(2,'pear');"
            "CREATE TABLE shop.big (id INT PRIMARY KEY, h CHAR(64));")
        self.server.run_sql("INSERT INTO big SELECT seq, SHA2(seq,256)"
                            " FROM seq_1_to_300000;", db="shop")
        self.user = self.server.create_backup_user()
        self.key = self.own(GpgKey())

    def config(self, archive_dir, extra=None):
        path = self.next_config_path()
        extra = dict(extra or {})
        extra.setdefault("fs", {}).setdefault("group", str(GROUP))
        return write_config(path, self.server, self.key, user=self.user,
                            databases=["shop"], archive_dir=archive_dir,
                            extra=extra, fingerprint=False)

    def mount(self, config, name, env=None):
        return super().mount(config, name, ["-o", "allow_other"], env=env)

    def connections(self, session):
        """The server's count of connection attempts so far."""
        return int(session.query("SHOW GLOBAL STATUS LIKE 'Connections'")[0][1])


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


@pytest.fixture(scope="module")
def backed_up(env):
    """An archive dir with one backup made by `dumpfs backup`, and a mount
    of it (allow_other)."""
    d = env.subdir("archive")
    cfg = env.config(d)
    res = run_dumpfs(["backup"], config=cfg, timeout=300)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    m = env.mount(cfg, "main")
    return d, cfg, m


# ---------------------------------------------------------------------------
# Who may read


def test_snapshot_is_0440_owner_and_group(env, backed_up):
    _, _, m = backed_up
    st = os.stat(m.path(SNAP))
    assert oct(st.st_mode & 0o7777) == oct(0o440)
    assert st.st_uid == os.getuid() and st.st_gid == GROUP
    for d in ("", "snapshot", "archive", "status"):
        assert oct(os.stat(m.path(d)).st_mode & 0o7777) == oct(0o555), d
    assert oct(os.stat(m.path("status/health")).st_mode & 0o7777) == oct(0o444)


def test_outsider_gets_eacces_and_starts_no_dump(env, backed_up):
    _, _, m = backed_up
    with env.server.session() as s:
        before = env.connections(s)
        res = as_user(OUTSIDER, READ, m.path(SNAP))
        time.sleep(1)  # a dump, had one started, connects at once
        after = env.connections(s)
    assert res.stdout.split() == ["errno", str(errno.EACCES)], res
    assert after == before, "a dump was started for a user outside the group"
    assert "snapshot_open" not in m.log() and "snapshot_start" not in m.log()
    # status/ holds no secret: still readable by anyone.
    res = as_user(OUTSIDER, READ, m.path("status/health"))
    assert res.stdout.split()[0] == "ok", res


def test_group_member_reads_the_snapshot(env, backed_up):
    _, _, m = backed_up
    with env.server.session() as s:
        before = env.connections(s)
        res = as_user(MEMBER, READ, m.path(SNAP))
        after = env.connections(s)
    assert res.stdout.split()[0] == "ok" and int(res.stdout.split()[1]) > 1000, res
    assert after > before  # the dump it read


# Prints "ok <names>" or "errno <n>" for listing directory argv[1].
LIST = """
import os, sys
try:
    print("ok", *sorted(os.listdir(sys.argv[1])))
except OSError as e:
    print("errno", e.errno)
"""


def test_databases_dir_is_for_the_group_only(env, backed_up):
    """snapshot/databases/ is 0550 with the group, as the snapshots are
    0440: an outsider can neither list it nor open a file in it."""
    _, _, m = backed_up
    d = m.path("snapshot/databases")
    st = os.stat(d)
    assert oct(st.st_mode & 0o7777) == oct(0o550) and st.st_gid == GROUP
    f = d + "/shop.sql.gz.gpg"
    with env.server.session() as s:
        before = env.connections(s)
        listed = as_user(OUTSIDER, LIST, d)
        read = as_user(OUTSIDER, READ, f)
        time.sleep(1)  # a dump, had one started, connects at once
        after = env.connections(s)
    assert listed.stdout.split() == ["errno", str(errno.EACCES)], listed
    assert read.stdout.split() == ["errno", str(errno.EACCES)], read
    assert after == before, "a dump was started for a user outside the group"
    listed = as_user(MEMBER, LIST, d)
    assert listed.stdout.split() == ["ok", "shop.sql.gz.gpg"], listed
    read = as_user(MEMBER, READ, f)
    assert read.stdout.split()[0] == "ok" and int(read.stdout.split()[1]) > 1000, read


def test_archive_files_are_0440_with_the_group(env, backed_up):
    d, _, m = backed_up
    names = sorted(n for n in os.listdir(d) if n.startswith("mariadb_"))
    assert len(names) == 2 and names[1].endswith(".sha256"), names
    for n in names:
        st = os.stat(os.path.join(d, n))
        assert oct(st.st_mode & 0o7777) == oct(0o440), n
        assert st.st_gid == GROUP and st.st_uid == os.getuid(), n
        # the mount shows the real mode less write bits
        mst = os.stat(m.path("archive/" + n))
        assert oct(mst.st_mode & 0o7777) == oct(0o440), n
        assert mst.st_gid == GROUP, n
        res = as_user(OUTSIDER, READ, m.path("archive/" + n))
        assert res.stdout.split() == ["errno", str(errno.EACCES)], (n, res)
        res = as_user(MEMBER, READ, m.path("archive/" + n))
        assert res.stdout.split() == ["ok", str(st.st_size)], (n, res)


def test_unknown_group_is_a_config_error(env):
    cfg = env.config(env.subdir("badgroup"), extra={"fs": {"group": "no-such-grp-dfs"}})
    res = run_dumpfs(["backup"], config=cfg)
    err = res.stderr.decode(errors="replace")
    assert res.returncode == 2, err
    with open(cfg) as f:
        line = [i for i, t in enumerate(f.read().splitlines(), 1)
                if t.startswith("group =")][0]
    assert "%s:%d: invalid value 'no-such-grp-dfs' for key 'group' in [fs]" % (
        cfg, line) in err, err


def test_a_group_the_daemon_cannot_use_fails_at_start(env):
    """Root without CAP_CHOWN (as the systemd unit's bounding set makes
    it) and not in the group: the mount refuses to start when it would
    run backups; a backup fails at once, leaving nothing."""
    d = env.subdir("nochown")
    cfg = env.config(d, extra={"archive": {"schedule": "02:00"}})
    mnt = os.path.join(env.dir, "mnt-nochown")
    os.makedirs(mnt)
    nochown = ["setpriv", "--bounding-set=-chown", "--"]
    res = subprocess.run(nochown + [dumpfs_bin(), cfg, mnt, "-f"], env=child_env(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=120)
    out = res.stdout.decode(errors="replace")
    if mounted(mnt):
        subprocess.run(["fusermount3", "-u", "-z", mnt])
    assert res.returncode != 0, out
    assert "cannot give archive files to group %d ([fs] group)" % GROUP in out, out
    assert_no_sanitizer(out)
    res = subprocess.run(nochown + [dumpfs_bin(), "backup", "-c", cfg], env=child_env(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=300)
    out = res.stdout.decode(errors="replace")
    assert res.returncode == 1, out
    assert "cannot give '%s/" % d in out and "check [fs] group" in out, out
    assert [n for n in os.listdir(d) if n.startswith(("mariadb", ".mariadb"))] == []
    assert_no_sanitizer(out)


# ---------------------------------------------------------------------------
# Secrets at run time


@pytest.fixture(scope="module")
def secret_env(env):
    """Every secret of the schema as a DUMPFS_* variable (the database
    password is the real one: the config has no password_file), and the
    config that relies on them."""
    http, smtp = HttpSink(), SmtpSink()
    token = "TOKEN" + os.urandom(8).hex()
    secrets = {
        "DUMPFS_MARIADB_PASSWORD": env.user.password,
        "DUMPFS_NOTIFY_WEBHOOK_URL": http.url("/hook/W" + token),
        "DUMPFS_NOTIFY_HEARTBEAT_URL": http.url("/hb/H" + token),
        "DUMPFS_NOTIFY_SMTP_PASSWORD": "SMTP" + token,
        "DUMPFS_RESTORE_PASSWORD": "RESTORE" + token,
    }
    variables = child_env()
    variables.update(secrets)
    # Not a secret: finds the processes that inherited this environment.
    variables["DFS_ACCESS_MARK"] = "mark" + os.urandom(8).hex()
    cfg = env.config(env.subdir("secret-archive"), extra={
        "mariadb": {"password_file": None},
        "notify": {"on": "always", "smtp_url": smtp.url, "smtp_user": "alerts",
                   "smtp_tls": "off", "mail_from": "dumpfs@test.local",
                   "mail_to": "dpo@test.local"}})
    yield cfg, variables, list(secrets.values())
    http.close()
    smtp.close()


def test_no_secret_in_proc_of_the_mount_and_its_children(env, secret_env):
    cfg, variables, secrets = secret_env
    m = env.mount(cfg, "secrets", env=variables)
    with open(m.path(SNAP), "rb") as f:
        head = f.read(65536)  # the dump runs, gpg encrypts it
        pids = family(m.pid, variables["DFS_ACCESS_MARK"])
        children = [comm(p) for p in pids[1:]]
        found = exposed(pids, secrets)
        limit = core_limit(m.pid)
        rest = f.read()
    assert len(head) + len(rest) > 1000, m.log()
    assert any(c.startswith("gpg") for c in children), children
    assert found == [], found
    assert limit == ["0", "0"], limit
    assert m.stop() == 0
    assert "snapshot_failed" not in m.log(), m.log()


def test_no_secret_in_proc_of_backup_and_its_children(env, secret_env):
    cfg, variables, secrets = secret_env
    # The variables are there until the config is read: look once the run
    # has started (its first log line).
    rc, err, children, found, limit = watch_for_secrets(
        [dumpfs_bin(), "backup", "-c", cfg], variables, secrets,
        variables["DFS_ACCESS_MARK"], os.path.join(env.dir, "backup-secrets.err"),
        lambda names, err: b"backup_start" in err)
    assert rc == 0, err
    assert any(c.startswith("gpg") for c in children), (children, err)
    assert found == [], found
    assert limit == ["0", "0"], limit
    for s in secrets:
        assert s not in err


def test_process_is_not_dumpable(env, secret_env, tmp_path):
    """As another uid than root: /proc/PID of a dumpable process belongs to
    that uid; of a non-dumpable one, to root, so the same uid can neither
    read its environ or memory nor ptrace it."""
    cfg, variables, secrets = secret_env
    variables = dict(variables, ASAN_OPTIONS="detect_leaks=0")  # LSan ptraces
    proc = subprocess.Popen(OUTSIDER + [dumpfs_bin(), "dump", "--plain", "-c", cfg],
                            env=variables, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = proc.stdout.read(1)  # the dump runs: the config was read
        assert first, proc.stderr.read().decode(errors="replace")
        with open("/proc/%d/status" % proc.pid) as f:
            uid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
        owner = os.stat("/proc/%d/environ" % proc.pid).st_uid
        res = as_user(OUTSIDER, READ, "/proc/%d/environ" % proc.pid)
        found = exposed([proc.pid], secrets)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert uid != "0"  # it runs as nobody
    assert owner == 0, "/proc/PID of dumpfs belongs to its user: dumpable"
    assert res.stdout.split() == ["errno", str(errno.EACCES)], res
    assert found == [], found


def test_no_secret_in_proc_of_restore_and_its_client(env, backed_up, secret_env):
    d, _, _ = backed_up
    cfg, variables, secrets = secret_env
    backup = os.path.join(d, sorted(n for n in os.listdir(d)
                                    if n.endswith(".sql.gz.gpg"))[0])
    target = Server(name="acc-rst").start()
    try:
        target.run_sql("CREATE USER 'restorer'@'127.0.0.1' IDENTIFIED BY '%s';"
                       "GRANT ALL ON *.* TO 'restorer'@'127.0.0.1';"
                       % variables["DUMPFS_RESTORE_PASSWORD"])
        rcfg = env.config(d, extra={
            "mariadb": {"password_file": None},
            "restore": {"host": target.host, "port": str(target.port),
                        "user": "restorer"}})
        renv = dict(variables, GNUPGHOME=env.key.home)
        # The variables are there until the config is read: only once the
        # client runs.
        rc, err, children, found, _ = watch_for_secrets(
            [dumpfs_bin(), "restore", "-c", rcfg, backup], renv, secrets,
            variables["DFS_ACCESS_MARK"], os.path.join(env.dir, "restore-secrets.err"),
            lambda names, err: any(n.startswith("mariadb") for n in names))
        assert rc == 0, err
        assert any(c.startswith("mariadb") for c in children), (children, err)
        assert found == [], found
        assert target.scalar("SELECT COUNT(*) FROM shop.big") == "300000"
    finally:
        target.cleanup()
