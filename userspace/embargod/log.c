// SPDX-License-Identifier: GPL-2.0
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#define QUEUE_LEN 4096
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stopping;
	enum log_target target;
	int max_level;
	struct embargo_record queue[QUEUE_LEN];
	size_t head, count;
	uint64_t dropped, dropped_reported;
} L = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.target = LOG_TARGET_STDERR,
	.max_level = LOG_INFO,
};

int log_target_from_string(const char *s, enum log_target *t)
{
	if (strcmp(s, "auto") == 0)
		*t = LOG_TARGET_AUTO;
	else if (strcmp(s, "journal") == 0)
		*t = LOG_TARGET_JOURNAL;
	else if (strcmp(s, "stderr") == 0)
		*t = LOG_TARGET_STDERR;
	else
		return -EINVAL;
	return 0;
}

const char *log_target_name(void)
{
	return L.target == LOG_TARGET_JOURNAL ? "journal" : "stderr";
}

static void emit(struct embargo_record *rec)
{
	if (L.target == LOG_TARGET_JOURNAL) {
		struct iovec iov[EMBARGO_RECORD_MAX_FIELDS];

		record_iovec(rec, iov);
		if (sd_journal_sendv(iov, (int)rec->n) >= 0)
			return;
		/* journald went away: the record still goes somewhere. */
	}
	_cleanup_free_ char *line = record_format_line(rec);
	if (line) {
		/* One write per line, so lines of concurrent writers never interleave. */
		size_t n = strlen(line);
		line[n] = '\n';
		(void)write_all(STDERR_FILENO, line, n + 1);
	}
}

static void *log_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&L.lock);
	for (;;) {
		while (L.count == 0 && !L.stopping)
			pthread_cond_wait(&L.cond, &L.lock);
		if (L.count == 0 && L.stopping)
			break;
		struct embargo_record rec = L.queue[L.head];
		uint64_t lost = L.dropped - L.dropped_reported;

		L.queue[L.head] = (struct embargo_record){};
		L.head = (L.head + 1) % QUEUE_LEN;
		L.count--;
		L.dropped_reported = L.dropped;
		pthread_mutex_unlock(&L.lock);

		emit(&rec);
		record_free(&rec);
		if (lost) {
			struct embargo_record r = { .priority = LOG_WARNING };

			if (record_addf(&r, "MESSAGE",
					"%llu log records were dropped: the log could not keep up",
					(unsigned long long)lost) == 0 &&
			    record_addf(&r, "PRIORITY", "%d", LOG_WARNING) == 0 &&
			    record_addf(&r, "EMBARGO_LOG_DROPPED", "%llu", (unsigned long long)lost) == 0)
				emit(&r);
			record_free(&r);
		}
		pthread_mutex_lock(&L.lock);
	}
	pthread_mutex_unlock(&L.lock);
	return NULL;
}

int log_start(enum log_target target, int max_level)
{
	int r;

	if (target == LOG_TARGET_AUTO)
		target = access(JOURNAL_SOCKET, W_OK) == 0 ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	L.target = target;
	L.max_level = max_level;
	r = pthread_create(&L.thread, NULL, log_thread, NULL);
	if (r != 0)
		return -r;
	L.running = true;
	return 0;
}

void log_stop(void)
{
	if (!L.running)
		return;
	pthread_mutex_lock(&L.lock);
	L.stopping = true;
	pthread_cond_signal(&L.cond);
	pthread_mutex_unlock(&L.lock);
	pthread_join(L.thread, NULL);
	L.running = false;
}

void log_submit(struct embargo_record *rec)
{
	if (!L.running) {
		/* Before the thread starts (option errors) and after it stops: write directly. */
		emit(rec);
		record_free(rec);
		return;
	}
	pthread_mutex_lock(&L.lock);
	if (L.count == QUEUE_LEN) {
		L.dropped++;
		pthread_mutex_unlock(&L.lock);
		record_free(rec);
		return;
	}
	L.queue[(L.head + L.count) % QUEUE_LEN] = *rec;
	*rec = (struct embargo_record){};
	L.count++;
	pthread_cond_signal(&L.cond);
	pthread_mutex_unlock(&L.lock);
}

void log_msg(int priority, const char *message_id, const char *fmt, ...)
{
	struct embargo_record rec = { .priority = priority };
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	if (priority > L.max_level)
		return;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		msg = NULL;
		return;
	}
	if (record_add(&rec, "MESSAGE", msg) < 0 || record_addf(&rec, "PRIORITY", "%d", priority) < 0 ||
	    (message_id && record_add(&rec, "MESSAGE_ID", message_id) < 0)) {
		record_free(&rec);
		return;
	}
	log_submit(&rec);
}

uint64_t log_dropped(void)
{
	uint64_t d;

	pthread_mutex_lock(&L.lock);
	d = L.dropped;
	pthread_mutex_unlock(&L.lock);
	return d;
}
