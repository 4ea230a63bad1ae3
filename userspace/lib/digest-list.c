// SPDX-License-Identifier: GPL-2.0
/*
 * Digest lists: one SHA-256 a line, or sha256sum output ("<hex>  <name>", "<hex> *<name>", and
 * "\<hex>  <escaped name>"), whose name becomes the rule's label. Blank lines and lines whose first
 * non-blank character is '#' are skipped. Plain or gzip-compressed. Built for inventories and feeds of
 * millions of lines: a table-driven hex decoder, no allocation per line but the label's bytes.
 */
#include "policy-internal.h"
#include "util.h"

#include <limits.h>
#include <string.h>

/* Hex digit value + 1; 0 for anything else. */
static const uint8_t hexval1[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,	['6'] = 7,  ['7'] = 8,
	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static inline bool hex64(const char *s, uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++) {
		unsigned hi = hexval1[(unsigned char)s[2 * i]], lo = hexval1[(unsigned char)s[2 * i + 1]];

		if (!hi || !lo)
			return false;
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	return true;
}

int policy_parse_digest(const char *s, size_t len, uint8_t out[32], char *msg, size_t size)
{
	if (len == 64 && hex64(s, out))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (hexval1[c])
			continue;
		if (c < 0x20 || c >= 0x7f)
			snprintf(msg, size, "expected 64 hex digits, found byte 0x%02x at position %zu", c,
				 i + 1);
		else
			snprintf(msg, size,
				 "expected 64 hex digits, found non-hex character '%c' at position %zu", c,
				 i + 1);
		return -EINVAL;
	}
	snprintf(msg, size, "expected 64 hex digits, found %zu", len);
	return -EINVAL;
}

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

struct list {
	struct loader *l;
	const char *path;
	uint32_t source;
	uint32_t vendor;
};

#define list_fail(ls, line, column, ...)                                                                     \
	policy_fail((ls)->l, -EINVAL, (ls)->path, (line), (column), __VA_ARGS__)

static int parse_list_line(const struct list *ls, const char *line, size_t len, uint32_t lineno)
{
	const char *p = line, *end = line + len, *digest, *name = NULL;
	struct embargo_rule *rule;
	uint8_t sha[32];
	int r;

	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	/* sha256sum marks a line whose file name it escaped with a leading backslash. */
	if (*p == '\\')
		p++;
	digest = p;
	if (end - p < 64 || !hex64(p, sha) || (end - p > 64 && !is_blank(p[64]))) {
		const char *q = p;
		char msg[128];

		while (q < end && !is_blank(*q))
			q++;
		policy_parse_digest(p, (size_t)(q - p), sha, msg, sizeof(msg));
		return list_fail(ls, lineno, (uint32_t)(p - line + 1), "%s", msg);
	}
	p += 64;
	if (p < end) {
		const char *q = p;

		while (q < end && is_blank(*q))
			q++;
		if (q < end) {
			/* The sha256sum file name column: two spaces (text mode) or " *" (binary mode). */
			if (end - p < 2 || p[0] != ' ' || (p[1] != ' ' && p[1] != '*'))
				return list_fail(
					ls, lineno, (uint32_t)(p - line + 1),
					"expected two spaces or ' *' between the digest and the file name");
			name = p + 2;
			if (name == end)
				return list_fail(ls, lineno, (uint32_t)(name - line + 1),
						 "expected a file name after ' *'");
			for (q = name; q < end; q++)
				if ((unsigned char)*q < 0x20 ? *q != '\t' : (unsigned char)*q == 0x7f)
					return list_fail(ls, lineno, (uint32_t)(q - line + 1),
							 "unexpected control character 0x%02x in file name",
							 (unsigned char)*q);
		}
	}

	r = policy_new_rule(ls->l, ls->path, lineno, &rule);
	if (r < 0)
		return r;
	memcpy(rule->sha256, sha, sizeof(sha));
	rule->vendor = ls->vendor;
	rule->source = ls->source;
	rule->line = lineno;
	rule->column = (uint32_t)(digest - line + 1);
	rule->label = NULL;
	if (name) {
		rule->label = arena_strndup(ls->l->p->arena, name, (size_t)(end - name));
		if (!rule->label)
			return policy_oom(ls->l, ls->path);
	}
	return 0;
}

int digest_list_load(struct loader *l, const char *path, uint32_t vendor, const char *ref_file,
		     uint32_t ref_line, uint32_t ref_column)
{
	_cleanup_(line_reader_close) struct line_reader rd = { 0 };
	struct list ls = { .l = l, .path = path, .vendor = vendor };
	char *line, why[PATH_MAX + 128];
	size_t len;
	int r;

	r = line_reader_open(&rd, path, why, sizeof(why));
	if (r < 0) {
		char buf[128];

		return policy_fail(l, r, ref_file, ref_line, ref_column, "%s digest list '%s': %s",
				   policy_open_verb(why), path, policy_open_reason(r, why, buf, sizeof(buf)));
	}
	r = policy_add_source(l, path, &ls.source);
	if (r < 0)
		return r;
	while ((r = line_reader_next(&rd, l, &line, &len)) > 0) {
		r = parse_list_line(&ls, line, len, rd.line);
		if (r < 0)
			return r;
	}
	return r;
}
