"""Real local notification sinks for the alert tests.

- HttpSink: an HTTP server on 127.0.0.1 (a free port, a thread) recording
  every request (method, path, headers, body); it can answer with a given
  status or hang without answering.
- SmtpSink: a small SMTP server (EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT,
  DATA, RSET, NOOP, QUIT, and with an ssl.SSLContext STARTTLS or implicit
  TLS as for smtps://) recording the envelope, the message and whether
  TLS was on; it can hang (accept and never greet).
Stdlib only."""

import base64
import email
import email.policy
import http.server
import re
import socket
import socketserver
import ssl
import threading
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A port nobody listens on (connection refused)."""
    return free_port()


# -- HTTP --------------------------------------------------------------------

class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class HttpSink:
    def __init__(self):
        self.requests = []  # dicts: method, path, headers, body, time
        self.status = 200
        self.hang = False
        self.lock = threading.Lock()
        self.hit = threading.Condition(self.lock)
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with sink.lock:
                    sink.requests.append({
                        "method": self.command, "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": body, "time": time.monotonic()})
                    sink.hit.notify_all()
                    hang, status = sink.hang, sink.status
                if hang:
                    time.sleep(120)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = _serve
            do_GET = _serve

        self.server = _HttpServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def wait(self, n, timeout=30):
        """Waits until n requests arrived; returns them."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.hit.wait(left)
            return list(self.requests)

    def posts(self, path=None):
        with self.lock:
            return [r for r in self.requests if r["method"] == "POST" and
                    (path is None or r["path"] == path)]

    def gets(self, path=None):
        with self.lock:
            return [r for r in self.requests if r["method"] == "GET" and
                    (path is None or r["path"] == path)]

    def clear(self):
        with self.lock:
            self.requests.clear()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# -- SMTP --------------------------------------------------------------------

class Mail:
    def __init__(self, mail_from, rcpt, data, auth, tls=False, auth_tls=False):
        self.mail_from = mail_from
        self.rcpt = rcpt
        self.data = data  # bytes, as received (dot-stuffing undone)
        self.auth = auth  # (user, password) or None
        self.tls = tls  # the message came over TLS
        self.auth_tls = auth_tls  # the password came over TLS
        self.msg = email.message_from_bytes(data, policy=email.policy.default)

    @property
    def subject(self):
        return str(self.msg["Subject"])

    def body(self):
        return self.msg.get_content()


class _SmtpHandler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def readline(self):
        line = self.rfile.readline(65536)
        if not line:
            raise EOFError
        return line.rstrip(b"\r\n").decode("utf-8", "replace")

    def start_tls(self):
        """Wraps the connection (raises ssl.SSLError when the client
        refuses the certificate)."""
        self.wfile.flush()
        self.connection = self.server.sink.tls.wrap_socket(self.connection,
                                                           server_side=True)
        self.rfile = self.connection.makefile("rb")
        self.wfile = self.connection.makefile("wb")
        self.tls_on = True

    def handle(self):
        sink = self.server.sink
        if sink.hang:
            time.sleep(120)
            return
        self.tls_on = False
        mail_from, rcpt, auth, auth_tls = None, [], None, False
        try:
            if sink.implicit_tls:
                self.start_tls()
            self.send("220 sink.test ESMTP")
            while True:
                line = self.readline()
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb):].strip()
                if verb == "EHLO":
                    self.send("250-sink.test")
                    if sink.tls and not self.tls_on and not sink.implicit_tls:
                        self.send("250-STARTTLS")
                    self.send("250-AUTH PLAIN LOGIN")
                    self.send("250 8BITMIME")
                elif verb == "STARTTLS" and sink.tls and not self.tls_on:
                    self.send("220 go ahead")
                    self.start_tls()
                    mail_from, rcpt, auth = None, [], None  # RFC 3207: reset
                elif verb == "HELO":
                    self.send("250 sink.test")
                elif verb == "AUTH":
                    with sink.lock:  # every attempt, mail or not
                        sink.auths.append((arg.split(" ", 1)[0].upper(), self.tls_on))
                    auth = self.auth(arg)
                    auth_tls = self.tls_on
                    self.send("235 ok" if auth else "535 no")
                elif verb == "MAIL":
                    mail_from = re.sub(r"^FROM:\s*<(.*?)>.*$", r"\1", arg, flags=re.I)
                    rcpt = []
                    self.send("250 ok")
                elif verb == "RCPT":
                    rcpt.append(re.sub(r"^TO:\s*<(.*?)>.*$", r"\1", arg, flags=re.I))
                    self.send("250 ok")
                elif verb == "DATA":
                    self.send("354 go")
                    data = self.read_data()
                    with sink.lock:
                        sink.mails.append(Mail(mail_from, rcpt, data, auth,
                                               self.tls_on, auth_tls))
                        sink.hit.notify_all()
                    self.send("250 queued")
                elif verb in ("RSET", "NOOP"):
                    self.send("250 ok")
                elif verb == "QUIT":
                    self.send("221 bye")
                    return
                else:
                    self.send("502 unknown")
        except (EOFError, ConnectionError, ssl.SSLError) as e:
            if isinstance(e, ssl.SSLError):
                with sink.lock:
                    sink.tls_errors.append(str(e))
        finally:
            if self.tls_on:
                self.connection.close()  # really closed with rfile/wfile

    def auth(self, arg):
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if mech == "PLAIN":
            blob = parts[1] if len(parts) > 1 else None
            if blob is None:
                self.send("334 ")
                blob = self.readline()
            _, user, pw = base64.b64decode(blob).decode().split("\0")
            return (user, pw)
        if mech == "LOGIN":
            self.send("334 VXNlcm5hbWU6")
            user = base64.b64decode(self.readline()).decode()
            self.send("334 UGFzc3dvcmQ6")
            pw = base64.b64decode(self.readline()).decode()
            return (user, pw)
        return None

    def read_data(self):
        out = []
        while True:
            line = self.rfile.readline(1 << 20)
            if not line:
                raise EOFError
            if line in (b".\r\n", b".\n"):
                return b"".join(out)
            if line.startswith(b".."):
                line = line[1:]
            out.append(line)


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class SmtpSink:
    def __init__(self, tls=None, implicit_tls=False):
        """tls: an ssl.SSLContext (server side) to offer STARTTLS with, or
        with implicit_tls to speak TLS from the first byte (smtps)."""
        self.mails = []
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.tls_errors = []  # handshakes the client refused
        self.auths = []  # (mechanism, over TLS) of every AUTH command
        self.hang = False
        self.lock = threading.Lock()
        self.hit = threading.Condition(self.lock)
        self.server = _SmtpServer(("127.0.0.1", 0), _SmtpHandler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("smtps" if self.implicit_tls else "smtp",
                                      self.port)

    def wait(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.mails) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.hit.wait(left)
            return list(self.mails)

    def clear(self):
        with self.lock:
            self.mails.clear()
            self.auths.clear()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
