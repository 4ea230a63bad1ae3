/* SPDX-License-Identifier: GPL-2.0 */
/*
 * embargod's logging. Records are queued and written by a thread of their own, so the event loop never
 * waits for journald (a journald stuck on an exec we hold must not stop us answering it). When the queue
 * is full the record is counted as dropped, and the count is itself logged once there is room.
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

int log_target_from_string(const char *s, enum log_target *t);
int log_start(enum log_target target, int max_level);
/* Drains what is queued (bounded wait) and stops the thread. */
void log_stop(void);
/* Takes ownership of rec (freed whether queued or dropped). */
void log_submit(struct embargo_record *rec);
void log_msg(int priority, const char *message_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t log_dropped(void);
const char *log_target_name(void);

#define log_error(...) log_msg(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
