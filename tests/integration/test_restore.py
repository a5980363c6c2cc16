"""`dumpfs restore`: the DPO's path back, against real servers and a real
GnuPG key pair.

- a backup of the corpus restored into a fresh server is equal to the
  source, table by table (harness compare);
- --to-stdout is byte-for-byte `gpg -d | gunzip`;
- --database restores one database only;
- a damaged file (flipped byte, truncated, SQL without the completion
  line) fails clearly and non-zero, and the server is not touched when
  the damage can be seen first;
- a statement the server rejects is reported with its line;
- a planted file (right key, matching sidecar) with a client command
  (`\\!`, `system`, `source`) runs nothing and fails naming the line;
- no password appears in any output.
Self-contained: its own servers and configs (harness Server and GpgKey).
"""

import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

from harness.compare import assert_same
from harness.corpus import EXECUTE_DBS, load_corpus
from harness.config import write_config
from harness.gpg import GpgKey
from harness.restore import restore_encrypted
from harness.server import Server
from harness.dumpfs import dumpfs_bin, run_dumpfs

WEIRD_DB = "we`ird-db.x é"


class Env:
    def __init__(self):
        self.src = Server(name="rsrc")
        self.src.start()
        load_corpus(self.src)
        self.user = self.src.create_backup_user(execute_dbs=EXECUTE_DBS)
        self.key = GpgKey()
        self.dir = tempfile.mkdtemp(prefix="dfs-rst-", dir="/tmp")
        self.archive = os.path.join(self.dir, "archive")
        os.makedirs(self.archive)
        self.targets = []
        self.n = 0
        # The restore account on targets: a password that must never show.
        self.restore_password = "rst-" + os.urandom(12).hex()
        self.restore_pw_file = os.path.join(self.dir, "restore.pw")
        with open(self.restore_pw_file, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(self.restore_password + "\n")
        cfg = self.config(None)
        res = run_dumpfs(["backup"], cfg)
        assert res.returncode == 0, res.stderr.decode()
        names = sorted(n for n in os.listdir(self.archive) if n.endswith(".sql.gz.gpg"))
        assert len(names) == 1
        self.backup = os.path.join(self.archive, names[0])

    def target(self):
        """A fresh, empty server with a password account for the restore."""
        t = Server(name="rtgt")
        t.start()
        t.run_sql("CREATE USER 'restorer'@'127.0.0.1' IDENTIFIED BY '%s';"
                  "GRANT ALL ON *.* TO 'restorer'@'127.0.0.1' WITH GRANT OPTION;"
                  % self.restore_password)
        self.targets.append(t)
        return t

    def config(self, target):
        """Backs up the source; restores into `target` when given."""
        self.n += 1
        extra = {"mariadb": {"databases": None}}
        if target is not None:
            extra["restore"] = {"host": target.host, "port": str(target.port),
                                "user": "restorer", "password_file": self.restore_pw_file}
        return write_config(os.path.join(self.dir, "dumpfs-%d.ini" % self.n), self.src,
                            self.key, user=self.user, archive_dir=self.archive, extra=extra,
                            fingerprint=False)

    def restore(self, path, target, *extra, timeout=600):
        res = run_dumpfs(["restore", path] + list(extra), self.config(target),
                         gnupghome=self.key.home, timeout=timeout)
        self.check_no_secret(res.stdout + res.stderr)
        return res

    def check_no_secret(self, data):
        for secret in (self.restore_password, self.user.password):
            assert secret.encode() not in data

    def encrypt(self, plaintext_sql, name):
        """gzip + encrypt arbitrary SQL to the key (no sidecar)."""
        path = os.path.join(self.dir, name)
        gz = gzip.compress(plaintext_sql)
        res = subprocess.run(
            ["gpg", "--homedir", self.key.home, "--batch", "--no-tty", "--quiet",
             "--trust-model", "always", "--compress-algo", "none", "-r",
             self.key.fingerprint, "-o", path, "--encrypt"],
            input=gz, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert res.returncode == 0, res.stderr.decode()
        return path

    def plaintext(self, path=None):
        return gzip.decompress(self.key.decrypt(path or self.backup))

    def close(self):
        for t in self.targets:
            t.cleanup()
        self.src.cleanup()
        self.key.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def env():
    e = Env()
    yield e
    e.close()


@pytest.fixture(scope="module")
def restored(env):
    """The backup restored by dumpfs into a fresh server."""
    t = env.target()
    res = env.restore(env.backup, t)
    assert res.returncode == 0, res.stderr.decode()
    assert b"restore_done" in res.stderr and b"sidecar=match" in res.stderr
    return t


def test_restore_equals_the_stock_pipeline(env, restored):
    """dumpfs restore applies exactly what `gpg -d | gunzip | mariadb
    --comments --max-allowed-packet=1G` applies."""
    stock = env.target()
    restore_encrypted(env.backup, env.key, stock)
    assert_same(stock, restored, databases=env.src.user_databases(),
                what="stock pipeline vs dumpfs restore")
    assert sorted(restored.user_databases()) == sorted(env.src.user_databases())


def test_restore_equals_the_source(env, restored):
    """Table by table equal to the source (the dump's own faithfulness)."""
    assert_same(env.src, restored, databases=env.src.user_databases(),
                what="source vs restored")


def test_oracle_mode_programs_run_after_restore(env, restored):
    """Packages (spec, body with comments and semicolons, a body calling
    another routine) and Oracle-syntax routines are not only recreated but
    callable, giving the source's results."""
    sql = ("SET sql_mode = ORACLE; USE corpus_pkg;"
           " SELECT pkg_calc.f_add(2, 3), pkg_calc.f_count(), f_ora(7);")
    want = env.src.run_sql(sql)
    assert want.split() == ["5", "2", "v=7;"]
    assert restored.run_sql(sql) == want
    kinds = restored.query(
        "SELECT ROUTINE_TYPE, COUNT(*) FROM information_schema.ROUTINES"
        " WHERE ROUTINE_SCHEMA = 'corpus_pkg' GROUP BY ROUTINE_TYPE"
        " ORDER BY ROUTINE_TYPE")
    assert [tuple(r) for r in kinds] == [
        ("FUNCTION", "2"), ("PACKAGE", "2"), ("PACKAGE BODY", "1"),
        ("PROCEDURE", "1")]


def test_to_stdout_equals_gpg_gunzip(env):
    with tempfile.TemporaryFile() as out:
        res = run_dumpfs(["restore", env.backup, "--to-stdout"], env.config(None),
                         gnupghome=env.key.home, stdout=out)
        assert res.returncode == 0, res.stderr.decode()
        out.seek(0)
        got = out.read()
    assert got == env.plaintext()
    assert got.rstrip().endswith(b"-- dumpfs: dump completed")


def run_with_etc_dumpfs(argv, env, ini=None):
    """argv as if /etc/dumpfs held only `ini` (a file copied there as
    dumpfs.ini; None: no /etc/dumpfs at all), whatever this machine has:
    in a private mount namespace over which /etc is an overlay, so the
    host's /etc is never written and its dumpfs.ini (dumpfs's default
    config) never read."""
    tmp = tempfile.mkdtemp(prefix="dfs-etc-", dir="/tmp")
    script = ('set -e; mount -t tmpfs tmpfs "$1"; mkdir "$1/u" "$1/w"; '
              'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/u,workdir=$1/w" /etc; '
              'rm -rf /etc/dumpfs; '
              'if [ -n "$2" ]; then mkdir /etc/dumpfs; cp "$2" /etc/dumpfs/dumpfs.ini; fi; '
              'shift 2; exec "$@"')
    ns = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        ns.append("--map-root-user")
    try:
        return subprocess.run(ns + ["sh", "-c", script, "sh", tmp, ini or ""] + argv,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=300)
    finally:
        os.rmdir(tmp)


def test_to_stdout_needs_no_config(env):
    """The DPO's machine: only the key, no dumpfs.ini.  Whatever this
    machine's /etc/dumpfs holds: both cases run in a private view of /etc."""
    res = subprocess.run(
        [dumpfs_bin(), "restore", env.backup, "--to-stdout"],
        env={"PATH": os.environ["PATH"], "GNUPGHOME": env.key.home,
             "DUMPFS_CONFIG": os.path.join(env.dir, "missing.ini")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    # An explicit $DUMPFS_CONFIG that is missing is an error (exit 2) ...
    assert res.returncode == 2, res.stderr.decode()
    env_no_cfg = {"PATH": os.environ["PATH"], "GNUPGHOME": env.key.home}
    # ... no /etc/dumpfs/dumpfs.ini either: no config needed ...
    res = run_with_etc_dumpfs([dumpfs_bin(), "restore", env.backup, "--to-stdout"],
                              env_no_cfg)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == env.plaintext()
    # ... but a system config that exists is the one used (a broken one
    # fails the restore, naming it).
    broken = os.path.join(env.dir, "broken.ini")
    with open(broken, "w") as f:
        f.write("[no_such_section]\nkey = value\n")
    res = run_with_etc_dumpfs([dumpfs_bin(), "restore", env.backup, "--to-stdout"],
                              env_no_cfg, ini=broken)
    assert res.returncode == 2, res.stderr.decode()
    assert b"/etc/dumpfs/dumpfs.ini" in res.stderr, res.stderr.decode()
    assert res.stdout == b""


def test_database_option_restores_one_database(env):
    t = env.target()
    res = env.restore(env.backup, t, "--database", WEIRD_DB)
    assert res.returncode == 0, res.stderr.decode()
    assert t.user_databases() == [WEIRD_DB]
    assert_same(env.src, t, databases=[WEIRD_DB], what="--database")
    # The filtered stream keeps the header and footer, and only that db.
    res = run_dumpfs(["restore", env.backup, "--to-stdout", "--database", "corpus_types"],
                     env.config(None), gnupghome=env.key.home)
    assert res.returncode == 0, res.stderr.decode()
    sql = res.stdout
    assert b"USE `corpus_types`;" in sql and b"SET NAMES utf8mb4;" in sql
    assert b"USE `corpus_prog`;" not in sql and b"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `select`" not in sql
    assert sql.rstrip().endswith(b"-- dumpfs: dump completed")


def test_database_option_unknown_database(env):
    t = env.target()
    res = env.restore(env.backup, t, "--database", "nope")
    assert res.returncode == 1
    assert b"database 'nope' is not in this dump" in res.stderr
    assert b"corpus_types" in res.stderr  # says what it has
    assert t.user_databases() == []


def flipped_copy(env, name, offset_frac=0.5, sidecar=True):
    path = os.path.join(env.dir, name)
    shutil.copyfile(env.backup, path)
    if sidecar:
        shutil.copyfile(env.backup + ".sha256", path + ".sha256")
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(int(size * offset_frac))
        b = f.read(1)
        f.seek(int(size * offset_frac))
        f.write(bytes([b[0] ^ 0x01]))
    return path


def test_flipped_byte_with_sidecar_fails_before_the_server(env):
    t = env.target()
    path = flipped_copy(env, "flipped.sql.gz.gpg")
    res = env.restore(path, t)
    assert res.returncode == 1
    assert b"does not match its sidecar" in res.stderr, res.stderr.decode()
    assert t.user_databases() == []


def test_flipped_byte_without_sidecar_fails_before_the_server(env):
    t = env.target()
    path = flipped_copy(env, "flipped-nosc.sql.gz.gpg", sidecar=False)
    res = env.restore(path, t)
    assert res.returncode == 1
    err = res.stderr.decode()
    assert "the server was not touched" in err, err
    assert ("damaged" in err or "corrupt" in err), err
    assert t.user_databases() == []
    # --to-stdout fails too (non-zero), whatever it wrote.
    res = run_dumpfs(["restore", path, "--to-stdout"], env.config(None),
                     gnupghome=env.key.home)
    assert res.returncode == 1


def test_truncated_file(env):
    t = env.target()
    path = os.path.join(env.dir, "truncated.sql.gz.gpg")
    with open(env.backup, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    res = env.restore(path, t)
    assert res.returncode == 1
    assert b"not a complete OpenPGP encrypted message" in res.stderr, res.stderr.decode()
    assert t.user_databases() == []


def test_sql_without_completion_line(env):
    """Well-formed encryption and gzip, but the dump stops early."""
    sql = env.plaintext()
    cut = sql[: sql.rindex(b"-- dumpfs: dump completed")]
    path = env.encrypt(cut, "nocompletion.sql.gz.gpg")
    t = env.target()
    res = env.restore(path, t)
    assert res.returncode == 1
    assert b"the dump is truncated" in res.stderr, res.stderr.decode()
    assert t.user_databases() == []  # the dry run saw it first
    res = run_dumpfs(["restore", path, "--to-stdout"], env.config(None),
                     gnupghome=env.key.home)
    assert res.returncode == 1
    assert b"the dump is truncated" in res.stderr


def test_rejected_statement_reports_its_line(env):
    sql = (b"-- header\n"
           b"CREATE DATABASE `bad`;\n"
           b"USE `bad`;\n"
           b"CREATE TABLE t (id INT PRIMARY KEY);\n"
           b"INSERT INTO t VALUES (1);\n"
           b"INSERT INTO no_such_table VALUES (2);\n"
           b"INSERT INTO t VALUES (3);\n"
           b"\n-- dumpfs: dump completed\n")
    path = env.encrypt(sql, "rejected.sql.gz.gpg")
    t = env.target()
    res = env.restore(path, t)
    assert res.returncode == 1
    err = res.stderr.decode()
    assert "the server rejected the SQL" in err and "at line 6" in err, err
    assert "no_such_table" in err
    # What came before was applied, nothing after it.
    assert t.query("SELECT id FROM bad.t ORDER BY id") == [("1",)]


def test_without_the_private_key(env):
    other = GpgKey(uid="Not The DPO <not@test.local>")
    try:
        t = env.target()
        res = run_dumpfs(["restore", env.backup], env.config(t), gnupghome=other.home)
        assert res.returncode == 1
        assert b"private key is not in the keyring" in res.stderr, res.stderr.decode()
        assert t.user_databases() == []
    finally:
        other.close()


def test_usage_errors(env):
    res = run_dumpfs(["restore"], env.config(None))
    assert res.returncode == 2
    res = run_dumpfs(["restore", "a", "b"], env.config(None))
    assert res.returncode == 2
    res = run_dumpfs(["restore", os.path.join(env.dir, "missing.gpg")], env.config(None),
                     gnupghome=env.key.home)
    assert res.returncode == 1 and b"cannot open" in res.stderr


def planted(env, name, command):
    """A file as an attacker with the public key would plant it: well-formed
    SQL that ends with the completion line, encrypted to the right key, with
    a matching sidecar, and a client command on line 6."""
    sql = (b"-- header\n"
           b"CREATE DATABASE `planted`;\n"
           b"USE `planted`;\n"
           b"CREATE TABLE t (id INT PRIMARY KEY);\n"
           b"INSERT INTO t VALUES (1);\n"
           + command + b"\n"
           b"INSERT INTO t VALUES (2);\n"
           b"\n-- dumpfs: dump completed\n")
    path = env.encrypt(sql, name)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(path + ".sha256", "w") as f:
        f.write("%s  %s\n" % (digest, name))
    return path


@pytest.mark.parametrize("form,shown", [
    ("\\! touch {}", "'\\!'"),
    ("system touch {}", "'system'"),
    ("SELECT 1; system touch {}", "'system'"),
    ("\\. {}", "'\\.'"),
])
def test_planted_client_command_runs_nothing(env, form, shown):
    """docs/security.md: a restore never runs a client command from the file; it fails
    naming the line, before the server sees anything."""
    marker = os.path.join(env.dir, "planted-%d" % env.n)
    script = marker + ".sql"
    with open(script, "w") as f:  # what `source` would run
        f.write("system touch %s\n" % marker)
    target = script if form.startswith("\\.") else marker
    path = planted(env, "planted-%d.sql.gz.gpg" % env.n,
                   form.format(target).encode())
    t = env.target()
    res = env.restore(path, t)
    err = res.stderr.decode()
    assert not os.path.exists(marker), "the planted command ran: " + err
    assert res.returncode == 1, err
    assert "the SQL at line 6 holds the client command %s" % shown in err, err
    assert t.user_databases() == []
    # --to-stdout hands the SQL to whoever reads it: refused the same way.
    res = run_dumpfs(["restore", path, "--to-stdout"], env.config(None),
                     gnupghome=env.key.home)
    assert res.returncode == 1
    assert b"the SQL at line 6 holds the client command" in res.stderr
    assert not os.path.exists(marker)
