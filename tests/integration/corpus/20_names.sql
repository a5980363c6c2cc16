-- Corpus: awkward identifiers and non-default character sets.
SET NAMES utf8mb4;
SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';

-- A reserved word as database name, latin1 default charset.
CREATE DATABASE `select` CHARACTER SET latin1 COLLATE latin1_german2_ci
	COMMENT 'reserved word, latin1_german2_ci';
USE `select`;
CREATE TABLE `order` (
	`select` INT NOT NULL PRIMARY KEY,
	`from` VARCHAR(20),
	`where` VARCHAR(20) CHARACTER SET utf8mb4,
	`group` INT DEFAULT NULL
) COMMENT 'table named order';
INSERT INTO `order` VALUES (1, 'Müller', 'ß 😀', 3), (2, 'Straße', NULL, NULL);
-- Names only differing in case (lower_case_table_names=0 on Linux).
CREATE TABLE `Upper` (id INT PRIMARY KEY, v INT);
CREATE TABLE `upper` (id INT PRIMARY KEY, v INT);
INSERT INTO `Upper` VALUES (1, 10);
INSERT INTO `upper` VALUES (1, 20), (2, 30);

-- Backtick, dash, dot and space and non-ASCII in a database name.
CREATE DATABASE `we``ird-db.x é` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;
USE `we``ird-db.x é`;
CREATE TABLE `we``ird` (
	`col``tick` INT NOT NULL PRIMARY KEY,
	`sp ace` VARCHAR(10),
	`dash-col` INT,
	`dot.col` INT,
	`é` VARCHAR(10),
	`日本` VARCHAR(10),
	`"dq"` INT,
	`'sq'` INT,
	`1numeric` INT,
	`col;semi` INT,
	`a\\b` INT COMMENT 'backslash in a column name'
) COMMENT 'it''s a \\ "weird" table';
INSERT INTO `we``ird` VALUES (1, 'a b', -1, 2, 'é', '日本', 3, 4, 5, 6, 7);
CREATE TABLE `with space` (id INT PRIMARY KEY, `x y` TEXT);
INSERT INTO `with space` VALUES (1, 'space'), (2, NULL);
CREATE TABLE `dash-name` (id INT PRIMARY KEY);
INSERT INTO `dash-name` VALUES (1), (2), (3);
CREATE TABLE `dot.name` (id INT PRIMARY KEY, `dot.name` INT);
INSERT INTO `dot.name` VALUES (1, 1);
CREATE TABLE `café` (id INT PRIMARY KEY, `café` VARCHAR(10));
INSERT INTO `café` VALUES (1, 'café');
CREATE TABLE `日本` (id INT PRIMARY KEY, `日本` VARCHAR(10), KEY `索引` (`日本`));
INSERT INTO `日本` VALUES (1, '日本語'), (2, 'にほん');
CREATE TABLE `select` (`order` INT PRIMARY KEY, `by` INT);
INSERT INTO `select` VALUES (1, 2);
-- The longest identifier (64 characters).
CREATE TABLE `t234567890123456789012345678901234567890123456789012345678901234` (
	`c234567890123456789012345678901234567890123456789012345678901234` INT PRIMARY KEY);
INSERT INTO `t234567890123456789012345678901234567890123456789012345678901234` VALUES (64);

-- Non-ASCII database name with a different default collation.
CREATE DATABASE `café 日本` CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci;
USE `café 日本`;
-- No explicit charset: inherits utf8mb3 from the database.
CREATE TABLE `t` (id INT PRIMARY KEY, v VARCHAR(30), w TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci);
INSERT INTO `t` VALUES (1, 'ümlaut', '😀'), (2, '日本', NULL);
