// SPDX-License-Identifier: GPL-2.0
/*
 * The policy API: loading a file or a directory, the sorted rule table and its lookup, error and location
 * formatting, mode names. The language itself is parsed in policy-parse.c and digest-list.c.
 */
#include "lexer.h"
#include "policy-internal.h"
#include "util.h"

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

/* ---- arena ---------------------------------------------------------------------------------------- */

#define ARENA_CHUNK (256 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	char data[];
};

struct arena {
	struct arena_chunk *head;
};

struct arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	while (a->head) {
		struct arena_chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
	free(a);
}

static char *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;

	if (!c || c->size - c->used < n) {
		/* A large string gets a chunk of its own, behind the current one, which stays in use. */
		bool own = n > ARENA_CHUNK / 8;
		size_t size = own ? n : ARENA_CHUNK;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		if (own && a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	c->used += n;
	return c->data + c->used - n;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *arena_join(struct arena *a, const char *dir, size_t dir_len, const char *name)
{
	size_t n = strlen(name);
	char *d = arena_alloc(a, dir_len + 1 + n + 1);

	if (!d)
		return NULL;
	memcpy(d, dir, dir_len);
	d[dir_len] = '/';
	memcpy(d + dir_len + 1, name, n + 1);
	return d;
}

/* ---- loader helpers --------------------------------------------------------------------------------- */

int policy_fail(struct loader *l, int r, const char *file, uint32_t line, uint32_t column, const char *fmt,
		...)
{
	va_list ap;

	if (!l->err)
		return r;
	snprintf(l->err->file, sizeof(l->err->file), "%s", file);
	l->err->line = line;
	l->err->column = column;
	va_start(ap, fmt);
	vsnprintf(l->err->message, sizeof(l->err->message), fmt, ap);
	va_end(ap);
	return r;
}

const char *policy_open_reason(int r, const char *why, char *buf, size_t size)
{
	if (why && why[0])
		return why;
	return r == -EINVAL ? "not a regular file" : strerror_r(-r, buf, size);
}

int policy_fail_open(struct loader *l, int r, const char *why, const char *file, uint32_t line,
		     uint32_t column, const char *what)
{
	char buf[128];

	return policy_fail(l, r, file, line, column, "%s %s: %s", policy_open_verb(why), what,
			   policy_open_reason(r, why, buf, sizeof(buf)));
}

int policy_oom(struct loader *l, const char *file)
{
	return policy_fail(l, -ENOMEM, file, 0, 0, "out of memory");
}

int policy_add_source(struct loader *l, const char *path, uint32_t *ret)
{
	struct embargo_policy *p = l->p;

	if (p->n_sources >= UINT32_MAX)
		return policy_fail(l, -E2BIG, path, 0, 0, "too many files");
	if (p->n_sources == l->sources_cap) {
		size_t cap = l->sources_cap ? 2 * l->sources_cap : 8;
		char **s = reallocarray(p->sources, cap, sizeof(*s));

		if (!s)
			return policy_oom(l, path);
		p->sources = s;
		l->sources_cap = cap;
	}
	p->sources[p->n_sources] = (char *)path;
	*ret = (uint32_t)p->n_sources++;
	return 0;
}

int policy_grow_rules(struct loader *l, const char *file, uint32_t line)
{
	size_t cap = l->rules_cap ? 2 * l->rules_cap : 1024;
	struct embargo_rule *r;

	/* A rule's id is a u32 in the kernel's maps. */
	if (l->p->n_rules >= UINT32_MAX)
		return policy_fail(l, -E2BIG, file, line, 0, "too many digests (at most %u)", UINT32_MAX);
	r = reallocarray(l->p->rules, cap, sizeof(*r));
	if (!r)
		return policy_oom(l, file);
	l->p->rules = r;
	l->rules_cap = cap;
	return 0;
}

static void loader_done(struct loader *l)
{
	embargo_policy_free(l->p);
	free(l->vendor_index);
}

/* ---- directories ------------------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_policy_name(const char *name)
{
	size_t n = strlen(name);

	/* Like the shell's *.policy: a leading dot is not matched. */
	return name[0] != '.' && n > strlen(".policy") &&
	       strcmp(name + n - strlen(".policy"), ".policy") == 0;
}

/* Full paths of the *.policy files of dir, open (and trusted) as fd, which this takes (in the arena),
 * sorted; *ret is malloc'ed. */
static int list_dir(struct loader *l, const char *dir, int fd, char ***ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ char **names = NULL;
	size_t n = 0, cap = 0, dir_len = strlen(dir);

	d = fdopendir(fd);
	if (!d) {
		int r = -errno;

		close(fd);
		return policy_fail_open(l, r, NULL, dir, 0, 0, "policy directory");
	}
	while (dir_len > 1 && dir[dir_len - 1] == '/')
		dir_len--;
	for (;;) {
		struct dirent *de;
		struct stat st;
		char *path;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				return policy_fail_open(l, -errno, NULL, dir, 0, 0, "policy directory");
			break;
		}
		if (!is_policy_name(de->d_name))
			continue;
		/* Non-recursive: a directory called x.policy is not a policy file. Broken links are kept, so
		 * that opening them reports the error. */
		if ((de->d_type == DT_DIR) ||
		    ((de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) &&
		     fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode)))
			continue;
		if (n == cap) {
			size_t c = cap ? 2 * cap : 16;
			char **v = reallocarray(names, c, sizeof(*v));

			if (!v)
				return policy_oom(l, dir);
			names = v;
			cap = c;
		}
		path = dir_len == 1 && dir[0] == '/' ? arena_join(l->p->arena, "", 0, de->d_name)
						     : arena_join(l->p->arena, dir, dir_len, de->d_name);
		if (!path)
			return policy_oom(l, dir);
		names[n++] = path;
	}
	if (n == 0)
		return policy_fail(l, -ENOENT, dir, 0, 0, "no *.policy files in directory");
	/* Same directory prefix everywhere: the order of the paths is the byte order of the names. */
	qsort(names, n, sizeof(*names), cmp_str);
	*ret = TAKE_PTR(names);
	*ret_n = n;
	return 0;
}

static int load_dir(struct loader *l, const char *dir, int fd)
{
	_cleanup_free_ char **files = NULL;
	size_t n = 0;
	int r = list_dir(l, dir, fd, &files, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = policy_parse_file(l, files[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the sorted rule table -------------------------------------------------------------------------- */

/*
 * What is sorted: the first 8 bytes of the digest as a number, and the rule's index in read order. 16 bytes
 * instead of the 56 of a rule, and no pointer chasing: only keys equal in their first 64 bits (duplicates,
 * in practice) look at the rest of the digest.
 */
struct sort_key {
	uint64_t head;
	uint32_t index;
	uint32_t pad;
};

/* Digest order; equal digests in read order, so that the first one read wins. */
static int cmp_key(const struct sort_key *a, const struct sort_key *b, const struct embargo_rule *rules)
{
	int c;

	if (a->head != b->head)
		return a->head < b->head ? -1 : 1;
	c = memcmp(rules[a->index].sha256 + 8, rules[b->index].sha256 + 8, 24);
	if (c)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int cmp_key_r(const void *a, const void *b, void *rules)
{
	return cmp_key(a, b, rules);
}

static void sort_bucket(struct sort_key *k, size_t n, const struct embargo_rule *rules)
{
	/* Uniform digests make buckets of a few keys; a crafted list makes big ones, still O(n log n). */
	if (n > 32) {
		qsort_r(k, n, sizeof(*k), cmp_key_r, (void *)rules);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct sort_key v = k[i];
		size_t j = i;

		while (j > 0 && cmp_key(&k[j - 1], &v, rules) > 0) {
			k[j] = k[j - 1];
			j--;
		}
		k[j] = v;
	}
}

/*
 * Rules in read order → sorted by digest, one per digest (the first read): a counting sort of the keys on
 * their first 16 bits, each bucket sorted on its own, then the rules gathered in key order.
 */
static int sort_rules(struct loader *l)
{
	struct embargo_policy *p = l->p;
	size_t n = p->n_rules, m = 0;
	_cleanup_free_ uint32_t *start = NULL;
	_cleanup_free_ struct sort_key *keys = NULL;
	_cleanup_free_ struct sort_key *sorted = NULL;
	_cleanup_free_ struct embargo_rule *out = NULL;

	if (n == 0)
		return 0;
	start = calloc(65536 + 1, sizeof(*start));
	keys = malloc(n * sizeof(*keys));
	sorted = malloc(n * sizeof(*sorted));
	out = malloc(n * sizeof(*out));
	if (!start || !keys || !sorted || !out)
		return policy_oom(l, p->path);
	for (size_t i = 0; i < n; i++) {
		uint64_t head;

		memcpy(&head, p->rules[i].sha256, sizeof(head));
		keys[i] = (struct sort_key){ .head = be64toh(head), .index = (uint32_t)i };
		start[(keys[i].head >> 48) + 1]++;
	}
	for (size_t b = 1; b <= 65536; b++)
		start[b] += start[b - 1];
	for (size_t i = 0; i < n; i++)
		sorted[start[keys[i].head >> 48]++] = keys[i];
	/* start[b] is now the end of bucket b, which is the start of bucket b + 1. */
	for (size_t b = 0, from = 0; b < 65536; b++) {
		sort_bucket(sorted + from, start[b] - from, p->rules);
		from = start[b];
	}
	for (size_t i = 0; i < n; i++) {
		const struct embargo_rule *r = &p->rules[sorted[i].index];

		if (m > 0 && sorted[i].head == sorted[i - 1].head &&
		    memcmp(out[m - 1].sha256, r->sha256, 32) == 0) {
			/* Whoever wins, a digest named as a component anywhere stays one: its loaders are
			 * the vendor's whichever line came first. */
			out[m - 1].component |= r->component;
			continue;
		}
		out[m++] = *r;
	}
	p->n_duplicates = n - m;
	if (m < n) {
		/* Many duplicates: give the room back (keeping the larger block if that fails). */
		struct embargo_rule *shrunk = realloc(out, m * sizeof(*out));

		if (shrunk)
			out = shrunk;
	}
	free(p->rules);
	p->rules = TAKE_PTR(out);
	p->n_rules = m;
	l->rules_cap = m;
	for (size_t i = 0; i < m; i++)
		p->vendors[p->rules[i].vendor].n_rules++;
	return 0;
}

/* `verified` asks for a signature that reaches a trust anchor: without any, it could never match. */
static int check_verified(struct loader *l)
{
	const struct embargo_policy *p = l->p;

	if (p->n_trust_anchors)
		return 0;
	for (size_t i = 0; i < p->n_ident_rules; i++) {
		const struct embargo_ident_rule *r = &p->ident_rules[i];

		if (r->verified)
			return policy_fail(
				l, -EINVAL, p->sources[r->source], r->line, r->column,
				"'verified' needs a trust-anchor in the policy, and there is none");
	}
	return 0;
}

/* ---- API -------------------------------------------------------------------------------------------- */

int embargo_policy_load(const char *path, struct embargo_policy **ret, struct embargo_policy_error *err)
{
	return policy_load_full(NULL, path, POLICY_MAX_FILE_BYTES, POLICY_MAX_DIGESTS, ret, err);
}

int embargo_policy_load_rooted(const char *root, const char *path, struct embargo_policy **ret,
			       struct embargo_policy_error *err)
{
	_cleanup_free_ char *full = NULL;

	if (!root || !path || path[0] != '/')
		return -EINVAL;
	if (asprintf(&full, "%s%s", root, path) < 0)
		return -ENOMEM;
	return policy_load_full(root, full, POLICY_MAX_FILE_BYTES, POLICY_MAX_DIGESTS, ret, err);
}

int policy_load_bounded(const char *path, uint64_t max_file_bytes, uint64_t max_digests,
			struct embargo_policy **ret, struct embargo_policy_error *err)
{
	return policy_load_full(NULL, path, max_file_bytes, max_digests, ret, err);
}

int policy_load_full(const char *root, const char *path, uint64_t max_file_bytes, uint64_t max_digests,
		     struct embargo_policy **ret, struct embargo_policy_error *err)
{
	_cleanup_(loader_done) struct loader l = {
		.err = err, .root = root, .max_file_bytes = max_file_bytes, .max_digests = max_digests
	};
	_cleanup_close_ int fd = -1;
	char *file, why[PATH_MAX + 128];
	struct stat st;
	int r;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!path || !ret)
		return -EINVAL;
	l.p = calloc(1, sizeof(*l.p));
	if (!l.p)
		return policy_oom(&l, path);
	l.p->arena = arena_new();
	l.p->path = strdup(path);
	if (!l.p->arena || !l.p->path)
		return policy_oom(&l, path);

	fd = open_trusted(path, &st, why, sizeof(why));
	if (fd < 0)
		return policy_fail_open(&l, fd, why, path, 0, 0, "policy");
	if (S_ISDIR(st.st_mode)) {
		r = load_dir(&l, path, TAKE_FD(fd));
	} else {
		closep(&fd);
		file = arena_strndup(l.p->arena, path, strlen(path));
		if (!file)
			return policy_oom(&l, path);
		r = policy_parse_file(&l, file);
	}
	if (r < 0)
		return r;
	r = check_verified(&l);
	if (r < 0)
		return r;
	r = sort_rules(&l);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(l.p);
	return 0;
}

void embargo_policy_free(struct embargo_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_vendors; i++)
		free(p->vendors[i].entities);
	free(p->vendors);
	free(p->rules);
	free(p->ident_rules);
	free(p->trust_anchors);
	free(p->sources);
	free(p->path);
	arena_free(p->arena);
	free(p);
}

const struct embargo_rule *embargo_policy_lookup(const struct embargo_policy *p, const uint8_t sha256[32])
{
	size_t lo = 0, hi;

	if (!p)
		return NULL;
	hi = p->n_rules;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->rules[mid].sha256, sha256, 32);

		if (c == 0)
			return &p->rules[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *location(const struct embargo_policy *p, uint32_t source, uint32_t line, char *buf,
			    size_t size)
{
	if (size > 0)
		snprintf(buf, size, "%s:%u", source < p->n_sources ? p->sources[source] : "?", line);
	return buf;
}

const char *embargo_rule_location(const struct embargo_policy *p, const struct embargo_rule *r, char *buf,
				  size_t size)
{
	return location(p, r->source, r->line, buf, size);
}

const char *embargo_ident_rule_location(const struct embargo_policy *p, const struct embargo_ident_rule *r,
					char *buf, size_t size)
{
	return location(p, r->source, r->line, buf, size);
}

const char *embargo_ident_kind_name(uint8_t kind)
{
	switch (kind) {
	case EMBARGO_IDENT_SIGNER_CERT:
		return "signer-cert";
	case EMBARGO_IDENT_SIGNER_ORG:
		return "signer-org";
	case EMBARGO_IDENT_SIGNER_CN:
		return "signer-cn";
	case EMBARGO_IDENT_PACKAGE:
		return "package";
	case EMBARGO_IDENT_PACKAGE_MAINTAINER:
		return "package-maintainer";
	case EMBARGO_IDENT_PATH:
		return "path";
	}
	return "unknown";
}

const char *embargo_policy_error_format(const struct embargo_policy_error *err, char *buf, size_t size)
{
	return lex_error_format(err->file, err->line, err->column, err->message, buf, size);
}

static bool vendor_has_ident_rules(const struct embargo_policy *p, size_t v)
{
	for (size_t i = 0; i < p->n_ident_rules; i++)
		if (p->ident_rules[i].vendor == v)
			return true;
	return false;
}

bool embargo_vendor_strict(const struct embargo_policy *p, size_t v)
{
	if (v >= p->n_vendors)
		return false;
	if (p->vendors[v].strict != EMBARGO_STRICT_DEFAULT)
		return p->vendors[v].strict == EMBARGO_STRICT_YES;
	return vendor_has_ident_rules(p, v);
}

bool embargo_policy_strict_identity(const struct embargo_policy *p)
{
	for (size_t i = 0; i < p->n_ident_rules; i++)
		if (embargo_vendor_strict(p, p->ident_rules[i].vendor))
			return true;
	return false;
}

const char *embargo_mode_name(uint8_t mode)
{
	switch (mode) {
	case EMBARGO_MODE_INHERIT:
		return "inherit";
	case EMBARGO_MODE_AUDIT:
		return "audit";
	case EMBARGO_MODE_ENFORCE:
		return "enforce";
	}
	return "unknown";
}

int embargo_mode_from_string(const char *s, uint8_t *mode)
{
	static const uint8_t modes[] = { EMBARGO_MODE_INHERIT, EMBARGO_MODE_AUDIT, EMBARGO_MODE_ENFORCE };

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(s, embargo_mode_name(modes[i])) == 0) {
			*mode = modes[i];
			return 0;
		}
	return -EINVAL;
}

const struct embargo_ident_rule *embargo_policy_same_ident_rule(const struct embargo_policy *p,
								const struct embargo_policy *rp,
								const struct embargo_ident_rule *r)
{
	for (size_t i = 0; p && rp && r && i < p->n_ident_rules; i++) {
		const struct embargo_ident_rule *c = &p->ident_rules[i];

		if (c->kind == r->kind && c->verified == r->verified &&
		    strcmp(c->written ?: "", r->written ?: "") == 0 &&
		    strcmp(p->vendors[c->vendor].name, rp->vendors[r->vendor].name) == 0 &&
		    memcmp(c->sha256, r->sha256, sizeof(c->sha256)) == 0)
			return c;
	}
	return NULL;
}
