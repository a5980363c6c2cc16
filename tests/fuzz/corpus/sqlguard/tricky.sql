-- a comment; with \! inside
# a hash comment
/* a block comment; \! ls
   over two lines */ SELECT 1;
SELECT 'it''s; \' \\', "dq ; \" ", `b``t;`;
INSERT INTO t VALUES ('multi
line; string \q');
DELIMITER //
CREATE PROCEDURE p() BEGIN SELECT ';'; END //
DELIMITER ;
USE `we``ird`;
use db2
/*!40101 SET @x=1 */;
SELECT 1 \G
SELECT 2; -- trailing
