-- Corpus: views, triggers, stored routines, events and sequences.
-- corpus_prog sorts BEFORE corpus_types, whose tables its views read: a
-- dumper that creates each database's views right after its own tables
-- fails on restore.
SET NAMES utf8mb4;
SET time_zone = '+00:00';
SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';

CREATE DATABASE corpus_prog CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE corpus_prog;

CREATE TABLE items (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	name VARCHAR(50) NOT NULL,
	qty INT NOT NULL DEFAULT 0,
	note VARCHAR(100) DEFAULT NULL
);
CREATE TABLE audit (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	item_id INT,
	what VARCHAR(100)
);

DELIMITER ;;
-- Comments inside the body need `mariadb --comments` to survive a restore.
CREATE FUNCTION f_double(x INT) RETURNS INT
	DETERMINISTIC
	NO SQL
	COMMENT 'doubles; it''s "simple"'
BEGIN
	-- a dash-dash comment inside the body
	/* a block comment; with a semicolon */
	# a hash comment
	RETURN x * 2; -- trailing
END ;;

CREATE FUNCTION `f ``weird`` 日本`(s VARCHAR(100) CHARACTER SET utf8mb4) RETURNS VARCHAR(200) CHARSET utf8mb4
	DETERMINISTIC
	RETURN CONCAT('[', s, '];;$$', "\"", '\\')
;;

CREATE PROCEDURE p_hostile(IN a INT, OUT b VARCHAR(100), INOUT c TEXT)
	SQL SECURITY INVOKER
	READS SQL DATA
	COMMENT 'delimiter-hostile body'
BEGIN
	DECLARE s VARCHAR(100) DEFAULT 'x;;y$$z';
	/* DELIMITER $$ inside a comment */
	SET b = CONCAT(s, ';;', '$$', 'DELIMITER ;', '\n--not a comment\n');
	SET c = CONCAT(IFNULL(c, ''), '/* not a comment */', "''");
	SELECT COUNT(*) INTO a FROM items;
END ;;

CREATE PROCEDURE `proc ``weird`` 日本`()
	MODIFIES SQL DATA
BEGIN
	INSERT INTO audit (item_id, what) VALUES (NULL, 'weird proc');
END ;;

CREATE PROCEDURE p_empty() BEGIN END ;;
DELIMITER ;

-- A routine created under a non-default sql_mode: its body uses ANSI
-- quotes, so a restore must recreate it under the same mode.
SET sql_mode = 'ANSI_QUOTES,STRICT_TRANS_TABLES';
CREATE FUNCTION f_ansi() RETURNS INT
	READS SQL DATA
	RETURN (SELECT COUNT(*) FROM "items");
SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';

-- Triggers fire during a restore if they exist before the data is in:
-- BEFORE INSERT rewrites the note, AFTER INSERT adds audit rows.
CREATE TRIGGER trg_bi_1 BEFORE INSERT ON items FOR EACH ROW
	SET NEW.note = CONCAT(IFNULL(NEW.note, ''), '+1');
CREATE TRIGGER trg_bi_3 BEFORE INSERT ON items FOR EACH ROW
	SET NEW.note = CONCAT(NEW.note, '+3');
-- Order: trg_bi_1, trg_bi_2, trg_bi_3 (ACTION_ORDER 1, 2, 3).
CREATE TRIGGER trg_bi_2 BEFORE INSERT ON items FOR EACH ROW
	FOLLOWS trg_bi_1
	SET NEW.note = CONCAT(NEW.note, '+2');
DELIMITER $$
CREATE TRIGGER trg_ai AFTER INSERT ON items FOR EACH ROW
BEGIN
	-- comment in a trigger; with ';;' and '$$'
	INSERT INTO audit (item_id, what) VALUES (NEW.id, CONCAT('ins;;', NEW.name, '$$'));
END $$
CREATE TRIGGER `trg ``weird`` é` BEFORE UPDATE ON items FOR EACH ROW
	SET NEW.qty = f_double(NEW.qty) $$
DELIMITER ;
CREATE TRIGGER trg_bu_first BEFORE UPDATE ON items FOR EACH ROW
	PRECEDES `trg ``weird`` é`
	SET NEW.note = CONCAT(IFNULL(NEW.note, ''), '!');
CREATE TRIGGER trg_ad AFTER DELETE ON items FOR EACH ROW
	INSERT INTO audit (item_id, what) VALUES (OLD.id, 'deleted');

INSERT INTO items (name, qty, note) VALUES ('apple', 3, NULL), ('pear', 0, 'n'),
	('日本', 1, 'x'), ('gone', 9, NULL);
UPDATE items SET qty = qty + 1 WHERE name = 'apple';
DELETE FROM items WHERE name = 'gone';

-- Views: on views (one sorting before its base view), across databases,
-- calling a stored function (needs EXECUTE), with a weird name, options.
CREATE VIEW v_items AS SELECT id, name, qty FROM items WHERE qty > 0;
CREATE VIEW a_on_v AS SELECT id, name FROM v_items;
CREATE VIEW z_on_a AS SELECT COUNT(*) AS n FROM a_on_v;
CREATE VIEW v_cross AS SELECT i.id, i.bi, t.c FROM corpus_types.ints i
	JOIN corpus_types.strings t ON t.id = i.id;
CREATE VIEW v_func AS SELECT id, f_double(qty) AS dq, `f ``weird`` 日本`(name) AS w FROM items;
CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW `v ``weird`` 日本.x` (`c 1`, `c``2`)
	AS SELECT id, name FROM items WHERE id < 100 WITH CASCADED CHECK OPTION;
CREATE ALGORITHM=TEMPTABLE VIEW v_temptable AS SELECT qty, COUNT(*) AS n FROM items GROUP BY qty;
CREATE VIEW v_literal AS SELECT 'it''s;;$$' AS s, _latin1 X'636166E9' AS l, 1.5e0 AS f;

-- Sequences, used so the current value matters.
CREATE SEQUENCE seq1 START WITH 100 INCREMENT BY 5 MINVALUE 10 MAXVALUE 100000 CACHE 10;
SELECT NEXTVAL(seq1), NEXTVAL(seq1), NEXTVAL(seq1);
CREATE SEQUENCE seq_nocache START WITH -5 INCREMENT BY -2 MINVALUE -1000 MAXVALUE 0 NOCACHE CYCLE;
SELECT NEXTVAL(seq_nocache), NEXTVAL(seq_nocache);
CREATE SEQUENCE `seq ``weird`` é` ENGINE=Aria;
SELECT SETVAL(`seq ``weird`` é`, 1000000);
CREATE SEQUENCE seq_unused;
CREATE TABLE uses_seq (
	id BIGINT NOT NULL DEFAULT NEXTVAL(seq1) PRIMARY KEY,
	v INT
);
INSERT INTO uses_seq (v) VALUES (1), (2);

-- Events: enabled and disabled, EVERY and AT; start far in the future so
-- the event scheduler never runs them during a test.
CREATE EVENT ev_every
	ON SCHEDULE EVERY 1 DAY STARTS '2036-01-01 02:00:00' ENDS '2037-01-01 00:00:00'
	ON COMPLETION PRESERVE
	ENABLE
	COMMENT 'daily; it''s fine'
	DO UPDATE items SET qty = qty WHERE id = -1;
DELIMITER //
CREATE EVENT ev_at_disabled
	ON SCHEDULE AT '2036-06-01 12:00:00'
	ON COMPLETION PRESERVE
	DISABLE
	DO BEGIN
		-- comment inside an event; '$$'
		DELETE FROM audit WHERE id < 0;
	END //
DELIMITER ;
SET time_zone = '+05:30';
CREATE EVENT `ev ``weird`` 日本`
	ON SCHEDULE EVERY 90 MINUTE STARTS '2036-01-01 00:00:00'
	ON COMPLETION NOT PRESERVE
	DISABLE ON SLAVE
	DO SET @x = 1;
SET time_zone = '+00:00';

-- Programs in the database with the awkward name.
USE `we``ird-db.x é`;
CREATE VIEW `v we``ird` AS SELECT `col``tick`, `é`, `日本` FROM `we``ird`;
CREATE TRIGGER `t.r-g é` BEFORE INSERT ON `with space` FOR EACH ROW
	SET NEW.`x y` = CONCAT('[', IFNULL(NEW.`x y`, ''), ']');
CREATE FUNCTION `fn-dash.dot` (`in put` INT) RETURNS INT DETERMINISTIC RETURN `in put` + 1;
CREATE SEQUENCE `seq-dash.dot`;
SELECT NEXTVAL(`seq-dash.dot`);

-- An event whose body contains ';;'.  Stock mariadb-dump (10.11.19) loops
-- forever on it (create_delimiter() increments the wrong variable), so it
-- lives in its own database, which the mariadb-dump reference leaves out.
CREATE DATABASE corpus_zz_event;
USE corpus_zz_event;
CREATE TABLE t (id INT PRIMARY KEY);
DELIMITER //
CREATE EVENT ev_semicolons
	ON SCHEDULE EVERY 1 WEEK STARTS '2036-01-01 00:00:00'
	DISABLE
	DO BEGIN
		INSERT INTO t VALUES (-1); -- ';;' in a comment
		DELETE FROM t WHERE id = -1 AND ';;' <> '$$';
	END //
DELIMITER ;
