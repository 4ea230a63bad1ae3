// SPDX-License-Identifier: GPL-2.0
/*
 * Policy files: a line is a keyword and its arguments, in the words of lexer.h, which cuts them out of
 * the line in place, so parsing a line allocates nothing.
 */
#include "fold.h"
#include "lexer.h"
#include "policy-internal.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

struct parser {
	struct loader *l;
	const char *file;
	uint32_t source;
	int64_t vendor; /* the vendor rules attach to; -1 before the first vendor line of the file */
};

/* The lexer's errors, and the parser's at a token, into the loader's record. */
static int lex_fail_policy(void *userdata, int r, const char *file, uint32_t line, uint32_t column,
			   const char *message)
{
	_Static_assert(sizeof(((struct embargo_policy_error *)0)->message) == LEX_MESSAGE_MAX,
		       "the lexer's messages fit");
	return policy_fail(userdata, r, file, line, column, "%s", message);
}

/* The one argument of keyword, not empty ("<noun> is empty" otherwise), and nothing after it. */
static int one_arg(struct lexer *x, struct lex_token *t, const char *keyword, const char *what,
		   const char *noun)
{
	int r = lex_need(x, t, what, keyword);

	if (r < 0)
		return r;
	if (t->len == 0)
		return lex_fail(x, t->column, "%s is empty", noun);
	return lex_end(x);
}

/* ---- vendors ---------------------------------------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int64_t vendor_find(const struct loader *l, const char *name)
{
	size_t mask = l->vendor_index_cap - 1;

	if (!l->vendor_index_cap)
		return -1;
	for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
		uint32_t v = l->vendor_index[i];

		if (v == 0)
			return -1;
		if (strcmp(l->p->vendors[v - 1].name, name) == 0)
			return v - 1;
	}
}

static void vendor_index_put(uint32_t *index, size_t cap, const char *name, uint32_t v)
{
	size_t i = name_hash(name) & (cap - 1);

	while (index[i])
		i = (i + 1) & (cap - 1);
	index[i] = v + 1;
}

/* Appends a vendor (fields set by the caller) and indexes its name; the index is kept at most half full. */
static struct embargo_vendor *vendor_add(struct loader *l)
{
	struct embargo_policy *p = l->p;
	struct embargo_vendor *v;

	if (p->n_vendors == l->vendors_cap) {
		size_t cap = l->vendors_cap ? 2 * l->vendors_cap : 8;

		v = reallocarray(p->vendors, cap, sizeof(*v));
		if (!v)
			return NULL;
		p->vendors = v;
		l->vendors_cap = cap;
	}
	if (2 * (p->n_vendors + 1) > l->vendor_index_cap) {
		size_t cap = l->vendor_index_cap ? 2 * l->vendor_index_cap : 16;
		uint32_t *index = calloc(cap, sizeof(*index));

		if (!index)
			return NULL;
		for (size_t i = 0; i < p->n_vendors; i++)
			vendor_index_put(index, cap, p->vendors[i].name, (uint32_t)i);
		free(l->vendor_index);
		l->vendor_index = index;
		l->vendor_index_cap = cap;
	}
	v = &p->vendors[p->n_vendors];
	*v = (struct embargo_vendor){ 0 };
	v->entities = calloc(1, sizeof(char *));
	if (!v->entities)
		return NULL;
	p->n_vendors++;
	return v;
}

static int check_vendor_name(struct lexer *x, const struct lex_token *name)
{
	if (name->len == 0)
		return lex_fail(x, name->column, "vendor name is empty");
	if (name->len > POLICY_VENDOR_NAME_MAX)
		return lex_fail(x, name->column, "vendor name is longer than %d bytes",
				POLICY_VENDOR_NAME_MAX);
	for (size_t i = 0; i < name->len; i++)
		if (lex_is_ctl((unsigned char)name->value[i]))
			return lex_fail(x, name->column, "vendor name contains a control character");
	return 0;
}

/* An option of the vendor line given at most once: *seen is the column it was first given at, or 0. */
static int option_once(struct lexer *x, const struct lex_token *opt, uint32_t *seen)
{
	if (*seen)
		return lex_fail(x, opt->column, "duplicate option '%s' (already given at column %u)",
				opt->value, *seen);
	*seen = opt->column;
	return 0;
}

/* vendor NAME [mode audit|enforce] [reason STRING] */
static int parse_vendor(struct parser *ps, struct lexer *x)
{
	struct loader *l = ps->l;
	struct lex_token name, opt, val, reason = { 0 };
	uint32_t mode_column = 0, reason_column = 0;
	uint8_t mode = EMBARGO_MODE_INHERIT;
	struct embargo_vendor *v;
	char buf[64];
	int64_t prev;
	int r;

	r = lex_need(x, &name, "a vendor name", "vendor");
	if (r < 0)
		return r;
	r = check_vendor_name(x, &name);
	if (r < 0)
		return r;
	prev = vendor_find(l, name.value);
	if (prev >= 0) {
		const struct embargo_vendor *first = &l->p->vendors[prev];

		return lex_fail(x, name.column, "duplicate vendor '%s' (first defined at %s:%u)", name.value,
				l->p->sources[first->source], first->line);
	}
	for (;;) {
		r = lex_next(x, &opt);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (lex_is_word(&opt, "mode")) {
			r = option_once(x, &opt, &mode_column);
			if (r < 0)
				return r;
			r = lex_need(x, &val, "'audit' or 'enforce'", "mode");
			if (r < 0)
				return r;
			if (strcmp(val.value, "audit") == 0)
				mode = EMBARGO_MODE_AUDIT;
			else if (strcmp(val.value, "enforce") == 0)
				mode = EMBARGO_MODE_ENFORCE;
			else
				return lex_fail(x, val.column, "expected 'audit' or 'enforce', found %s",
						lex_describe(&val, buf, sizeof(buf)));
		} else if (lex_is_word(&opt, "reason")) {
			r = option_once(x, &opt, &reason_column);
			if (r < 0)
				return r;
			r = lex_need(x, &reason, "a string", "reason");
			if (r < 0)
				return r;
		} else {
			return lex_fail(x, opt.column, "expected 'mode', 'reason' or end of line, found %s",
					lex_describe(&opt, buf, sizeof(buf)));
		}
	}
	if (l->p->n_vendors >= EMBARGO_POLICY_MAX_VENDORS)
		return lex_fail(x, name.column, "too many vendors (at most %d)", EMBARGO_POLICY_MAX_VENDORS);

	v = vendor_add(l);
	if (!v)
		return policy_oom(l, ps->file);
	v->name = arena_strndup(l->p->arena, name.value, name.len);
	v->reason = reason_column ? arena_strndup(l->p->arena, reason.value, reason.len) : NULL;
	if (!v->name || (reason_column && !v->reason))
		return policy_oom(l, ps->file);
	v->mode = mode;
	v->source = ps->source;
	v->line = x->line;
	vendor_index_put(l->vendor_index, l->vendor_index_cap, v->name, (uint32_t)(l->p->n_vendors - 1));
	ps->vendor = (int64_t)(l->p->n_vendors - 1);
	return 0;
}

/* ---- rules -------------------------------------------------------------------------------------------- */

/* entity STRING */
static int parse_entity(struct parser *ps, struct lexer *x)
{
	struct embargo_vendor *v = &ps->l->p->vendors[ps->vendor];
	struct lex_token name;
	char **e;
	int r;

	r = one_arg(x, &name, "entity", "a name", "entity name");
	if (r < 0)
		return r;
	e = reallocarray(v->entities, v->n_entities + 2, sizeof(*e));
	if (!e)
		return policy_oom(ps->l, ps->file);
	v->entities = e;
	e[v->n_entities] = arena_strndup(ps->l->p->arena, name.value, name.len);
	if (!e[v->n_entities])
		return policy_oom(ps->l, ps->file);
	e[++v->n_entities] = NULL;
	return 0;
}

/* strict yes|no: once per vendor */
static int parse_strict(struct parser *ps, struct lexer *x)
{
	struct embargo_vendor *v = &ps->l->p->vendors[ps->vendor];
	struct lex_token val;
	char buf[64];
	int r;

	r = lex_need(x, &val, "'yes' or 'no'", "strict");
	if (r < 0)
		return r;
	if (v->strict_line)
		return lex_fail(x, val.column, "duplicate 'strict' for vendor '%s' (first given at line %u)",
				v->name, v->strict_line);
	if (lex_is_word(&val, "yes"))
		v->strict = EMBARGO_STRICT_YES;
	else if (lex_is_word(&val, "no"))
		v->strict = EMBARGO_STRICT_NO;
	else
		return lex_fail(x, val.column, "expected 'yes' or 'no', found %s",
				lex_describe(&val, buf, sizeof(buf)));
	r = lex_end(x);
	if (r < 0)
		return r;
	v->strict_line = x->line;
	return 0;
}

/* sha256 HEX [label STRING]; also the rest of `component sha256 HEX [label STRING]` */
static int parse_sha256(struct parser *ps, struct lexer *x, bool component)
{
	struct lex_token digest, opt, label = { 0 };
	struct embargo_rule *rule;
	uint8_t sha[32];
	char msg[128];
	int r;

	r = lex_need(x, &digest, "64 hex digits", "sha256");
	if (r < 0)
		return r;
	if (policy_parse_digest(digest.value, digest.len, sha, msg, sizeof(msg)) < 0)
		return lex_fail(x, digest.column, "%s", msg);
	r = lex_next(x, &opt);
	if (r < 0)
		return r;
	if (r > 0) {
		if (!lex_is_word(&opt, "label"))
			return lex_fail(x, opt.column, "expected 'label' or end of line, found %s",
					lex_describe(&opt, msg, sizeof(msg)));
		r = lex_need(x, &label, "a string", "label");
		if (r < 0)
			return r;
		r = lex_end(x);
		if (r < 0)
			return r;
	}
	r = policy_new_rule(ps->l, ps->file, x->line, &rule);
	if (r < 0)
		return r;
	memcpy(rule->sha256, sha, sizeof(sha));
	rule->vendor = (uint32_t)ps->vendor;
	rule->source = ps->source;
	rule->line = x->line;
	rule->column = digest.column;
	rule->component = component;
	rule->label = NULL;
	if (label.value) {
		rule->label = arena_strndup(ps->l->p->arena, label.value, label.len);
		if (!rule->label)
			return policy_oom(ps->l, ps->file);
	}
	return 0;
}

/* A file named in a policy file, relative to the directory of that file, in the arena. */
static char *resolve(struct parser *ps, const struct lex_token *name)
{
	const char *slash = strrchr(ps->file, '/');

	if (name->value[0] == '/' && ps->l->root)
		return arena_join(ps->l->p->arena, ps->l->root, strlen(ps->l->root), name->value + 1);
	if (name->value[0] == '/' || !slash)
		return arena_strndup(ps->l->p->arena, name->value, name->len);
	return arena_join(ps->l->p->arena, ps->file, (size_t)(slash - ps->file), name->value);
}

/* sha256-list PATH, relative to the directory of the policy file */
static int parse_sha256_list(struct parser *ps, struct lexer *x)
{
	struct lex_token name;
	char *path;
	int r;

	r = one_arg(x, &name, "sha256-list", "a file name", "file name");
	if (r < 0)
		return r;
	path = resolve(ps, &name);
	if (!path)
		return policy_oom(ps->l, ps->file);
	return digest_list_load(ps->l, path, (uint32_t)ps->vendor, ps->file, x->line, name.column);
}

/* component sha256 HEX [label STRING] */
static int parse_component(struct parser *ps, struct lexer *x)
{
	struct lex_token kind;
	char buf[64];
	int r;

	r = lex_need(x, &kind, "'sha256'", "component");
	if (r < 0)
		return r;
	if (!lex_is_word(&kind, "sha256"))
		return lex_fail(x, kind.column, "expected 'sha256', found %s",
				lex_describe(&kind, buf, sizeof(buf)));
	return parse_sha256(ps, x, true);
}

/* ---- identity rules ------------------------------------------------------------------------------- */

static const struct ident_keyword {
	const char *keyword;
	uint8_t kind;
	const char *what; /* expected after the keyword */
	const char *noun; /* "<noun> is empty" */
} ident_keywords[] = {
	{ "signer-cert", EMBARGO_IDENT_SIGNER_CERT, "64 hex digits", "certificate digest" },
	{ "signer-org", EMBARGO_IDENT_SIGNER_ORG, "an organization name", "organization name" },
	{ "signer-cn", EMBARGO_IDENT_SIGNER_CN, "a common name", "common name" },
	{ "package", EMBARGO_IDENT_PACKAGE, "a package name", "package name" },
	{ "package-maintainer", EMBARGO_IDENT_PACKAGE_MAINTAINER, "a maintainer", "maintainer" },
	{ "path", EMBARGO_IDENT_PATH, "an absolute path", "path" },
};

static struct embargo_ident_rule *ident_add(struct loader *l)
{
	struct embargo_policy *p = l->p;

	if (p->n_ident_rules == l->ident_cap) {
		size_t cap = l->ident_cap ? 2 * l->ident_cap : 16;
		struct embargo_ident_rule *v = reallocarray(p->ident_rules, cap, sizeof(*v));

		if (!v)
			return NULL;
		p->ident_rules = v;
		l->ident_cap = cap;
	}
	p->ident_rules[p->n_ident_rules] = (struct embargo_ident_rule){ 0 };
	return &p->ident_rules[p->n_ident_rules++];
}

/* Paths are matched against the canonical path of a file: a rule with '.', '..' or '//' never would. */
static bool path_is_normal(const char *s)
{
	for (const char *c = s; *c; c++) {
		size_t n;

		if (*c != '/')
			continue;
		n = strcspn(c + 1, "/");
		if ((n == 0 && c[1] == '/') || (n == 1 && c[1] == '.') ||
		    (n == 2 && c[1] == '.' && c[2] == '.'))
			return false;
	}
	return true;
}

/* The value of an identity rule: checked, folded for names, copied into the arena. */
static int ident_text(struct parser *ps, struct lexer *x, const struct ident_keyword *k,
		      const struct lex_token *v, struct embargo_ident_rule *rule)
{
	struct arena *a = ps->l->p->arena;
	_cleanup_free_ char *folded = NULL;
	size_t bad = 0;
	int r;

	if (v->len == 0)
		return lex_fail(x, v->column, "%s is empty", k->noun);
	r = embargo_fold(v->value, v->len, &folded, &bad);
	if (r == -EILSEQ)
		return lex_fail(x, v->column, "%s is not valid UTF-8 (byte 0x%02x at position %zu)", k->noun,
				(unsigned char)v->value[bad], bad + 1);
	if (r == -ENOENT)
		return policy_fail(ps->l, r, ps->file, x->line, v->column,
				   "cannot fold case: the C.UTF-8 locale is not available");
	if (r < 0)
		return policy_oom(ps->l, ps->file);
	if (k->kind == EMBARGO_IDENT_PATH) {
		if (v->value[0] != '/')
			return lex_fail(x, v->column, "path must be absolute (start with '/')");
		if (!path_is_normal(v->value))
			return lex_fail(x, v->column, "path must not have '.', '..' or empty components");
		/* Linux file names are case-sensitive: a path is kept as written. */
		rule->prefix = v->value[v->len - 1] == '/';
	}
	rule->written = arena_strndup(a, v->value, v->len);
	rule->text = k->kind == EMBARGO_IDENT_PATH ? rule->written : arena_strndup(a, folded, strlen(folded));
	if (!rule->written || !rule->text)
		return policy_oom(ps->l, ps->file);
	rule->glob = k->kind == EMBARGO_IDENT_PACKAGE_MAINTAINER || embargo_is_glob(rule->text);
	return 0;
}

/*
 * signer-cert HEX [verified] | signer-org NAME [verified] | signer-cn NAME [verified] | package NAME |
 * package-maintainer GLOB | path PATH
 */
static int parse_ident(struct parser *ps, struct lexer *x, const struct ident_keyword *k)
{
	struct embargo_ident_rule *rule;
	struct lex_token v, opt;
	bool signer = k->kind <= EMBARGO_IDENT_SIGNER_CN, verified = false;
	uint8_t sha[32];
	char msg[128];
	int r;

	r = lex_need(x, &v, k->what, k->keyword);
	if (r < 0)
		return r;
	if (k->kind == EMBARGO_IDENT_SIGNER_CERT &&
	    policy_parse_digest(v.value, v.len, sha, msg, sizeof(msg)) < 0)
		return lex_fail(x, v.column, "%s", msg);
	r = lex_next(x, &opt);
	if (r < 0)
		return r;
	if (r > 0) {
		if (!signer)
			return lex_fail(x, opt.column, "expected end of line, found %s",
					lex_describe(&opt, msg, sizeof(msg)));
		if (!lex_is_word(&opt, "verified"))
			return lex_fail(x, opt.column, "expected 'verified' or end of line, found %s",
					lex_describe(&opt, msg, sizeof(msg)));
		verified = true;
		r = lex_end(x);
		if (r < 0)
			return r;
	}
	rule = ident_add(ps->l);
	if (!rule)
		return policy_oom(ps->l, ps->file);
	rule->kind = k->kind;
	rule->verified = verified;
	rule->vendor = (uint32_t)ps->vendor;
	rule->source = ps->source;
	rule->line = x->line;
	rule->column = v.column;
	if (k->kind == EMBARGO_IDENT_SIGNER_CERT) {
		memcpy(rule->sha256, sha, sizeof(sha));
		rule->written = arena_strndup(ps->l->p->arena, v.value, v.len);
		return rule->written ? 0 : policy_oom(ps->l, ps->file);
	}
	return ident_text(ps, x, k, &v, rule);
}

/* trust-anchor PATH: a certificate file, relative to the directory of the policy file */
static int parse_trust_anchor(struct parser *ps, struct lexer *x)
{
	struct loader *l = ps->l;
	struct embargo_trust_anchor *a;
	_cleanup_close_ int fd = -1;
	struct lex_token name;
	struct stat st;
	char *path, buf[128], why[PATH_MAX + 128];
	int r;

	r = one_arg(x, &name, "trust-anchor", "a file name", "file name");
	if (r < 0)
		return r;
	path = resolve(ps, &name);
	if (!path)
		return policy_oom(l, ps->file);
	/* Checked now, so that a typo fails the load instead of every `verified` rule silently. */
	fd = open_trusted(path, &st, why, sizeof(why));
	if (fd < 0)
		return policy_fail(l, fd, ps->file, x->line, name.column, "%s trust anchor '%s': %s",
				   policy_open_verb(why), path,
				   policy_open_reason(fd, why, buf, sizeof(buf)));
	if (!S_ISREG(st.st_mode))
		return policy_fail(l, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, ps->file, x->line, name.column,
				   "cannot read trust anchor '%s': %s", path,
				   S_ISDIR(st.st_mode) ? "Is a directory" : "not a regular file");
	if (l->p->n_trust_anchors == l->anchors_cap) {
		size_t cap = l->anchors_cap ? 2 * l->anchors_cap : 4;

		a = reallocarray(l->p->trust_anchors, cap, sizeof(*a));
		if (!a)
			return policy_oom(l, ps->file);
		l->p->trust_anchors = a;
		l->anchors_cap = cap;
	}
	l->p->trust_anchors[l->p->n_trust_anchors++] = (struct embargo_trust_anchor){
		.path = path, .vendor = (uint32_t)ps->vendor, .source = ps->source, .line = x->line
	};
	return 0;
}

static int parse_line(struct parser *ps, struct lexer *x)
{
	struct lex_token kw;
	char buf[64];
	int r;

	r = lex_next(x, &kw);
	if (r <= 0)
		return r;
	static const char *const rules[] = { "entity",	  "sha256", "sha256-list",
					     "component", "strict", "trust-anchor" };
	const struct ident_keyword *ident = NULL;
	bool known = false;

	if (lex_is_word(&kw, "vendor"))
		return parse_vendor(ps, x);
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		known = known || lex_is_word(&kw, rules[i]);
	for (size_t i = 0; i < ARRAY_SIZE(ident_keywords); i++)
		if (lex_is_word(&kw, ident_keywords[i].keyword))
			ident = &ident_keywords[i];
	if (!known && !ident)
		return lex_fail(
			x, kw.column,
			"expected one of: vendor, entity, sha256, sha256-list, component, signer-org, "
			"signer-cn, signer-cert, package, package-maintainer, path, trust-anchor, strict; "
			"found %s",
			lex_describe(&kw, buf, sizeof(buf)));
	if (ps->vendor < 0)
		return lex_fail(x, kw.column, "expected 'vendor' before '%s'", kw.value);
	if (ident)
		return parse_ident(ps, x, ident);
	if (strcmp(kw.value, "entity") == 0)
		return parse_entity(ps, x);
	if (strcmp(kw.value, "sha256") == 0)
		return parse_sha256(ps, x, false);
	if (strcmp(kw.value, "component") == 0)
		return parse_component(ps, x);
	if (strcmp(kw.value, "trust-anchor") == 0)
		return parse_trust_anchor(ps, x);
	if (strcmp(kw.value, "strict") == 0)
		return parse_strict(ps, x);
	return parse_sha256_list(ps, x);
}

int policy_parse_file(struct loader *l, const char *path)
{
	_cleanup_(line_reader_close) struct line_reader rd = { 0 };
	struct parser ps = { .l = l, .file = path, .vendor = -1 };
	struct lexer x = { .file = path, .fail = lex_fail_policy, .userdata = l };
	char *line;
	size_t len;
	int r;

	r = policy_add_source(l, path, &ps.source);
	if (r < 0)
		return r;
	char why[PATH_MAX + 128];

	r = line_reader_open(&rd, path, why, sizeof(why));
	if (r < 0)
		return policy_fail_open(l, r, why, path, 0, 0, "policy");
	while ((r = line_reader_next(&rd, l, &line, &len)) > 0) {
		lex_line(&x, line, len, rd.line);
		r = parse_line(&ps, &x);
		if (r < 0)
			return r;
	}
	return r;
}
