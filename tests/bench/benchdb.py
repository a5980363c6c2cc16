"""The benchmark's MariaDB: a private server on a cached datadir, and the
generator of its dataset.

The datadir lives in BENCH_DIR (default /var/tmp/dumpfs-bench), one per
dataset size and generator version, so a rerun starts the server on data
built earlier instead of regenerating it.  The server is private (own
socket and tmpdir under the run directory, free TCP port, no defaults
files) and runs with InnoDB, redo log, temporary files and binlog encrypted
through file_key_management, like the integration tests.

Rows are generated server-side (INSERT ... SELECT from the SEQUENCE engine's
seq_A_to_B tables with RAND, ELT, RANDOM_BYTES...), never piped through
Python.  Stdlib only.
"""

import fcntl
import os
import secrets
import shutil
import socket
import subprocess
import time

# Bump when the schema or the generators change: old caches are ignored.
DATASET_VERSION = 2
DB_NAME = "shop"
BACKUP_USER = "backup_ro"
BACKUP_PRIVS = ("SELECT, SHOW VIEW, RELOAD, LOCK TABLES, REPLICATION CLIENT, "
                "EVENT, TRIGGER")


class BenchError(Exception):
    pass


def parse_size(text):
    """'256M', '1G', '1GiB', '300000000' -> bytes."""
    t = text.strip().upper().rstrip("B").rstrip("I")
    mult = 1
    if t and t[-1] in "KMGT":
        mult = 1024 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    try:
        val = float(t)
    except ValueError:
        raise BenchError("cannot parse size '%s' (use e.g. 256M or 1G)" % text)
    if val <= 0:
        raise BenchError("size '%s' must be positive" % text)
    return int(val * mult)


def size_label(nbytes):
    mib = nbytes // (1024 * 1024)
    if mib and mib % 1024 == 0:
        return "%dG" % (mib // 1024)
    return "%dM" % max(mib, 1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PidFile:
    """The pids of the processes a run started, one per line in `path`, so
    bench.sh's exit trap can kill what an interrupted run left behind."""

    def __init__(self, path):
        self.path = path
        self.pids = set()
        self._write()

    def _write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("".join("%d\n" % p for p in sorted(self.pids)))
        os.replace(tmp, self.path)

    def add(self, pid):
        self.pids.add(pid)
        self._write()

    def remove(self, pid):
        self.pids.discard(pid)
        self._write()


class Server:
    """mariadbd on `datadir` (with `keys_file`), runtime files in `rundir`."""

    def __init__(self, datadir, keys_file, rundir, buffer_pool, pids):
        self.datadir = datadir
        self.keys_file = keys_file
        self.rundir = rundir
        self.tmpdir = os.path.join(rundir, "tmp")
        self.socket = os.path.join(rundir, "sock")
        self.pid_file = os.path.join(rundir, "mariadbd.pid")
        self.error_log = os.path.join(rundir, "mariadbd.err")
        self.buffer_pool = buffer_pool
        self.pids = pids  # PidFile: bench.sh kills what is left on exit
        self.proc = None
        self.port = None
        os.makedirs(self.tmpdir, exist_ok=True)

    def _args(self):
        args = [
            "--no-defaults", "--datadir=" + self.datadir,
            "--plugin-load-add=file_key_management",
            "--file-key-management-filename=" + self.keys_file,
            "--file-key-management-encryption-algorithm=AES_CTR",
            "--innodb-encrypt-tables=ON", "--innodb-encrypt-log=ON",
            "--innodb-encrypt-temporary-tables=ON",
            "--innodb-encryption-threads=1",
            "--encrypt-tmp-disk-tables=ON", "--encrypt-tmp-files=ON",
            "--tmpdir=" + self.tmpdir,
            "--innodb-buffer-pool-size=" + self.buffer_pool,
            "--innodb-log-file-size=256M",
            "--innodb-flush-log-at-trx-commit=2", "--innodb-doublewrite=0",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--user=root")
        return args

    def install(self):
        with open(self.keys_file, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            for key_id in (1, 2):
                f.write("%d;%s\n" % (key_id, secrets.token_hex(32)))
        cmd = ["mariadb-install-db"] + self._args() + [
            "--auth-root-authentication-method=normal", "--skip-test-db"]
        res = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=600)
        if res.returncode != 0:
            raise BenchError("mariadb-install-db failed (%d):\n%s" % (
                res.returncode, res.stdout.decode(errors="replace")[-3000:]))

    def start(self, timeout=180):
        self.port = free_port()
        cmd = ["mariadbd"] + self._args() + [
            "--socket=" + self.socket, "--port=%d" % self.port,
            "--bind-address=127.0.0.1", "--pid-file=" + self.pid_file,
            "--log-error=" + self.error_log,
            "--log-bin=" + os.path.join(self.datadir, "binlog"),
            "--server-id=1", "--encrypt-binlog=ON",
            "--max-allowed-packet=1G", "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.pids.add(self.proc.pid)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.pids.remove(self.proc.pid)
                raise BenchError("mariadbd exited with %s at start; log %s:\n"
                                 "%s" % (self.proc.returncode, self.error_log,
                                         self.log_tail()))
            res = subprocess.run(self.client() + ["--connect-timeout=2", "-e",
                                                  "SELECT 1"],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if res.returncode == 0:
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise BenchError("mariadbd did not start within %ds; log %s"
                                 % (timeout, self.error_log))
            time.sleep(0.2)

    def stop(self, timeout=300):
        if self.proc is None or self.proc.poll() is not None:
            return
        subprocess.run(["mariadb-admin", "--no-defaults", "-uroot", "-S",
                        self.socket, "--shutdown-timeout=%d" % timeout,
                        "shutdown"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=timeout + 10)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.pids.remove(self.proc.pid)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.pids.remove(self.proc.pid)

    def log_tail(self, n=3000):
        try:
            with open(self.error_log, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return "(no error log)"

    def client(self):
        return ["mariadb", "--no-defaults", "-uroot", "-S", self.socket,
                "--default-character-set=utf8mb4"]

    def sql(self, text, db=None, timeout=3600):
        """Runs SQL text as root; returns rows (lists of str) of the output."""
        cmd = self.client() + ["-N", "-B", "--max-allowed-packet=1G"]
        if db:
            cmd.append(db)
        res = subprocess.run(cmd, input=text.encode(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=timeout)
        if res.returncode != 0:
            raise BenchError("SQL failed: %s\n-- in: %s" % (
                res.stderr.decode(errors="replace").strip(), text[:400]))
        out = res.stdout.decode(errors="replace")
        return [line.split("\t") for line in out.split("\n") if line]


# -- the dataset --------------------------------------------------------------

def _q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def _elt(words):
    """An SQL expression picking one of `words` at random per row."""
    return "ELT(1 + FLOOR(RAND() * %d), %s)" % (
        len(words), ", ".join(_q(w) for w in words))


WORDS = (
    "order shipped customer payment refund delivery address street quality "
    "product returned damaged invoice pending priority express standard "
    "warehouse stock please contact support thanks again late fast good "
    "package box color size large small the of and to with for not on "
    "Bestellung Lieferung Rechnung Kunde Straße schnell Größe Qualität "
    "zurück bitte danke Paket Grüße commande livraison facture client "
    "rapide qualité taille colis merci retour été très déjà pedido envío "
    "factura cliente rápido calidad tamaño paquete gracias devolución año "
    "zamówienie dostawa faktura żółty dziękuję заказ доставка счёт клиент "
    "быстро качество размер посылка спасибо возврат παραγγελία αποστολή "
    "τιμολόγιο πελάτης ευχαριστώ 订单 发货 发票 客户 快速 质量 包裹 谢谢 注文 "
    "配送 請求書 お客様 ありがとう طلب شحن فاتورة عميل شكرا 📦 👍 🚚 ✅ 😀 "
    "O'Brien C:\\temp 50% \"quoted\" n°42 €19,99").split()
FIRST = ("Anna Ben Clara David Emma Felix Greta Hans Jürgen François José "
         "Zoë Łukasz Søren Ólafur Inés Дмитрий Ольга Γιώργος Ελένη 王伟 李娜 "
         "陽翔 さくら محمد فاطمة Aoife Siobhán").split()
LAST = ("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Dubois "
        "García Fernández Kowalski Nowak Jensen Иванов Смирнова Παπαδόπουλος "
        "王 李 佐藤 鈴木 الحسن O'Brien van_der_Berg").split()
CITIES = ("Berlin München Köln Paris Lyon Besançon Madrid Sevilla Kraków "
          "Łódź København Reykjavík Москва Санкт-Петербург Αθήνα 北京 上海 "
          "東京 大阪 القاهرة Dublin São_Paulo Zürich Genève").split()
COUNTRIES = "DE FR ES PL DK IS RU GR CN JP EG IE BR CH".split()
DOMAINS = "example.com mail.test post.example web.example firma.test".split()


def _text(nwords, vary):
    """A sentence of up to nwords random words, cut at a row-dependent
    word count when vary (so lengths spread)."""
    words = ", ".join([_elt(WORDS)] * nwords)
    s = "CONCAT_WS(' ', %s)" % words
    if vary:
        s = "SUBSTRING_INDEX(%s, ' ', 3 + seq %% %d)" % (s, nwords - 2)
    return s


SCHEMA = """
CREATE DATABASE %(db)s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE %(db)s;
CREATE TABLE customers (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  first_name VARCHAR(40) NOT NULL,
  last_name VARCHAR(60) NOT NULL,
  email VARCHAR(120) NOT NULL,
  country CHAR(2) NOT NULL,
  city VARCHAR(60) NOT NULL,
  birth_date DATE NULL,
  created_at DATETIME(6) NOT NULL,
  balance DECIMAL(12,2) NOT NULL,
  score DOUBLE NOT NULL,
  vip TINYINT(1) NOT NULL,
  bio TEXT NULL,
  KEY (last_name)
) ENGINE=InnoDB;
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  ordered_at DATETIME NOT NULL,
  ship_date DATE NULL,
  status ENUM('new','paid','shipped','delivered','cancelled','returned')
    NOT NULL,
  currency CHAR(3) NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  tax_rate DECIMAL(5,4) NOT NULL,
  quantity SMALLINT UNSIGNED NOT NULL,
  sku CHAR(12) NOT NULL,
  ship_city VARCHAR(60) NOT NULL,
  note VARCHAR(500) NULL,
  KEY (customer_id)
) ENGINE=InnoDB;
CREATE TABLE order_events (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  at TIMESTAMP(3) NOT NULL,
  level ENUM('debug','info','warning','error') NOT NULL,
  source VARCHAR(32) NOT NULL,
  message TEXT NOT NULL
) ENGINE=InnoDB;
CREATE TABLE documents (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  mime VARCHAR(64) NOT NULL,
  sha256 CHAR(64) NOT NULL,
  created_at DATETIME NOT NULL,
  body MEDIUMBLOB NOT NULL
) ENGINE=InnoDB;
CREATE VIEW order_totals AS
  SELECT customer_id, COUNT(*) AS n, SUM(amount) AS total
  FROM orders GROUP BY customer_id;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(64));
CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id));
CREATE FUNCTION gross(net DECIMAL(12,2), rate DECIMAL(5,4))
  RETURNS DECIMAL(12,2) DETERMINISTIC RETURN net * (1 + rate);
CREATE PROCEDURE top_customers(IN n INT)
  SELECT customer_id, total FROM order_totals ORDER BY total DESC LIMIT n;
"""

# Share of DATA_LENGTH per table; documents (random bytes) ~13%.
WEIGHTS = {"customers": 0.15, "orders": 0.35, "order_events": 0.37,
           "documents": 0.13}


def _insert_sql(table, lo, hi):
    """INSERT ... SELECT generating rows lo..hi of `table`."""
    seq = "seq_%d_to_%d" % (lo, hi)
    if table == "customers":
        return (
            "INSERT INTO customers SELECT seq, %s, %s, "
            "CONCAT('user', seq, '@', %s), %s, %s, "
            "IF(seq %% 11 = 0, NULL, DATE('1940-01-01') + INTERVAL "
            "FLOOR(RAND() * 25000) DAY), "
            "TIMESTAMP('2015-01-01') + INTERVAL FLOOR(RAND() * 3e8) SECOND "
            "+ INTERVAL FLOOR(RAND() * 1e6) MICROSECOND, "
            "ROUND(RAND() * 20000 - 2000, 2), RAND() * 100, seq %% 17 = 0, "
            "IF(seq %% 5 = 0, NULL, %s) FROM %s"
            % (_elt(FIRST), _elt(LAST), _elt(DOMAINS), _elt(COUNTRIES),
               _elt(CITIES), _text(30, True), seq))
    if table == "orders":
        return (
            "INSERT INTO orders SELECT seq, 1 + FLOOR(RAND() * %d), "
            "TIMESTAMP('2018-01-01') + INTERVAL FLOOR(RAND() * 2e8) SECOND, "
            "IF(seq %% 7 = 0, NULL, DATE('2018-01-01') + INTERVAL "
            "FLOOR(RAND() * 2400) DAY), 1 + FLOOR(RAND() * 6), "
            "ELT(1 + seq %% 3, 'EUR', 'USD', 'GBP'), "
            "ROUND(RAND() * RAND() * 5000, 2), "
            "ELT(1 + seq %% 4, 0.19, 0.07, 0.2, 0.055), "
            "1 + FLOOR(RAND() * RAND() * 50), "
            "UPPER(LEFT(SHA2(seq %% 50000, 256), 12)), %s, "
            "IF(seq %% 3 = 0, NULL, %s) FROM %s"
            % (max(1, hi // 4), _elt(CITIES), _text(24, True), seq))
    if table == "order_events":
        return (
            "INSERT INTO order_events SELECT seq, 1 + FLOOR(seq / 3), "
            "TIMESTAMP('2018-01-01') + INTERVAL FLOOR(RAND() * 2e8) SECOND "
            "+ INTERVAL FLOOR(RAND() * 1000) * 1000 MICROSECOND, "
            "1 + FLOOR(RAND() * RAND() * 4), "
            "ELT(1 + seq %% 5, 'api', 'worker', 'webshop', 'erp-sync', "
            "'mailer'), CONCAT(%s, ' #', seq, ' ', %s) FROM %s"
            % (_elt(WORDS), _text(20, True), seq))
    if table == "documents":
        chunks = ", ".join(["RANDOM_BYTES(1024)"] * 7)
        return (
            "INSERT INTO documents SELECT seq, 1 + FLOOR(RAND() * %d), "
            "ELT(1 + seq %% 4, 'application/pdf', 'image/jpeg', "
            "'image/png', 'application/zip'), SHA2(seq, 256), "
            "TIMESTAMP('2018-01-01') + INTERVAL FLOOR(RAND() * 2e8) SECOND, "
            "LEFT(CONCAT(%s), 512 + FLOOR(RAND() * 6656)) FROM %s"
            % (max(1, hi * 40), chunks, seq))
    raise ValueError(table)


def _stats(server):
    server.sql("ANALYZE TABLE %s;" % ", ".join(WEIGHTS), db=DB_NAME)
    rows = server.sql(
        "SELECT TABLE_NAME, DATA_LENGTH, INDEX_LENGTH FROM "
        "information_schema.TABLES WHERE TABLE_SCHEMA = '%s' AND "
        "TABLE_TYPE = 'BASE TABLE'" % DB_NAME)
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def _fill(server, table, lo, hi, batch=100000):
    """Inserts rows lo..hi in batches (bounded undo, progress)."""
    while lo <= hi:
        top = min(hi, lo + batch - 1)
        server.sql("SET SESSION sql_log_bin = 0; SET unique_checks = 0; "
                   + _insert_sql(table, lo, top) + ";", db=DB_NAME)
        lo = top + 1


def generate(server, target, log):
    """Builds DB_NAME with ~target bytes of DATA_LENGTH: a pilot round
    measures bytes per row, the rest is sized from it."""
    server.sql(SCHEMA % {"db": DB_NAME})
    server.sql("SET SESSION sql_log_bin = 0; DROP TRIGGER orders_ai;",
               db=DB_NAME)  # the trigger exists in the dump, not the load
    guess = {"customers": 300, "orders": 260, "order_events": 230,
             "documents": 5000}
    done = {}
    for t, w in WEIGHTS.items():
        n = max(100, int(target * w / 16 / guess[t]))
        _fill(server, t, 1, n)
        done[t] = n
    for step in range(4):  # the estimate converges; stop within 3%
        st = _stats(server)
        total = sum(st[t][0] for t in WEIGHTS)
        if total >= target * 0.97:
            break
        for t, w in WEIGHTS.items():
            per_row = max(1.0, st[t][0] / done[t])
            want = int(target * w / per_row)
            log("  %-13s %6.0f B/row (pass %d), %d rows" % (
                t, per_row, step + 1, want))
            if want > done[t]:
                _fill(server, t, done[t] + 1, want)
                done[t] = want
    server.sql(
        "SET SESSION sql_log_bin = 0;"
        "CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW "
        "INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id));",
        db=DB_NAME)
    return done


def create_backup_user(server, password):
    stmts = ["SET SESSION sql_log_bin = 0"]
    for host in ("localhost", "127.0.0.1"):
        acct = "%s@%s" % (_q(BACKUP_USER), _q(host))
        stmts.append("CREATE USER %s IDENTIFIED BY %s" % (acct, _q(password)))
        stmts.append("GRANT %s ON *.* TO %s" % (BACKUP_PRIVS, acct))
        stmts.append("GRANT EXECUTE ON %s.* TO %s" % (DB_NAME, acct))
    server.sql(";\n".join(stmts) + ";")


def dataset_info(server):
    st = _stats(server)
    rows = server.sql("SELECT TABLE_NAME, TABLE_ROWS FROM information_schema."
                      "TABLES WHERE TABLE_SCHEMA = '%s' AND TABLE_TYPE = "
                      "'BASE TABLE'" % DB_NAME)
    return {"data_bytes": sum(v[0] for v in st.values()),
            "index_bytes": sum(v[1] for v in st.values()),
            "tables": {r[0]: int(r[1]) for r in rows}}


class Dataset:
    """The cached datadir for one size: BENCH_DIR/db-v<N>-<label>/ with
    data/, keys.txt and password (of BACKUP_USER).  ensure() builds it under
    an exclusive lock unless a complete one exists."""

    def __init__(self, bench_dir, size):
        self.size = size
        self.label = size_label(size)
        self.dir = os.path.join(bench_dir, "db-v%d-%s" % (DATASET_VERSION,
                                                          self.label))
        self.datadir = os.path.join(self.dir, "data")
        self.keys_file = os.path.join(self.dir, "keys.txt")
        self.password_file = os.path.join(self.dir, "password")
        self.ready = os.path.join(self.dir, "READY")
        self.bench_dir = bench_dir

    def buffer_pool(self):
        # The whole dataset fits: after a warm-up, dumps measure the dump
        # pipelines, not the disk.
        mib = max(256, int(self.size * 1.5) // (1024 * 1024))
        return "%dM" % min(mib, 6144)

    def ensure(self, rundir, pids, log):
        os.makedirs(self.bench_dir, exist_ok=True)
        with open(os.path.join(self.bench_dir, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.path.exists(self.ready):
                log("dataset %s: cached in %s" % (self.label, self.dir))
                return
            self._build(rundir, pids, log)

    def _build(self, rundir, pids, log):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        log("dataset %s: building in %s (once; cached for reruns)" % (
            self.label, self.dir))
        t0 = time.monotonic()
        srv = Server(self.datadir, self.keys_file, os.path.join(rundir,
                     "build"), self.buffer_pool(), pids)
        srv.install()
        srv.start()
        try:
            generate(srv, self.size, log)
            password = secrets.token_urlsafe(24)
            create_backup_user(srv, password)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT |
                         os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(password + "\n")
            info = dataset_info(srv)
        finally:
            srv.stop()
        shutil.rmtree(srv.rundir, ignore_errors=True)
        with open(self.ready, "w") as f:
            f.write("data_bytes=%d\n" % info["data_bytes"])
        log("dataset %s: built in %.0f s, DATA_LENGTH %.1f MiB" % (
            self.label, time.monotonic() - t0, info["data_bytes"] / 2**20))

    def lock(self, log):
        """Holds the dataset for one server at a time (two mariadbd on one
        datadir fail to start); returns the open lock file to keep."""
        f = open(os.path.join(self.dir, ".inuse"), "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("dataset %s is in use by another bench run: waiting" %
                self.label)
            fcntl.flock(f, fcntl.LOCK_EX)
        return f

    def server(self, rundir, pids):
        return Server(self.datadir, self.keys_file, rundir,
                      self.buffer_pool(), pids)
