"""Logs for a SIEM (docs/logging.md): `[log] format = json`, against a real
MariaDB server, a real GnuPG key, a real FUSE mount and the real alert
sinks (sinks.py).

- `dumpfs dump`, `dumpfs backup` (a good run and a failed one) and a mount
  that serves a snapshot: every line on stderr and in `[log] file` is one
  JSON object (json.loads, no key twice) with time (ISO-8601 UTC with
  milliseconds), level, event, host and pid, sizes and durations as
  numbers, booleans as booleans;
- the syslog message is the same object: dumpfs runs in a private mount
  namespace whose /dev/log is a datagram socket of the test;
- no secret (database password, webhook and heartbeat tokens, SMTP
  password) in any of it, nor in /proc of the backup and its children
  (harness/procsecrets.py);
- the compose stack's docker/dumpfs.ini switches with DUMPFS_LOG_FORMAT;
- contrib/logging: the rsyslog example passes `rsyslogd -N1` and, run by
  a real rsyslogd, turns the messages into the same objects; the Vector
  example (Vector is not packaged by Debian 12) is only checked as TOML.
"""

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import textwrap
import threading
import time

import pytest

from harness.config import write_config
from harness.dumpfs import assert_no_sanitizer, child_env, dumpfs_bin, run_dumpfs
from harness.gpg import GpgKey
from harness.mount import Mount
from harness.procsecrets import watch_for_secrets
from harness.server import Server
from harness.workspace import Workspace
from sinks import HttpSink, SmtpSink, closed_port

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"error": 3, "warn": 4, "info": 6, "debug": 7}  # syslog severities
SNAP = "snapshot/now.sql.gz.gpg"


class Env(Workspace):
    prefix = "jlog"

    def setup(self):
        self.server = self.own(Server(name="jlog")).start()
        self.server.run_sql(
            "CREATE DATABASE shop;"
            "CREATE TABLE shop.item (id INT PRIMARY KEY, name VARCHAR(40));"
            "INSERT INTO shop.item VALUES (1,'apple'),(2,'pear');")
        self.user = self.server.create_backup_user()
        self.key = self.own(GpgKey())
        self.http = self.own(HttpSink())
        self.smtp = self.own(SmtpSink())
        token = os.urandom(8).hex()
        self.token, self.hb_token = "TOKEN" + token, "HBTOKEN" + token
        self.smtp_password = "SMTP" + token
        self.webhook_file = self.secret("webhook", self.http.url("/hook/" + self.token))
        # Nobody listens: a notify_failed line, whose target and error must
        # not show the token either.
        self.heartbeat_file = self.secret(
            "heartbeat", "http://127.0.0.1:%d/hb/%s" % (closed_port(), self.hb_token))
        self.smtp_pw_file = self.secret("smtp", self.smtp_password)

    def secrets(self):
        return [self.user.password, self.token, self.hb_token, self.smtp_password]

    def config(self, name, port=None, syslog=False):
        """A JSON-logging config with alerts to the sinks; its [log] file
        is DIR/<name>.log."""
        path = self.next_config_path()
        d = self.subdir(name)
        extra = {
            "log": {"format": "json", "level": "debug",
                    "file": os.path.join(self.dir, name + ".log"),
                    "syslog": "true" if syslog else "false"},
            "notify": {"on": "always", "webhook_url_file": self.webhook_file,
                       "heartbeat_url_file": self.heartbeat_file,
                       "smtp_url": self.smtp.url, "smtp_user": "alerts", "smtp_tls": "off",
                       "smtp_password_file": self.smtp_pw_file,
                       "mail_from": "dumpfs@test.local", "mail_to": "dpo@test.local"},
        }
        if port:
            extra["mariadb"] = {"port": str(port)}
        return write_config(path, self.server, self.key, user=self.user,
                            databases=["shop"], archive_dir=d, extra=extra,
                            fingerprint=False)

    def log_file(self, name):
        with open(os.path.join(self.dir, name + ".log"), "rb") as f:
            return f.read().decode()


@pytest.fixture(scope="module")
def env():
    with Env() as e:
        yield e


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)


def parse(text, what):
    """Every line of text as a checked JSON object; the list."""
    assert text.endswith("\n"), (what, text[-300:])
    objs = []
    for line in text.splitlines():
        try:
            o = json.loads(line, object_pairs_hook=no_duplicates)
        except ValueError as e:
            raise AssertionError("%s: not JSON (%s): %r" % (what, e, line))
        assert isinstance(o, dict), (what, line)
        assert TIME.match(o.get("time", "")), (what, line)
        t = datetime.datetime.strptime(o["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        assert abs((now - t).total_seconds()) < 3600, (what, line)  # UTC, not local
        assert o.get("level") in LEVELS, (what, line)
        assert isinstance(o.get("event"), str) and o["event"], (what, line)
        assert o.get("host") == socket.gethostname(), (what, line)
        assert type(o.get("pid")) is int and o["pid"] > 0, (what, line)
        objs.append(o)
    return objs


def number(v):
    return type(v) in (int, float)


def events(objs, name):
    return [o for o in objs if o["event"] == name]


def one(objs, name):
    found = events(objs, name)
    assert len(found) == 1, (name, [o["event"] for o in objs])
    return found[0]


def assert_no_secret(env, *texts):
    for text in texts:
        for s in env.secrets():
            assert s not in text, "a secret (%s...) in the logs" % s[:4]


def test_dump_and_backup_log_json_on_stderr_and_in_the_file(env):
    cfg = env.config("runs")
    out = os.path.join(env.dir, "dump.sql.gz.gpg")
    res = run_dumpfs(["dump", "-c", cfg, "-o", out], timeout=300)
    dump_err = res.stderr.decode()
    assert res.returncode == 0, dump_err
    dump = parse(dump_err, "dump stderr")
    done = one(dump, "dump_written")
    assert done["level"] == "info" and done["file"] == out
    assert type(done["bytes"]) is int and done["bytes"] == os.path.getsize(out)
    assert type(done["sql_bytes"]) is int and done["sql_bytes"] > done["bytes"] / 10
    assert number(done["seconds"]) and done["seconds"] >= 0
    stats = one(dump, "dump.done")
    assert (stats["databases"], stats["tables"], stats["rows"]) == (1, 1, 2), stats
    db = one(dump, "dump.database")
    assert db["ok"] is True and db["database"] == "shop" and db["level"] == "debug"
    assert len({o["pid"] for o in dump}) == 1

    # A backup, watched for secrets in /proc as it runs.
    mark = "mark" + os.urandom(8).hex()
    rc, backup_err, children, found, _ = watch_for_secrets(
        [dumpfs_bin(), "backup", "-c", cfg], dict(child_env(), DFS_JLOG_MARK=mark),
        env.secrets(), mark, os.path.join(env.dir, "backup.err"),
        lambda names, err: b'"backup_start"' in err)
    assert rc == 0, backup_err
    assert found == [], found
    backup = parse(backup_err, "backup stderr")
    done = one(backup, "backup_done")
    name = done["file"]
    assert type(done["size"]) is int
    assert done["size"] == os.path.getsize(os.path.join(env.dir, "runs", name))
    assert number(done["seconds"]) and type(done["pruned"]) is int
    assert re.match(r"^[0-9a-f]{64}$", done["sha256"]), done
    sent = [o for o in events(backup, "notify_sent") if o["channel"] == "webhook"]
    assert sent and sent[0]["field_event"] in ("success", "recovered"), backup
    hb = [o for o in events(backup, "notify_failed") if o["channel"] == "heartbeat"]
    assert hb and hb[0]["level"] == "warn" and isinstance(hb[0]["error"], str), backup

    # A failed backup: the server is not there.  The command's own last
    # word is a JSON line too.
    down = env.config("down", port=closed_port())
    res = run_dumpfs(["backup", "-c", down], timeout=300)
    fail_err = res.stderr.decode()
    assert res.returncode == 1, fail_err
    failed = parse(fail_err, "failed backup stderr")
    assert one(failed, "backup_failed")["level"] == "error"
    last = one(failed, "command_failed")
    assert last["command"] == "backup" and last["level"] == "error", last
    assert "connect" in last["error"], last

    # [log] file: the same lines as stderr, run after run.
    file_lines = parse(env.log_file("runs"), "[log] file")
    assert [o["event"] for o in file_lines] == [o["event"] for o in dump + backup]
    down_file = parse(env.log_file("down"), "[log] file of the failed run")
    assert [o["event"] for o in down_file] == [o["event"] for o in failed if o is not last]
    assert_no_secret(env, dump_err, backup_err, fail_err, env.log_file("runs"),
                     env.log_file("down"))


def test_mount_logs_json(env):
    cfg = env.config("mount")
    m = Mount(cfg, os.path.join(env.dir, "mnt"))
    env.mounts.append(m)
    with open(m.path(SNAP), "rb") as f:
        data = f.read()
    assert len(data) > 100
    assert m.stop() == 0
    stderr = parse(m.log(), "mount stderr")
    mounted_line = one(stderr, "mounted")
    assert mounted_line["field_pid"] == mounted_line["pid"] == m.pid
    assert mounted_line["mode"] == "stream" and mounted_line["mountpoint"] == m.mnt
    opened, done = one(stderr, "snapshot_open"), one(stderr, "snapshot_done")
    assert type(opened["id"]) is int and opened["id"] == done["id"]
    assert type(done["bytes"]) is int and done["bytes"] == len(data)
    assert number(done["seconds"])
    assert stderr[-1]["event"] == "unmounted"
    file_lines = parse(env.log_file("mount"), "mount [log] file")
    assert [o["event"] for o in file_lines] == [o["event"] for o in stderr]
    assert_no_secret(env, m.log(), env.log_file("mount"))


# Replaces /dev, in a mount namespace of its own, by symlinks to the real
# entries, and /dev/log by a symlink to the test's socket ($1); then runs
# the rest of the arguments.  Nothing outside the namespace changes.
IN_NAMESPACE = textwrap.dedent("""\
    set -e
    real=$(mktemp -d "$1.dev-XXXXXX")
    mount --rbind /dev "$real"
    mount -t tmpfs -o mode=0755 tmpfs /dev
    for f in "$real"/* "$real"/.[!.]*; do
        if [ -e "$f" ] || [ -L "$f" ]; then ln -s "$f" /dev/; fi
    done
    ln -s "$1" /dev/log
    shift
    exec "$@"
""")

SYSLOG = re.compile(r"^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d dumpfs\[(\d+)\]: (.*)$",
                    re.S)


def syslog_run(env, cfg, sock_path):
    """`dumpfs backup -c cfg` with /dev/log at sock_path; (the
    CompletedProcess, the datagrams received)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(0.2)
    msgs, done = [], threading.Event()

    def receive():  # at once: a full queue would block syslog(3)
        while True:
            try:
                msgs.append(sock.recv(65536).decode())
            except socket.timeout:
                if done.is_set():
                    return

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    try:
        res = backup_in_namespace(cfg, sock_path)
    finally:
        done.set()
        reader.join()
        sock.close()
    return res, msgs


def backup_in_namespace(cfg, sock_path):
    """`dumpfs backup -c cfg` with /dev/log a symlink to sock_path."""
    res = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", IN_NAMESPACE,
         "sh", sock_path, dumpfs_bin(), "backup", "-c", cfg],
        env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=300)
    assert_no_sanitizer(res.stderr)
    return res


def test_syslog_message_is_the_json_object(env):
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed: tests/deps.sh installs it")
    for name, port, rc in (("sys-ok", None, 0), ("sys-down", closed_port(), 1)):
        res, msgs = syslog_run(env, env.config(name, port=port, syslog=True),
                               os.path.join(env.dir, name + ".sock"))
        err = res.stderr.decode()
        assert res.returncode == rc, err
        assert msgs, "nothing reached /dev/log:\n" + err
        objs = []
        for msg in msgs:
            m = SYSLOG.match(msg)
            assert m, msg
            pri, pid, text = int(m.group(1)), int(m.group(2)), m.group(3)
            assert "\n" not in text, msg
            o = parse(text + "\n", "syslog")[0]
            assert o["pid"] == pid, msg
            assert pri == 3 * 8 + LEVELS[o["level"]], msg  # LOG_DAEMON
            objs.append(o)
        # The same objects as stderr (less the command's last word).
        stderr = parse(err, "stderr")
        if rc:
            last = one(stderr, "command_failed")
            stderr = [o for o in stderr if o is not last]
        assert [o["event"] for o in objs] == [o["event"] for o in stderr]
        assert objs == stderr
        assert_no_secret(env, err, *msgs)
    failed = [o for o in objs if o["event"] == "backup_failed"]
    assert failed and failed[0]["level"] == "error"


# ---------------------------------------------------------------------------
# The compose stack's switch and the contrib examples

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_compose_config_switches_to_json_with_DUMPFS_LOG_FORMAT(env):
    """docker/dumpfs.ini as it is, with the variables compose.yml sets
    (DUMPFS_LOG_FORMAT) and the container's paths pointed here: a failing
    backup (nobody on the port) logs JSON with the variable, text
    without."""
    with open(os.path.join(ROOT, "docker", "compose.yml")) as f:
        assert "DUMPFS_LOG_FORMAT: ${DUMPFS_LOG_FORMAT:-text}" in f.read()
    archive = os.path.join(env.dir, "compose-archive")
    os.makedirs(archive)
    paths = dict(child_env(),
                 DUMPFS_MARIADB_HOST="127.0.0.1", DUMPFS_MARIADB_PORT=str(closed_port()),
                 DUMPFS_MARIADB_PASSWORD_FILE=env.user.password_file,
                 DUMPFS_GPG_PUBLIC_KEY_FILE=env.key.public_key_file,
                 DUMPFS_GPG_RECIPIENT=env.key.email, DUMPFS_ARCHIVE_DIR=archive)
    for fmt in ("json", None):
        variables = dict(paths, DUMPFS_LOG_FORMAT=fmt) if fmt else paths
        res = subprocess.run([dumpfs_bin(), "backup", "-c",
                              os.path.join(ROOT, "docker", "dumpfs.ini")],
                             env=variables, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=120)
        err = res.stderr.decode()
        assert_no_sanitizer(err)
        assert res.returncode == 1, err
        if fmt:
            objs = parse(err, "compose config, json")
            assert one(objs, "backup_failed")["level"] == "error"
            assert one(objs, "command_failed")["command"] == "backup"
        else:
            assert " error backup_failed " in err and "\ndumpfs: backup: " in err, err
            assert not err.startswith("{"), err
        assert env.user.password not in err


def test_rsyslog_example_passes_rsyslogd_check(tmp_path):
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.path.exists(rsyslogd):
        pytest.fail("no rsyslogd: tests/deps.sh test installs rsyslog and "
                    "rsyslog-elasticsearch")
    conf = os.path.join(ROOT, "contrib", "logging", "rsyslog-dumpfs.conf")
    res = subprocess.run([rsyslogd, "-N1", "-f", conf], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = res.stdout.decode(errors="replace")
    assert res.returncode == 0, out
    assert "error" not in out.lower(), out


def test_vector_example_is_wired():
    """Vector is not packaged by Debian 12, so `vector validate` cannot
    run here: only that the file is TOML and that every input names a
    source or transform of the file, and the sink labels level and event."""
    import tomllib
    with open(os.path.join(ROOT, "contrib", "logging", "vector.toml"), "rb") as f:
        conf = tomllib.load(f)
    names = set(conf["sources"]) | set(conf["transforms"])
    for kind in ("transforms", "sinks"):
        for name, c in conf[kind].items():
            assert c["inputs"] and set(c["inputs"]) <= names, (kind, name)
    assert conf["sinks"]["loki"]["labels"]["level"] == "{{ level }}"
    assert conf["sinks"]["loki"]["labels"]["event"] == "{{ event }}"
    assert "parse_json(.message)" in conf["transforms"]["dumpfs_json"]["source"]


def test_rsyslog_example_parses_what_dumpfs_sends(env, tmp_path):
    """contrib/logging/rsyslog-dumpfs.conf run by a real rsyslogd, its
    Elasticsearch action replaced by a file of the same documents: each
    document is the object dumpfs logged, typed as it was."""
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.path.exists(rsyslogd):
        pytest.fail("no rsyslogd: tests/deps.sh test installs rsyslog")
    with open(os.path.join(ROOT, "contrib", "logging", "rsyslog-dumpfs.conf")) as f:
        conf = f.read()
    docs, unparsed, sock = (str(tmp_path / n) for n in ("docs.json", "unparsed", "log.sock"))
    conf, n = re.subn(r'action\(type="omelasticsearch"[^)]*\)',
                      'action(type="omfile" file="%s" template="t-line")' % docs, conf)
    assert n == 1, "the example's omelasticsearch action was not found"
    conf = conf.replace("/var/log/dumpfs-unparsed.log", unparsed)
    head = ('global(workDirectory="%s")\n'
            'module(load="imuxsock" SysSock.Use="off")\n'
            'input(type="imuxsock" Socket="%s")\n'
            'template(name="t-line" type="list") {\n'
            '  property(name="$!all-json")\n  constant(value="\\n")\n}\n' % (tmp_path, sock))
    with open(tmp_path / "rsyslog.conf", "w") as f:
        f.write(head + conf)
    daemon = subprocess.Popen([rsyslogd, "-n", "-f", str(tmp_path / "rsyslog.conf"),
                               "-i", str(tmp_path / "rsyslogd.pid")],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            assert daemon.poll() is None and time.monotonic() < deadline, \
                daemon.stdout.read().decode(errors="replace")
            time.sleep(0.05)
        res = backup_in_namespace(env.config("rsyslog", syslog=True), sock)
        err = res.stderr.decode()
        assert res.returncode == 0, err
        logged = parse(err, "stderr")
        deadline = time.monotonic() + 30
        got = []
        while len(got) < len(logged) and time.monotonic() < deadline:
            time.sleep(0.1)
            if os.path.exists(docs):
                with open(docs) as f:
                    got = [json.loads(line, object_pairs_hook=no_duplicates)
                           for line in f.read().splitlines()]
    finally:
        daemon.terminate()
        out = daemon.communicate(timeout=30)[0].decode(errors="replace")
    assert got == logged, out
    assert not os.path.exists(unparsed)
    assert type(one(got, "backup_done")["size"]) is int
