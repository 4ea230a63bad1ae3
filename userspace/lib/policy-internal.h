/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the policy loader, shared by policy.c (the API, directories, sorting), policy-reader.c
 * (lines of a plain or gzip file), policy-parse.c (policy files) and digest-list.c (sha256 lists).
 * Not installed, not for other users of the library.
 */
#ifndef EMBARGO_POLICY_INTERNAL_H
#define EMBARGO_POLICY_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "policy.h"

/* Longest line of a policy or list file, without its line terminator. */
#define POLICY_MAX_LINE (64 * 1024)
#define POLICY_VENDOR_NAME_MAX 255
/*
 * The bounds on what a policy may make the loader hold, so that a crafted file (a gzip bomb: a few MiB
 * that inflate to terabytes) is an error instead of an exhausted machine. Documented in docs/policy.md
 * and embargo.policy(5): bytes read from one file, after decompression, and digests in the policy.
 */
#define POLICY_MAX_FILE_BYTES (2ull << 30)
#define POLICY_MAX_DIGESTS 20000000ull

/* Strings that live as long as the policy: bump-allocated in large chunks, freed at once. */
struct arena;
struct arena *arena_new(void);
void arena_free(struct arena *a);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* dir_len bytes of dir, a '/', then name. */
char *arena_join(struct arena *a, const char *dir, size_t dir_len, const char *name);

/* The policy being built. On error the caller frees everything through embargo_policy_free(p). */
struct loader {
	struct embargo_policy *p;
	struct embargo_policy_error *err; /* may be NULL */
	size_t rules_cap;
	size_t vendors_cap;
	size_t sources_cap;
	size_t ident_cap;
	size_t anchors_cap;
	uint32_t *vendor_index; /* open addressing over vendor names: vendor index + 1, 0 is empty */
	size_t vendor_index_cap;
	const char *root;	 /* embargo_policy_load_rooted(): absolute paths are under it */
	uint64_t max_file_bytes; /* POLICY_MAX_FILE_BYTES but in tests */
	uint64_t max_digests;	 /* POLICY_MAX_DIGESTS but in tests */
};

/* embargo_policy_load() with other bounds than POLICY_MAX_*: for the tests of those bounds. */
int policy_load_bounded(const char *path, uint64_t max_file_bytes, uint64_t max_digests,
			struct embargo_policy **ret, struct embargo_policy_error *err);
/* The one loader behind both: root NULL, or what embargo_policy_load_rooted() says. */
int policy_load_full(const char *root, const char *path, uint64_t max_file_bytes, uint64_t max_digests,
		     struct embargo_policy **ret, struct embargo_policy_error *err);

/* Fills l->err (if any) and returns r. */
int policy_fail(struct loader *l, int r, const char *file, uint32_t line, uint32_t column, const char *fmt,
		...) __attribute__((format(printf, 6, 7)));
/*
 * Why a file could not be opened: `why` of open_trusted() when it says something, "not a regular file"
 * for -EINVAL from line_reader_open(), or strerror.
 */
const char *policy_open_reason(int r, const char *why, char *buf, size_t size);
/* What the message calls a file that could not be opened: "untrusted" (why says why) or "cannot read". */
static inline const char *policy_open_verb(const char *why)
{
	return why && why[0] ? "untrusted" : "cannot read";
}
/* "cannot read <what>: <reason>" (or "untrusted <what>: ...") for an error of line_reader_open(). */
int policy_fail_open(struct loader *l, int r, const char *why, const char *file, uint32_t line,
		     uint32_t column, const char *what);
int policy_oom(struct loader *l, const char *file);

/* Records a file read; path must be owned by the arena. */
int policy_add_source(struct loader *l, const char *path, uint32_t *ret);
int policy_grow_rules(struct loader *l, const char *file, uint32_t line);

/* A new rule at the end of l->p->rules, uninitialised; the error names file:line. */
static inline int policy_new_rule(struct loader *l, const char *file, uint32_t line,
				  struct embargo_rule **ret)
{
	*ret = NULL;
	if (l->p->n_rules >= l->max_digests)
		return policy_fail(l, -E2BIG, file, line, 0, "too many digests (at most %llu)",
				   (unsigned long long)l->max_digests);
	if (l->p->n_rules == l->rules_cap) {
		int r = policy_grow_rules(l, file, line);

		if (r < 0)
			return r;
	}
	*ret = &l->p->rules[l->p->n_rules++];
	(*ret)->component = 0;
	return 0;
}

/* Lines of a regular file, plain or gzip-compressed, read in large blocks. */
struct line_reader {
	gzFile gz;
	char *buf;
	size_t start, end;
	bool eof;
	uint32_t line;	/* number of the line last returned */
	uint64_t bytes; /* read so far, after decompression */
	const char *path;
};

/*
 * -errno; -EISDIR for a directory, -EINVAL for anything else that is not a regular file, -EPERM with
 * why set when the file or a directory on its way is not trusted (open_trusted()).
 */
int line_reader_open(struct line_reader *r, const char *path, char *why, size_t whysize);
/*
 * The next line without its terminator ("\n" or "\r\n"; a UTF-8 byte order mark opening the file is
 * dropped too): 1, 0 at the end, or -errno with the error recorded in l. (*line)[*len] may be written
 * to (it is the old terminator) until the next call.
 */
int line_reader_next(struct line_reader *r, struct loader *l, char **line, size_t *len);
void line_reader_close(struct line_reader *r);

/*
 * Exactly 64 hex digits (either case) in s[0..len) into out: 0, or -EINVAL with what is wrong in msg
 * ("expected 64 hex digits, found 63").
 */
int policy_parse_digest(const char *s, size_t len, uint8_t out[32], char *msg, size_t size);

/* A policy file: vendors, entities, digests, and the lists it names. */
int policy_parse_file(struct loader *l, const char *path);
/* The digests of a list file for vendor; errors about opening it are reported at ref_*. */
int digest_list_load(struct loader *l, const char *path, uint32_t vendor, const char *ref_file,
		     uint32_t ref_line, uint32_t ref_column);

#endif
