-- Corpus: table features a dumper must reproduce.
SET NAMES utf8mb4;
SET time_zone = '+00:00';
SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';

CREATE DATABASE corpus_tables CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE corpus_tables;

-- Generated columns: a dumper must not insert values into them.
CREATE TABLE gen (
	id INT NOT NULL PRIMARY KEY,
	qty INT NOT NULL,
	price DECIMAL(10,2) NOT NULL,
	name VARCHAR(50),
	total DECIMAL(20,2) AS (qty * price) VIRTUAL,
	uname VARCHAR(50) AS (UPPER(name)) STORED,
	name_len INT AS (CHAR_LENGTH(name)) PERSISTENT,
	KEY k_total (total)
);
INSERT INTO gen (id, qty, price, name) VALUES
	(1, 2, 3.50, 'abc'), (2, 0, 0, NULL), (3, -1, 99999999.99, 'Ünï');

-- INVISIBLE columns: SELECT * does not return them.
CREATE TABLE invis (
	id INT NOT NULL PRIMARY KEY,
	v VARCHAR(10),
	hidden INT INVISIBLE DEFAULT 42,
	hidden2 VARCHAR(10) INVISIBLE NULL
);
INSERT INTO invis (id, v, hidden, hidden2) VALUES
	(1, 'a', 1, 'x'), (2, 'b', 42, NULL), (3, NULL, NULL, '');

-- AUTO_INCREMENT with id 0 (needs NO_AUTO_VALUE_ON_ZERO to restore) and a
-- counter above the highest id (rows deleted at the top).
SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_TRANS_TABLES';
CREATE TABLE ai (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	v VARCHAR(10)
) AUTO_INCREMENT = 5;
INSERT INTO ai VALUES (0, 'zero'), (NULL, 'five'), (NULL, 'six'), (NULL, 'seven');
DELETE FROM ai WHERE id = 7;
CREATE TABLE ai_myisam (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	v INT
) ENGINE=MyISAM AUTO_INCREMENT = 1000;
INSERT INTO ai_myisam (v) VALUES (1), (2);
SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';

-- Storage engines other than InnoDB.
CREATE TABLE myisam_t (
	id INT NOT NULL PRIMARY KEY,
	body TEXT,
	FULLTEXT KEY ft_body (body)
) ENGINE=MyISAM CHECKSUM=1;
INSERT INTO myisam_t VALUES (1, 'full text search'), (2, 'another row'), (3, NULL);
CREATE TABLE aria_t (
	id INT NOT NULL PRIMARY KEY,
	v VARCHAR(20)
) ENGINE=Aria TRANSACTIONAL=1 PAGE_CHECKSUM=1;
INSERT INTO aria_t VALUES (1, 'aria'), (2, '');

-- A foreign key to a table created later (and sorting later).
SET foreign_key_checks = 0;
CREATE TABLE a_child (
	id INT NOT NULL PRIMARY KEY,
	parent_id INT NOT NULL,
	CONSTRAINT fk_child_parent FOREIGN KEY (parent_id)
		REFERENCES z_parent (id) ON DELETE CASCADE ON UPDATE RESTRICT
);
CREATE TABLE z_parent (
	id INT NOT NULL PRIMARY KEY,
	self_id INT NULL,
	CONSTRAINT fk_self FOREIGN KEY (self_id) REFERENCES z_parent (id)
);
SET foreign_key_checks = 1;
INSERT INTO z_parent VALUES (1, NULL), (2, 1), (3, 2);
INSERT INTO a_child VALUES (10, 1), (11, 1), (12, 3);

CREATE TABLE empty_t (id INT NOT NULL PRIMARY KEY, v TEXT);
CREATE TABLE empty_nopk (v INT);

-- No primary key, duplicate rows.
CREATE TABLE nopk (a INT, b VARCHAR(10), KEY (a));
INSERT INTO nopk VALUES (1, 'x'), (1, 'x'), (1, 'x'), (NULL, NULL), (NULL, NULL), (2, '');

-- Defaults, CHECK constraints, comments.
CREATE TABLE defaults_t (
	id INT NOT NULL PRIMARY KEY,
	created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
	d DATE DEFAULT (CURRENT_DATE + INTERVAL 1 DAY),
	u VARCHAR(40) DEFAULT (UUID()),
	n INT DEFAULT 7 COMMENT 'col comment with ''quote''' CHECK (n > 0),
	CONSTRAINT chk_id CHECK (id < 1000000)
) COMMENT = 'defaults; "check" constraints';
INSERT INTO defaults_t VALUES
	(1, '2001-02-03 04:05:06', '2001-02-04', 'fixed-uuid', 3),
	(2, '2020-01-01 00:00:00', NULL, NULL, NULL);

-- Partitioning: RANGE with MAXVALUE, and HASH.
CREATE TABLE part_range (
	id INT NOT NULL,
	dt DATE NOT NULL,
	v VARCHAR(10),
	PRIMARY KEY (id, dt)
) PARTITION BY RANGE (YEAR(dt)) (
	PARTITION p2000 VALUES LESS THAN (2001),
	PARTITION p2020 VALUES LESS THAN (2021) COMMENT 'twenty',
	PARTITION pmax VALUES LESS THAN MAXVALUE
);
INSERT INTO part_range VALUES (1, '1999-12-31', 'old'), (2, '2020-06-01', 'mid'),
	(3, '2030-01-01', 'new'), (4, '2000-01-01', NULL);
CREATE TABLE part_hash (
	id INT NOT NULL PRIMARY KEY,
	v INT
) PARTITION BY HASH (id) PARTITIONS 4;
INSERT INTO part_hash SELECT seq, seq * 3 FROM seq_1_to_100;

-- System versioning, implicit period columns, with history rows: only the
-- current rows are expected after a restore.
CREATE TABLE sysver (
	id INT NOT NULL PRIMARY KEY,
	v INT
) WITH SYSTEM VERSIONING;
INSERT INTO sysver VALUES (1, 1), (2, 2), (3, 3);
UPDATE sysver SET v = v + 10 WHERE id <= 2;
UPDATE sysver SET v = v + 100 WHERE id = 1;
DELETE FROM sysver WHERE id = 3;
INSERT INTO sysver VALUES (4, 4);

-- System versioning with explicit (visible) period columns.
CREATE TABLE sysver_explicit (
	id INT NOT NULL PRIMARY KEY,
	v VARCHAR(10),
	rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START,
	re TIMESTAMP(6) GENERATED ALWAYS AS ROW END,
	PERIOD FOR SYSTEM_TIME (rs, re)
) WITH SYSTEM VERSIONING;
INSERT INTO sysver_explicit (id, v) VALUES (1, 'a'), (2, 'b');
UPDATE sysver_explicit SET v = 'c' WHERE id = 2;

-- Application-time period and a column excluded from versioning.
CREATE TABLE sysver_partial (
	id INT NOT NULL PRIMARY KEY,
	v INT,
	nv INT WITHOUT SYSTEM VERSIONING,
	ds DATE NOT NULL DEFAULT '2000-01-01',
	de DATE NOT NULL DEFAULT '2100-01-01',
	PERIOD FOR app_time (ds, de)
) WITH SYSTEM VERSIONING;
INSERT INTO sysver_partial (id, v, nv) VALUES (1, 1, 1), (2, 2, 2);
UPDATE sysver_partial SET nv = 5 WHERE id = 1;
UPDATE sysver_partial SET v = 6 WHERE id = 2;

-- Rows larger than 1 MiB and one larger than 16 MiB: multi-row INSERT
-- splitting and max_allowed_packet (16 MiB is the client's default).
CREATE TABLE big (
	id INT NOT NULL PRIMARY KEY,
	b LONGBLOB,
	t LONGTEXT
);
INSERT INTO big VALUES (1, 'small', 'small');
INSERT INTO big VALUES (2, REPEAT(x'00FF5C27220D0A1A', 160000), REPEAT('é', 600000));
INSERT INTO big VALUES (3, REPEAT(CONCAT(x'00', UNHEX(SHA2('x', 256)), '\'\\'), 600000), NULL);
INSERT INTO big VALUES (4, 'after', 'after');
INSERT INTO big VALUES (5, REPEAT(UNHEX(SHA2('y', 512)), 40000), '');

-- About 50 000 rows: multi-row INSERT batching.
CREATE TABLE many (
	id INT NOT NULL PRIMARY KEY,
	n BIGINT NOT NULL,
	s VARCHAR(64),
	f DOUBLE,
	dt DATETIME(3),
	KEY k_n (n)
);
INSERT INTO many
	SELECT seq, seq * seq, IF(seq % 7 = 0, NULL, MD5(seq)),
		seq / 7, '2020-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq * 1000) MICROSECOND
	FROM seq_1_to_50000;
