// SPDX-License-Identifier: GPL-2.0
#include "ratelimit.h"
#include "json.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

void embargo_ratelimit_init(struct embargo_ratelimit *rl, uint32_t limit, uint32_t interval_s)
{
	*rl = (struct embargo_ratelimit){
		.limit = limit,
		.interval_ns = (interval_s ? interval_s : 1) * 1000000000ull,
	};
}

bool embargo_ratelimit_roll(struct embargo_ratelimit *rl, uint64_t now)
{
	if (!rl->start_ns || now - rl->start_ns < rl->interval_ns)
		return false;
	rl->start_ns = 0;
	rl->written = 0;
	return true;
}

bool embargo_ratelimit_room(struct embargo_ratelimit *rl, uint64_t now)
{
	if (!rl->start_ns)
		rl->start_ns = now ? now : 1;
	return !rl->limit || rl->written < rl->limit;
}

void embargo_ratelimit_take(struct embargo_ratelimit *rl)
{
	rl->written++;
}

void embargo_summary_init(struct embargo_summary *s)
{
	s->files = NULL;
	s->file_index = NULL;
	s->files_cap = s->index_cap = 0;
	s->n_files = 0;
	embargo_summary_reset(s);
}

void embargo_summary_free(struct embargo_summary *s)
{
	embargo_summary_reset(s);
	free(s->files);
	free(s->file_index);
	s->files = NULL;
	s->file_index = NULL;
	s->files_cap = s->index_cap = 0;
}

void embargo_summary_reset(struct embargo_summary *s)
{
	/* Not a memset: the tables are large and only their first n entries are ever read. */
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i].path);
	if (s->n_files && s->file_index)
		memset(s->file_index, 0, s->index_cap * sizeof(*s->file_index));
	s->events = s->by_rate = s->by_queue = s->records = 0;
	s->denied = s->audited = s->other_dropped = 0;
	s->first_usec = s->last_usec = 0;
	s->n_vendors = s->n_files = 0;
	s->other_vendors_denied = s->other_vendors_audited = s->other_files = 0;
}

bool embargo_summary_empty(const struct embargo_summary *s)
{
	return s->records == 0 && s->other_dropped == 0;
}

static void stamp(struct embargo_summary *s, uint64_t first, uint64_t last)
{
	if (!s->first_usec || (first && first < s->first_usec))
		s->first_usec = first;
	if (last > s->last_usec)
		s->last_usec = last;
}

static void add_vendor(struct embargo_summary *s, const char *name, uint64_t denied, uint64_t audited)
{
	struct embargo_summary_vendor *v = NULL;

	for (size_t i = 0; i < s->n_vendors; i++)
		if (strcmp(s->vendors[i].name, name) == 0) {
			v = &s->vendors[i];
			break;
		}
	if (!v && s->n_vendors < EMBARGO_SUMMARY_VENDORS) {
		v = &s->vendors[s->n_vendors++];
		snprintf(v->name, sizeof(v->name), "%s", name);
		v->denied = v->audited = 0;
	}
	if (v) {
		v->denied += denied;
		v->audited += audited;
	} else {
		s->other_vendors_denied += denied;
		s->other_vendors_audited += audited;
	}
}

static uint64_t path_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* The index slot of path: where it is, or the empty one where it would go. index_cap is not 0. */
static size_t file_slot(const struct embargo_summary *s, const char *path)
{
	size_t mask = s->index_cap - 1, i = (size_t)path_hash(path) & mask;

	while (s->file_index[i] && strcmp(s->files[s->file_index[i] - 1].path, path) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Room for one more file in both tables (the index at most half full); false when out of memory. */
static bool grow_files(struct embargo_summary *s)
{
	if (s->n_files == s->files_cap) {
		size_t cap = s->files_cap ? 2 * s->files_cap : 64;
		struct embargo_summary_file *f = reallocarray(s->files, cap, sizeof(*f));

		if (!f)
			return false;
		s->files = f;
		s->files_cap = cap;
	}
	if (2 * (s->n_files + 1) > s->index_cap) {
		size_t cap = s->index_cap ? 2 * s->index_cap : 128;
		uint32_t *idx = calloc(cap, sizeof(*idx)), *old = s->file_index;

		if (!idx)
			return false;
		s->file_index = idx;
		s->index_cap = cap;
		for (size_t i = 0; i < s->n_files; i++)
			idx[file_slot(s, s->files[i].path)] = (uint32_t)i + 1;
		free(old);
	}
	return true;
}

static void add_file(struct embargo_summary *s, const char *path, uint64_t events)
{
	size_t slot;
	char *copy;

	if (s->index_cap) {
		slot = file_slot(s, path);
		if (s->file_index[slot]) {
			s->files[s->file_index[slot] - 1].events += events;
			return;
		}
	}
	if (s->n_files >= EMBARGO_SUMMARY_MAX_FILES || !grow_files(s) || !(copy = strdup(path))) {
		s->other_files += events;
		return;
	}
	s->files[s->n_files] = (struct embargo_summary_file){ .path = copy, .events = events };
	s->file_index[file_slot(s, path)] = (uint32_t)++s->n_files;
}

void embargo_summary_add(struct embargo_summary *s, const struct embargo_record *rec,
			 enum embargo_suppress_why why, uint64_t usec)
{
	const char *msgid = record_get(rec, "MESSAGE_ID"), *action = record_get(rec, "EMBARGO_ACTION");
	const char *vendor = record_get(rec, "EMBARGO_VENDOR"), *path = record_get(rec, "EMBARGO_PATH");
	const char *rep = record_get(rec, "EMBARGO_REPEATED");
	bool repeat_record = msgid && strcmp(msgid, EMBARGO_MSGID_REPEATED) == 0;
	uint64_t repeated = 0, n;
	bool denied = action && strcmp(action, "denied") == 0;

	if (rep && parse_u64(rep, UINT64_MAX / 2, &repeated) < 0)
		repeated = 0;
	/* A match record is its own decision plus the ones it carried; a repeat record only carries. */
	n = repeat_record ? repeated : 1 + repeated;
	s->records++;
	s->events += n;
	if (why == EMBARGO_SUPPRESS_RATE)
		s->by_rate += n;
	else
		s->by_queue += n;
	if (denied)
		s->denied += n;
	else
		s->audited += n;
	add_vendor(s, vendor && vendor[0] ? vendor : "(unknown vendor)", denied ? n : 0, denied ? 0 : n);
	add_file(s, path && path[0] ? path : "(unknown path)", n);
	stamp(s, usec, usec);
}

void embargo_summary_add_dropped(struct embargo_summary *s, uint64_t usec)
{
	s->other_dropped++;
	stamp(s, usec, usec);
}

void embargo_summary_merge(struct embargo_summary *into, const struct embargo_summary *from)
{
	into->events += from->events;
	into->by_rate += from->by_rate;
	into->by_queue += from->by_queue;
	into->records += from->records;
	into->denied += from->denied;
	into->audited += from->audited;
	into->other_dropped += from->other_dropped;
	if (!embargo_summary_empty(from))
		stamp(into, from->first_usec, from->last_usec);
	for (size_t i = 0; i < from->n_vendors; i++)
		add_vendor(into, from->vendors[i].name, from->vendors[i].denied, from->vendors[i].audited);
	into->other_vendors_denied += from->other_vendors_denied;
	into->other_vendors_audited += from->other_vendors_audited;
	for (size_t i = 0; i < from->n_files; i++)
		add_file(into, from->files[i].path, from->files[i].events);
	into->other_files += from->other_files;
}

/* Indices of the files, most events first; ties in the order they were first seen. */
static size_t top_files(const struct embargo_summary *s, size_t *idx, size_t max)
{
	size_t n = 0, j;

	for (size_t i = 0; i < s->n_files; i++) {
		if (n < max)
			j = n++;
		else if (s->files[i].events > s->files[idx[max - 1]].events)
			j = max - 1;
		else
			continue;
		while (j > 0 && s->files[idx[j - 1]].events < s->files[i].events) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	return n;
}

static int putf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int putf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n < 0 ? -ENOMEM : 0;
}

/* The MESSAGE: the totals, each vendor (up to 4) and the top 3 files. */
static char *summary_message(const struct embargo_summary *s, uint32_t limit, uint32_t interval_s,
			     const size_t *top, size_t n_top)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	int r = 0;

	if (!f)
		return NULL;
	if (s->events) {
		r = r ?: putf(f, "Suppressed %llu events (", (unsigned long long)s->events);
		if (limit)
			r = r
				    ?: putf(f, "%llu over log_rate_limit %u per %u s",
					    (unsigned long long)s->by_rate, limit, interval_s);
		else
			r = r ?: putf(f, "log_rate_limit off");
		r = r ?: putf(f, ", %llu lost to a full log queue):", (unsigned long long)s->by_queue);
		for (size_t i = 0; i < s->n_vendors && i < 4; i++)
			r = r
				    ?: putf(f, "%s %s: %llu denied, %llu audited", i ? ";" : "",
					    s->vendors[i].name, (unsigned long long)s->vendors[i].denied,
					    (unsigned long long)s->vendors[i].audited);
		if (s->n_vendors > 4 || s->other_vendors_denied || s->other_vendors_audited)
			r = r ?: putf(f, "; and other vendors");
		for (size_t i = 0; i < n_top && i < 3; i++)
			r = r
				    ?: putf(f, "%s%s (%llu)", i ? ", " : "; most: ", s->files[top[i]].path,
					    (unsigned long long)s->files[top[i]].events);
		if (s->n_files > 3 || s->other_files)
			r = r ?: putf(f, ", ...");
	}
	if (s->other_dropped)
		r = r
			    ?: putf(f, "%s%llu log messages were dropped: the log could not keep up",
				    s->events ? "; " : "", (unsigned long long)s->other_dropped);
	if (fclose(f) != 0 || r < 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int vendors_json(const struct embargo_summary *s, char **ret)
{
	_cleanup_(json_writer_free) struct json_writer w = JSON_WRITER_INIT;

	json_begin_array(&w);
	for (size_t i = 0; i < s->n_vendors; i++) {
		json_begin_object(&w);
		json_key_string(&w, "vendor", s->vendors[i].name);
		json_key_u64(&w, "denied", s->vendors[i].denied);
		json_key_u64(&w, "audited", s->vendors[i].audited);
		json_end_object(&w);
	}
	if (s->other_vendors_denied || s->other_vendors_audited) {
		/* null: the vendors beyond the table, together. */
		json_begin_object(&w);
		json_key_null(&w, "vendor");
		json_key_u64(&w, "denied", s->other_vendors_denied);
		json_key_u64(&w, "audited", s->other_vendors_audited);
		json_end_object(&w);
	}
	json_end_array(&w);
	return json_writer_finish(&w, ret, NULL);
}

/* The files top[0..n) (or, top NULL, files from..from+n) as JSON. */
static int files_json(const struct embargo_summary *s, const size_t *top, size_t from, size_t n, char **ret)
{
	_cleanup_(json_writer_free) struct json_writer w = JSON_WRITER_INIT;

	json_begin_array(&w);
	for (size_t i = 0; i < n; i++) {
		const struct embargo_summary_file *f = &s->files[top ? top[i] : from + i];

		json_begin_object(&w);
		json_key_string(&w, "path", f->path);
		json_key_u64(&w, "events", f->events);
		json_end_object(&w);
	}
	json_end_array(&w);
	return json_writer_finish(&w, ret, NULL);
}

int embargo_summary_record(const struct embargo_summary *s, uint32_t limit, uint32_t interval_s,
			   struct embargo_record *rec)
{
	_cleanup_free_ char *msg = NULL, *vendors = NULL, *files = NULL;
	size_t top[EMBARGO_SUMMARY_TOP_FILES], n_top = top_files(s, top, EMBARGO_SUMMARY_TOP_FILES);
	uint64_t listed = 0;
	int r = 0;

	for (size_t i = 0; i < n_top; i++)
		listed += s->files[top[i]].events;
	msg = summary_message(s, limit, interval_s, top, n_top);
	if (!msg)
		return -ENOMEM;
	r = vendors_json(s, &vendors);
	r = r ?: files_json(s, top, 0, n_top, &files);
	rec->priority = LOG_WARNING;
	r = r ?: record_add(rec, "MESSAGE", msg);
	r = r ?: record_add(rec, "MESSAGE_ID", EMBARGO_MSGID_SUPPRESSED);
	r = r ?: record_addf(rec, "PRIORITY", "%d", LOG_WARNING);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED", "%llu", (unsigned long long)s->events);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_RATE", "%llu", (unsigned long long)s->by_rate);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_QUEUE", "%llu", (unsigned long long)s->by_queue);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_RECORDS", "%llu", (unsigned long long)s->records);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_DENIED", "%llu", (unsigned long long)s->denied);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_AUDITED", "%llu", (unsigned long long)s->audited);
	r = r ?: record_add(rec, "EMBARGO_SUPPRESSED_VENDORS", vendors);
	r = r ?: record_add(rec, "EMBARGO_SUPPRESSED_FILES", files);
	r = r
		    ?: record_addf(rec, "EMBARGO_SUPPRESSED_OTHER_FILES", "%llu",
				   (unsigned long long)(s->events - listed));
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_FIRST_USEC", "%llu", (unsigned long long)s->first_usec);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_LAST_USEC", "%llu", (unsigned long long)s->last_usec);
	r = r ?: record_addf(rec, "EMBARGO_RATE_LIMIT", "%u", limit);
	r = r ?: record_addf(rec, "EMBARGO_RATE_INTERVAL_S", "%u", interval_s);
	if (!r && s->other_dropped)
		r = record_addf(rec, "EMBARGO_LOG_DROPPED", "%llu", (unsigned long long)s->other_dropped);
	return r;
}

size_t embargo_summary_file_parts(const struct embargo_summary *s)
{
	if (s->n_files <= EMBARGO_SUMMARY_TOP_FILES)
		return 0;
	return (s->n_files + EMBARGO_SUMMARY_FILES_PER_RECORD - 1) / EMBARGO_SUMMARY_FILES_PER_RECORD;
}

int embargo_summary_files_record(const struct embargo_summary *s, size_t part, struct embargo_record *rec)
{
	_cleanup_free_ char *msg = NULL, *files = NULL;
	size_t parts = embargo_summary_file_parts(s), from = part * EMBARGO_SUMMARY_FILES_PER_RECORD, n,
	       size = 0;
	FILE *f;
	int r = 0;

	if (part >= parts)
		return -EINVAL;
	n = s->n_files - from < EMBARGO_SUMMARY_FILES_PER_RECORD ? s->n_files - from
								 : EMBARGO_SUMMARY_FILES_PER_RECORD;
	f = open_memstream(&msg, &size);
	if (!f)
		return -ENOMEM;
	r = putf(f, "Suppressed events of %zu files, part %zu of %zu:", s->n_files, part + 1, parts);
	for (size_t i = 0; i < n; i++)
		r = r
			    ?: putf(f, "%s %s (%llu)", i ? "," : "", s->files[from + i].path,
				    (unsigned long long)s->files[from + i].events);
	if (fclose(f) != 0 || r < 0)
		return -ENOMEM;
	r = files_json(s, NULL, from, n, &files);
	rec->priority = LOG_WARNING;
	r = r ?: record_add(rec, "MESSAGE", msg);
	r = r ?: record_add(rec, "MESSAGE_ID", EMBARGO_MSGID_SUPPRESSED_FILES);
	r = r ?: record_addf(rec, "PRIORITY", "%d", LOG_WARNING);
	r = r ?: record_add(rec, "EMBARGO_SUPPRESSED_FILES", files);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_PART", "%zu", part + 1);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_PARTS", "%zu", parts);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_FILE_COUNT", "%zu", s->n_files);
	r = r ?: record_addf(rec, "EMBARGO_SUPPRESSED_FIRST_USEC", "%llu", (unsigned long long)s->first_usec);
	return r;
}
