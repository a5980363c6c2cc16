"""A TCP relay on 127.0.0.1 in front of a test server, that can turn into a
black hole: it stops relaying without closing any socket (a server that
went silent: no packet, no reset, as a hung host or a dead network path).

- silence() / silence_after(n): every connection goes silent, now or once
  n more bytes went from the server to the clients; connections accepted
  while silent are held open and never relayed;
- per_conn_limit = n: each connection goes silent on its own after n
  bytes from the server, the others (new ones too) keep relaying.

Stdlib only; one thread per direction of each connection."""

import select
import socket
import threading
import time


class _Conn:
    def __init__(self):
        self.down = 0  # server -> client bytes relayed
        self.silent = False


class SilentProxy:
    def __init__(self, host, port):
        self.upstream = (host, port)
        self.lock = threading.Lock()
        self.relaying = True
        self.closed = False
        self.down_bytes = 0  # server -> client, all connections
        self.stop_after = None  # everything silent once down_bytes gets here
        self.per_conn_limit = None
        self.socks = []
        self.conns = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._spawn(self._accept)

    def _spawn(self, fn, *args):
        threading.Thread(target=fn, args=args, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self.lock:
                if self.closed:
                    client.close()
                    return
                self.socks.append(client)
                if not self.relaying:
                    continue  # held, silent
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            conn = _Conn()
            with self.lock:
                self.socks.append(server)
                self.conns.append(conn)
            self._spawn(self._relay, conn, client, server, False)
            self._spawn(self._relay, conn, server, client, True)

    def _relay(self, conn, src, dst, down):
        while True:
            with self.lock:
                if self.closed:
                    return
                go = self.relaying and not conn.silent
            if not go:
                # Silent: read nothing, send nothing, close nothing.
                time.sleep(0.1)
                continue
            try:
                ready = select.select([src], [], [], 0.1)[0]
                if not ready:
                    continue
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                if not self.relaying or conn.silent:
                    continue  # went silent meanwhile: lost, as on a dead path
                if down:
                    self.down_bytes += len(data)
                    conn.down += len(data)
                    if self.stop_after is not None and \
                            self.down_bytes >= self.stop_after:
                        self.relaying = False
                    if self.per_conn_limit is not None and \
                            conn.down >= self.per_conn_limit:
                        conn.silent = True
            try:
                dst.sendall(data)
            except OSError:
                return

    def silence_after(self, nbytes):
        """Everything goes silent once `nbytes` more went from the server
        to the clients."""
        with self.lock:
            self.stop_after = self.down_bytes + nbytes

    def silence(self):
        with self.lock:
            self.relaying = False

    def silent(self):
        with self.lock:
            return not self.relaying

    def silent_conns(self):
        """Connections silenced by per_conn_limit."""
        with self.lock:
            return sum(c.silent for c in self.conns)

    def resume(self):
        """Relays again; connections accepted while silent stay silent."""
        with self.lock:
            self.relaying = True
            self.stop_after = None

    def close(self):
        with self.lock:
            self.closed = True
            socks, self.socks = self.socks, []
        self.listener.close()
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
