/* Finding a program the way execvp would, to refuse early and clearly
 * what could only fail later (a restore half done). */
#ifndef DUMPER_PROGPATH_H
#define DUMPER_PROGPATH_H

#include <stdbool.h>
#include <stddef.h>

/* `name` (with a '/': that path) as an executable regular file in PATH,
 * then in `extra` (":"-separated; may be NULL); its path into out. */
bool progpath_find(const char *name, const char *extra, char *out, size_t len);

#endif
