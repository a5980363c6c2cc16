"""Several recipients (docs/recipients.md): every dump is encrypted to all the keys of
[gpg] recipient, any one private key alone decrypts and restores it, and
`dumpfs verify` requires every configured recipient.

Real server, real gpg: each GpgKey lives in its own GNUPGHOME holding
only its own secret key, so a decryption with one home proves that key
alone suffices.
"""

import gzip
import os

import pytest

from harness.config import write_config
from harness.dumpfs import run_dumpfs
from harness.gpg import GpgKey
from harness.server import Server
from harness.workspace import Workspace


class Env(Workspace):
    prefix = "rcp"

    def setup(self):
        self.server = self.own(Server(name="rcp")).start()
        self.server.run_sql(
            "CREATE DATABASE shop;"
            "CREATE TABLE shop.item (id INT PRIMARY KEY, name VARCHAR(40));"
            "INSERT INTO shop.item VALUES (1,'apple'),(2,'pear');")
        self.user = self.server.create_backup_user()
        self.dpo = self.own(GpgKey(uid="Test DPO <dpo@test.local>"))
        self.escrow = self.own(GpgKey(uid="Escrow Officer <escrow@test.local>"))
        self.newkey = self.own(GpgKey(uid="New DPO Key <newdpo@test.local>"))
        password = "rcp-" + os.urandom(12).hex()
        self.restore_pw_file = self.secret("restore", password)
        self.server.run_sql(
            "CREATE USER 'restorer'@'127.0.0.1' IDENTIFIED BY '%s';"
            "GRANT ALL ON *.* TO 'restorer'@'127.0.0.1';" % password)

    def config(self, archive, keys, files=None, pins=None, recipients=None):
        """A config encrypting to `keys` (GpgKey list), public keys from
        `files` (default: each key's own file), pinned by `pins`."""
        path = self.next_config_path()
        gpg = {
            "public_key_file": ", ".join(files or [k.public_key_file for k in keys]),
            "recipient": recipients or ", ".join(k.email for k in keys),
        }
        if pins:
            gpg["fingerprint"] = ", ".join(pins)
        extra = {
            "gpg": gpg,
            "restore": {"host": self.server.host, "port": str(self.server.port),
                        "user": "restorer", "password_file": self.restore_pw_file},
        }
        return write_config(path, self.server, keys[0], user=self.user,
                            databases=["shop"], archive_dir=archive, extra=extra,
                            fingerprint=False)

    archive = Workspace.subdir

    def backup(self, name, keys, **kw):
        d = self.archive(name)
        cfg = self.config(d, keys, **kw)
        res = run_dumpfs(["backup"], cfg)
        assert res.returncode == 0, res.stderr.decode()
        names = [n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")]
        assert len(names) == 1, names
        return os.path.join(d, names[0]), cfg


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


@pytest.fixture(scope="module")
def both(env):
    """A backup to the DPO and the escrow key (two key files, pinned in
    the other order) and its config."""
    return env.backup("both", [env.dpo, env.escrow],
                      pins=[env.escrow.fingerprint, env.dpo.fingerprint])


def secret_keys(key):
    out = key._gpg(["--with-colons", "--list-secret-keys"]).stdout.decode()
    return [l for l in out.splitlines() if l.startswith("sec:")]


def recipients_of(path, key):
    """Key ids of the file's session key packets, via gpg --list-packets."""
    rc, text = key.list_packets(path)
    return [l.split("keyid ")[1].split()[0].upper() for l in text.splitlines()
            if l.startswith(":pubkey enc packet") and "keyid " in l]


def test_backup_decrypts_with_either_key_alone(env, both):
    path, _ = both
    for key in (env.dpo, env.escrow):
        assert len(secret_keys(key)) == 1  # this home holds only this key
        plain = gzip.decompress(key.decrypt(path))
        assert b"apple" in plain
        assert plain.rstrip().endswith(b"-- dumpfs: dump completed")
    ids = recipients_of(path, env.dpo)
    assert len(ids) == 2
    assert set(ids) & set(env.dpo.subkey_ids()) and set(ids) & set(env.escrow.subkey_ids())
    # A stranger's key decrypts nothing.
    res = env.newkey._gpg(["--decrypt", path], check=False)
    assert res.returncode != 0


def test_dump_to_file_goes_to_every_recipient(env):
    d = env.archive("dump")
    cfg = env.config(d, [env.dpo, env.escrow])
    out = os.path.join(d, "one.sql.gz.gpg")
    res = run_dumpfs(["dump", "-o", out], cfg)
    assert res.returncode == 0, res.stderr.decode()
    for key in (env.dpo, env.escrow):
        assert b"pear" in gzip.decompress(key.decrypt(out))


def test_one_file_holding_both_keys(env):
    ring = os.path.join(env.dir, "both-keys.asc")
    with open(ring, "wb") as f:
        for key in (env.dpo, env.escrow):
            with open(key.public_key_file, "rb") as k:
                f.write(k.read())
    # Recipients by fingerprint, in the other order than the file.
    path, cfg = env.backup("ring", [env.escrow, env.dpo], files=[ring],
                           recipients="%s,%s" % (env.escrow.fingerprint, env.dpo.fingerprint))
    for key in (env.dpo, env.escrow):
        assert b"apple" in gzip.decompress(key.decrypt(path))
    res = run_dumpfs(["verify", path], cfg)
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()


def test_verify_requires_every_configured_recipient(env, both):
    path, cfg = both
    res = run_dumpfs(["verify", path], cfg)
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()
    assert res.stdout.decode() == "%s: OK\n" % path
    # A config that lists one of the file's keys only: still addressed to it.
    res = run_dumpfs(["verify", path], env.config(env.archive("v1"), [env.dpo]))
    assert res.returncode == 0, res.stdout.decode()
    # Rotation: the new key was added after this file was made.
    rotated = env.config(env.archive("v2"), [env.dpo, env.escrow, env.newkey])
    res = run_dumpfs(["verify", path], rotated)
    out = res.stdout.decode()
    assert res.returncode == 1, out
    assert out.startswith(path + ": ")
    assert "not to the configured key %s (recipient 'newdpo@test.local')" % \
        env.newkey.fingerprint in out
    assert env.dpo.fingerprint not in out and env.escrow.fingerprint not in out
    assert "predates" in out and "DUMPFS_GPG_RECIPIENT" in out


def test_verify_of_a_single_key_file_names_the_missing_escrow(env, both):
    old, _ = env.backup("single", [env.dpo])
    _, cfg = both
    res = run_dumpfs(["verify", old], cfg)
    out = res.stdout.decode()
    assert res.returncode == 1, out
    assert "%s (recipient 'escrow@test.local')" % env.escrow.fingerprint in out
    assert "not to the configured key %s" % env.escrow.fingerprint in out
    # The operator's way to check old files: the recipients of their time.
    res = run_dumpfs(["verify", old], env.config(env.archive("single-v"), [env.dpo]))
    assert res.returncode == 0, res.stdout.decode()


def test_restore_with_either_key_alone(env, both):
    path, cfg = both
    for key in (env.dpo, env.escrow):
        env.server.run_sql("DROP DATABASE IF EXISTS shop;")
        res = run_dumpfs(["restore", path], cfg, gnupghome=key.home)
        assert res.returncode == 0, res.stderr.decode()
        assert env.server.scalar("SELECT GROUP_CONCAT(name ORDER BY id) FROM shop.item") \
            == "apple,pear"
    # Without either private key: refused, nothing loaded.
    env.server.run_sql("DROP DATABASE IF EXISTS shop;")
    res = run_dumpfs(["restore", path], cfg, gnupghome=env.newkey.home)
    assert res.returncode == 1
    assert "shop" not in env.server.user_databases()
    # Put the source back for the other tests.
    res = run_dumpfs(["restore", path], cfg, gnupghome=env.escrow.home)
    assert res.returncode == 0, res.stderr.decode()


def test_a_bad_entry_is_named(env):
    d = env.archive("bad")
    cases = [
        (env.config(d, [env.dpo, env.escrow],
                    recipients="dpo@test.local, nobody@test.local"),
         "no key for recipient 'nobody@test.local'"),
        (env.config(d, [env.dpo, env.escrow],
                    files=[env.dpo.public_key_file, os.path.join(env.dir, "missing.asc")]),
         "cannot read [gpg] public_key_file '%s'" % os.path.join(env.dir, "missing.asc")),
        (env.config(d, [env.dpo, env.escrow], pins=[env.dpo.fingerprint]),
         "has fingerprint %s, but [gpg] fingerprint pins %s" % (
             env.escrow.fingerprint, env.dpo.fingerprint)),
        (env.config(d, [env.dpo], pins=[env.dpo.fingerprint, env.escrow.fingerprint]),
         "[gpg] fingerprint pins %s, but no [gpg] recipient selects that key"
         % env.escrow.fingerprint),
        (env.config(d, [env.dpo, env.dpo]), "are the same key %s" % env.dpo.fingerprint),
    ]
    for cfg, want in cases:
        for cmd in (["backup"], ["verify", os.path.join(d, "x.sql.gz.gpg")]):
            res = run_dumpfs(cmd, cfg)
            err = res.stderr.decode()
            assert res.returncode != 0, (cmd, want)
            assert want in err, (cmd, want, err)
    assert [n for n in os.listdir(d) if n.endswith(".gpg")] == []
    # A malformed pin in the list stops the config load, naming the entry.
    cfg = env.config(d, [env.dpo, env.escrow], pins=[env.dpo.fingerprint, "ABCD"])
    res = run_dumpfs(["backup"], cfg)
    assert res.returncode == 2
    assert "'ABCD' is not one" in res.stderr.decode()


def test_mount_snapshot_and_status_list_every_recipient(env):
    from harness.mount import Mount

    d = env.archive("mount")
    cfg = env.config(d, [env.dpo, env.escrow])
    m = Mount(cfg, os.path.join(env.dir, "mnt"))
    try:
        st = m.status()
        assert st["key_fingerprints"] == [env.dpo.fingerprint, env.escrow.fingerprint]
        # Both expire in a day; the DPO's key was made first.
        assert st["key_fingerprint"] == env.dpo.fingerprint
        assert "encryption_keys count=2 fingerprints=\"%s,%s\"" % (
            env.dpo.fingerprint, env.escrow.fingerprint) in m.log()
        with open(m.path("snapshot/now.sql.gz.gpg"), "rb") as f:
            data = f.read()
        for key in (env.escrow, env.dpo):
            assert b"apple" in gzip.decompress(key.decrypt_bytes(data))
    finally:
        assert m.stop() == 0
