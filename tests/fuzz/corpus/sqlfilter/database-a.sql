-- dumpfs 0.1.0 MariaDB dump
--
SET NAMES utf8mb4;

--
-- Database a
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `a` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;
USE `a`;

--
-- Table t
--

DROP TABLE IF EXISTS `t`;
CREATE TABLE `t` (
  `id` int(11) NOT NULL
);
INSERT INTO `t` VALUES (1),(2);

--
-- Database we`ird
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `we``ird` /*!40100 DEFAULT CHARACTER SET latin1 */;
USE `we``ird`;
DELIMITER ;;
CREATE PROCEDURE p()
BEGIN
USE `a`;
SELECT 1;
END ;;
DELIMITER ;
INSERT INTO `u` VALUES (3);

--
-- View v
--

USE `a`;
CREATE VIEW `v` AS SELECT 1;

--
-- View w
--

USE `we``ird`;
CREATE VIEW `w` AS SELECT 2;

SET SQL_MODE=@OLD_SQL_MODE;
SET SQL_NOTES=@OLD_SQL_NOTES;

-- dumpfs: dump completed
