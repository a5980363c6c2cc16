/* The notifier (dumper/notify.h) from the configuration's [notify],
 * [archive], [gpg] and [log] settings, for `dumpfs backup` and the mount. */
#ifndef FS_ALERTS_H
#define FS_ALERTS_H

#include "../../dumper/notify.h"
#include "config.h"

/* Always makes a notifier, even without webhook or mail configured (it
 * still keeps the "notified" flags, the heartbeat and the key-expiry log
 * warnings).  cfg and lg are borrowed and must outlive *out; the strings
 * are copied.  Errors name the [notify] key (a bad mail address). */
int alerts_new(struct notifier **out, const struct config *cfg, struct logger *lg,
	       struct errbuf *err);

#endif
