// SPDX-License-Identifier: GPL-2.0
#include "cgroup.h"
#include "json.h"
#include "ratelimit.h"
#include "record.h"
#include "test.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define S (1000000000ull)

TEST(ratelimit_window_holds_limit_records)
{
	struct embargo_ratelimit rl;
	uint64_t t0 = 5 * S;

	embargo_ratelimit_init(&rl, 3, 10);
	CHECK(!embargo_ratelimit_roll(&rl, t0)); /* nothing open yet */
	for (int i = 0; i < 3; i++) {
		CHECK(embargo_ratelimit_room(&rl, t0 + (uint64_t)i));
		embargo_ratelimit_take(&rl);
	}
	CHECK(!embargo_ratelimit_room(&rl, t0 + 3));
	/* The window began with its first record and lasts the interval, not a moment more. */
	CHECK(!embargo_ratelimit_roll(&rl, t0 + 10 * S - 1));
	CHECK(!embargo_ratelimit_room(&rl, t0 + 10 * S - 1));
	CHECK(embargo_ratelimit_roll(&rl, t0 + 10 * S));
	CHECK(!embargo_ratelimit_roll(&rl, t0 + 10 * S));
	CHECK(embargo_ratelimit_room(&rl, t0 + 11 * S));
}

TEST(ratelimit_zero_is_no_limit)
{
	struct embargo_ratelimit rl;

	embargo_ratelimit_init(&rl, 0, 1);
	for (int i = 0; i < 100000; i++) {
		REQUIRE(embargo_ratelimit_room(&rl, S));
		embargo_ratelimit_take(&rl);
	}
}

static void event_record(struct embargo_record *r, const char *msgid, const char *vendor, const char *action,
			 const char *path, const char *repeated)
{
	*r = (struct embargo_record){};
	REQUIRE(record_add(r, "MESSAGE", "x") == 0);
	REQUIRE(record_add(r, "MESSAGE_ID", msgid) == 0);
	if (vendor)
		REQUIRE(record_add(r, "EMBARGO_VENDOR", vendor) == 0);
	if (action)
		REQUIRE(record_add(r, "EMBARGO_ACTION", action) == 0);
	REQUIRE(record_add(r, "EMBARGO_PATH", path) == 0);
	if (repeated)
		REQUIRE(record_add(r, "EMBARGO_REPEATED", repeated) == 0);
}

static struct embargo_summary *new_summary(void)
{
	struct embargo_summary *s = malloc(sizeof(*s));

	if (s)
		embargo_summary_init(s);
	return s;
}

static void free_summary(struct embargo_summary *s)
{
	if (s)
		embargo_summary_free(s);
	free(s);
}

static uint64_t u64_field(const struct embargo_record *r, const char *name)
{
	const char *v = record_get(r, name);

	return v ? strtoull(v, NULL, 10) : UINT64_MAX;
}

TEST(summary_counts_events_not_records)
{
	struct embargo_summary *s = new_summary();
	struct embargo_record r, out = {};
	struct json_value *vendors = NULL, *files = NULL;

	REQUIRE(s);
	CHECK(embargo_summary_empty(s));
	/* A denial that carried 4 repeats: 5 events. */
	event_record(&r, EMBARGO_MSGID_DENIED, "Kaspersky", "denied", "/opt/k/bin/kesl", "4");
	embargo_summary_add(s, &r, EMBARGO_SUPPRESS_RATE, 1000);
	record_free(&r);
	/* A repeated-matches record of 7: 7 events, not 8. */
	event_record(&r, EMBARGO_MSGID_REPEATED, "Kaspersky", "denied", "/opt/k/bin/kesl", "7");
	embargo_summary_add(s, &r, EMBARGO_SUPPRESS_QUEUE, 3000);
	record_free(&r);
	/* Audited, another vendor and file. */
	event_record(&r, EMBARGO_MSGID_AUDITED, "Other", "audited", "/usr/bin/other", NULL);
	embargo_summary_add(s, &r, EMBARGO_SUPPRESS_RATE, 2000);
	record_free(&r);
	embargo_summary_add_dropped(s, 500);

	CHECK(!embargo_summary_empty(s));
	CHECK_EQ_INT(s->events, 13);
	CHECK_EQ_INT(s->records, 3);
	CHECK_EQ_INT(s->by_rate, 6);
	CHECK_EQ_INT(s->by_queue, 7);
	CHECK_EQ_INT(s->denied, 12);
	CHECK_EQ_INT(s->audited, 1);
	CHECK_EQ_INT(s->other_dropped, 1);
	CHECK_EQ_INT(s->first_usec, 500);
	CHECK_EQ_INT(s->last_usec, 3000);

	REQUIRE(embargo_summary_record(s, 5, 10, &out) == 0);
	CHECK_EQ_STR(record_get(&out, "MESSAGE_ID"), EMBARGO_MSGID_SUPPRESSED);
	CHECK_EQ_STR(record_get(&out, "PRIORITY"), "4");
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED"), 13);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_RATE"), 6);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_QUEUE"), 7);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_RECORDS"), 3);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_DENIED"), 12);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_AUDITED"), 1);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_OTHER_FILES"), 0);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_LOG_DROPPED"), 1);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_RATE_LIMIT"), 5);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_RATE_INTERVAL_S"), 10);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_FIRST_USEC"), 500);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_LAST_USEC"), 3000);
	const char *msg = record_get(&out, "MESSAGE");
	REQUIRE(msg);
	CHECK(strstr(msg,
		     "Suppressed 13 events (6 over log_rate_limit 5 per 10 s, 7 lost to a full log queue)"));
	CHECK(strstr(msg, "Kaspersky: 12 denied, 0 audited; Other: 0 denied, 1 audited"));
	CHECK(strstr(msg, "most: /opt/k/bin/kesl (12), /usr/bin/other (1)"));
	CHECK(strstr(msg, "1 log messages were dropped"));

	const char *vj = record_get(&out, "EMBARGO_SUPPRESSED_VENDORS"),
		   *fj = record_get(&out, "EMBARGO_SUPPRESSED_FILES");
	REQUIRE(vj && fj);
	REQUIRE(json_parse(vj, strlen(vj), &vendors) == 0);
	REQUIRE(vendors->type == JSON_ARRAY && vendors->n == 2);
	uint64_t v;
	CHECK_EQ_STR(json_get_string(&vendors->members[0].value, "vendor"), "Kaspersky");
	CHECK(json_get_u64(&vendors->members[0].value, "denied", &v) == 0 && v == 12);
	CHECK(json_get_u64(&vendors->members[1].value, "audited", &v) == 0 && v == 1);
	REQUIRE(json_parse(fj, strlen(fj), &files) == 0);
	REQUIRE(files->type == JSON_ARRAY && files->n == 2);
	CHECK_EQ_STR(json_get_string(&files->members[0].value, "path"), "/opt/k/bin/kesl");
	CHECK(json_get_u64(&files->members[0].value, "events", &v) == 0 && v == 12);

	json_value_free(vendors);
	json_value_free(files);
	record_free(&out);
	embargo_summary_reset(s);
	CHECK(embargo_summary_empty(s));
	free_summary(s);
}

#define NFILES 40
TEST(summary_top_files_and_overflow)
{
	struct embargo_summary *s = new_summary(), *m = new_summary();
	struct embargo_record r, out = {};
	struct json_value *files = NULL, *vendors = NULL;
	char path[64], vendor[32];

	REQUIRE(s && m);
	/* 40 files (more than the old table of 32 held): file i gets i + 1 events; every one is kept. */
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "/f/%02d", i);
		snprintf(vendor, sizeof(vendor), "v%02d", i);
		for (int k = 0; k <= i; k++) {
			event_record(&r, EMBARGO_MSGID_AUDITED, vendor, "audited", path, NULL);
			embargo_summary_add(s, &r, EMBARGO_SUPPRESS_RATE, 1);
			record_free(&r);
		}
	}
	CHECK_EQ_INT(s->n_files, NFILES);
	CHECK_EQ_INT(s->other_files, 0);
	CHECK_EQ_INT(s->n_vendors, EMBARGO_SUMMARY_VENDORS);
	/* Merging into an empty summary keeps every count. */
	embargo_summary_merge(m, s);
	embargo_summary_merge(m, s);
	CHECK_EQ_INT(m->events, 2 * s->events);
	CHECK_EQ_INT(m->other_files, 2 * s->other_files);
	REQUIRE(embargo_summary_record(m, 1, 1, &out) == 0);
	const char *fj = record_get(&out, "EMBARGO_SUPPRESSED_FILES"),
		   *vj = record_get(&out, "EMBARGO_SUPPRESSED_VENDORS");
	REQUIRE(fj && vj && json_parse(fj, strlen(fj), &files) == 0 &&
		json_parse(vj, strlen(vj), &vendors) == 0);
	REQUIRE(files->n == EMBARGO_SUMMARY_TOP_FILES);
	uint64_t listed = 0, v;
	for (size_t i = 0; i < files->n; i++) {
		snprintf(path, sizeof(path), "/f/%02d", NFILES - 1 - (int)i);
		CHECK_EQ_STR(json_get_string(&files->members[i].value, "path"), path);
		REQUIRE(json_get_u64(&files->members[i].value, "events", &v) == 0);
		listed += v;
	}
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_OTHER_FILES"), m->events - listed);
	/* The vendors past the table, together, under null. */
	REQUIRE(vendors->n == EMBARGO_SUMMARY_VENDORS + 1);
	CHECK(json_get(&vendors->members[EMBARGO_SUMMARY_VENDORS].value, "vendor")->type == JSON_NULL);
	CHECK(strstr(record_get(&out, "MESSAGE"), "and other vendors") != NULL);
	json_value_free(files);
	json_value_free(vendors);
	record_free(&out);
	free_summary(s);
	free_summary(m);
}

/* A flood of distinct files: the file-list records after the summary name every one of them. */
TEST(summary_names_every_file)
{
	struct embargo_summary *s = new_summary();
	struct embargo_record r, out = {};
	bool seen[3000] = { false };
	char path[64];
	size_t parts, total = 0;

	REQUIRE(s);
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "/copies/c%04d", i);
		event_record(&r, EMBARGO_MSGID_DENIED, "K", "denied", path, i % 7 ? NULL : "2");
		embargo_summary_add(s, &r, EMBARGO_SUPPRESS_RATE, 1);
		/* The same path again only counts. */
		embargo_summary_add(s, &r, EMBARGO_SUPPRESS_RATE, 2);
		record_free(&r);
	}
	CHECK_EQ_INT(s->n_files, 3000);
	CHECK_EQ_INT(s->other_files, 0);
	parts = embargo_summary_file_parts(s);
	CHECK_EQ_INT(parts, (3000 + EMBARGO_SUMMARY_FILES_PER_RECORD - 1) / EMBARGO_SUMMARY_FILES_PER_RECORD);
	for (size_t p = 0; p < parts; p++) {
		struct json_value *files = NULL;
		const char *fj;

		out = (struct embargo_record){};
		REQUIRE(embargo_summary_files_record(s, p, &out) == 0);
		CHECK_EQ_STR(record_get(&out, "MESSAGE_ID"), EMBARGO_MSGID_SUPPRESSED_FILES);
		CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_PART"), p + 1);
		CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED_PARTS"), parts);
		fj = record_get(&out, "EMBARGO_SUPPRESSED_FILES");
		REQUIRE(fj && strlen(fj) < 4096 && json_parse(fj, strlen(fj), &files) == 0);
		for (size_t i = 0; i < files->n; i++) {
			const char *name = json_get_string(&files->members[i].value, "path");
			uint64_t v = 0;
			int k;

			REQUIRE(name && sscanf(name, "/copies/c%d", &k) == 1 && k >= 0 && k < 3000);
			CHECK(!seen[k]);
			seen[k] = true;
			CHECK(json_get_u64(&files->members[i].value, "events", &v) == 0 &&
			      v == (k % 7 ? 2 : 6));
			CHECK(strstr(record_get(&out, "MESSAGE"), name) != NULL);
			total++;
		}
		json_value_free(files);
		record_free(&out);
	}
	CHECK_EQ_INT(total, 3000);
	CHECK(embargo_summary_files_record(s, parts, &out) == -EINVAL);
	/* Reset and reuse: the index forgets the old names. */
	embargo_summary_reset(s);
	event_record(&r, EMBARGO_MSGID_DENIED, "K", "denied", "/copies/c0001", NULL);
	embargo_summary_add(s, &r, EMBARGO_SUPPRESS_RATE, 3);
	record_free(&r);
	CHECK_EQ_INT(s->n_files, 1);
	CHECK_EQ_INT(s->files[0].events, 1);
	CHECK_EQ_INT(embargo_summary_file_parts(s), 0);
	free_summary(s);
}

TEST(summary_of_dropped_messages_only)
{
	struct embargo_summary *s = new_summary();
	struct embargo_record out = {};

	REQUIRE(s);
	embargo_summary_add_dropped(s, 7);
	embargo_summary_add_dropped(s, 8);
	REQUIRE(embargo_summary_record(s, 0, 10, &out) == 0);
	CHECK_EQ_STR(record_get(&out, "MESSAGE"), "2 log messages were dropped: the log could not keep up");
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_SUPPRESSED"), 0);
	CHECK_EQ_INT(u64_field(&out, "EMBARGO_LOG_DROPPED"), 2);
	record_free(&out);
	free_summary(s);
}

/* The cgroup v2 id is the inode number of the cgroup's directory on a cgroup2 mount. */
TEST(cgroup_id_of_self)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mnt[4096] = "", cg[4096] = "", path[8300];
	uint64_t id = 0;
	struct stat st;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1)
			break;
	if (f)
		fclose(f);
	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0 && sscanf(line + 3, "%4095s", cg) == 1)
			break;
	if (f)
		fclose(f);
	CHECK_EQ_INT(embargo_cgroup_id(INT_MAX, &id), -ENOENT);
	if (!mnt[0] || !cg[0])
		return; /* no cgroup2 here: nothing more to compare with */
	snprintf(path, sizeof(path), "%s%s", mnt, cg);
	REQUIRE(stat(path, &st) == 0);
	REQUIRE(embargo_cgroup_id(getpid(), &id) == 0);
	CHECK_EQ_INT(id, st.st_ino);
}
