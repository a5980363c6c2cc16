"""`make demo` support (tests/demo.sh):

    python3 -m harness demo-up DIR     server + sample data + DEMO key + config
    python3 -m harness demo-down DIR   stop the server and the gpg agent

demo-up leaves the server running (detached) and writes DIR/state.json and
DIR/env.sh (shell variables for demo.sh)."""

import json
import os
import shlex
import signal
import subprocess
import time

from .config import write_config
from .gpg import GpgKey
from .server import Server

SAMPLE_SQL = """
CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE shop;
CREATE TABLE customers (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	name VARCHAR(100) NOT NULL,
	email VARCHAR(200) UNIQUE,
	created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE orders (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	customer_id INT NOT NULL,
	total DECIMAL(10,2) NOT NULL,
	placed DATETIME NOT NULL,
	FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE TABLE order_log (id INT AUTO_INCREMENT PRIMARY KEY, msg TEXT);
INSERT INTO customers (name, email) VALUES
	('Ada Lovelace', 'ada@example.invalid'),
	('Émile Zola', 'emile@example.invalid'),
	('山田太郎', 'taro@example.invalid');
INSERT INTO orders (customer_id, total, placed)
	SELECT 1 + seq % 3, ROUND(seq * 3.7, 2), '2026-01-01' + INTERVAL seq HOUR
	FROM seq_1_to_500;
CREATE VIEW customer_totals AS
	SELECT c.name, COUNT(o.id) AS orders, SUM(o.total) AS total
	FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
	GROUP BY c.id, c.name;
CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW
	INSERT INTO order_log (msg) VALUES (CONCAT('order ', NEW.id));
DELIMITER ;;
CREATE PROCEDURE big_spenders(IN min_total DECIMAL(10,2))
	READS SQL DATA
BEGIN
	-- customers above a threshold
	SELECT * FROM customer_totals WHERE total >= min_total;
END ;;
DELIMITER ;
"""


def up(root):
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    server = Server("demo", detach=True, path=os.path.join(root, "mariadb"))
    state = {"server_dir": server.dir, "socket": server.socket}
    _save(root, state)  # before start: down() must find a half-made demo
    server.start()
    state["pid"] = server.pid
    _save(root, state)
    server.run_sql(SAMPLE_SQL)
    user = server.create_backup_user()
    key = GpgKey(uid="DEMO DPO - throwaway demo key <dpo@demo.invalid>",
                 path=os.path.join(root, "key"))
    archive = os.path.join(root, "archive")
    os.makedirs(archive, exist_ok=True)
    config = write_config(os.path.join(root, "dumpfs.ini"), server, key,
                          user=user, archive_dir=archive)
    state.update(port=server.port, gnupghome=key.home, config=config,
                 fingerprint=key.fingerprint,
                 public_key_file=key.public_key_file)
    _save(root, state)
    with open(os.path.join(root, "env.sh"), "w") as f:
        for k, v in state.items():
            f.write("demo_%s=%s\n" % (k, shlex.quote(str(v))))
    return state


def _save(root, state):
    with open(os.path.join(root, "state.json"), "w") as f:
        json.dump(state, f, indent=1)


def down(root):
    """Stops what up() started; safe to call twice."""
    path = os.path.join(os.path.abspath(root), "state.json")
    try:
        with open(path) as f:
            state = json.load(f)
    except OSError:
        return
    subprocess.run(["mariadb-admin", "--no-defaults", "-uroot", "-S",
                    state["socket"], "--shutdown-timeout=30", "shutdown"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = state.get("pid")
    deadline = time.monotonic() + 30
    while pid and _is_our_mariadbd(pid, state["server_dir"]):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    if state.get("gnupghome"):
        subprocess.run(["gpgconf", "--homedir", state["gnupghome"], "--kill",
                        "all"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    os.unlink(path)


def _is_our_mariadbd(pid, server_dir):
    """The pid is still the server we started (not a reused pid)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return server_dir.encode() in f.read()
    except OSError:
        return False
