// SPDX-License-Identifier: GPL-2.0
/*
 * The scanner: the classifier, the cache (round trip, corruption of every kind rebuilt, never trusted), the
 * walker on a hostile tree (symlink loop, FIFO, unreadable file, a tree deeper than the descriptor budget and
 * longer than PATH_MAX), matches by content whatever the name, re-scans from the cache, processes.
 */
#include "test.h"

#include "scan-internal.h"
#include "scan.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define LISTED "#!/bin/sh\necho listed\n"
#define UNLISTED "#!/bin/sh\necho unlisted\n"

/* tmpdir/name (static buffer: one at a time) */
static const char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *at(const char *fmt, ...)
{
	static char buf[8][4096];
	static int next;
	char rel[2048];
	va_list ap;

	next = (next + 1) % 8;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(buf[next], sizeof(buf[next]), "%s/%s", test_tmpdir(), rel);
	return buf[next];
}

static bool put(const char *path, const char *content, mode_t mode)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write_all(fd, content, strlen(content)) < 0 || fchmod(fd, mode) < 0) {
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
		return false;
	}
	return true;
}

static void hex_of(const char *content, char hex[SHA256_HEX_LEN + 1])
{
	uint8_t d[SHA256_LEN];

	embargo_sha256_buf(content, strlen(content), d);
	hex_encode(d, SHA256_LEN, hex);
}

/* A policy listing the digest of each NULL-terminated content string. */
static struct embargo_policy *policy_of(const char *first, ...)
{
	struct embargo_policy_error err = {};
	struct embargo_policy *p = NULL;
	char hex[SHA256_HEX_LEN + 1], text[4096];
	size_t len;
	va_list ap;

	len = (size_t)snprintf(text, sizeof(text), "vendor \"Test Vendor\"\n");
	va_start(ap, first);
	for (const char *c = first; c; c = va_arg(ap, const char *)) {
		hex_of(c, hex);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "sha256 %s\n", hex);
	}
	va_end(ap);
	if (!put(at("test.policy"), text, 0644) || embargo_policy_load(at("test.policy"), &p, &err) < 0) {
		test_fail(__FILE__, __LINE__, "policy: %s", err.message);
		return NULL;
	}
	return p;
}

/* What a scan reported. */
struct seen {
	size_t files, matches, from_cache;
	char match_paths[8][4200];
	size_t errors[5]; /* by kind */
	char first_error[4200];
	size_t progress;
	size_t processes;
	pid_t pids[64];
	bool pid_exe[64];
	struct sought *sought; /* scan_processes_sought */
};

/* The scan through a decision core over p (no package databases: the test's files are nobody's). */
static int scan_with(const struct embargo_policy *p, const struct embargo_scan_opts *o,
		     struct embargo_scan_stats *st)
{
	_cleanup_(embargo_decider_freep) struct embargo_decider *d = NULL;
	int r = embargo_decider_new(p, &(struct embargo_decider_opts){ .no_dpkg = true, .no_rpm = true }, &d);

	return r < 0 ? r : embargo_scan(d, o, st);
}

static int scan_processes_with(const struct embargo_policy *p, const struct embargo_scan_opts *o,
			       struct embargo_scan_stats *st)
{
	_cleanup_(embargo_decider_freep) struct embargo_decider *d = NULL;
	int r = embargo_decider_new(p, &(struct embargo_decider_opts){ .no_dpkg = true, .no_rpm = true }, &d);

	return r < 0 ? r : embargo_scan_processes(d, o, st);
}

static void on_file(void *ud, const struct embargo_scan_file *f)
{
	struct seen *s = ud;

	s->files++;
	s->from_cache += f->from_cache;
	if (f->match) {
		if (s->matches < ARRAY_SIZE(s->match_paths))
			snprintf(s->match_paths[s->matches], sizeof(s->match_paths[0]), "%s", f->path);
		s->matches++;
	}
}

static void on_error(void *ud, const struct embargo_scan_error *e)
{
	struct seen *s = ud;

	if (!s->first_error[0])
		snprintf(s->first_error, sizeof(s->first_error), "%s: %s", e->path,
			 e->detail ? e->detail : strerror(-e->err));
	s->errors[e->kind]++;
}

static void on_process(void *ud, const struct embargo_process_match *m)
{
	struct seen *s = ud;

	if (s->processes < ARRAY_SIZE(s->pids)) {
		s->pids[s->processes] = m->pid;
		s->pid_exe[s->processes] = m->exe;
	}
	s->processes++;
}

static bool matched(const struct seen *s, const char *path)
{
	for (size_t i = 0; i < s->matches && i < ARRAY_SIZE(s->match_paths); i++) {
		if (strcmp(s->match_paths[i], path) == 0)
			return true;
	}
	return false;
}

/* embargo_scan of one root with a cache (NULL: none). */
static int scan(const struct embargo_policy *p, const char *root, const char *cache, bool all, struct seen *s,
		struct embargo_scan_stats *st)
{
	const char *paths[] = { root };
	struct embargo_scan_opts o = { .paths = paths,
				       .n_paths = 1,
				       .all = all,
				       .jobs = 2,
				       .cache_path = cache,
				       .on_file = on_file,
				       .on_error = on_error,
				       .userdata = s };

	*s = (struct seen){};
	*st = (struct embargo_scan_stats){};
	return scan_with(p, &o, st);
}

TEST(scan_classify)
{
	CHECK_EQ_INT(embargo_scan_classify("prog", S_IFREG | 0755), EMBARGO_SCAN_CODE);
	CHECK_EQ_INT(embargo_scan_classify("prog", S_IFREG | 0700), EMBARGO_SCAN_CODE);
	CHECK_EQ_INT(embargo_scan_classify("prog", S_IFREG | 0601), EMBARGO_SCAN_CODE);
	CHECK_EQ_INT(embargo_scan_classify("libx.so", S_IFREG | 0644), EMBARGO_SCAN_CODE);
	CHECK_EQ_INT(embargo_scan_classify("libx.so.1.2.3", S_IFREG | 0644), EMBARGO_SCAN_CODE);
	CHECK_EQ_INT(embargo_scan_classify("x.so.so", S_IFREG | 0644), EMBARGO_SCAN_CODE);
	CHECK_EQ_INT(embargo_scan_classify("x.sock", S_IFREG | 0644), EMBARGO_SCAN_NEEDS_MAGIC);
	CHECK_EQ_INT(embargo_scan_classify("x.sox", S_IFREG | 0644), EMBARGO_SCAN_NEEDS_MAGIC);
	CHECK_EQ_INT(embargo_scan_classify("so", S_IFREG | 0644), EMBARGO_SCAN_NEEDS_MAGIC);
	CHECK_EQ_INT(embargo_scan_classify("readme.txt", S_IFREG | 0644), EMBARGO_SCAN_NEEDS_MAGIC);
	CHECK_EQ_INT(embargo_scan_classify("dir", S_IFDIR | 0755), EMBARGO_SCAN_NOT_CODE);
	CHECK_EQ_INT(embargo_scan_classify("fifo", S_IFIFO | 0777), EMBARGO_SCAN_NOT_CODE);

	CHECK(embargo_scan_magic_is_code((const uint8_t *)"\x7f"
							  "ELF",
					 4));
	CHECK(!embargo_scan_magic_is_code((const uint8_t *)"\x7f"
							   "EL",
					  3));
	CHECK(embargo_scan_magic_is_code((const uint8_t *)"MZ\x90\x00", 4));
	CHECK(embargo_scan_magic_is_code((const uint8_t *)"#!", 2));
	CHECK(!embargo_scan_magic_is_code((const uint8_t *)"#", 1));
	CHECK(!embargo_scan_magic_is_code((const uint8_t *)"PK\x03\x04", 4));
	CHECK(!embargo_scan_magic_is_code((const uint8_t *)"", 0));
}

static struct scan_cache_entry entry(uint64_t dev, uint64_t ino, uint8_t fill)
{
	struct scan_cache_entry e = { .dev = dev,
				      .ino = ino,
				      .size = ino * 3,
				      .mtime_ns = 11,
				      .ctime_ns = 22,
				      .flags = SCAN_CACHE_HASHED };

	memset(e.sha256, fill, sizeof(e.sha256));
	return e;
}

static bool write_cache(const char *path, size_t n)
{
	struct scan_cache_writer w;
	const char *detail;
	struct scan_cache_entry e;

	if (scan_cache_writer_open(&w, path, &detail) < 0)
		return false;
	/* Out of order, with repeated keys. */
	for (size_t i = n; i-- > 0;) {
		e = entry(i % 3, 1000 - i, (uint8_t)i);
		scan_cache_writer_add(&w, &e);
		if (i % 10 == 0)
			scan_cache_writer_add(&w, &e);
	}
	return scan_cache_writer_commit(&w, &detail) == 0;
}

TEST(scan_cache_round_trip)
{
	struct scan_cache c;
	const char *detail;
	const struct scan_cache_entry *e;
	struct stat st = {};
	char path[4096];

	snprintf(path, sizeof(path), "%s", at("state/cache"));
	REQUIRE(write_cache(path, 500));
	REQUIRE(scan_cache_load(path, &c, &detail) == 0);
	CHECK_EQ_INT(c.n, 500);
	for (size_t i = 1; i < c.n; i++)
		CHECK(c.entries[i - 1].dev < c.entries[i].dev ||
		      (c.entries[i - 1].dev == c.entries[i].dev && c.entries[i - 1].ino < c.entries[i].ino));
	for (size_t i = 0; i < 500; i++) {
		e = scan_cache_lookup(&c, i % 3, 1000 - i);
		REQUIRE(e);
		CHECK_EQ_INT(e->sha256[0], (uint8_t)i);
		CHECK_EQ_INT(e->size, (1000 - i) * 3);
	}
	CHECK(!scan_cache_lookup(&c, 0, 1));
	CHECK(!scan_cache_lookup(&c, 7, 1000));
	/* Valid only for the same size, mtime and ctime. */
	e = scan_cache_lookup(&c, 1, 1000 - 1);
	REQUIRE(e);
	st.st_dev = 1;
	st.st_ino = 999;
	st.st_size = 999 * 3;
	st.st_mtim.tv_nsec = 11;
	st.st_ctim.tv_nsec = 22;
	CHECK(scan_cache_entry_current(e, &st));
	st.st_ctim.tv_nsec = 23;
	CHECK(!scan_cache_entry_current(e, &st));
	scan_cache_unload(&c);

	/* An empty cache is a valid cache. */
	REQUIRE(write_cache(at("state/empty"), 0));
	REQUIRE(scan_cache_load(at("state/empty"), &c, &detail) == 0);
	CHECK_EQ_INT(c.n, 0);
	scan_cache_unload(&c);
	/* No temporary file left behind. */
	CHECK(access(at("state/cache.tmp.XXXXXX"), F_OK) < 0);
}

/* Rewrites byte off of path (xor), or truncates it to len when off is negative. */
static bool damage(const char *path, long off, long len)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	uint8_t b;

	if (fd < 0)
		return false;
	if (off < 0)
		return ftruncate(fd, len) == 0;
	if (pread(fd, &b, 1, off) != 1)
		return false;
	b ^= 0x5a;
	return pwrite(fd, &b, 1, off) == 1;
}

static void expect_rejected(const char *path, int err, const char *why)
{
	struct scan_cache c;
	const char *detail = NULL;
	int r = scan_cache_load(path, &c, &detail);

	if (r != err || !detail || !strstr(detail, why))
		test_fail(__FILE__, __LINE__, "%s: %d (%s), expected %d (%s)", path, r, detail ? detail : "-",
			  err, why);
	CHECK(c.map == NULL && c.n == 0);
}

TEST(scan_cache_corrupt)
{
	size_t body = sizeof(struct scan_cache_header);
	char path[4096];

	snprintf(path, sizeof(path), "%s", at("state/cache"));
	REQUIRE(write_cache(path, 100));
	REQUIRE(damage(path, (long)body + 80 * 50 + 20, 0));
	expect_rejected(path, -EBADMSG, "body checksum");

	REQUIRE(write_cache(path, 100));
	REQUIRE(damage(path, offsetof(struct scan_cache_header, n_entries), 0));
	expect_rejected(path, -EBADMSG, "header checksum");

	REQUIRE(write_cache(path, 100));
	REQUIRE(damage(path, -1, (long)body + 80 * 99));
	expect_rejected(path, -EBADMSG, "size");

	REQUIRE(write_cache(path, 100));
	REQUIRE(damage(path, -1, 10));
	expect_rejected(path, -EBADMSG, "too short");

	REQUIRE(write_cache(path, 100));
	REQUIRE(damage(path, 0, 0));
	expect_rejected(path, -EBADMSG, "magic");

	REQUIRE(write_cache(path, 100));
	REQUIRE(damage(path, offsetof(struct scan_cache_header, version), 0));
	expect_rejected(path, -EBADMSG, "version");

	REQUIRE(write_cache(path, 100));
	REQUIRE(damage(path, offsetof(struct scan_cache_header, byte_order), 0));
	expect_rejected(path, -EBADMSG, "byte order");

	/* Whoever can write it could hide a file: a cache others may write is not believed. */
	REQUIRE(write_cache(path, 100));
	REQUIRE(chmod(path, 0666) == 0);
	expect_rejected(path, -EPERM, "not trusted");
	REQUIRE(chmod(path, 0600) == 0);
	REQUIRE(chmod(at("state"), 0777) == 0);
	expect_rejected(path, -EPERM, "directory");
	REQUIRE(chmod(at("state"), 0755) == 0);

	REQUIRE(symlink("cache", at("state/link")) == 0);
	expect_rejected(at("state/link"), -ELOOP, "symbolic link");
}

/*
 * The test tree:
 *   tree/listed          the listed content, 0755
 *   tree/a/b/c/copy.txt  the same content, 0644 (code by its "#!")
 *   tree/a/unlisted      0755, not listed
 *   tree/a/data.bin      not code, not listed
 *   tree/a/listed.dat    listed content without exec bit or "#!": not code, so not hashed (but with --all)
 *   tree/a/loop -> .     a symlink loop, never followed
 *   tree/a/link -> ../listed  never followed: the file is found under its own name
 *   tree/a/fifo          never opened
 *   tree/a/b/empty       an empty file
 */
static bool make_tree(void)
{
	return mkdir(at("tree"), 0755) == 0 && mkdir(at("tree/a"), 0755) == 0 &&
	       mkdir(at("tree/a/b"), 0755) == 0 && mkdir(at("tree/a/b/c"), 0755) == 0 &&
	       put(at("tree/listed"), LISTED, 0755) && put(at("tree/a/b/c/copy.txt"), LISTED, 0644) &&
	       put(at("tree/a/unlisted"), UNLISTED, 0755) &&
	       put(at("tree/a/data.bin"), "\x01\x02\x03\x04 data", 0644) &&
	       put(at("tree/a/listed.dat"), "listed data", 0644) && put(at("tree/a/b/empty"), "", 0644) &&
	       symlink(".", at("tree/a/loop")) == 0 && symlink("../listed", at("tree/a/link")) == 0 &&
	       mkfifo(at("tree/a/fifo"), 0644) == 0;
}

TEST(scan_tree)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = policy_of(LISTED, "listed data", NULL);
	struct embargo_scan_stats st;
	struct seen s;

	REQUIRE(p);
	REQUIRE(make_tree());
	REQUIRE(scan(p, at("tree"), NULL, false, &s, &st) == 0);
	CHECK_EQ_INT(s.matches, 2);
	CHECK(matched(&s, at("tree/listed")));
	CHECK(matched(&s, at("tree/a/b/c/copy.txt")));
	CHECK_EQ_INT(st.matches, 2);
	CHECK_EQ_INT(st.files_seen, 6);
	CHECK_EQ_INT(st.files_hashed, 3);  /* listed, copy.txt, unlisted */
	CHECK_EQ_INT(st.files_probed, 3);  /* data.bin, listed.dat, empty */
	CHECK_EQ_INT(st.other_skipped, 3); /* loop, link, fifo */
	CHECK_EQ_INT(st.dirs, 4);
	CHECK_EQ_INT(st.unreadable, 0);
	CHECK_EQ_INT(st.roots_failed, 0);
	CHECK_EQ_INT(s.files, 3);

	/* --all: every regular file is hashed, and listed.dat matches too. */
	REQUIRE(scan(p, at("tree"), NULL, true, &s, &st) == 0);
	CHECK_EQ_INT(s.matches, 3);
	CHECK(matched(&s, at("tree/a/listed.dat")));
	CHECK_EQ_INT(st.files_hashed, 6);
	CHECK_EQ_INT(st.files_probed, 0);

	/* "tree/" walks as "tree", and a named file is hashed whatever it is. */
	const char *paths[] = { at("tree/"), at("tree/a/listed.dat") };
	struct embargo_scan_opts o = { .paths = paths, .n_paths = 2, .on_file = on_file, .userdata = &s };

	s = (struct seen){};
	REQUIRE(scan_with(p, &o, &st) == 0);
	CHECK_EQ_INT(s.matches, 3);
	CHECK(matched(&s, at("tree/listed")));
	CHECK(matched(&s, at("tree/a/listed.dat")));
}

TEST(scan_errors)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = policy_of(LISTED, NULL);
	struct embargo_scan_stats st;
	struct seen s;

	REQUIRE(p);
	REQUIRE(make_tree());
	/* A path given that cannot be scanned: a dangling symbolic link, a FIFO, nothing at all. */
	REQUIRE(symlink("nowhere", at("dangling")) == 0);
	const char *paths[] = { at("dangling"), at("tree/a/fifo"), at("missing"), at("tree") };
	struct embargo_scan_opts o = {
		.paths = paths, .n_paths = 4, .on_file = on_file, .on_error = on_error, .userdata = &s
	};

	s = (struct seen){};
	REQUIRE(scan_with(p, &o, &st) == 0);
	CHECK_EQ_INT(st.roots_failed, 3);
	CHECK_EQ_INT(s.errors[EMBARGO_SCAN_ERROR_ROOT], 3);
	CHECK_EQ_INT(s.matches, 2); /* the rest was scanned */

	/* An unreadable file and directory are counted and reported, never fatal (root reads them all). */
	if (geteuid() != 0) {
		REQUIRE(chmod(at("tree/a/unlisted"), 0) == 0);
		REQUIRE(chmod(at("tree/a/b/c"), 0) == 0);
		REQUIRE(scan(p, at("tree"), NULL, false, &s, &st) == 0);
		CHECK_EQ_INT(st.unreadable, 2);
		CHECK_EQ_INT(s.errors[EMBARGO_SCAN_ERROR_FILE], 2);
		CHECK_EQ_INT(s.matches, 1);
		chmod(at("tree/a/b/c"), 0755);
	} else {
		printf("# scan_errors: running as root, every file is readable: unreadable files not "
		       "tested\n");
	}

	/* Bad options. */
	CHECK_EQ_INT(embargo_scan(NULL, &o, &st), -EINVAL);
	o.jobs = 100000;
	CHECK_EQ_INT(scan_with(p, &o, &st), -EINVAL);
}

/* The test tree scanned once with a cache in tmpdir/state; cache: its path (at() reuses its buffers). */
static bool first_scan(const struct embargo_policy *p, char cache[4096], struct seen *s,
		       struct embargo_scan_stats *st)
{
	if (!make_tree() || mkdir(at("state"), 0755) < 0)
		return false;
	snprintf(cache, 4096, "%s", at("state/cache"));
	return scan(p, at("tree"), cache, false, s, st) == 0;
}

TEST(scan_cache_rescan)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = policy_of(LISTED, NULL);
	struct embargo_scan_stats st;
	struct seen s;
	char cache[4096];

	REQUIRE(p);
	REQUIRE(first_scan(p, cache, &s, &st));
	CHECK(!st.cache_loaded && !st.cache_rejected && st.cache_written);
	CHECK_EQ_INT(st.files_hashed, 3);
	CHECK_EQ_INT(s.matches, 2);

	/* Nothing changed: no content read, the same matches, the cache kept as it is. */
	REQUIRE(scan(p, at("tree"), cache, false, &s, &st) == 0);
	CHECK(st.cache_loaded && !st.cache_written && st.cache_unchanged);
	CHECK_EQ_INT(st.cache_entries, 6);
	CHECK_EQ_INT(st.files_hashed, 0);
	CHECK_EQ_INT(st.files_probed, 0);
	CHECK_EQ_INT(st.files_cached, 6);
	CHECK_EQ_INT(st.bytes_hashed, 0);
	CHECK_EQ_INT(s.matches, 2);
	CHECK_EQ_INT(s.from_cache, 3);

	/* A changed file is hashed again (its ctime moved), and becomes listed; a renamed .so is code now. */
	REQUIRE(put(at("tree/a/unlisted"), LISTED, 0755));
	REQUIRE(rename(at("tree/a/data.bin"), at("tree/a/data.so")) == 0);
	REQUIRE(scan(p, at("tree"), cache, false, &s, &st) == 0);
	CHECK_EQ_INT(st.files_hashed, 2);
	CHECK_EQ_INT(st.files_cached, 4);
	CHECK_EQ_INT(s.matches, 3);
	CHECK(st.cache_written && !st.cache_unchanged);

	/* --all needs the digest of files only probed so far. */
	REQUIRE(scan(p, at("tree"), cache, true, &s, &st) == 0);
	CHECK_EQ_INT(st.files_hashed, 2); /* listed.dat, empty */
	CHECK_EQ_INT(st.files_cached, 4);

	/* Files gone are dropped from the cache. */
	REQUIRE(unlink(at("tree/a/b/c/copy.txt")) == 0);
	REQUIRE(scan(p, at("tree"), cache, false, &s, &st) == 0);
	CHECK(st.cache_written && st.files_hashed == 0);
	REQUIRE(scan(p, at("tree"), cache, false, &s, &st) == 0);
	CHECK_EQ_INT(st.cache_entries, 5);
	CHECK(st.cache_unchanged);

	/* A cancelled scan leaves the cache as it was. */
	volatile bool cancel = true;
	const char *paths[] = { at("tree") };
	struct embargo_scan_opts o = { .paths = paths, .n_paths = 1, .cache_path = cache, .cancel = &cancel };

	REQUIRE(unlink(cache) == 0);
	CHECK_EQ_INT(scan_with(p, &o, &st), -ECANCELED);
	CHECK(access(cache, F_OK) < 0 && errno == ENOENT);
}

TEST(scan_cache_rebuilt)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = policy_of(LISTED, NULL);
	struct embargo_scan_stats st;
	struct seen s;
	char cache[4096];

	REQUIRE(p);
	REQUIRE(first_scan(p, cache, &s, &st));
	REQUIRE(st.cache_written);

	/* A flipped byte in an entry's digest must not make a listed file look clean. */
	REQUIRE(damage(cache, (long)sizeof(struct scan_cache_header) + 80 * 2 + 48, 0));
	REQUIRE(scan(p, at("tree"), cache, false, &s, &st) == 0);
	CHECK(st.cache_rejected && !st.cache_loaded && st.cache_written);
	CHECK_EQ_INT(s.errors[EMBARGO_SCAN_ERROR_CACHE], 1);
	CHECK(strstr(s.first_error, "checksum") != NULL);
	CHECK_EQ_INT(st.files_hashed, 3);
	CHECK_EQ_INT(s.matches, 2);
	/* ... and the rebuilt one is good. */
	REQUIRE(scan(p, at("tree"), cache, false, &s, &st) == 0);
	CHECK(st.cache_loaded && !st.cache_rejected);
	CHECK_EQ_INT(st.files_hashed, 0);

	/* Truncated; then something else entirely. */
	REQUIRE(damage(cache, -1, 100));
	REQUIRE(scan(p, at("tree"), cache, false, &s, &st) == 0);
	CHECK(st.cache_rejected && st.cache_written);
	CHECK_EQ_INT(st.files_hashed, 3);
	REQUIRE(put(cache,
		    "this is not a cache, but it is long enough to hold a header........................"
		    "........................................................",
		    0600));
	REQUIRE(scan(p, at("tree"), cache, false, &s, &st) == 0);
	CHECK(st.cache_rejected && st.cache_written);
	CHECK(strstr(s.first_error, "magic") != NULL);
	CHECK_EQ_INT(s.matches, 2);
}

/* Removes a tree too deep for paths (nftw would stop at PATH_MAX). */
static void remove_deep(int dirfd, const char *name, int depth)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	unlinkat(fd, "listed", 0);
	if (depth > 0)
		remove_deep(fd, "dddddddd", depth - 1);
	close(fd);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

TEST(scan_deep_tree)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = policy_of(LISTED, NULL);
	const int depth = 600; /* 600 * 9 bytes: longer than PATH_MAX, deeper than the descriptor budget */
	struct embargo_scan_stats st;
	struct seen s;
	int fd, next;

	REQUIRE(p);
	REQUIRE(mkdir(at("deep"), 0755) == 0);
	fd = open(at("deep"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	for (int i = 0; i < depth && fd >= 0; i++) {
		/* A file at every level, so that each level has entries left when the walker goes down. */
		int f = openat(fd, "listed", O_WRONLY | O_CREAT | O_CLOEXEC, 0755);

		if (f >= 0) {
			write_all(f, LISTED, strlen(LISTED));
			close(f);
		}
		if (mkdirat(fd, "dddddddd", 0755) < 0)
			break;
		next = openat(fd, "dddddddd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	REQUIRE(fd >= 0);
	close(fd);
	CHECK(scan(p, at("deep"), NULL, false, &s, &st) == 0);
	CHECK_EQ_INT(st.dirs, depth + 1);
	CHECK_EQ_INT(s.matches, depth);
	CHECK_EQ_INT(st.unreadable, 0);
	CHECK(strlen(s.match_paths[0]) > 0);
	remove_deep(AT_FDCWD, at("deep"), depth);
}

TEST(scan_mounts)
{
	struct scan_mounts m;
	const struct scan_mount *mm;

	CHECK_EQ_INT(scan_fs_kind("ext4"), SCAN_FS_LOCAL);
	CHECK_EQ_INT(scan_fs_kind("tmpfs"), SCAN_FS_LOCAL);
	CHECK_EQ_INT(scan_fs_kind("overlay"), SCAN_FS_LOCAL);
	CHECK_EQ_INT(scan_fs_kind("proc"), SCAN_FS_PSEUDO);
	CHECK_EQ_INT(scan_fs_kind("sysfs"), SCAN_FS_PSEUDO);
	CHECK_EQ_INT(scan_fs_kind("devtmpfs"), SCAN_FS_PSEUDO);
	CHECK_EQ_INT(scan_fs_kind("nfs4"), SCAN_FS_NETWORK);
	CHECK_EQ_INT(scan_fs_kind("cifs"), SCAN_FS_NETWORK);
	CHECK_EQ_INT(scan_fs_kind("fuse.sshfs"), SCAN_FS_FUSE);
	CHECK_EQ_INT(scan_fs_kind("fuseblk"), SCAN_FS_FUSE);

	REQUIRE(put(at("mountinfo"),
		    "22 1 0:21 / /proc rw,relatime - proc proc rw\n"
		    "1 0 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
		    "40 1 0:40 / /mnt/with\\040space rw shared:1 master:2 - nfs4 srv:/x rw\n"
		    "garbage line\n"
		    "41 40 0:41 / /mnt/with\\040space/sub rw - tmpfs tmpfs rw\n",
		    0644));
	REQUIRE(scan_mounts_read(at("mountinfo"), &m) == 0);
	CHECK_EQ_INT(m.n, 4);
	mm = scan_mounts_by_dev(&m, makedev(0, 40));
	REQUIRE(mm);
	CHECK_EQ_STR(mm->mountpoint, "/mnt/with space");
	CHECK_EQ_STR(mm->fstype, "nfs4");
	CHECK_EQ_INT(mm->parent, 1);
	CHECK(!scan_mounts_by_dev(&m, makedev(9, 9)));
	/* Not a mount point: no estimate. */
	CHECK_EQ_INT(scan_mounts_inodes_below(&m, "/usr"), 0);
	scan_mounts_free(&m);

	REQUIRE(scan_mounts_read("/proc/self/mountinfo", &m) == 0);
	CHECK(m.n > 0);
	CHECK(scan_mounts_inodes_below(&m, "/") > 0);
	scan_mounts_free(&m);
}

/* The fanotify tier reads a held mountinfo descriptor again at every change: from its start each time. */
TEST(scan_mounts_read_fd_rereads_and_unescapes)
{
	struct scan_mounts m;
	int fd;

	REQUIRE(put(at("mountinfo-fd"),
		    "1 1 0:2 / / rw - rootfs rootfs rw\n"
		    "50 1 0:50 / /a\\040b\\011c\\134d rw - tmpfs tmpfs rw\n",
		    0644));
	fd = open(at("mountinfo-fd"), O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	for (int round = 0; round < 2; round++) {
		REQUIRE(scan_mounts_read_fd(fd, &m) == 0);
		CHECK_EQ_INT(m.n, 2);
		CHECK_EQ_STR(m.m[0].fstype, "rootfs");
		CHECK_EQ_INT(scan_fs_kind(m.m[0].fstype), SCAN_FS_LOCAL);
		CHECK_EQ_STR(m.m[1].mountpoint, "/a b\tc\\d");
		scan_mounts_free(&m);
	}
	close(fd);
}

TEST(scan_processes)
{
	_cleanup_(embargo_policy_freep) struct embargo_policy *p = NULL;
	struct embargo_policy_error err = {};
	struct embargo_scan_stats st = {};
	struct seen s = {};
	struct embargo_scan_opts o = { .on_process = on_process, .on_error = on_error, .userdata = &s };
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1], text[256];
	int pipefd[2], status;
	bool child_found = false, self_found = false;
	pid_t child;

	/* The test binary itself is listed; a child of it waits on a pipe meanwhile. */
	REQUIRE(embargo_sha256_path("/proc/self/exe", d, NULL) == 0);
	hex_encode(d, SHA256_LEN, hex);
	snprintf(text, sizeof(text), "vendor \"Test Vendor\"\nsha256 %s\n", hex);
	REQUIRE(put(at("self.policy"), text, 0644));
	REQUIRE(embargo_policy_load(at("self.policy"), &p, &err) == 0);
	REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
	child = fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		char c;

		close(pipefd[1]);
		_exit(read(pipefd[0], &c, 1) < 0 ? 1 : 0);
	}
	close(pipefd[0]);
	CHECK(scan_processes_with(p, &o, &st) == 0);
	close(pipefd[1]);
	waitpid(child, &status, 0);
	for (size_t i = 0; i < s.processes && i < ARRAY_SIZE(s.pids); i++) {
		child_found |= s.pids[i] == child && s.pid_exe[i];
		self_found |= s.pids[i] == getpid() && s.pid_exe[i];
	}
	CHECK(child_found);
	CHECK(self_found);
	CHECK(st.processes >= 2);
	CHECK_EQ_INT(st.process_matches, s.processes);
	/* libc and the binary are mapped by both: each hashed once. */
	CHECK(st.process_hashed < st.process_files);
}

/* A search for one known digest: what want_size and match_file see, with no decider at all. */
struct sought {
	uint8_t sha256[SHA256_LEN];
	uint64_t size;
	size_t sizes_asked, files_matched;
	bool refuse_all;
};

static bool sought_size(void *ud, uint64_t size)
{
	struct sought *w = ((struct seen *)ud)->sought;

	w->sizes_asked++;
	return !w->refuse_all && size == w->size;
}

static bool sought_file(void *ud, const struct stat *st, const uint8_t sha256[SHA256_LEN],
			struct embargo_match *m)
{
	struct sought *w = ((struct seen *)ud)->sought;

	if ((uint64_t)st->st_size != w->size || memcmp(sha256, w->sha256, SHA256_LEN) != 0)
		return false;
	w->files_matched++;
	*m = (struct embargo_match){ .kind = EMBARGO_MATCH_DIGEST };
	snprintf(m->location, sizeof(m->location), "learned");
	return true;
}

TEST(scan_processes_sought)
{
	struct sought w = {};
	struct seen s = { .sought = &w };
	struct embargo_scan_stats st = {};
	struct embargo_scan_opts o = { .on_process = on_process,
				       .on_error = on_error,
				       .want_size = sought_size,
				       .match_file = sought_file,
				       .userdata = &s };
	struct stat self;
	bool self_found = false;

	REQUIRE(embargo_sha256_path("/proc/self/exe", w.sha256, NULL) == 0);
	REQUIRE(stat("/proc/self/exe", &self) == 0);
	w.size = (uint64_t)self.st_size;
	CHECK(embargo_scan_processes(NULL, &o, &st) == 0);
	for (size_t i = 0; i < s.processes && i < ARRAY_SIZE(s.pids); i++)
		self_found |= s.pids[i] == getpid() && s.pid_exe[i];
	CHECK(self_found);
	CHECK(w.files_matched >= 1);
	CHECK_EQ_INT(st.process_matches, s.processes);
	/* Only files of the sought size are read: libc and the loader are not. */
	CHECK(st.process_hashed < st.process_files);
	CHECK(w.sizes_asked > st.process_hashed);

	/* No size wanted: nothing read, nothing matched. */
	s = (struct seen){ .sought = &w };
	w.refuse_all = true;
	st = (struct embargo_scan_stats){};
	CHECK(embargo_scan_processes(NULL, &o, &st) == 0);
	CHECK_EQ_INT(s.processes, 0);
	CHECK_EQ_INT(st.process_hashed, 0);

	/* Neither a decider nor match_file: nothing to decide with. */
	o.match_file = NULL;
	CHECK(embargo_scan_processes(NULL, &o, &st) == -EINVAL);
}
