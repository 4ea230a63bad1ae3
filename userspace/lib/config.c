// SPDX-License-Identifier: GPL-2.0
/*
 * embargo.conf: "key value..." lines, in the words of lexer.h, those of the policy language too, so one
 * set of rules covers every file embargo reads. The file is small: it is read whole, and tokens are cut
 * out of the buffer in place.
 */
#include "config.h"

#include "control.h"
#include "embargo.h"
#include "lexer.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

/* A configuration is a page of text; anything this large is a mistake (a policy or a log given here). */
#define CONFIG_MAX_SIZE (1024 * 1024)

/* ---- the keys --------------------------------------------------------------------------------------- */

enum kind {
	K_CHOICE, /* uint8_t, one of choices */
	K_BOOL,	  /* bool, yes or no */
	K_U32,	  /* uint32_t, min..max */
	K_PATH,	  /* char *, absolute */
	K_PATHS,  /* char **, absolute, NULL-terminated, and the size_t count at count_offset */
};

struct choice {
	const char *name;
	uint8_t value;
};

struct key {
	const char *name;
	enum kind kind;
	size_t offset;
	size_t count_offset;	      /* K_PATHS */
	const struct choice *choices; /* K_CHOICE, K_BOOL */
	size_t n_choices;
	uint32_t min, max; /* K_U32 */
	const char *unit;  /* K_U32: "a number of <unit>" */
	bool auto_list;	   /* K_PATHS: the value 'auto' is the empty list */
};

static const struct choice modes[] = { { "audit", EMBARGO_MODE_AUDIT }, { "enforce", EMBARGO_MODE_ENFORCE } };
static const struct choice tiers[] = {
	{ "auto", EMBARGO_CONFIG_TIER_AUTO },	  { "lsm-hash", EMBARGO_CONFIG_TIER_LSM_HASH },
	{ "lsm", EMBARGO_CONFIG_TIER_LSM },	  { "fanotify", EMBARGO_CONFIG_TIER_FANOTIFY },
	{ "detect", EMBARGO_CONFIG_TIER_DETECT },
};
static const struct choice on_timeouts[] = {
	{ "auto", EMBARGO_CONFIG_ON_TIMEOUT_AUTO },
	{ "allow", EMBARGO_CONFIG_ON_TIMEOUT_ALLOW },
	{ "deny", EMBARGO_CONFIG_ON_TIMEOUT_DENY },
};
static const struct choice logs[] = {
	{ "auto", EMBARGO_CONFIG_LOG_AUTO },
	{ "journal", EMBARGO_CONFIG_LOG_JOURNAL },
	{ "stderr", EMBARGO_CONFIG_LOG_STDERR },
};
static const struct choice remote_fss[] = {
	{ "check", EMBARGO_CONFIG_REMOTE_FS_CHECK },
	{ "deny", EMBARGO_CONFIG_REMOTE_FS_DENY },
};
static const struct choice yes_no[] = { { "yes", 1 }, { "no", 0 } };
static const struct choice init_modules[] = {
	{ "auto", EMBARGO_CONFIG_INIT_MODULE_AUTO },
	{ "deny", EMBARGO_CONFIG_INIT_MODULE_DENY },
	{ "allow", EMBARGO_CONFIG_INIT_MODULE_ALLOW },
};

#define OFF(field) offsetof(struct embargo_config, field)
#define CHOICE(n, field, set)                                                                                \
	{                                                                                                    \
		.name = n, .kind = K_CHOICE, .offset = OFF(field), .choices = set,                           \
		.n_choices = ARRAY_SIZE(set)                                                                 \
	}
#define BOOL(n, field)                                                                                       \
	{                                                                                                    \
		.name = n, .kind = K_BOOL, .offset = OFF(field), .choices = yes_no, .n_choices = 2           \
	}
#define U32(n, field, lo, hi, u)                                                                             \
	{                                                                                                    \
		.name = n, .kind = K_U32, .offset = OFF(field), .min = lo, .max = hi, .unit = u              \
	}
#define PATH(n, field)                                                                                       \
	{                                                                                                    \
		.name = n, .kind = K_PATH, .offset = OFF(field)                                              \
	}
#define PATHS(n, field, auto_ok)                                                                             \
	{                                                                                                    \
		.name = n, .kind = K_PATHS, .offset = OFF(field), .count_offset = OFF(n_##field),            \
		.auto_list = auto_ok                                                                         \
	}

/* In the order embargo_config_format() writes them, which is that of embargo.conf(5). */
static const struct key keys[] = {
	CHOICE("mode", mode, modes),
	PATH("policy", policy),
	CHOICE("tier", tier, tiers),
	PATHS("scan_paths", scan_paths, false),
	BOOL("scan_at_start", scan_at_start),
	CHOICE("on_timeout", on_timeout, on_timeouts),
	U32("decision_timeout_ms", decision_timeout_ms, EMBARGO_CONFIG_TIMEOUT_MS_MIN,
	    EMBARGO_CONFIG_TIMEOUT_MS_MAX, "milliseconds"),
	BOOL("kill_running", kill_running),
	BOOL("keep_enforcement_on_exit", keep_enforcement_on_exit),
	CHOICE("init_module", init_module, init_modules),
	U32("max_hash_size_mib", max_hash_size_mib, 1, EMBARGO_CONFIG_MAX_HASH_MIB_MAX, "MiB"),
	CHOICE("remote_fs", remote_fs, remote_fss),
	U32("max_learned", max_learned, 0, EMBARGO_CONFIG_MAX_LEARNED_MAX, "digests"),
	BOOL("never_deny_packaged", never_deny_packaged),
	BOOL("self_protection", self_protection),
	BOOL("syscall_filter", syscall_filter),
	PATHS("interpreters", interpreters, false),
	PATHS("fanotify_paths", fanotify_paths, true),
	CHOICE("log", log, logs),
	U32("log_rate_limit", log_rate_limit, 0, EMBARGO_CONFIG_RATE_LIMIT_MAX, "events"),
	U32("log_rate_interval_s", log_rate_interval_s, 1, EMBARGO_CONFIG_RATE_INTERVAL_MAX, "seconds"),
	PATH("runtime_dir", runtime_dir),
	PATH("state_dir", state_dir),
};

#define FIELD(c, k, type) ((type *)((char *)(c) + (k)->offset))
#define CFIELD(c, k, type) ((const type *)((const char *)(c) + (k)->offset))
#define COUNT(c, k) ((size_t *)((char *)(c) + (k)->count_offset))

static const struct choice *choice_by_value(const struct key *k, uint8_t v)
{
	for (size_t i = 0; i < k->n_choices; i++)
		if (k->choices[i].value == v)
			return &k->choices[i];
	return NULL;
}

static const char *name_of(const struct choice *set, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].value == v)
			return set[i].name;
	return "?";
}

const char *embargo_config_tier_name(uint8_t tier)
{
	return name_of(tiers, ARRAY_SIZE(tiers), tier);
}

int embargo_config_tier_from_string(const char *s, uint8_t *tier)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(tiers); i++)
		if (strcmp(s, tiers[i].name) == 0) {
			*tier = tiers[i].value;
			return 0;
		}
	return -EINVAL;
}

const char *embargo_config_on_timeout_name(uint8_t v)
{
	return name_of(on_timeouts, ARRAY_SIZE(on_timeouts), v);
}

const char *embargo_config_log_name(uint8_t v)
{
	return name_of(logs, ARRAY_SIZE(logs), v);
}

const char *embargo_config_remote_fs_name(uint8_t v)
{
	return name_of(remote_fss, ARRAY_SIZE(remote_fss), v);
}

int embargo_config_kernel_tier(uint8_t tier)
{
	switch (tier) {
	case EMBARGO_CONFIG_TIER_LSM_HASH:
		return EMBARGO_TIER_LSM_HASH;
	case EMBARGO_CONFIG_TIER_LSM:
		return EMBARGO_TIER_LSM;
	case EMBARGO_CONFIG_TIER_FANOTIFY:
		return EMBARGO_TIER_FANOTIFY;
	case EMBARGO_CONFIG_TIER_DETECT:
		return EMBARGO_TIER_DETECT;
	default:
		return -1;
	}
}

bool embargo_config_on_timeout_allows(uint8_t on_timeout)
{
	/* "auto" fails open: refusing an unlisted program because a hash was slow would break the machine;
	 * a late match is still denied from then on, and its process killed in enforce mode. */
	return on_timeout != EMBARGO_CONFIG_ON_TIMEOUT_DENY;
}

/* ---- the struct --------------------------------------------------------------------------------------- */

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void embargo_config_free(struct embargo_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->policy);
	strv_free(c->scan_paths);
	strv_free(c->fanotify_paths);
	strv_free(c->interpreters);
	free(c->runtime_dir);
	free(c->state_dir);
	*c = (struct embargo_config){ 0 };
}

/* embargo.conf(5)'s interpreters default: what sh, python3, perl, ruby, node, php, lua and java run as. */
const char *const embargo_interp_defaults[] = {
	"/bin/sh",
	"/bin/dash",
	"/bin/bash",
	"/usr/bin/sh",
	"/usr/bin/dash",
	"/usr/bin/bash",
	"/usr/bin/python3*",
	"/usr/bin/perl",
	"/usr/bin/perl5*",
	"/usr/bin/ruby*",
	"/usr/bin/node",
	"/usr/bin/nodejs",
	"/usr/bin/php*",
	"/usr/bin/lua*",
	"/usr/bin/java",
	"/usr/lib/jvm/*/bin/java",
	NULL,
};

static int list_push(char ***v, size_t *n, const char *s, size_t len);

int embargo_config_defaults(struct embargo_config *c)
{
	*c = (struct embargo_config){
		.mode = EMBARGO_MODE_ENFORCE,
		.tier = EMBARGO_CONFIG_TIER_AUTO,
		.scan_at_start = true,
		.self_protection = true,
		.syscall_filter = true,
		.on_timeout = EMBARGO_CONFIG_ON_TIMEOUT_AUTO,
		.decision_timeout_ms = EMBARGO_CONFIG_TIMEOUT_MS_DEFAULT,
		.log = EMBARGO_CONFIG_LOG_AUTO,
		.log_rate_limit = EMBARGO_CONFIG_RATE_LIMIT_DEFAULT,
		.log_rate_interval_s = EMBARGO_CONFIG_RATE_INTERVAL_DEFAULT,
		.max_hash_size_mib = EMBARGO_CONFIG_MAX_HASH_MIB_DEFAULT,
		.remote_fs = EMBARGO_CONFIG_REMOTE_FS_CHECK,
		.max_learned = EMBARGO_CONFIG_MAX_LEARNED_DEFAULT,
		.never_deny_packaged = true,
	};
	c->policy = strdup(EMBARGO_CONFIG_POLICY);
	c->scan_paths = calloc(2, sizeof(char *));
	if (c->scan_paths) {
		c->scan_paths[0] = strdup("/");
		c->n_scan_paths = 1;
	}
	for (size_t i = 0; embargo_interp_defaults[i]; i++)
		if (list_push(&c->interpreters, &c->n_interpreters, embargo_interp_defaults[i],
			      strlen(embargo_interp_defaults[i])) < 0)
			break;
	c->runtime_dir = strdup(EMBARGO_RUNTIME_DIR);
	c->state_dir = strdup(EMBARGO_CONFIG_STATE_DIR);
	if (!c->policy || !c->scan_paths || !c->scan_paths[0] || !c->interpreters ||
	    embargo_interp_defaults[c->n_interpreters] || !c->runtime_dir || !c->state_dir) {
		embargo_config_free(c);
		return -ENOMEM;
	}
	return 0;
}

/* ---- errors ------------------------------------------------------------------------------------------- */

struct parser {
	struct embargo_config *c; /* the configuration being built, not the caller's */
	struct embargo_config_error *err;
	const char *file;
	uint32_t seen[ARRAY_SIZE(keys)]; /* line each key was first set at, 0 if not yet */
};

static int config_fail(struct embargo_config_error *err, int r, const char *file, uint32_t line,
		       uint32_t column, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int config_fail(struct embargo_config_error *err, int r, const char *file, uint32_t line,
		       uint32_t column, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return r;
	snprintf(err->file, sizeof(err->file), "%s", file);
	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return r;
}

/* The lexer's errors, and the parser's at a token, into the caller's record. */
static int lex_fail_config(void *userdata, int r, const char *file, uint32_t line, uint32_t column,
			   const char *message)
{
	return config_fail(userdata, r, file, line, column, "%s", message);
}

const char *embargo_config_error_format(const struct embargo_config_error *err, char *buf, size_t size)
{
	_Static_assert(sizeof(err->message) == LEX_MESSAGE_MAX, "the lexer's messages fit");
	return lex_error_format(err->file, err->line, err->column, err->message, buf, size);
}

/* ---- values ------------------------------------------------------------------------------------------- */

/* "'a' or 'b'", "'a', 'b' or 'c'". */
static const char *choice_list(const struct key *k, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < k->n_choices && n < size; i++) {
		const char *sep = i == 0 ? "" : i + 1 == k->n_choices ? " or " : ", ";
		int w = snprintf(buf + n, size - n, "%s'%s'", sep, k->choices[i].name);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	return buf;
}

/* The first token of a value, with a word about the "key = value" habit. */
static int value_first(struct lexer *x, const struct key *k, struct lex_token *t, const char *expected)
{
	int r = lex_need(x, t, expected, k->name);

	if (r < 0)
		return r;
	if (!t->quoted && strcmp(t->value, "=") == 0)
		return lex_fail(x, t->column, "unexpected '=': write '%s VALUE', without '='", k->name);
	return 0;
}

static int parse_choice(struct lexer *x, const struct key *k, uint8_t *ret)
{
	char expected[128], buf[64];
	struct lex_token t;
	int r;

	choice_list(k, expected, sizeof(expected));
	r = value_first(x, k, &t, expected);
	if (r < 0)
		return r;
	for (size_t i = 0; i < k->n_choices; i++)
		if (strcmp(t.value, k->choices[i].name) == 0) {
			*ret = k->choices[i].value;
			return lex_end(x);
		}
	return lex_fail(x, t.column, "expected %s, found %s", expected, lex_describe(&t, buf, sizeof(buf)));
}

static int parse_u32_value(struct lexer *x, const struct key *k, uint32_t *ret)
{
	char expected[96], buf[64];
	struct lex_token t;
	uint64_t v;
	int r;

	snprintf(expected, sizeof(expected), "a number of %s from %u to %u", k->unit, k->min, k->max);
	r = value_first(x, k, &t, expected);
	if (r < 0)
		return r;
	if (parse_u64(t.value, k->max, &v) < 0 || v < k->min)
		return lex_fail(x, t.column, "expected %s, found %s", expected,
				lex_describe(&t, buf, sizeof(buf)));
	*ret = (uint32_t)v;
	return lex_end(x);
}

static int check_path(struct lexer *x, const struct lex_token *t)
{
	char buf[64];

	if (t->len == 0)
		return lex_fail(x, t->column, "path is empty");
	if (t->value[0] != '/')
		return lex_fail(x, t->column, "expected an absolute path, found %s",
				lex_describe(t, buf, sizeof(buf)));
	if (t->len >= PATH_MAX)
		return lex_fail(x, t->column, "path is longer than %d bytes", PATH_MAX - 1);
	return 0;
}

static int parse_path(struct lexer *x, const struct key *k, char **field)
{
	struct lex_token t;
	char *s;
	int r;

	r = value_first(x, k, &t, "an absolute path");
	if (r < 0)
		return r;
	r = check_path(x, &t);
	if (r < 0)
		return r;
	r = lex_end(x);
	if (r < 0)
		return r;
	s = strndup(t.value, t.len);
	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/* Appends a copy of s[0..len) to the NULL-terminated list *v of *n strings. */
static int list_push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = reallocarray(*v, *n + 2, sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strndup(s, len);
	if (!nv[*n]) {
		nv[*n] = NULL; /* the list stays NULL-terminated for its free */
		return -ENOMEM;
	}
	nv[++*n] = NULL;
	return 0;
}

/*
 * One or more absolute paths. The file's first line for the key replaces the default, later ones append.
 * With auto_list, 'auto' alone is the empty list, and it does not mix with paths on any line.
 */
static int parse_paths(struct lexer *x, const struct key *k, uint32_t first_line, char ***list, size_t *n)
{
	const char *expected = k->auto_list ? "'auto' or absolute paths" : "one or more absolute paths";
	struct lex_token t;
	int r;

	r = value_first(x, k, &t, expected);
	if (r < 0)
		return r;
	if (first_line == 0) {
		strv_free(*list);
		*list = NULL;
		*n = 0;
	}
	if (k->auto_list && strcmp(t.value, "auto") == 0) {
		if (*n > 0)
			return lex_fail(x, t.column, "'auto' cannot follow the paths given at line %u",
					first_line);
		r = lex_next(x, &t);
		if (r < 0)
			return r;
		if (r > 0)
			return lex_fail(x, t.column, "'auto' cannot be combined with paths");
		return 0;
	}
	if (first_line != 0 && *n == 0 && k->auto_list)
		return lex_fail(x, t.column, "%s is 'auto' since line %u: paths cannot be added to it",
				k->name, first_line);
	do {
		if (k->auto_list && strcmp(t.value, "auto") == 0)
			return lex_fail(x, t.column, "'auto' cannot be combined with paths");
		r = check_path(x, &t);
		if (r < 0)
			return r;
		r = list_push(list, n, t.value, t.len);
		if (r < 0)
			return r;
	} while ((r = lex_next(x, &t)) > 0);
	return r;
}

/* ---- lines -------------------------------------------------------------------------------------------- */

/* Edit distance, for "did you mean"; words longer than a key could ever be are just far. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int key_find(struct lexer *x, const struct lex_token *t, size_t *ret)
{
	const char *eq = strchr(t->value, '=');
	size_t best = SIZE_MAX, best_i = 0;
	char buf[64], list[512];
	size_t n = 0;

	if (t->quoted)
		return lex_fail(x, t->column, "expected a key, found %s (keys are not quoted)",
				lex_describe(t, buf, sizeof(buf)));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		size_t d;

		if (strcmp(t->value, keys[i].name) == 0) {
			*ret = i;
			return 0;
		}
		/* "key=value": the habit of other formats. */
		if (eq && strlen(keys[i].name) == (size_t)(eq - t->value) &&
		    strncmp(t->value, keys[i].name, (size_t)(eq - t->value)) == 0)
			return lex_fail(x, lex_column(x, eq), "unexpected '=': write '%s VALUE', without '='",
					keys[i].name);
		d = distance(t->value, keys[i].name);
		if (d < best) {
			best = d;
			best_i = i;
		}
	}
	/* Two edits turn most typos into the key, and no key into another. */
	if (best <= 2)
		return lex_fail(x, t->column, "unknown key %s; did you mean '%s'?",
				lex_describe(t, buf, sizeof(buf)), keys[best_i].name);
	list[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(keys) && n < sizeof(list); i++) {
		int w = snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", keys[i].name);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	return lex_fail(x, t->column, "unknown key %s; expected one of: %s",
			lex_describe(t, buf, sizeof(buf)), list);
}

static int parse_line(struct parser *ps, struct lexer *x)
{
	const struct key *k;
	struct lex_token kw;
	size_t i = 0;
	int r;

	r = lex_next(x, &kw);
	if (r <= 0)
		return r;
	r = key_find(x, &kw, &i);
	if (r < 0)
		return r;
	k = &keys[i];
	/* Lists append; any other key set twice is a mistake that would otherwise be silently half-applied.
	 */
	if (k->kind != K_PATHS && ps->seen[i])
		return lex_fail(x, kw.column, "duplicate key '%s' (already set at line %u)", k->name,
				ps->seen[i]);
	switch (k->kind) {
	case K_CHOICE:
		r = parse_choice(x, k, FIELD(ps->c, k, uint8_t));
		break;
	case K_BOOL: {
		uint8_t v = 0;

		r = parse_choice(x, k, &v);
		*FIELD(ps->c, k, bool) = v;
		break;
	}
	case K_U32:
		r = parse_u32_value(x, k, FIELD(ps->c, k, uint32_t));
		break;
	case K_PATH:
		r = parse_path(x, k, FIELD(ps->c, k, char *));
		break;
	case K_PATHS:
		r = parse_paths(x, k, ps->seen[i], FIELD(ps->c, k, char **), COUNT(ps->c, k));
		break;
	}
	if (r == -ENOMEM)
		return config_fail(ps->err, r, ps->file, 0, 0, "out of memory");
	if (r < 0)
		return r;
	if (!ps->seen[i])
		ps->seen[i] = x->line;
	return 0;
}

static int parse_buffer(struct parser *ps, char *buf, size_t len)
{
	struct lexer x = { .file = ps->file, .fail = lex_fail_config, .userdata = ps->err };
	char *p = buf, *end = buf + len;
	uint32_t line = 0;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *s = p;
		size_t n = (size_t)((nl ? nl : end) - p);
		int r;

		lex_line_trim(&s, &n, ++line);
		lex_line(&x, s, n, line);
		r = parse_line(ps, &x);
		if (r < 0)
			return r;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* The whole file, NUL-terminated: -errno; -EISDIR, -EINVAL (not a regular file), -EFBIG. */
static int read_file(const char *path, char **ret, size_t *ret_len)
{
	struct stat st;
	_cleanup_close_ int fd = open_regular(path, &st);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (fd < 0)
		return fd;
	if (st.st_size > CONFIG_MAX_SIZE)
		return -EFBIG;
	/* One byte more than allowed tells a file that grew past the limit from one that fits it. */
	buf = malloc(CONFIG_MAX_SIZE + 2);
	if (!buf)
		return -ENOMEM;
	/* One byte more than allowed: reading it tells a file that is too big. */
	ssize_t n = read_all(fd, buf, CONFIG_MAX_SIZE + 1);
	if (n < 0)
		return (int)n;
	len = (size_t)n;
	if (len > CONFIG_MAX_SIZE)
		return -EFBIG;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int fail_read(struct embargo_config_error *err, int r, const char *file)
{
	char buf[128];

	if (r == -EFBIG)
		return config_fail(err, r, file, 0, 0, "configuration file is larger than %d bytes",
				   CONFIG_MAX_SIZE);
	return config_fail(err, r, file, 0, 0, "cannot read configuration file: %s",
			   r == -EINVAL ? "not a regular file" : strerror_r(-r, buf, sizeof(buf)));
}

int embargo_config_load(const char *path, struct embargo_config *c, struct embargo_config_error *err)
{
	_cleanup_(embargo_config_free) struct embargo_config tmp = { 0 };
	_cleanup_free_ char *buf = NULL;
	const char *file = path ? path : EMBARGO_CONFIG_PATH;
	struct parser ps = { .c = &tmp, .err = err, .file = file };
	size_t len = 0;
	int r;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!c)
		return -EINVAL;
	r = embargo_config_defaults(&tmp);
	if (r < 0)
		return config_fail(err, r, file, 0, 0, "out of memory");
	r = read_file(file, &buf, &len);
	/* No file where the default one would be: a machine that has never needed one gets the defaults. A
	 * file named elsewhere was meant to be read. */
	if (r < 0 && !(r == -ENOENT && strcmp(file, EMBARGO_CONFIG_PATH) == 0))
		return fail_read(err, r, file);
	if (r == 0) {
		tmp.path = strdup(file);
		if (!tmp.path)
			return config_fail(err, -ENOMEM, file, 0, 0, "out of memory");
		r = parse_buffer(&ps, buf, len);
		if (r < 0)
			return r;
	}
	embargo_config_free(c);
	*c = tmp;
	tmp = (struct embargo_config){ 0 };
	return 0;
}

/* ---- writing ------------------------------------------------------------------------------------------ */

/* What parse_path() accepts, written. */
static int put_path(FILE *f, const char *s)
{
	if (!s || s[0] != '/' || strlen(s) >= PATH_MAX)
		return -EINVAL;
	return lex_write_string(f, s);
}

static int format_key(FILE *f, const struct embargo_config *c, const struct key *k)
{
	const struct choice *ch;
	char *const *list;
	size_t n;
	uint32_t v;
	int r = 0;

	switch (k->kind) {
	case K_CHOICE:
		ch = choice_by_value(k, *CFIELD(c, k, uint8_t));
		if (!ch)
			return -EINVAL;
		fprintf(f, "%s %s\n", k->name, ch->name);
		return 0;
	case K_BOOL:
		fprintf(f, "%s %s\n", k->name, *CFIELD(c, k, bool) ? "yes" : "no");
		return 0;
	case K_U32:
		v = *CFIELD(c, k, uint32_t);
		if (v < k->min || v > k->max)
			return -EINVAL;
		fprintf(f, "%s %u\n", k->name, v);
		return 0;
	case K_PATH:
		fprintf(f, "%s ", k->name);
		r = put_path(f, *CFIELD(c, k, char *const));
		break;
	case K_PATHS:
		list = *(char **const *)((const char *)c + k->offset);
		n = *(const size_t *)((const char *)c + k->count_offset);
		if (n == 0 && !k->auto_list)
			return -EINVAL;
		fprintf(f, "%s%s", k->name, n == 0 ? " auto" : "");
		for (size_t i = 0; i < n && r == 0; i++) {
			fputc(' ', f);
			r = list ? put_path(f, list[i]) : -EINVAL;
		}
		break;
	}
	fputc('\n', f);
	return r;
}

int embargo_config_format(const struct embargo_config *c, char **text)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r = 0;

	if (!c || !text)
		return -EINVAL;
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(keys) && r == 0; i++)
		r = format_key(f, c, &keys[i]);
	/* A memory stream fails only for memory, and says so at the flush. */
	if (ferror(f) && r == 0)
		r = -ENOMEM;
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0)
		return r;
	*text = TAKE_PTR(buf);
	return 0;
}
