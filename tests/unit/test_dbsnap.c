/* snapshot/databases/ file names: which database names can be files. */
#include <errno.h>
#include <limits.h>

#include "../../dumper/sqldump.h"
#include "../../fs/mount/dbsnap.h"
#include "unit.h"

static int parse(const char *file, char *db)
{
	return dbsnap_parse(file, db, NAME_MAX + 1);
}

TEST(dbsnap_parse_takes_the_name_before_the_suffix)
{
	char db[NAME_MAX + 1];

	CHECK(parse("shop.sql.gz.gpg", db) == 0);
	CHECK_STREQ(db, "shop");
	CHECK(parse("we`ird-db.x é.sql.gz.gpg", db) == 0);
	CHECK_STREQ(db, "we`ird-db.x é");
	CHECK(parse("a.sql.gz.gpg.sql.gz.gpg", db) == 0);
	CHECK_STREQ(db, "a.sql.gz.gpg");
	CHECK(parse("-dash.sql.gz.gpg", db) == 0);
}

TEST(dbsnap_parse_refuses_what_cannot_be_ours)
{
	char db[NAME_MAX + 1];

	CHECK(parse("shop.sql.gz", db) == -ENOENT);
	CHECK(parse("shop", db) == -ENOENT);
	CHECK(parse(".sql.gz.gpg", db) == -ENOENT);	   /* empty name */
	CHECK(parse("..sql.gz.gpg", db) == -ENOENT);	   /* "." */
	CHECK(parse(".hidden.sql.gz.gpg", db) == -ENOENT); /* hidden */
	CHECK(parse("a\nb.sql.gz.gpg", db) == -ENOENT);	   /* control character */
	CHECK(parse("a\x7f.sql.gz.gpg", db) == -ENOENT);
	CHECK(parse("", db) == -ENOENT);
	/* FUSE never hands a '/' in a name, but a server list may hold one. */
	CHECK(parse("sl/ash.sql.gz.gpg", db) == -ENOENT);
}

TEST(dbsnap_parse_keeps_file_names_within_name_max)
{
	char file[NAME_MAX + 2], db[NAME_MAX + 1];
	size_t sl = sizeof(DBSNAP_SUFFIX) - 1;

	/* The longest name whose file fits NAME_MAX, then one byte more
	 * (the database's name: a FUSE name is at most NAME_MAX anyway). */
	memset(file, 'x', NAME_MAX - sl);
	memcpy(file + NAME_MAX - sl, DBSNAP_SUFFIX, sl + 1);
	CHECK(parse(file, db) == 0 && strlen(db) == NAME_MAX - sl);
	memset(file, 'x', NAME_MAX + 1 - sl);
	memcpy(file + NAME_MAX + 1 - sl, DBSNAP_SUFFIX, sl + 1);
	CHECK(parse(file, db) == -ENOENT);
	CHECK(dbsnap_parse("shop.sql.gz.gpg", db, 4) == -ENOENT); /* buffer too small */
}

TEST(dbsnap_system_databases_are_the_dumps_own)
{
	CHECK(sqldump_is_system_database("mysql"));
	CHECK(sqldump_is_system_database("INFORMATION_SCHEMA"));
	CHECK(sqldump_is_system_database("performance_schema"));
	CHECK(sqldump_is_system_database("sys"));
	CHECK(!sqldump_is_system_database("mysql2"));
	CHECK(!sqldump_is_system_database("shop"));
}
