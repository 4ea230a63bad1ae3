/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rate limit of embargod's event records, and the summary of what it kept out of the journal.
 *
 * At most `limit` event records are written one by one per window of `interval` (a window begins with
 * the first record after the previous one ended); the others are counted into a summary, and so are the
 * records a full log queue could not take. When the window ends, one summary record says how many
 * events were not written, by vendor and action, and which files they were about. Counts are in events
 * (decisions), not records: a record that carried EMBARGO_REPEATED=N stood for 1 + N decisions (a
 * repeated-matches record for N), so nothing the kernel decided is ever lost from the totals.
 */
#ifndef EMBARGO_RATELIMIT_H
#define EMBARGO_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "embargo.h"
#include "record.h"

struct embargo_ratelimit {
	uint32_t limit;	      /* records per window; 0: no limit */
	uint64_t interval_ns; /* > 0 */
	uint64_t start_ns;    /* when the current window began; 0: none is open */
	uint32_t written;     /* records written in it */
};

void embargo_ratelimit_init(struct embargo_ratelimit *rl, uint32_t limit, uint32_t interval_s);
/* The open window has ended by now: it is closed (returns true), the next record opens a new one. */
bool embargo_ratelimit_roll(struct embargo_ratelimit *rl, uint64_t now);
/* The window open at now (opened if none is) still has room for a record; take() counts one. */
bool embargo_ratelimit_room(struct embargo_ratelimit *rl, uint64_t now);
void embargo_ratelimit_take(struct embargo_ratelimit *rl);

/* Why a record was not written. */
enum embargo_suppress_why {
	EMBARGO_SUPPRESS_RATE,	/* over log_rate_limit */
	EMBARGO_SUPPRESS_QUEUE, /* the log queue was full (the journal did not keep up) */
};

#define EMBARGO_SUMMARY_VENDORS 32
#define EMBARGO_SUMMARY_VENDOR_LEN 256
/*
 * Every distinct file is counted by name, so that a flood of copies cannot hide one: the summary names
 * the top files, and the file-list records after it (EMBARGO_MSGID_SUPPRESSED_FILES) every one, in
 * groups. Memory stays bounded: embargod writes a summary early once it holds FLUSH files, and a
 * summary that cannot be written (the journal stalls) stops at MAX names, counting the rest as "other".
 */
#define EMBARGO_SUMMARY_FLUSH_FILES 1024
#define EMBARGO_SUMMARY_MAX_FILES 65536
/* Files of one file-list record: their JSON stays under journalctl's 4096-byte display limit. */
#define EMBARGO_SUMMARY_FILES_PER_RECORD 16
/* Files named in the summary record, most events first. */
#define EMBARGO_SUMMARY_TOP_FILES 10

struct embargo_summary_vendor {
	char name[EMBARGO_SUMMARY_VENDOR_LEN];
	uint64_t denied, audited;
};

struct embargo_summary_file {
	char *path;
	uint64_t events;
};

struct embargo_summary {
	uint64_t events;   /* decisions not written one by one: by_rate + by_queue = denied + audited */
	uint64_t by_rate;  /* ... because of the rate limit */
	uint64_t by_queue; /* ... because the log queue was full */
	uint64_t records;  /* event records not written */
	uint64_t denied, audited;
	uint64_t other_dropped;		/* records that were no events (messages) lost to a full queue */
	uint64_t first_usec, last_usec; /* CLOCK_REALTIME of the first and the last record counted */
	size_t n_vendors;
	struct embargo_summary_vendor vendors[EMBARGO_SUMMARY_VENDORS];
	uint64_t other_vendors_denied, other_vendors_audited; /* vendors beyond the table */
	size_t n_files, files_cap;
	struct embargo_summary_file *files; /* in the order first seen */
	uint32_t *file_index;		    /* open addressing over the paths: index + 1, 0 is empty */
	size_t index_cap;		    /* a power of two, or 0 */
	uint64_t other_files; /* events of files past EMBARGO_SUMMARY_MAX_FILES (or out of memory) */
};

/* An empty summary; embargo_summary_free() releases what it then allocates. */
void embargo_summary_init(struct embargo_summary *s);
void embargo_summary_free(struct embargo_summary *s);
/* Empty again, keeping its tables' memory. */
void embargo_summary_reset(struct embargo_summary *s);
bool embargo_summary_empty(const struct embargo_summary *s);
/*
 * Count an event record (a match or a repeated-matches record of embargod) that is not written: its
 * EMBARGO_VENDOR, EMBARGO_ACTION, EMBARGO_PATH and EMBARGO_REPEATED. usec: CLOCK_REALTIME, now.
 */
void embargo_summary_add(struct embargo_summary *s, const struct embargo_record *rec,
			 enum embargo_suppress_why why, uint64_t usec);
/* A record that is no event (a message) lost to a full queue. */
void embargo_summary_add_dropped(struct embargo_summary *s, uint64_t usec);
/* Everything counted in from, added to into. */
void embargo_summary_merge(struct embargo_summary *into, const struct embargo_summary *from);
/*
 * The summary record (MESSAGE_ID EMBARGO_MSGID_SUPPRESSED): MESSAGE for people, the counts as
 * EMBARGO_SUPPRESSED* fields, per vendor and the top files as JSON. limit and interval_s are the
 * configuration in force, named in the record. 0 or -ENOMEM; rec is the caller's to free either way.
 */
int embargo_summary_record(const struct embargo_summary *s, uint32_t limit, uint32_t interval_s,
			   struct embargo_record *rec);
/* How many file-list records follow the summary: 0 when its own top files are every file. */
size_t embargo_summary_file_parts(const struct embargo_summary *s);
/*
 * File-list record `part` (0-based) of the summary (MESSAGE_ID EMBARGO_MSGID_SUPPRESSED_FILES):
 * EMBARGO_SUMMARY_FILES_PER_RECORD files, each with its events. 0 or -ENOMEM; rec is the caller's.
 */
int embargo_summary_files_record(const struct embargo_summary *s, size_t part, struct embargo_record *rec);

#endif
