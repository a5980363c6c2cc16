/*!\C utf8mb4 */;
/*!\C	latin1	*//*!*/;
SELECT 1/*!*/;
/*!40101 \C    abcdefghijklmnopqrstuvwxyz_0123_    */;
SELECT '/*!\C gbk */';
