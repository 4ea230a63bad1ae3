// SPDX-License-Identifier: GPL-2.0
#include "log.h"
#include "ratelimit.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
/* No CODE_FILE, CODE_LINE, CODE_FUNC: they would name this file's emit() on every record. */
#define SD_JOURNAL_SUPPRESS_LOCATION
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
	uint64_t enqueued, dequeued; /* records through the queue, ever: orders summaries after them */
	uint64_t dropped;	     /* records a full queue refused */
	uint64_t suppressed;	     /* events not written one by one, for status */
	/*
	 * The rate limit's window, what it and the full queue kept out since the last summary (open), and
	 * the summary of an ended window not yet written (closed: written once the records queued before
	 * it are, so that it follows them). Two buffers, swapped; a window that ends while a summary is
	 * still waiting is merged into it.
	 */
	struct embargo_ratelimit rl;
	uint32_t rate_limit, rate_interval_s;
	struct embargo_summary *open, *closed, *spare; /* spare: empty, or being written */
	bool have_closed;
	uint64_t closed_after; /* written once dequeued reaches this */
} L = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.target = LOG_TARGET_STDERR,
	.max_level = LOG_INFO,
	.rate_limit = 0,
	.rate_interval_s = 10,
};

static struct embargo_summary summary_bufs[3];

static uint64_t realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
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

/* Called with L.lock held: the open summary becomes the one to write after what is queued now. */
static void close_window_locked(void)
{
	if (embargo_summary_empty(L.open))
		return;
	if (!L.have_closed) {
		struct embargo_summary *t = L.closed;

		L.closed = L.open;
		L.open = t;
		L.have_closed = true;
	} else {
		embargo_summary_merge(L.closed, L.open);
	}
	embargo_summary_reset(L.open);
	L.closed_after = L.enqueued;
	pthread_cond_signal(&L.cond);
}

static void emit_part(const struct embargo_summary *s, size_t part)
{
	struct embargo_record r = {};

	if (embargo_summary_files_record(s, part, &r) == 0)
		emit(&r);
	record_free(&r);
}

/* Called with L.lock held, which it drops while writing. */
static void write_summary_locked(void)
{
	struct embargo_summary *s = L.closed;
	struct embargo_record r = {};
	size_t parts;
	int ret;

	/* Taken out whole: formatted and written without the lock, then it is the spare again. */
	L.closed = L.spare;
	L.spare = NULL;
	L.have_closed = false;
	pthread_mutex_unlock(&L.lock);
	ret = embargo_summary_record(s, L.rate_limit, L.rate_interval_s, &r);
	if (ret == 0)
		emit(&r);
	record_free(&r);
	/* Every file by name after the summary, so that no copy hides behind the top ones. */
	parts = embargo_summary_file_parts(s);
	for (size_t i = 0; i < parts; i++)
		emit_part(s, i);
	embargo_summary_reset(s);
	pthread_mutex_lock(&L.lock);
	L.spare = s;
}

static void *log_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&L.lock);
	for (;;) {
		while (L.count == 0 && !L.have_closed && !L.stopping)
			pthread_cond_wait(&L.cond, &L.lock);
		if (L.have_closed && L.dequeued >= L.closed_after) {
			write_summary_locked();
			continue;
		}
		if (L.count == 0 && L.stopping)
			break;
		if (L.count == 0)
			continue;
		struct embargo_record rec = L.queue[L.head];

		L.queue[L.head] = (struct embargo_record){};
		L.head = (L.head + 1) % QUEUE_LEN;
		L.count--;
		L.dequeued++;
		pthread_mutex_unlock(&L.lock);

		emit(&rec);
		record_free(&rec);
		pthread_mutex_lock(&L.lock);
	}
	pthread_mutex_unlock(&L.lock);
	return NULL;
}

void log_set_rate_limit(uint32_t limit, uint32_t interval_s)
{
	L.rate_limit = limit;
	L.rate_interval_s = interval_s ? interval_s : 1;
}

int log_start(enum log_target target, int max_level)
{
	int r;

	if (target == LOG_TARGET_AUTO)
		target = access(JOURNAL_SOCKET, W_OK) == 0 ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	L.target = target;
	L.max_level = max_level;
	embargo_ratelimit_init(&L.rl, L.rate_limit, L.rate_interval_s);
	L.open = &summary_bufs[0];
	L.closed = &summary_bufs[1];
	L.spare = &summary_bufs[2];
	for (size_t i = 0; i < ARRAY_SIZE(summary_bufs); i++)
		embargo_summary_init(&summary_bufs[i]);
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
	/* What was kept out in the last, unfinished interval is summarized before we go. */
	close_window_locked();
	L.stopping = true;
	pthread_cond_signal(&L.cond);
	pthread_mutex_unlock(&L.lock);
	pthread_join(L.thread, NULL);
	L.running = false;
	for (size_t i = 0; i < ARRAY_SIZE(summary_bufs); i++)
		embargo_summary_free(&summary_bufs[i]);
}

/* Called with L.lock held and room in the queue. */
static void enqueue_locked(struct embargo_record *rec)
{
	L.queue[(L.head + L.count) % QUEUE_LEN] = *rec;
	*rec = (struct embargo_record){};
	L.count++;
	L.enqueued++;
	pthread_cond_signal(&L.cond);
}

static bool log_direct(struct embargo_record *rec)
{
	if (L.running)
		return false;
	/* Before the thread starts (option errors) and after it stops: write directly. */
	emit(rec);
	record_free(rec);
	return true;
}

void log_submit(struct embargo_record *rec)
{
	if (log_direct(rec))
		return;
	pthread_mutex_lock(&L.lock);
	if (L.count == QUEUE_LEN) {
		L.dropped++;
		embargo_summary_add_dropped(L.open, realtime_usec());
	} else {
		enqueue_locked(rec);
	}
	pthread_mutex_unlock(&L.lock);
	record_free(rec);
}

void log_submit_event(struct embargo_record *rec)
{
	uint64_t now = now_ns();
	enum embargo_suppress_why why;

	if (log_direct(rec))
		return;
	pthread_mutex_lock(&L.lock);
	if (embargo_ratelimit_roll(&L.rl, now))
		close_window_locked();
	if (!embargo_ratelimit_room(&L.rl, now)) {
		why = EMBARGO_SUPPRESS_RATE;
	} else if (L.count == QUEUE_LEN) {
		L.dropped++;
		why = EMBARGO_SUPPRESS_QUEUE;
	} else {
		embargo_ratelimit_take(&L.rl);
		enqueue_locked(rec);
		pthread_mutex_unlock(&L.lock);
		return;
	}
	uint64_t before = L.open->events;

	embargo_summary_add(L.open, rec, why, realtime_usec());
	L.suppressed += L.open->events - before;
	/* Many distinct files: written now rather than held, so that memory stays bounded. */
	if (L.open->n_files >= EMBARGO_SUMMARY_FLUSH_FILES)
		close_window_locked();
	pthread_mutex_unlock(&L.lock);
	record_free(rec);
}

void log_tick(void)
{
	if (!L.running)
		return;
	pthread_mutex_lock(&L.lock);
	/* No window open but something counted: only messages were dropped; their summary is due too. */
	if (embargo_ratelimit_roll(&L.rl, now_ns()) || (!L.rl.start_ns && !embargo_summary_empty(L.open)))
		close_window_locked();
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

static uint64_t read_locked(const uint64_t *v)
{
	uint64_t n;

	pthread_mutex_lock(&L.lock);
	n = *v;
	pthread_mutex_unlock(&L.lock);
	return n;
}

uint64_t log_dropped(void)
{
	return read_locked(&L.dropped);
}

uint64_t log_suppressed(void)
{
	return read_locked(&L.suppressed);
}
