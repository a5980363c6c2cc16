/* Reading the binlog over the replication protocol into segments.  See
 * binlog.h. */
#include "binlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <limits.h>
#include <mariadb_rpl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "archive.h"
#include "binlog_segment.h"
#include "binlog_server.h"
#include "binlog_status.h"
#include "fdio.h"
#include "lock.h"
#include "sink.h"

#define BINLOG_MAGIC                                                                               \
	"\xfe"                                                                                     \
	"bin"
#define RPL_MAGIC_LEN	   4
#define EVENT_HEADER_LEN   19
#define ARTIFICIAL_EVENT_F 0x20 /* LOG_EVENT_ARTIFICIAL_F: made up by the sender */
#define GTID_STANDALONE_F  0x01 /* the group is this one event (DDL) */
#define HEARTBEAT_NS	   "1000000000"
#define BINLOG_RETRY_MAX   60 /* seconds between attempts, at most */
/* A break is alerted once it lasted this long: a server restart is not
 * worth a page (it shows in the log and status/ all the same). */
#define BINLOG_ALERT_AFTER 30
/* take_event(): the file ended; the stream goes on from the next one on a
 * new connection (libmariadb 3.3 cannot parse past a real rotate event). */
#define ROTATED 1

struct binlog_stream {
	struct binlog_stream_opts o;
	struct runlock lock; /* the segment directory's: one streamer each */
	atomic_bool cancelled;
	bool have_start;	     /* `committed` is known */
	bool fatal;		     /* the last failure needs the operator: no retry */
	struct binlog_pos committed; /* end of the last committed segment */
	struct binlog_pos next;	     /* where the next event starts */
	unsigned char *fde;	     /* the current file's format description event */
	size_t fde_len;
	size_t checksum_len;	    /* 4 when the events end in a CRC32, else 0 */
	struct binlog_segment *seg; /* the open segment, or NULL */
	struct binlog_pos seg_start;
	struct timespec seg_opened;
	bool in_group, standalone;
	time_t seg_last;	/* newest event timestamp in the open segment */
	unsigned long segments; /* committed by this stream */
	struct binlog_status st;
	time_t st_saved;     /* when st was last written */
	bool st_save_failed; /* (logged once) */
	bool failing;	     /* broken since the last time it worked */
	time_t failing_since;
};

int binlog_stream_new(struct binlog_stream **out, const struct binlog_stream_opts *opts,
		      struct errbuf *err)
{
	struct binlog_stream *s = calloc(1, sizeof(*s));
	pid_t holder = 0;
	int rc;

	*out = NULL;
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->o = *opts;
	s->lock = (struct runlock)RUNLOCK_INIT;
	atomic_init(&s->cancelled, false);
	rc = runlock_acquire(&s->lock, opts->dir, &holder, err);
	if (rc == -EBUSY && holder)
		rc = error_set(err, rc, "another binlog streamer (pid %d) archives into '%s'",
			       (int)holder, opts->dir);
	else if (rc == -EBUSY)
		rc = error_set(err, rc, "another binlog streamer archives into '%s'", opts->dir);
	/* Under the lock every temporary here is a dead streamer's (its
	 * segment, OpenPGP data only, or a position or status file): all go. */
	if (!rc)
		rc = archive_clean_temps(opts->dir, NULL, true, time(NULL), opts->log, NULL, err);
	if (rc) {
		binlog_stream_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void binlog_stream_cancel(struct binlog_stream *s)
{
	atomic_store(&s->cancelled, true);
}

static bool cancelled(struct binlog_stream *s)
{
	return atomic_load(&s->cancelled);
}

void binlog_stream_free(struct binlog_stream *s)
{
	if (!s)
		return;
	binlog_segment_free(s->seg);
	free(s->fde);
	runlock_release(&s->lock);
	free(s);
}

/* ---- the position file ---- */

int binlog_position_read(const char *dir, struct binlog_pos *p, struct errbuf *err)
{
	char path[4096];
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, BINLOG_POSITION_NAME) >=
	    sizeof(path))
		return error_set(err, -ENAMETOOLONG, "path too long in '%s'", dir);
	rc = binlog_position_load(path, p, err);
	if (rc == -EINVAL)
		return error_set(
			err, rc,
			"corrupt binlog position file '%s' (want \"file=<binlog "
			"file>\\npos=<n>\\n\"): "
			"check the segments, then remove it to start again from the server's "
			"current position (what the server wrote since the last segment is then "
			"not archived)",
			path);
	return rc;
}

static int position_write(struct binlog_stream *s, const struct binlog_pos *p, struct errbuf *err)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->o.dir, BINLOG_POSITION_NAME) >=
	    sizeof(path))
		return error_set(err, -ENAMETOOLONG, "path too long in '%s'", s->o.dir);
	return binlog_position_store(path, p, 0640, (gid_t)-1, err);
}

/* ---- the status file (binlog_status.h) ---- */

/* Writes the status when `force`d or due for its refresh.  A failure is
 * logged, not fatal: the archive matters more than its report. */
static void status_save(struct binlog_stream *s, bool force)
{
	time_t now = time(NULL);
	struct errbuf e2;

	if (!force && now - s->st_saved < BINLOG_STATUS_REFRESH && now >= s->st_saved)
		return;
	s->st.updated_at = now;
	s->st_saved = now;
	if (binlog_status_store(s->o.dir, &s->st, s->o.group, &e2)) {
		if (!s->st_save_failed)
			logger_log(s->o.log, LOGL_WARN, "binlog_status_unwritable", "error=\"%s\"",
				   e2.msg);
		s->st_save_failed = true;
	} else {
		s->st_save_failed = false;
	}
}

/* The state the last streamer left: a break it alerted is still open,
 * and nothing was archived since it stopped. */
static void status_start(struct binlog_stream *s)
{
	time_t now = time(NULL);
	struct errbuf e2;
	int rc = binlog_status_load(s->o.dir, &s->st, &e2);

	if (rc && rc != -ENOENT)
		logger_log(s->o.log, LOGL_WARN, "binlog_status_reset", "error=\"%s\"", e2.msg);
	if (rc || !s->st.updated_at || s->st.updated_at > now)
		s->st.updated_at = now;
	if (!s->st.behind_since || s->st.behind_since > s->st.updated_at)
		s->st.behind_since = s->st.updated_at;
	s->failing = s->st.last_error_at || s->st.broken_notified;
	s->failing_since = s->st.failing_since ? s->st.failing_since : s->st.last_error_at;
	if (!s->failing)
		s->failing_since = 0;
	status_save(s, true);
}

/* Alerts a break that lasted BINLOG_ALERT_AFTER seconds, or that will
 * last (`now_or_never`: no retry comes), once. */
static void alert_broken(struct binlog_stream *s, bool now_or_never)
{
	time_t now = time(NULL);

	if (!s->failing || s->st.broken_notified)
		return;
	if (!now_or_never && now - s->failing_since < BINLOG_ALERT_AFTER && now >= s->failing_since)
		return;
	if (s->o.alert)
		s->o.alert(s->o.alert_arg, true, s->st.last_error);
	s->st.broken_notified = true;
	status_save(s, true);
}

static void stream_broken(struct binlog_stream *s, const char *error)
{
	time_t now = time(NULL);

	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s", error);
	s->st.last_error_at = now;
	if (!s->st.behind_since)
		s->st.behind_since = now;
	if (!s->failing)
		s->failing_since = now;
	s->failing = true;
	s->st.failing_since = s->failing_since;
	status_save(s, true);
	alert_broken(s, s->fatal);
}

/* The server answered a stream: what broke works again. */
static void stream_works(struct binlog_stream *s)
{
	if (!s->failing)
		return;
	s->failing = false;
	s->failing_since = s->st.failing_since = 0;
	s->st.last_error_at = 0;
	s->st.last_error[0] = '\0';
	if (s->st.broken_notified && s->o.alert)
		s->o.alert(s->o.alert_arg, false, NULL);
	s->st.broken_notified = false;
	logger_log(s->o.log, LOGL_INFO, "binlog_stream_recovered", "from=\"%s:%" PRIu64 "\"",
		   s->next.file, s->next.pos);
	status_save(s, true);
}

/* ---- segments ---- */

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Fills the segment from the end of the FDE to its first event with one
 * ignorable event, so that every event sits at the offset it has in the
 * server's file: `mariadb-binlog --start-position` and its "# at" lines
 * then mean the same in a segment as on the server. */
static int write_padding(struct binlog_stream *s, struct errbuf *err)
{
	uint64_t at = RPL_MAGIC_LEN + s->fde_len, pad;
	unsigned char *ev;
	int rc;

	if (s->seg_start.pos == at)
		return 0;
	pad = s->seg_start.pos - at;
	if (s->seg_start.pos < at || pad < EVENT_HEADER_LEN + s->checksum_len || pad > UINT32_MAX)
		return error_set(err, -EPROTO,
				 "cannot place the first event of '%s' at %" PRIu64
				 " after a format description of %zu bytes",
				 s->seg_start.file, s->seg_start.pos, s->fde_len);
	if (!(ev = calloc(1, pad)))
		return error_set(err, -ENOMEM, "out of memory");
	memcpy(ev, s->fde, 4); /* timestamp */
	ev[4] = IGNORABLE_LOG_EVENT;
	memcpy(ev + 5, s->fde + 5, 4); /* server id */
	put_le32(ev + 9, (uint32_t)pad);
	put_le32(ev + 13, (uint32_t)s->seg_start.pos);
	ev[17] = LOG_EVENT_IGNORABLE_F & 0xff;
	ev[18] = LOG_EVENT_IGNORABLE_F >> 8;
	if (s->checksum_len)
		put_le32(ev + pad - 4, (uint32_t)crc32(0, ev, (uInt)(pad - 4)));
	rc = binlog_segment_write(s->seg, ev, pad, err);
	free(ev);
	return rc;
}

static int segment_start(struct binlog_stream *s, time_t first, struct errbuf *err)
{
	time_t now = time(NULL), since;
	int rc;

	if (!s->fde)
		return error_set(err, -EPROTO,
				 "the server sent events of '%s' before its format description",
				 s->next.file);
	s->seg_start = s->next;
	s->seg_last = 0;
	/* behind since this event came, or since it was written when the
	 * stream is catching up */
	since = first && first < now ? first : now;
	if (!s->st.behind_since || since < s->st.behind_since) {
		s->st.behind_since = since;
		status_save(s, true);
	}
	rc = binlog_segment_open(&s->seg, &s->o, &s->seg_start, first, err);
	if (!rc)
		rc = binlog_segment_write(s->seg, BINLOG_MAGIC, RPL_MAGIC_LEN, err);
	if (!rc)
		rc = binlog_segment_write(s->seg, s->fde, s->fde_len, err);
	if (!rc)
		rc = write_padding(s, err);
	clock_gettime(CLOCK_MONOTONIC, &s->seg_opened);
	return rc;
}

/* Closes the open segment.  `file_ended`: the stream goes on in the next
 * binlog file on a new connection, whose events are not here yet. */
static int segment_commit(struct binlog_stream *s, bool file_ended, struct errbuf *err)
{
	char name[ARCHIVE_NAME_MAX];
	int rc = binlog_segment_commit(s->seg, name, err);

	binlog_segment_free(s->seg);
	s->seg = NULL;
	if (!rc)
		rc = position_write(s, &s->next, err);
	if (rc)
		return rc;
	s->committed = s->next;
	s->segments++;
	if (s->seg_last)
		s->st.last_event_at = s->seg_last;
	/* caught up, unless more is queued: the next event or the next
	 * file's say so; the server's heartbeat says when all was sent */
	s->st.behind_since = file_ended ? time(NULL) : 0;
	status_save(s, true);
	stream_works(s);
	if (s->o.log)
		logger_log(s->o.log, LOGL_INFO, "binlog_segment",
			   "file=%s start=\"%s:%" PRIu64 "\" end=\"%s:%" PRIu64 "\"", name,
			   s->seg_start.file, s->seg_start.pos, s->next.file, s->next.pos);
	return 0;
}

/* The server went on in the next file (s->next) after a restart: file
 * `old` ended at old->pos without a rotate event.  The segment that ends
 * it gets one, made here and flagged artificial, so that a restore sees
 * where the file ended; when no segment is open, one is opened for it. */
static int end_file(struct binlog_stream *s, const struct binlog_pos *old, uint32_t when,
		    struct errbuf *err)
{
	struct binlog_pos next = s->next;
	size_t name_len = strlen(next.file),
	       size = EVENT_HEADER_LEN + 8 + name_len + s->checksum_len;
	unsigned char ev[EVENT_HEADER_LEN + 8 + BINLOG_FILE_MAX + 4];
	int rc = 0;

	s->next = *old;
	if (!s->seg)
		rc = segment_start(s, (time_t)when, err);
	if (!rc) {
		memset(ev, 0, sizeof(ev));
		put_le32(ev, when);
		ev[4] = ROTATE_EVENT;
		memcpy(ev + 5, s->fde + 5, 4); /* the server's id */
		put_le32(ev + 9, (uint32_t)size);
		put_le32(ev + 13, (uint32_t)(old->pos + size));
		ev[17] = ARTIFICIAL_EVENT_F;
		for (int i = 0; i < 8; i++)
			ev[EVENT_HEADER_LEN + i] = (unsigned char)(next.pos >> (8 * i));
		memcpy(ev + EVENT_HEADER_LEN + 8, next.file, name_len);
		if (s->checksum_len)
			put_le32(ev + size - 4, (uint32_t)crc32(0, ev, (uInt)(size - 4)));
		rc = binlog_segment_write(s->seg, ev, size, err);
	}
	s->in_group = s->standalone = false;
	s->next = next;
	return rc ? rc : segment_commit(s, true, err);
}

static void segment_abandon(struct binlog_stream *s)
{
	binlog_segment_free(s->seg);
	s->seg = NULL;
	s->next = s->committed;
	s->in_group = false;
}

/* ---- events ---- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool is_group_end(MARIADB_RPL_EVENT *ev)
{
	const MARIADB_STRING *q = &ev->event.query.statement;

	switch (ev->event_type) {
	case XID_EVENT:
	case XA_PREPARE_LOG_EVENT:
		return true;
	case QUERY_EVENT:
		return (q->length == 6 && !strncasecmp(q->str, "COMMIT", 6)) ||
		       (q->length == 8 && !strncasecmp(q->str, "ROLLBACK", 8));
	default:
		return false;
	}
}

static int set_next_file(struct binlog_stream *s, const char *name, size_t len, uint64_t pos,
			 struct errbuf *err)
{
	if (len > BINLOG_FILE_MAX || pos < 4)
		return error_set(err, -EPROTO,
				 "the server sent a rotate event with a bad position");
	memcpy(s->next.file, name, len);
	s->next.file[len] = '\0';
	if (!binlog_file_name_valid(s->next.file))
		return error_set(err, -EPROTO, "the server sent an unusable binlog file name '%s'",
				 s->next.file);
	s->next.pos = pos;
	return 0;
}

/* The rotate event ending a file, from its bytes: position (8), name up
 * to the checksum.  (libmariadb 3.3 misreads it when it has a checksum.) */
static int take_rotate(struct binlog_stream *s, const unsigned char *data, size_t len,
		       struct errbuf *err)
{
	uint64_t pos = 0;

	if (len < EVENT_HEADER_LEN + 8 + s->checksum_len + 1)
		return error_set(err, -EPROTO, "the server sent a truncated rotate event");
	for (int i = 7; i >= 0; i--)
		pos = pos << 8 | data[EVENT_HEADER_LEN + i];
	return set_next_file(s, (const char *)data + EVENT_HEADER_LEN + 8,
			     len - EVENT_HEADER_LEN - 8 - s->checksum_len, pos, err);
}

static int take_fde(struct binlog_stream *s, const unsigned char *data, size_t len,
		    struct errbuf *err)
{
	unsigned char *copy = malloc(len);

	if (!copy)
		return error_set(err, -ENOMEM, "out of memory");
	memcpy(copy, data, len);
	/* With checksums, the FDE ends in the algorithm (1 = CRC32) and its own CRC. */
	s->checksum_len = len > EVENT_HEADER_LEN + 5 && data[len - 5] == 1 &&
					  crc32(0, data, (uInt)(len - 4)) == le32(data + len - 4)
				  ? 4
				  : 0;
	free(s->fde);
	s->fde = copy;
	s->fde_len = len;
	return 0;
}

static int take_event(struct binlog_stream *s, MARIADB_RPL_EVENT *ev, struct errbuf *err)
{
	const unsigned char *data = ev->raw_data + ev->raw_data_ofs;
	size_t len = ev->raw_data_size - ev->raw_data_ofs;
	uint32_t next_pos;
	int rc = 0;

	if (ev->raw_data_ofs > ev->raw_data_size || len < EVENT_HEADER_LEN || le32(data + 9) != len)
		return error_set(err, -EPROTO,
				 "the server sent a malformed event in '%s' at %" PRIu64,
				 s->next.file, s->next.pos);
	next_pos = le32(data + 13);
	if (ev->event_type == HEARTBEAT_LOG_EVENT) {
		/* the server has sent all it has: with no segment open, every
		 * event is in a closed one, and the stream works (with one
		 * open, only its commit says so: closing it may fail) */
		if (s->seg)
			return 0;
		stream_works(s);
		if (s->st.behind_since) {
			s->st.behind_since = 0;
			status_save(s, true);
		}
		return 0;
	}
	if (s->checksum_len && crc32(0, data, (uInt)(len - 4)) != le32(data + len - 4))
		return error_set(err, -EPROTO,
				 "the server sent an event with a bad checksum in '%s' at %" PRIu64,
				 s->next.file, s->next.pos);
	if (ev->event_type == ROTATE_EVENT && (ev->flags & ARTIFICIAL_EVENT_F)) {
		/* Where the server goes on: at the start, or in the next file
		 * after a restart (no rotate event ends the last one). */
		struct binlog_pos was = s->next;

		rc = take_rotate(s, data, len, err);
		if (rc || !strcmp(was.file, s->next.file))
			return rc;
		/* (the server stamps its made-up rotate 0) */
		rc = end_file(s, &was,
			      ev->timestamp ? (uint32_t)ev->timestamp : (uint32_t)time(NULL), err);
		return rc ? rc : ROTATED;
	}
	if (ev->flags & ARTIFICIAL_EVENT_F)
		return 0; /* made up for this connection (a GTID list), not in the file */
	if (ev->event_type == START_ENCRYPTION_EVENT) {
		/* encrypt_binlog: the server sends its events decrypted, so
		 * this marker would be a lie in the segment (padding takes
		 * its place) */
		if (next_pos)
			s->next.pos = next_pos;
		return 0;
	}
	if (ev->event_type == FORMAT_DESCRIPTION_EVENT) {
		rc = take_fde(s, data, len, err);
		if (!rc && next_pos) /* the file's own, not a copy resent at the start */
			s->next.pos = next_pos;
		return rc;
	}
	if (!s->seg)
		rc = segment_start(s, (time_t)ev->timestamp, err);
	if (!rc)
		rc = binlog_segment_write(s->seg, data, len, err);
	if (rc)
		return rc;
	if ((time_t)ev->timestamp > s->seg_last)
		s->seg_last = (time_t)ev->timestamp;
	if (next_pos)
		s->next.pos = next_pos;
	if (ev->event_type == GTID_EVENT) {
		s->in_group = true;
		/* flags2 after the sequence number (8) and domain id (4) */
		s->standalone = len > EVENT_HEADER_LEN + 12 &&
				(data[EVENT_HEADER_LEN + 12] & GTID_STANDALONE_F);
	} else if (s->standalone || is_group_end(ev)) {
		s->in_group = s->standalone = false;
	}
	if (ev->event_type == ROTATE_EVENT) { /* the file ends here */
		s->in_group = s->standalone = false;
		rc = take_rotate(s, data, len, err);
		if (!rc)
			rc = segment_commit(s, true, err);
		return rc ? rc : ROTATED;
	}
	return 0;
}

static bool segment_due(struct binlog_stream *s)
{
	return s->seg && !s->in_group && since(&s->seg_opened) >= s->o.segment_seconds;
}

/* The stream stopped.  The server refusing to send the binlog from where
 * the archive ends (ER_MASTER_FATAL_ERROR_READING_BINLOG: the file was
 * purged, or the position is not in it) is not retried: events are
 * missing from the archive and only the operator can decide. */
static int fetch_failed(struct binlog_stream *s, MYSQL *m, struct errbuf *err)
{
	if (mysql_errno(m) == 1236) {
		s->fatal = true;
		return error_set(err, -ENOENT,
				 "the server cannot send its binlog from '%s' at %" PRIu64
				 ": %s (MariaDB error 1236): events it wrote since are not in the "
				 "archive; take a backup, then remove '%s/" BINLOG_POSITION_NAME
				 "' to start again from the server's current position",
				 s->next.file, s->next.pos, mysql_error(m), s->o.dir);
	}
	return error_set(err, -EIO,
			 "the binlog stream from '%s' at %" PRIu64 " broke: %s (MariaDB error %u)",
			 s->next.file, s->next.pos, mysql_error(m), mysql_errno(m));
}

/* One connection: from `committed` until a failure or the cancel. */
static int stream_once(struct binlog_stream *s, struct errbuf *err)
{
	MARIADB_RPL_EVENT *ev = NULL;
	MARIADB_RPL *rpl = NULL;
	MYSQL *m = NULL;
	uint32_t id = 0;
	int rc = dbconn_open(&m, &s->o.conn, err);

	if (!rc && mysql_query(m, "SET @master_binlog_checksum = @@global.binlog_checksum, "
				  "@mariadb_slave_capability = 4, "
				  "@master_heartbeat_period = " HEARTBEAT_NS))
		rc = binlog_server_error(m, "cannot prepare the replication session", err);
	if (!rc)
		rc = binlog_checksum_length(m, &s->checksum_len, err);
	if (!rc && !s->have_start) {
		rc = binlog_first_position(m, &s->o, &s->committed, err);
		s->have_start = !rc;
		s->fatal = rc == -EINVAL; /* no binlog on the server */
	}
	if (!rc)
		rc = binlog_replica_id(m, &s->o, &id, &s->fatal, err);
	if (!rc && !(rpl = mariadb_rpl_init(m)))
		rc = error_set(err, -ENOMEM, "cannot start a replication stream");
	s->next = s->committed;
	if (!rc &&
	    (mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, s->next.file, strlen(s->next.file)) ||
	     mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, (unsigned long)s->next.pos) ||
	     mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, id) ||
	     /* every event of the file: without annotations the server leaves
	      * them out and the events no longer follow each other */
	     mariadb_rpl_optionsv(rpl, MARIADB_RPL_FLAGS, MARIADB_RPL_BINLOG_SEND_ANNOTATE_ROWS)))
		rc = error_set(err, -EINVAL, "cannot set up the replication stream: %s",
			       mariadb_rpl_error(rpl));
	if (!rc && mariadb_rpl_open(rpl))
		rc = error_set(err, -EIO, "cannot read the binlog from '%s' at %" PRIu64 ": %s",
			       s->next.file, s->next.pos, mariadb_rpl_error(rpl));
	if (!rc && s->o.log)
		logger_log(s->o.log, LOGL_INFO, "binlog_stream_open",
			   "from=\"%s:%" PRIu64 "\" server_id=%" PRIu32, s->next.file, s->next.pos,
			   id);
	while (!rc && !cancelled(s)) {
		if (!(ev = mariadb_rpl_fetch(rpl, ev))) {
			rc = fetch_failed(s, m, err);
			break;
		}
		rc = take_event(s, ev, err);
		if (rc == ROTATED)
			break;
		if (!rc && segment_due(s))
			rc = segment_commit(s, false, err);
		status_save(s, false);
	}
	mariadb_free_rpl_event(ev);
	if (rpl)
		mariadb_rpl_close(rpl);
	if (m)
		mysql_close(m);
	return rc;
}

/* Waits `seconds` unless cancelled first. */
static void pause_before_retry(struct binlog_stream *s, unsigned seconds)
{
	for (unsigned i = 0; i < 10 * seconds && !cancelled(s); i++) {
		nanosleep(&(struct timespec){0, 100000000}, NULL);
		status_save(s, false);
		alert_broken(s, false);
	}
}

int binlog_stream_run(struct binlog_stream *s, struct errbuf *err)
{
	unsigned first_wait = s->o.retry_seconds ? s->o.retry_seconds : 5, wait = first_wait;
	int rc = binlog_position_read(s->o.dir, &s->committed, err);

	status_start(s);
	if (rc && rc != -ENOENT) {
		s->fatal = true;
		stream_broken(s, err->msg);
		return rc;
	}
	s->have_start = !rc;
	while (!cancelled(s)) {
		unsigned long before = s->segments;

		rc = stream_once(s, err);
		segment_abandon(s); /* re-read from the last committed end */
		if (cancelled(s))
			break;
		if (s->segments != before)
			wait = first_wait; /* it worked for a while: a new failure */
		if (rc == ROTATED)
			continue;
		stream_broken(s, err->msg);
		if (s->fatal)
			return rc;
		if (s->o.log)
			logger_log(s->o.log, LOGL_ERROR, "binlog_stream_failed",
				   "error=\"%s\" retry_seconds=%u", err->msg, wait);
		pause_before_retry(s, wait);
		/* a lasting failure (a purged binlog) is retried, not logged,
		 * every few seconds */
		wait = wait * 2 > BINLOG_RETRY_MAX ? BINLOG_RETRY_MAX : wait * 2;
	}
	status_save(s, true);
	return 0;
}
