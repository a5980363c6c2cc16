/* Help texts: `dumpfs --help` and `dumpfs help COMMAND`. */
#ifndef FS_USAGE_H
#define FS_USAGE_H

#include <stdio.h>

/* Prints the overview (command NULL) or one command's help.  Returns 0,
 * or 2 for an unknown command. */
int usage_print(FILE *f, const char *command);

#endif
