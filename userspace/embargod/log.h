/* SPDX-License-Identifier: GPL-2.0 */
/*
 * embargod's logging. Records are queued and written by a thread of their own, so the event loop never
 * waits for journald (a journald stuck on an exec we hold must not stop us answering it). When the queue
 * is full the record is counted as dropped.
 *
 * Event records (matches, repeated matches) are also rate limited: at most log_rate_limit per
 * log_rate_interval_s are written one by one. What the limit or a full queue keeps out is counted by
 * vendor, action and file, and one summary record (EMBARGO_MSGID_SUPPRESSED) is written when the
 * interval ends, after the records written in it. Counting never waits: the decision path only ever
 * takes a mutex that nobody holds across I/O.
 */
#ifndef EMBARGOD_LOG_H
#define EMBARGOD_LOG_H

#include <stdint.h>
#include <syslog.h>

#include "record.h"

enum log_target {
	LOG_TARGET_AUTO, /* journal if its socket exists, stderr otherwise */
	LOG_TARGET_JOURNAL,
	LOG_TARGET_STDERR,
};

/* Before log_start(): log_rate_limit (0: none) and log_rate_interval_s of embargo.conf. */
void log_set_rate_limit(uint32_t limit, uint32_t interval_s);
int log_start(enum log_target target, int max_level);
/* Drains what is queued (bounded wait) and stops the thread. */
void log_stop(void);
/* Takes ownership of rec (freed whether queued or dropped). */
void log_submit(struct embargo_record *rec);
/* An event record: like log_submit(), under the rate limit, and counted in the summary if not written. */
void log_submit_event(struct embargo_record *rec);
/* From the housekeeping timer: if the rate-limit interval has ended, its summary is written. */
void log_tick(void);
void log_msg(int priority, const char *message_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t log_dropped(void);
/* Events not written one by one (rate limit and full queue), each counted in a summary. */
uint64_t log_suppressed(void);
const char *log_target_name(void);

#define log_error(...) log_msg(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
