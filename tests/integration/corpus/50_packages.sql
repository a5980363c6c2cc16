-- Corpus: Oracle-mode stored programs.  A package (spec and body) only
-- parses under sql_mode=ORACLE on 10.11, and so does DROP PACKAGE: a dump
-- must run every statement of such an object's section under its mode.
SET NAMES utf8mb4;
SET time_zone = '+00:00';
SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';

CREATE DATABASE corpus_pkg CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE corpus_pkg;

CREATE TABLE log_t (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	msg VARCHAR(200) NOT NULL
);
INSERT INTO log_t (msg) VALUES ('seed; with a semicolon'), ('it''s "quoted"');

-- A standalone routine the package body calls (default mode).
CREATE FUNCTION f_triple(x INT) RETURNS INT DETERMINISTIC NO SQL RETURN x * 3;

SET sql_mode = ORACLE;
DELIMITER //
CREATE PACKAGE pkg_calc AS
	-- spec comment; with a semicolon
	FUNCTION f_add(a INT, b INT) RETURN INT;
	PROCEDURE p_log(msg VARCHAR);
	FUNCTION f_count RETURN INT;
END;
//
CREATE PACKAGE BODY pkg_calc AS
	/* body comment; ;; $$ // with delimiters */
	calls INT := 0;
	FUNCTION f_add(a INT, b INT) RETURN INT AS
	BEGIN
		calls := calls + 1; -- trailing comment; here
		RETURN a + b + f_triple(0);
	END;
	PROCEDURE p_log(msg VARCHAR) AS
	BEGIN
		INSERT INTO log_t (msg) VALUES (msg || ';' || CAST(f_triple(2) AS CHAR));
	END;
	FUNCTION f_count RETURN INT AS
		n INT;
	BEGIN
		SELECT COUNT(*) INTO n FROM log_t;
		RETURN n;
	END;
BEGIN
	-- initialisation section
	calls := 0;
END;
//
-- A package with a spec and no body yet, and an odd name.
CREATE PACKAGE "pkg ""odd"" é" AS
	PROCEDURE p;
END;
//
-- Standalone programs written in Oracle syntax.
CREATE FUNCTION f_ora(a INT) RETURN VARCHAR DETERMINISTIC AS
BEGIN
	RETURN 'v=' || a || ';';
END;
//
CREATE PROCEDURE p_ora(n IN INT) AS
	i INT := 0;
BEGIN
	WHILE i < n LOOP
		i := i + 1;
	END LOOP;
	pkg_calc.p_log('from p_ora');
END;
//
CREATE TRIGGER trg_ora BEFORE INSERT ON log_t FOR EACH ROW
BEGIN
	:NEW.msg := :NEW.msg || '';
END;
//
DELIMITER ;
CREATE VIEW v_ora AS SELECT id, msg || '!' AS m FROM log_t;
SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';
