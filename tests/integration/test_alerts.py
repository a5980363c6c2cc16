"""Alerts (docs/notifications.md) from `dumpfs backup`, delivered to real local
sinks: an HTTP server recording the webhook POSTs and heartbeat GETs, and
a small SMTP server recording envelope and message (sinks.py).

- a failed backup (server down): exactly one webhook JSON with status
  "error" and one mail with the configured subject, within the timeouts;
  the next success: "recovered" (on = failure) and the heartbeat; the one
  after: only the heartbeat; on = always / never;
- sinks down or hanging: the backup still succeeds within a bounded
  time, and the failure to notify is logged;
- a key expiring in 10 days: a warning in the log and one notice a day;
  an expired key: a clear failure, notified;
- no secret (database password, webhook and heartbeat tokens, SMTP
  password) in any output, log, state file or notification.

Needs the notifier wired into `dumpfs backup` (fs/cli/cmd_backup.c calling
alerts_new / notifier_run_begin / notifier_run_end) and
curl_global_init in main().
"""

import datetime
import json
import os
import re
import ssl
import subprocess
import time
import types

import pytest

from harness.config import write_config
from harness.gpg import GpgKey
from harness.server import Server
from harness.dumpfs import run_dumpfs
from harness.workspace import Workspace
from sinks import HttpSink, SmtpSink, closed_port

DEFAULT_SUBJECT = "[ALERTE][Backup MariaDB] Echec du backup"
ISO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


class Env(Workspace):
    prefix = "alrt"

    def setup(self):
        self.server = self.own(Server(name="alrt")).start()
        self.server.run_sql(
            "CREATE DATABASE shop;"
            "CREATE TABLE shop.item (id INT PRIMARY KEY, name VARCHAR(40));"
            "INSERT INTO shop.item VALUES (1,'apple'),(2,'pear');")
        self.user = self.server.create_backup_user()
        self.key = self.own(GpgKey(expire="2y"))
        self.http = self.own(HttpSink())
        self.smtp = self.own(SmtpSink())
        self.outputs = []  # everything dumpfs printed, for the secret check
        self.seen_http, self.seen_mail = [], []  # what reset_sinks cleared
        self.token = "TOKEN" + os.urandom(8).hex()
        self.hb_token = "HBTOKEN" + os.urandom(8).hex()
        self.smtp_password = "smtp-" + os.urandom(8).hex()
        self.webhook_file = self.secret("webhook", self.http.url("/hook/" + self.token))
        self.heartbeat_file = self.secret("heartbeat", self.http.url("/hb/" + self.hb_token))
        self.smtp_pw_file = self.secret("smtp", self.smtp_password)
        self.log_file = os.path.join(self.dir, "dumpfs.log")

    def secrets(self):
        return [self.user.password, self.token, self.hb_token, self.smtp_password]

    archive_dir = Workspace.subdir

    def config(self, archive_dir, port=None, key=None, webhook=None, heartbeat=None,
               smtp_url=None, **notify):
        """A config; webhook/heartbeat: a URL secret file (default: the
        sinks), smtp_url: default the SMTP sink; '' leaves one out.  Mail
        goes with AUTH, and in clear (smtp_tls = off: the sink offers no
        STARTTLS) unless notify says otherwise; smtp_user='' sends no
        AUTH."""
        path = self.next_config_path()
        notify = {k: str(v) for k, v in notify.items()}
        webhook = self.webhook_file if webhook is None else webhook
        heartbeat = self.heartbeat_file if heartbeat is None else heartbeat
        smtp_url = self.smtp.url if smtp_url is None else smtp_url
        if webhook:
            notify["webhook_url_file"] = webhook
        if heartbeat:
            notify["heartbeat_url_file"] = heartbeat
        if smtp_url:
            mail = dict(smtp_url=smtp_url, smtp_user="alerts", smtp_tls="off",
                        smtp_password_file=self.smtp_pw_file,
                        mail_from="dumpfs@db1.test.local",
                        mail_to="dpo@test.local, ops@test.local")
            notify = dict(mail, **notify)
            if not notify["smtp_user"]:
                del notify["smtp_user"], notify["smtp_password_file"]
        extra = {"log": {"file": self.log_file}, "notify": notify}
        if port:
            extra["mariadb"] = {"port": str(port)}
        return write_config(path, self.server, key or self.key, user=self.user,
                            databases=["shop"], archive_dir=archive_dir, extra=extra,
                            fingerprint=False)

    def backup(self, cfg, timeout=120):
        t0 = time.monotonic()
        res = run_dumpfs(["backup"], cfg, timeout=timeout)
        res.elapsed = time.monotonic() - t0
        self.outputs.append(res.stdout + res.stderr)
        return res

    def reset_sinks(self):
        with self.http.lock:
            self.seen_http += self.http.requests
        with self.smtp.lock:
            self.seen_mail += self.smtp.mails
        self.http.clear()
        self.smtp.clear()
        self.http.hang = self.smtp.hang = False
        self.http.status = 200


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


def hooks(env):
    return [json.loads(r["body"]) for r in env.http.posts("/hook/" + env.token)]


def heartbeats(env):
    return env.http.gets("/hb/" + env.hb_token)


def settle(env, seconds=1.0):
    """Deliveries are done when dumpfs exits; a short grace for the
    sinks' threads to record them."""
    time.sleep(seconds)


def test_failure_then_recovered_then_quiet(env):
    env.reset_sinks()
    d = env.archive_dir("fail")
    down = env.config(d, port=closed_port())
    res = env.backup(down)
    assert res.returncode == 1, res.stderr.decode()
    assert res.elapsed < 45, "notifying took %.1fs" % res.elapsed
    settle(env)
    posts = hooks(env)
    assert len(posts) == 1, posts
    p = posts[0]
    assert p["status"] == "error" and p["event"] == "failure"
    assert p["message"] and "127.0.0.1" in p["message"]
    assert ISO_OFFSET.match(p["timestamp"]), p["timestamp"]
    assert p["host"] == os.uname().nodename
    req = env.http.posts("/hook/" + env.token)[0]
    assert req["headers"].get("Content-Type") == "application/json"
    mails = env.smtp.wait(1)
    assert len(mails) == 1
    m = mails[0]
    assert m.subject == DEFAULT_SUBJECT
    assert m.mail_from == "dumpfs@db1.test.local"
    assert sorted(m.rcpt) == ["dpo@test.local", "ops@test.local"]
    assert m.auth == ("alerts", env.smtp_password)  # AUTH worked
    for h in ("Date", "Message-ID", "From", "To", "MIME-Version"):
        assert m.msg[h], h
    assert m.msg.get_content_type() == "text/plain"
    body = m.body()
    assert p["message"][:60] in body
    assert "Archive dir: %s" % d in body
    assert "Host:" in body and "Time:" in body
    assert "Last log lines:" in body and "backup_failed" in body
    assert heartbeats(env) == []

    # The server is back: one "recovered", and the heartbeat.
    env.reset_sinks()
    up = env.config(d)
    res = env.backup(up)
    assert res.returncode == 0, res.stderr.decode()
    settle(env)
    posts = hooks(env)
    assert len(posts) == 1, posts
    p = posts[0]
    assert p["status"] == "success" and p["event"] == "recovered"
    names = [n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")]
    assert p["file"] == names[0]
    assert p["size_bytes"] == os.path.getsize(os.path.join(d, names[0]))
    assert p["duration_seconds"] >= 0
    mails = env.smtp.wait(1)
    assert len(mails) == 1 and "recovered" in mails[0].subject
    assert len(heartbeats(env)) == 1

    # Business as usual: only the heartbeat.
    env.reset_sinks()
    res = env.backup(up)
    assert res.returncode == 0, res.stderr.decode()
    settle(env)
    assert hooks(env) == []
    assert env.smtp.mails == []
    assert len(heartbeats(env)) == 1


def test_every_failed_run_is_notified(env):
    env.reset_sinks()
    d = env.archive_dir("fail2")
    down = env.config(d, port=closed_port())
    for i in range(2):
        assert env.backup(down).returncode == 1
    settle(env)
    assert [p["event"] for p in hooks(env)] == ["failure", "failure"]
    assert len(env.smtp.wait(2)) == 2


def test_on_always_and_never(env):
    env.reset_sinks()
    d = env.archive_dir("always")
    res = env.backup(env.config(d, on="always"))
    assert res.returncode == 0, res.stderr.decode()
    settle(env)
    posts = hooks(env)
    assert [p["event"] for p in posts] == ["success"]
    assert posts[0]["status"] == "success"
    mails = env.smtp.wait(1)
    assert len(mails) == 1 and "succeeded" in mails[0].subject

    env.reset_sinks()
    d = env.archive_dir("never")
    assert env.backup(env.config(d, port=closed_port(), on="never")).returncode == 1
    assert env.backup(env.config(d, on="never")).returncode == 0
    settle(env)
    assert hooks(env) == []
    assert env.smtp.mails == []
    assert len(heartbeats(env)) == 1  # the dead man's switch still ticks


def test_non_ascii_subject(env):
    env.reset_sinks()
    d = env.archive_dir("subject")
    subject = "[ALERTE][Sauvegarde MariaDB] Échec de la sauvegarde « prod »"
    res = env.backup(env.config(d, port=closed_port(), mail_subject=subject))
    assert res.returncode == 1
    mails = env.smtp.wait(1)
    assert len(mails) == 1
    assert mails[0].subject == subject
    assert b"=?UTF-8?B?" in mails[0].data.split(b"\r\n\r\n")[0]


def test_sinks_down_do_not_fail_the_backup(env):
    env.reset_sinks()
    d = env.archive_dir("down")
    port = closed_port()
    hook = env.secret("hook-down", "http://127.0.0.1:%d/hook/%s" % (port, env.token))
    hb = env.secret("hb-down", "http://127.0.0.1:%d/hb/%s" % (port, env.hb_token))
    cfg = env.config(d, webhook=hook, heartbeat=hb,
                     smtp_url="smtp://127.0.0.1:%d" % port, on="always")
    res = env.backup(cfg)
    assert res.returncode == 0, res.stderr.decode()
    assert res.elapsed < 30, "took %.1fs" % res.elapsed
    err = res.stderr.decode()
    for channel in ("webhook", "mail", "heartbeat"):
        assert re.search(r"warn notify_failed channel=%s target=\S+://127\.0\.0\.1:%d " %
                         (channel, port), err), err
    # A failed backup stays a failure (exit 1), notifying or not.
    res = env.backup(env.config(d, webhook=hook, heartbeat=hb,
                                smtp_url="smtp://127.0.0.1:%d" % port, port=closed_port()))
    assert res.returncode == 1


def test_hanging_sinks_are_bounded(env):
    env.reset_sinks()
    env.http.hang = True
    env.smtp.hang = True
    d = env.archive_dir("hang")
    try:
        res = env.backup(env.config(d, on="always"), timeout=180)
    finally:
        env.http.hang = env.smtp.hang = False
    assert res.returncode == 0, res.stderr.decode()
    # In parallel: webhook 15 s + 2 s + 15 s, mail 30 s, heartbeat
    # 10 + 2 + 10 s: the slowest bounds it.
    assert res.elapsed < 50, "took %.1fs" % res.elapsed
    err = res.stderr.decode()
    assert "notify_failed channel=webhook" in err, err
    assert "notify_failed channel=mail" in err, err
    assert len([n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")]) == 1


def test_key_expiring_in_10_days_is_warned_once_a_day(env):
    key = GpgKey(uid="Soon Expiring <soon@test.local>", expire="10d")
    try:
        env.reset_sinks()
        d = env.archive_dir("expiring")
        cfg = env.config(d, key=key)
        res = env.backup(cfg)
        assert res.returncode == 0, res.stderr.decode()
        err = res.stderr.decode()
        assert re.search(r" warn key_expiry fingerprint=%s " % key.fingerprint, err), err
        settle(env)
        posts = hooks(env)
        assert [p["event"] for p in posts] == ["key_expiry"], posts
        assert posts[0]["status"] == "error"
        assert posts[0]["key_fingerprint"] == key.fingerprint
        exp = datetime.datetime.fromisoformat(posts[0]["key_expires"])
        days = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400
        assert 9 < days <= 10.01, days
        assert "in 10 days" in posts[0]["message"]
        mails = env.smtp.wait(1)
        assert len(mails) == 1 and "expires soon" in mails[0].subject
        # Same day: no second notice.
        env.reset_sinks()
        assert env.backup(cfg).returncode == 0
        settle(env)
        assert hooks(env) == []
        with open(os.path.join(d, ".dumpfs-state")) as f:
            state = f.read()
        assert "expiry_warned_day=%d\n" % (int(time.time()) // 86400) in state
    finally:
        key.close()


def expired_key(tmp):
    """A key pair that expired in 2020 (generated with a faked clock)."""
    home = os.path.join(tmp, "exp-home")
    os.mkdir(home, 0o700)
    gpg = ["gpg", "--homedir", home, "--batch", "--no-tty", "--quiet",
           "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(gpg + ["--faked-system-time", "20200101T000000!",
                          "--quick-gen-key", "Expired DPO <expired@test.local>",
                          "future-default", "default", "1d"],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pub = os.path.join(tmp, "expired.asc")
    with open(pub, "wb") as f:
        f.write(subprocess.run(gpg + ["--armor", "--export", "expired@test.local"],
                               check=True, stdout=subprocess.PIPE).stdout)
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    class K:
        public_key_file = pub
        email = "expired@test.local"
    return K()


def test_expired_key_fails_clearly(env):
    env.reset_sinks()
    d = env.archive_dir("expired")
    key = expired_key(env.dir)
    res = env.backup(env.config(d, key=key))
    assert res.returncode != 0
    err = res.stderr.decode()
    assert "expired" in err, err
    settle(env)
    posts = hooks(env)
    assert [p["event"] for p in posts] == ["failure"], posts
    assert "expired" in posts[0]["message"]
    assert len(env.smtp.wait(1)) == 1
    assert not [n for n in os.listdir(d) if n.endswith(".sql.gz.gpg")]


# -- SMTP over TLS: STARTTLS (smtp_tls) and smtps://, with a private CA ------

@pytest.fixture(scope="module")
def tls(env):
    """A private CA (ca_file) and a certificate for 127.0.0.1 signed by it;
    an SSL context serving that certificate."""
    d = os.path.join(env.dir, "tls")
    os.makedirs(d)

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=dumpfs test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key",
            "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "san.ext")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "srv.pem"), os.path.join(d, "srv.key"))
    return types.SimpleNamespace(ctx=ctx, ca_file=os.path.join(d, "ca.pem"))


def tls_backup(env, sink, name, **notify):
    """A successful backup with on = always, its mail sent to `sink`."""
    d = env.archive_dir(name)
    try:
        res = env.backup(env.config(d, smtp_url=sink.url, on="always", **notify))
    finally:
        sink.close()
    assert res.returncode == 0, res.stderr.decode()
    return res.stderr.decode()


def test_starttls_required_with_the_ca_file(env, tls):
    env.reset_sinks()
    sink = SmtpSink(tls=tls.ctx)
    err = tls_backup(env, sink, "tls-req", smtp_tls="require", ca_file=tls.ca_file)
    assert "notify_failed" not in err, err
    assert len(sink.mails) == 1, err
    m = sink.mails[0]
    assert m.tls and m.auth_tls, "mail or password sent before STARTTLS"
    assert m.auth == ("alerts", env.smtp_password)
    assert "succeeded" in m.subject


def test_smtps_implicit_tls(env, tls):
    env.reset_sinks()
    sink = SmtpSink(tls=tls.ctx, implicit_tls=True)
    assert sink.url.startswith("smtps://")
    err = tls_backup(env, sink, "tls-smtps", ca_file=tls.ca_file)
    assert len(sink.mails) == 1, err
    assert sink.mails[0].tls and sink.mails[0].auth_tls


def test_starttls_required_but_not_offered_sends_nothing(env, tls):
    env.reset_sinks()
    sink = SmtpSink()  # no STARTTLS in its EHLO
    err = tls_backup(env, sink, "tls-none", smtp_tls="require", ca_file=tls.ca_file)
    assert re.search(r"warn notify_failed channel=mail target=smtp://127\.0\.0\.1:%d "
                     % sink.port, err), err
    assert sink.mails == [], "sent in clear text although smtp_tls = require"


def test_untrusted_certificate_is_refused(env, tls):
    env.reset_sinks()
    sink = SmtpSink(tls=tls.ctx)
    err = tls_backup(env, sink, "tls-untrusted", smtp_tls="require")  # no ca_file
    assert "notify_failed channel=mail" in err, err
    assert sink.mails == []
    assert sink.tls_errors, "the handshake should have been refused by dumpfs"


def test_smtp_tls_off_and_try(env, tls):
    env.reset_sinks()
    sink = SmtpSink(tls=tls.ctx)
    err = tls_backup(env, sink, "tls-off", smtp_tls="off")
    assert len(sink.mails) == 1 and not sink.mails[0].tls, err
    sink = SmtpSink()  # try without AUTH: clear text when not offered
    err = tls_backup(env, sink, "tls-try", smtp_tls="try", smtp_user="")
    assert len(sink.mails) == 1 and not sink.mails[0].tls, err
    assert sink.mails[0].auth is None and sink.auths == []
    sink = SmtpSink(tls=tls.ctx)  # try: uses it when offered
    err = tls_backup(env, sink, "tls-try2", smtp_tls="try", ca_file=tls.ca_file)
    assert len(sink.mails) == 1 and sink.mails[0].tls, err


def test_smtp_user_makes_try_require_tls(env):
    """A server whose EHLO offers no STARTTLS (as a man in the middle who
    strips it would show it): with smtp_user, smtp_tls = try sends no AUTH
    and no mail, and the failure to notify says why."""
    env.reset_sinks()
    sink = SmtpSink()
    err = tls_backup(env, sink, "tls-try-user", smtp_tls="try")
    assert sink.auths == [], "AUTH sent without TLS"
    assert sink.mails == []
    assert re.search(r"warn notify_failed channel=mail target=smtp://127\.0\.0\.1:%d .*"
                     r"offers no STARTTLS" % sink.port, err), err


def test_no_secret_anywhere(env):
    """Last: everything the tests above made dumpfs print, log, store or
    send."""
    blobs = list(env.outputs)
    with open(env.log_file, "rb") as f:
        blobs.append(f.read())
    for root, _, files in os.walk(env.dir):
        for name in files:
            if name.startswith(".dumpfs-state"):
                with open(os.path.join(root, name), "rb") as f:
                    blobs.append(f.read())
    env.reset_sinks()
    blobs += [r["body"] + repr(r["headers"]).encode() for r in env.seen_http]
    blobs += [m.data for m in env.seen_mail]
    assert len(blobs) > 10
    for secret in env.secrets():
        for b in blobs:
            assert secret.encode() not in b, "a secret leaked"
