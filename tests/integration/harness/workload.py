"""Data and writers for the consistency and failure tests.

Database `consist`: accounts in acct_a and zacct_b (InnoDB) and a bulk table
bulk_m whose name sorts between them, so a dumper reading tables one by one
in name order reads acct_a, spends a while in bulk_m, then reads zacct_b; a
writer moves amounts from acct_a to zacct_b (always that direction, so a
non-snapshot read cannot balance out by chance) and counts its commits in
ctr, all in one transaction."""

import random
import subprocess
import threading

ACCOUNTS = 100
START_BALANCE = 1000000
TOTAL = ACCOUNTS * START_BALANCE


def create_consist_db(server, bulk_rows=250000):
    server.run_sql("""
CREATE DATABASE consist;
USE consist;
CREATE TABLE acct_a (id INT PRIMARY KEY, amt BIGINT NOT NULL) ENGINE=InnoDB;
CREATE TABLE zacct_b (id INT PRIMARY KEY, amt BIGINT NOT NULL) ENGINE=InnoDB;
CREATE TABLE ctr (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB;
CREATE TABLE bulk_m (
	id INT PRIMARY KEY,
	k INT NOT NULL,
	pad VARCHAR(255) NOT NULL
) ENGINE=InnoDB;
INSERT INTO acct_a SELECT seq, %d FROM seq_1_to_%d;
INSERT INTO zacct_b SELECT seq, 0 FROM seq_1_to_%d;
INSERT INTO ctr VALUES (1, 0);
INSERT INTO bulk_m SELECT seq, seq %% 1000, REPEAT(MD5(seq), 6)
	FROM seq_1_to_%d;
""" % (START_BALANCE, ACCOUNTS, ACCOUNTS, bulk_rows))


def balances(server):
    """(sum(acct_a) + sum(zacct_b), ctr.n)"""
    row = server.query("SELECT (SELECT SUM(amt) FROM consist.acct_a) + "
                       "(SELECT SUM(amt) FROM consist.zacct_b), "
                       "(SELECT n FROM consist.ctr WHERE id = 1)")[0]
    return int(row[0]), int(row[1])


class TransferWriter:
    """Moves money acct_a -> zacct_b in transactions, continuously, through
    one `mariadb` client session fed on stdin, until stop()."""

    def __init__(self, server, seed=1):
        self.server = server
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.error = None
        self.proc = subprocess.Popen(
            server.client_args() + ["consist"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _txn(self):
        a = self.rng.randint(1, ACCOUNTS)
        b = self.rng.randint(1, ACCOUNTS)
        x = self.rng.randint(1, 10)
        return ("START TRANSACTION;"
                "UPDATE acct_a SET amt = amt - %d WHERE id = %d;"
                "UPDATE zacct_b SET amt = amt + %d WHERE id = %d;"
                "UPDATE ctr SET n = n + 1 WHERE id = 1;"
                "COMMIT;\n" % (x, a, x, b)).encode()

    def _run(self):
        try:
            while not self.stop_event.is_set():
                self.proc.stdin.write(b"".join(self._txn()
                                               for _ in range(20)))
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            self.error = e

    def stop(self):
        """Stops writing, lets the client finish what it read; raises if
        the client failed."""
        self.stop_event.set()
        self.thread.join(timeout=60)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("writer client did not finish")
        err = self.proc.stderr.read().decode(errors="replace")
        if rc != 0:
            raise AssertionError("writer client failed (%d): %s" % (rc, err))
