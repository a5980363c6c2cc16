"""A throwaway GnuPG key pair in a private GNUPGHOME (short path: the agent's
socket lives there), no passphrase, expiring in a day."""

import os
import shutil
import subprocess
import tempfile


class GpgError(Exception):
    pass


class GpgKey:
    def __init__(self, uid="Test DPO <dpo@test.local>", algo="future-default",
                 expire="1d", armor=True, path=None):
        """path: use this (new) directory instead of a temporary one; keep
        it short (the agent's sockets live in it)."""
        self.uid = uid
        self.email = uid.split("<", 1)[1].rstrip(">") if "<" in uid else uid
        if path:
            os.makedirs(path)
            self.dir = path
        else:
            self.dir = tempfile.mkdtemp(prefix="dfg", dir="/tmp")
        self.home = os.path.join(self.dir, "h")
        os.mkdir(self.home, 0o700)
        self._gpg(["--quick-gen-key", uid, algo, "default", expire],
                  passphrase=True)
        self.fingerprint = self._primary_fingerprint()
        self.public_key_file = os.path.join(
            self.dir, "dpo_pubkey" + (".asc" if armor else ".gpg"))
        export = ["--export"] + (["--armor"] if armor else []) + [
            self.fingerprint]
        data = self._gpg(export).stdout
        if not data:
            raise GpgError("exported public key is empty")
        with open(self.public_key_file, "wb") as f:
            f.write(data)

    def env(self, base=None):
        env = dict(os.environ if base is None else base)
        env["GNUPGHOME"] = self.home
        return env

    def _gpg(self, args, input=None, passphrase=False, check=True,
             timeout=600):
        cmd = ["gpg", "--homedir", self.home, "--batch", "--no-tty",
               "--quiet"]
        if passphrase:
            cmd += ["--pinentry-mode", "loopback", "--passphrase", ""]
        res = subprocess.run(cmd + args, input=input, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=timeout)
        if check and res.returncode != 0:
            raise GpgError("gpg %s failed (%d): %s" % (
                " ".join(args[:2]), res.returncode,
                res.stderr.decode(errors="replace").strip()))
        return res

    def _primary_fingerprint(self):
        out = self._gpg(["--with-colons", "--list-keys", self.uid]).stdout
        lines = out.decode().splitlines()
        for i, line in enumerate(lines):
            if line.startswith("pub:"):
                for nxt in lines[i + 1:]:
                    if nxt.startswith("fpr:"):
                        return nxt.split(":")[9]
        raise GpgError("no fingerprint in gpg output")

    def subkey_ids(self):
        """Long key ids of all (sub)keys, upper case."""
        out = self._gpg(["--with-colons", "--list-keys", self.fingerprint])
        return [l.split(":")[4] for l in out.stdout.decode().splitlines()
                if l.startswith(("pub:", "sub:"))]

    def decrypt(self, path):
        """Plaintext of an encrypted file, in memory."""
        return self._gpg(["--decrypt", path]).stdout

    def decrypt_bytes(self, data):
        return self._gpg(["--decrypt"], input=data).stdout

    def decrypt_popen(self, path, stderr):
        """A running `gpg --decrypt path` with its plaintext on .stdout."""
        cmd = ["gpg", "--homedir", self.home, "--batch", "--no-tty",
               "--quiet", "--decrypt", path]
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=stderr)

    def list_packets(self, path):
        res = self._gpg(["--list-packets", path], check=False)
        return res.returncode, res.stdout.decode(errors="replace") + \
            res.stderr.decode(errors="replace")

    def close(self):
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "all"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def kill_agents(home):
    """Stops any agent a program under test started in `home`."""
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
