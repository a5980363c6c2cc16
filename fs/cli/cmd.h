/* The dumpfs commands.  Each returns the process exit code; only main()
 * exits.  `lg` is the process logger (borrowed). */
#ifndef FS_CMD_H
#define FS_CMD_H

#include "../../dumper/log.h"

int cmd_dump(int argc, char **argv, struct logger *lg);
int cmd_backup(int argc, char **argv, struct logger *lg);
int cmd_check(int argc, char **argv, struct logger *lg);
int cmd_verify(int argc, char **argv, struct logger *lg);
int cmd_restore(int argc, char **argv, struct logger *lg);
int cmd_prune(int argc, char **argv, struct logger *lg);
int cmd_rehearse(int argc, char **argv, struct logger *lg);
int cmd_binlog(int argc, char **argv, struct logger *lg);
int cmd_mount(int argc, char **argv, struct logger *lg);

#endif
