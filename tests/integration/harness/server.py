"""A private MariaDB server for tests.

Each Server owns a directory under /tmp (short, for the socket path) with its
datadir, its own tmpdir (a starting mariadbd deletes #sql* files in its
tmpdir, which would crash a server sharing it), a keys file for
file_key_management, the socket, the pid file and the error log.  The server
runs with InnoDB, redo log, temporary files and binlog encrypted, binlog on,
on 127.0.0.1 and a free port; nothing is shared with a system server.

Queries go through the stock `mariadb` client (stdlib only: no driver).
"""

import atexit
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from . import procs

SYSTEM_DBS = ("information_schema", "performance_schema", "sys", "mysql")
BACKUP_PRIVS = ("SELECT, SHOW VIEW, RELOAD, LOCK TABLES, REPLICATION CLIENT, "
                "EVENT, TRIGGER")
_SEP = "@@dumpfs-harness-separator@@"


class ServerError(Exception):
    pass


class QueryError(ServerError):
    pass


# Room a test module's servers may need at once: several data dirs of
# ~100 MiB (48 MiB redo log, system and undo tablespaces) plus the big
# tables some tests load.  A container's default /dev/shm (64 MiB) is far
# too small: mariadb-install-db fails there with InnoDB error 28.
SHM_NEEDED = 2 << 30


def base_dir_choice():
    """(dir, why): where servers live.  DUMPFS_TEST_TMP when set; else
    /dev/shm when it is writable and has SHM_NEEDED free (fsync is free on
    a tmpfs: DDL-heavy tests run several times faster); else /var/tmp, a
    disk (not /tmp, which may itself be a small tmpfs)."""
    env = os.environ.get("DUMPFS_TEST_TMP")
    if env:
        return env, "DUMPFS_TEST_TMP"
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        st = os.statvfs(shm)
        free = st.f_bavail * st.f_frsize
        if free >= SHM_NEEDED:
            return shm, "tmpfs with %d MiB free" % (free >> 20)
        why = "/dev/shm has %d MiB free, under the %d MiB needed" % (
            free >> 20, SHM_NEEDED >> 20)
    else:
        why = "/dev/shm is not writable"
    for disk in ("/var/tmp", tempfile.gettempdir()):
        if os.path.isdir(disk) and os.access(disk, os.W_OK):
            return disk, why
    return tempfile.gettempdir(), why


def base_dir():
    return base_dir_choice()[0]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unescape(field):
    """Undo the escaping of `mariadb -B` (no --raw): \\0 \\t \\n \\\\."""
    if "\\" not in field:
        return field
    out, i, n = [], 0, len(field)
    table = {"0": "\0", "t": "\t", "n": "\n", "\\": "\\"}
    while i < n:
        c = field[i]
        if c == "\\" and i + 1 < n and field[i + 1] in table:
            out.append(table[field[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_rows(text):
    """Rows of `mariadb -N -B` output; the literal NULL becomes None (a
    string 'NULL' is indistinguishable: compare queries use HEX())."""
    rows = []
    for line in text.split("\n"):
        if line == "":
            continue
        rows.append(tuple(None if f == "NULL" else _unescape(f)
                          for f in line.split("\t")))
    return rows


def sql_quote(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def ident(name):
    return "`" + name.replace("`", "``") + "`"


class BackupUser:
    """The least-privilege dump account (docs/files.md)."""

    def __init__(self, name, password, password_file):
        self.name = name
        self.password = password
        self.password_file = password_file


_TEMPLATE = []
_STALE_RE = re.compile(r"^dfs-.+-(\d+)-[A-Za-z0-9_]{8}$")


def _sweep_stale(base):
    """Removes server dirs left by harness processes that died without
    cleaning up (SIGKILL, timeout): the creator's pid is in the name; a dir
    still named on some process's command line is left alone."""
    try:
        names = [n for n in os.listdir(base) if _STALE_RE.match(n)]
    except OSError:
        return
    stale = [n for n in names
             if not procs.alive(int(_STALE_RE.match(n).group(1)))]
    if not stale:
        return
    cmdlines = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmdlines.append(f.read())
            except OSError:
                pass
    for n in stale:
        path = os.path.join(base, n).encode()
        if not any(path in c for c in cmdlines):
            shutil.rmtree(os.path.join(base, n), ignore_errors=True)


def _template():
    if not _TEMPLATE:
        _sweep_stale(base_dir())
        tpl = Server("template")
        atexit.register(shutil.rmtree, tpl.dir, True)
        tpl.install_db()
        _TEMPLATE.append(tpl)
    return _TEMPLATE[0]


class Server:
    def __init__(self, name="db", buffer_pool="128M", extra_args=(),
                 detach=False, path=None):
        """path: use this (new) directory instead of a temporary one; keep
        it short, the socket lives there (sun_path is 108 bytes)."""
        self.name = name
        if path:
            os.makedirs(path)
            self.dir = path
        else:
            # The pid lets a later run sweep what a killed run left.
            self.dir = tempfile.mkdtemp(
                prefix="dfs-%s-%d-" % (name, os.getpid()), dir=base_dir())
        self.datadir = os.path.join(self.dir, "data")
        self.tmpdir = os.path.join(self.dir, "tmp")
        self.socket = os.path.join(self.dir, "sock")
        self.keys_file = os.path.join(self.dir, "keys.txt")
        self.pid_file = os.path.join(self.dir, "mariadbd.pid")
        self.error_log = os.path.join(self.dir, "error.log")
        self.host = "127.0.0.1"
        self.port = None
        self.buffer_pool = buffer_pool
        self.extra_args = list(extra_args)
        self.detach = detach  # survive the harness process (demo only)
        self.proc = None
        self.pid = None
        self.installed = False
        self.backup_user = None
        os.makedirs(self.tmpdir)

    # -- lifecycle ---------------------------------------------------------
    def _encryption_args(self):
        return [
            "--plugin-load-add=file_key_management",
            "--file-key-management-filename=" + self.keys_file,
            "--file-key-management-encryption-algorithm=AES_CTR",
            "--innodb-encrypt-tables=ON",
            "--innodb-encrypt-log=ON",
            "--innodb-encrypt-temporary-tables=ON",
            "--innodb-encryption-threads=1",
            "--encrypt-tmp-disk-tables=ON",
            "--encrypt-tmp-files=ON",
        ]

    def _common_args(self):
        args = self._encryption_args() + [
            "--tmpdir=" + self.tmpdir,
            "--innodb-buffer-pool-size=" + self.buffer_pool,
            "--innodb-log-file-size=48M",
            # Speed, not semantics: the tests never rely on durability.
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-doublewrite=0",
        ]
        if os.geteuid() == 0:
            args.insert(0, "--user=root")
        return args

    def install(self):
        """A fresh datadir: a copy of the per-process template (made once
        with mariadb-install-db) with its keys file."""
        tpl = _template()
        shutil.copytree(tpl.datadir, self.datadir, symlinks=True)
        shutil.copy2(tpl.keys_file, self.keys_file)
        self.installed = True

    def install_db(self):
        with open(self.keys_file, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            for key_id in (1, 2):
                f.write("%d;%s\n" % (key_id, secrets.token_hex(32)))
        cmd = ["mariadb-install-db", "--no-defaults",
               "--auth-root-authentication-method=normal",
               "--skip-test-db", "--datadir=" + self.datadir]
        cmd += self._common_args()
        res = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=300)
        if res.returncode != 0:
            raise ServerError("mariadb-install-db failed (%d):\n%s" % (
                res.returncode, res.stdout.decode(errors="replace")[-4000:]))
        self.installed = True

    def start(self, timeout=90):
        if not self.installed:
            self.install()
        last = None
        for _ in range(3):  # another process may grab the free port
            if self.port is None:
                self.port = free_port()
            try:
                self._start_once(timeout)
                return self
            except ServerError as e:
                last = e
                if "Bind on TCP/IP port" not in self.error_log_tail():
                    raise
                self.port = None
        raise last

    def _start_once(self, timeout):
        cmd = ["mariadbd", "--no-defaults", "--datadir=" + self.datadir,
               "--socket=" + self.socket, "--port=%d" % self.port,
               "--bind-address=127.0.0.1", "--pid-file=" + self.pid_file,
               "--log-error=" + self.error_log,
               "--log-bin=" + os.path.join(self.datadir, "binlog"),
               "--server-id=1", "--encrypt-binlog=ON",
               "--max-allowed-packet=1G", "--event-scheduler=ON",
               "--skip-name-resolve", "--character-set-server=utf8mb4",
               "--collation-server=utf8mb4_general_ci"]
        cmd += self._common_args() + self.extra_args
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=self.detach,
            preexec_fn=None if self.detach else procs.die_with_parent)
        self.pid = self.proc.pid
        if not self.detach:
            procs.register(self.pid, "mariadbd " + self.dir)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                procs.forget(self.pid)
                raise ServerError("mariadbd exited with %s at start; error "
                                  "log %s:\n%s" % (self.proc.returncode,
                                                   self.error_log,
                                                   self.error_log_tail()))
            res = subprocess.run(
                self.client_args() + ["--connect-timeout=2", "-e",
                                      "SELECT 1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if res.returncode == 0:
                return
            if time.monotonic() > deadline:
                self.kill(restart=False)
                raise ServerError("mariadbd did not accept queries within "
                                  "%ds; error log %s:\n%s" % (
                                      timeout, self.error_log,
                                      self.error_log_tail()))
            time.sleep(0.1)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=60):
        """Clean shutdown; SIGKILL when it does not finish in time."""
        if not self.running():
            return
        subprocess.run(["mariadb-admin", "--no-defaults", "-uroot",
                        "-S", self.socket, "--shutdown-timeout=%d" % timeout,
                        "shutdown"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=timeout + 10)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        procs.forget(self.pid)

    def kill(self, restart=False):
        """SIGKILL (for failure tests); restart=True starts it again on the
        same datadir and port (InnoDB crash recovery)."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self.pid:
            procs.forget(self.pid)
        if restart:
            self._start_once(90)

    def cleanup(self):
        """Stop (always) and remove the directory."""
        try:
            self.stop()
        finally:
            if self.running():
                self.kill()
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def error_log_tail(self, nbytes=6000):
        try:
            with open(self.error_log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - nbytes))
                return f.read().decode(errors="replace")
        except OSError:
            return "(no error log)"

    # -- client ------------------------------------------------------------
    def client_args(self, defaults_file=None):
        """`mariadb` as root over the socket, or with a defaults file (which
        keeps a password off the command line)."""
        if defaults_file:
            first = "--defaults-file=" + defaults_file
        else:
            first = "--no-defaults"
        args = ["mariadb", first, "--default-character-set=utf8mb4"]
        if not defaults_file:
            args += ["-uroot", "-S", self.socket]
        return args

    def run_sql(self, sql=None, db=None, stdin=None, timeout=900,
                defaults_file=None, extra=()):
        """Runs SQL text (str/bytes) or a file object on stdin; returns
        stdout as text.  Raises QueryError with the client's message."""
        cmd = self.client_args(defaults_file) + [
            "-N", "-B", "--comments", "--max-allowed-packet=1G"] + list(extra)
        if db:
            cmd.append(db)
        if stdin is None:
            data = sql.encode() if isinstance(sql, str) else sql
            res = subprocess.run(cmd, input=data, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=timeout)
        else:
            res = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=timeout)
        if res.returncode != 0:
            raise QueryError("mariadb client failed (%d) on %s: %s" % (
                res.returncode, self.name,
                res.stderr.decode(errors="replace").strip()[-3000:]))
        return res.stdout.decode("utf-8", errors="surrogateescape")

    def query(self, sql, db=None, **kw):
        """Rows (tuples of str, NULL as None) of the last result set."""
        return _parse_rows(self.run_sql(sql, db=db, **kw))

    def query_many(self, statements, db=None):
        """Runs statements in one client session; returns one row list per
        statement (empty for statements without a result set)."""
        if not statements:
            return []
        script = "".join("%s;\nSELECT '%s';\n" % (s, _SEP)
                         for s in statements)
        text = self.run_sql(script, db=db)
        chunks = text.split(_SEP + "\n")
        assert len(chunks) == len(statements) + 1, "separator mismatch"
        return [_parse_rows(c) for c in chunks[:-1]]

    def session(self):
        """A persistent client session (no process start per query: for
        polling in tight loops)."""
        return Session(self)

    def scalar(self, sql, db=None):
        rows = self.query(sql, db=db)
        return rows[0][0] if rows else None

    def load_file(self, path, timeout=900):
        with open(path, "rb") as f:
            self.run_sql(stdin=f, timeout=timeout)

    def user_databases(self):
        rows = self.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
                          " ORDER BY SCHEMA_NAME")
        return [r[0] for r in rows if r[0] not in SYSTEM_DBS]

    def drop_user_databases(self):
        dbs = self.user_databases()
        if dbs:
            self.run_sql("SET foreign_key_checks=0;" + "".join(
                "DROP DATABASE %s;" % ident(d) for d in dbs))

    # -- accounts ----------------------------------------------------------
    def create_backup_user(self, name="backup_ro", execute_dbs=()):
        """The docs/files.md account, for localhost (socket) and 127.0.0.1
        (TCP), password in a 0600 file for `password_file`."""
        password = secrets.token_urlsafe(24)
        stmts = []
        for host in ("localhost", "127.0.0.1"):
            acct = "%s@%s" % (sql_quote(name), sql_quote(host))
            stmts.append("CREATE USER %s IDENTIFIED BY %s" % (
                acct, sql_quote(password)))
            stmts.append("GRANT %s ON *.* TO %s" % (BACKUP_PRIVS, acct))
            for db in execute_dbs:
                stmts.append("GRANT EXECUTE ON %s.* TO %s" % (ident(db),
                                                             acct))
        self.run_sql(";\n".join(stmts) + ";")
        pw_file = os.path.join(self.dir, "%s.password" % name)
        fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        self.backup_user = BackupUser(name, password, pw_file)
        return self.backup_user

    def defaults_file_for(self, user):
        """A client defaults file for `user` (a BackupUser), over TCP."""
        path = os.path.join(self.dir, "%s.cnf" % user.name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("[client]\nuser=%s\npassword=%s\nhost=127.0.0.1\n"
                    "port=%d\nprotocol=TCP\n" % (user.name, user.password,
                                                 self.port))
        return path


class Session:
    """One `mariadb` client process kept open (root, socket); query() sends
    a statement plus a separator SELECT and reads up to the separator."""

    def __init__(self, server):
        self.proc = subprocess.Popen(
            server.client_args() + ["-N", "-B", "--unbuffered"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)

    def query(self, sql):
        self.proc.stdin.write(("%s;\nSELECT '%s';\n" % (sql, _SEP)).encode())
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read().decode(errors="replace")
                raise QueryError("session ended: " + err.strip())
            line = line.decode("utf-8", errors="surrogateescape")
            if line == _SEP + "\n":
                return _parse_rows("".join(lines))
            lines.append(line)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
