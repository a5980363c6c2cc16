/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
/*!40019 SET @@session.max_delayed_threads=0*/;
/*!50003 SET @OLD_COMPLETION_TYPE=@@COMPLETION_TYPE,COMPLETION_TYPE=0*/;
DELIMITER /*!*/;
ROLLBACK/*!*/;
BINLOG '
yB0Uaw8BAAAA/AAAAAABAAABAAQAMTAuMTEuMTktTWFyaWFEQi0wK2RlYjEydTEtbG9nAAAAAAAA
AAAAAAAAAAAAAAAAAADIHRRrEzgNAAgAEgAEBAQEEgAA5AAEGggAAAAICAgCAAAACgoKAAAAAAAA
CgoKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAEEwQADQgICAoKCgFzmW85
'/*!*/;
# at 322
#261205 14:21:11 server id 1  end_log_pos 364 CRC32 0x17946d6b 	GTID 0-1-1 ddl
/*M!100101 SET @@session.skip_parallel_replication=0*//*!*/;
/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;
/*M!100001 SET @@session.server_id=1*//*!*/;
/*M!100001 SET @@session.gtid_seq_no=1*//*!*/;
# at 364
#261205 14:21:11 server id 1  end_log_pos 451 CRC32 0x15262c42 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796480471/*!*/;
SET @@session.pseudo_thread_id=5/*!*/;
SET @@session.foreign_key_checks=1, @@session.sql_auto_is_null=0, @@session.unique_checks=1, @@session.autocommit=1, @@session.check_constraint_checks=1, @@session.sql_if_exists=0, @@session.explicit_defaults_for_timestamp=1, @@session.system_versioning_insert_history=0/*!*/;
SET @@session.sql_mode=1411383296/*!*/;
SET @@session.auto_increment_increment=1, @@session.auto_increment_offset=1/*!*/;
/*!\C utf8mb3 *//*!*/;
SET @@session.character_set_client=utf8mb3,@@session.collation_connection=33,@@session.collation_server=8/*!*/;
SET @@session.lc_time_names=0/*!*/;
SET @@session.collation_database=DEFAULT/*!*/;
CREATE DATABASE shop
/*!*/;
# at 493
#261205 14:21:11 server id 1  end_log_pos 678 CRC32 0x7c4e5470 	Query	thread_id=5	exec_time=0	error_code=0	xid=6
use `shop`/*!*/;
SET TIMESTAMP=1796480471/*!*/;
CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, s VARCHAR(200), b BLOB) COMMENT 'it''s a \\ table /* x */'
/*!*/;
#261205 14:21:11 server id 1  end_log_pos 720 CRC32 0x341e55c4 	GTID 0-1-3 trans
/*M!100001 SET @@session.gtid_seq_no=3*//*!*/;
START TRANSACTION
/*!*/;
# at 720
# at 850
#261205 14:21:11 server id 1  end_log_pos 850 CRC32 0x6ac7b062 	Annotate_rows:
#Q> INSERT INTO t (s, b) VALUES ('it''s', 'a\\b'), ('line1\nline2', '\0\'"'), ('\\! touch /tmp/x', 'system ls')
#261205 14:21:11 server id 1  end_log_pos 899 CRC32 0xe2086ac1 	Table_map: `shop`.`t` mapped to number 18
# at 899
#261205 14:21:11 server id 1  end_log_pos 1001 CRC32 0xda353778 	Write_rows: table id 18 flags: STMT_END_F

BINLOG '
1x0UaxMBAAAAMQAAAIMDAAAAABIAAAAAAAEABHNob3AAAXQAAwMP/APIAAIGwWoI4g==
1x0UaxcBAAAAZgAAAOkDAAAAABIAAAAAAAEAAwf4AQAAAARpdCdzAwBhXGL4AgAAAAtsaW5lMQps
aW5lMgMAACci+AMAAAAPXCEgdG91Y2ggL3RtcC94CQBzeXN0ZW0gbHN4NzXa
'/*!*/;
# Number of rows: 3
# at 1001
#261205 14:21:11 server id 1  end_log_pos 1032 CRC32 0x5eac991a 	Xid = 7
COMMIT/*!*/;
#261205 14:21:11 server id 1  end_log_pos 2183 CRC32 0x1ace9674 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796480471/*!*/;
CREATE DEFINER=`root`@`localhost` PROCEDURE `p`(IN x INT)
SELECT CONCAT('a;b', x, '\\', "q\"") AS r
/*!*/;
#261205 14:21:11 server id 1  end_log_pos 2381 CRC32 0x06f3f7cf 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796480471/*!*/;
SET @@session.sql_mode=1048576/*!*/;
CREATE DEFINER=`root`@`localhost` PROCEDURE `p_nbe`()
SELECT 'C:\' AS dir
/*!*/;
#261205 14:21:11 server id 1  end_log_pos 2581 CRC32 0xa047a849 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796480471/*!*/;
SET @@session.sql_mode=4/*!*/;
CREATE DEFINER="root"@"localhost" PROCEDURE "p_ansi"()
SELECT "a\" AS "col"
/*!*/;
#261205 14:21:11 server id 1  end_log_pos 2776 CRC32 0xe941afc8 	Query	thread_id=5	exec_time=0	error_code=0	xid=21
SET TIMESTAMP=1796480471/*!*/;
SET @@session.sql_mode=1411383296/*!*/;
/*!\C latin1 *//*!*/;
SET @@session.character_set_client=latin1,@@session.collation_connection=8,@@session.collation_server=8/*!*/;
CREATE TABLE t_latin (c VARCHAR(10)) DEFAULT CHARSET=latin1 COMMENT 'caf\xe9'
/*!*/;
#261205 14:21:11 server id 1  end_log_pos 3032 CRC32 0xdc7ee54b 	Query	thread_id=5	exec_time=0	error_code=0	xid=23
SET TIMESTAMP=1796480471/*!*/;
/*!\C utf8mb4 *//*!*/;
SET @@session.character_set_client=utf8mb4,@@session.collation_connection=45,@@session.collation_server=8/*!*/;
CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS SELECT id, s FROM t WHERE s <> '*/'
/*!*/;
# at 3357
#261205 14:21:11 server id 1  end_log_pos 3407 CRC32 0x722e9376 	User_var
SET @`v`:=_utf8mb4 X'757365722773205C20766172' COLLATE `utf8mb4_general_ci`/*!*/;
# at 3407
#261205 14:21:11 server id 1  end_log_pos 3545 CRC32 0x32e9d66d 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796480471.380938/*!*/;
SET @@session.time_zone='SYSTEM'/*!*/;
INSERT INTO t (s) VALUES (@v), ('stmt-based; \\n'), (NOW())
/*!*/;
#261205 14:21:11 server id 1  end_log_pos 3689 CRC32 0xb8b65157 	Rand
SET @@RAND_SEED1=202383546, @@RAND_SEED2=38516706/*!*/;
# at 3689
#261205 14:21:11 server id 1  end_log_pos 3789 CRC32 0xdf5cfde9 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796480471/*!*/;
INSERT INTO t (s) VALUES (RAND())
/*!*/;
# at 3789
#261205 14:21:11 server id 1  end_log_pos 3820 CRC32 0xddaf3a72 	Xid = 31
COMMIT/*!*/;
#261205 14:31:35 server id 1  end_log_pos 1906 CRC32 0x631f2c58 	Query	thread_id=5986	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796481095/*!*/;
/*!\C utf8mb3 *//*!*/;
SET @@session.character_set_client=utf8mb3,@@session.collation_connection=33,@@session.collation_server=8/*!*/;
CREATE DEFINER=`root`@`localhost` FUNCTION `f`(x INT) RETURNS int(11)
    DETERMINISTIC
BEGIN
  -- a comment with 'quote
  # another \ comment
  DECLARE y INT DEFAULT 0; /* multi
  line */
  RETURN x + y;
END
/*!*/;
DELIMITER ;
# End of log file
ROLLBACK /* added by mysqlbinlog */;
/*!50003 SET COMPLETION_TYPE=@OLD_COMPLETION_TYPE*/;
/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=0*/;
