// SPDX-License-Identifier: GPL-2.0
/*
 * The tokenizer of policy files and embargo.conf (the rules are in lexer.h), and the wording of its
 * errors: one set, whichever file they are about.
 */
#include "lexer.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

void lex_line_trim(char **line, size_t *len, uint32_t lineno)
{
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	/* Editors on some systems open a UTF-8 file with one. */
	if (lineno == 1 && *len >= 3 && memcmp(*line, "\xef\xbb\xbf", 3) == 0) {
		*line += 3;
		*len -= 3;
	}
}

void lex_line(struct lexer *x, char *line, size_t len, uint32_t lineno)
{
	x->line = lineno;
	x->start = x->pos = line;
	x->end = line + len;
	x->done = false;
	x->after = 1;
}

int lex_fail(struct lexer *x, uint32_t column, const char *fmt, ...)
{
	char message[LEX_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return x->fail(x->userdata, -EINVAL, x->file, x->line, column, message);
}

const char *lex_describe(const struct lex_token *t, char *buf, size_t size)
{
	const int max = 48;
	const char *more = t->len > (size_t)max ? "..." : "";
	char q = t->quoted ? '"' : '\'';

	snprintf(buf, size, "%c%.*s%s%c", q, max, t->value, more, q);
	return buf;
}

/* A byte that may not stand somewhere: 'x', or "byte 0xNN" when printing it would not help. */
static const char *byte_name(unsigned char c, char *buf, size_t size)
{
	if (lex_is_ctl(c) || c >= 0x80)
		snprintf(buf, size, "byte 0x%02x", c);
	else
		snprintf(buf, size, "'%c'", c);
	return buf;
}

static int invalid_escape(struct lexer *x, const char *backslash)
{
	unsigned char c = (unsigned char)backslash[1];
	uint32_t column = lex_column(x, backslash);

	if (lex_is_ctl(c) || c >= 0x80)
		return lex_fail(
			x, column,
			"invalid escape: backslash before byte 0x%02x (only \\\" and \\\\ are allowed)", c);
	return lex_fail(x, column, "invalid escape '\\%c' (only \\\" and \\\\ are allowed)", c);
}

static int lex_string(struct lexer *x, struct lex_token *t)
{
	char *open = x->pos, *out = x->pos, *q = x->pos + 1;
	char buf[16];

	/* Unescaped over itself from the opening quote on: the output never overtakes the input. */
	for (; q < x->end && *q != '"'; q++) {
		unsigned char c = (unsigned char)*q;

		if (c == '\\') {
			/* A backslash ending the line continues nothing: the string is unterminated. */
			if (++q == x->end)
				break;
			if (*q != '"' && *q != '\\')
				return invalid_escape(x, q - 1);
		} else if (lex_is_ctl(c) && c != '\t') {
			return lex_fail(x, lex_column(x, q), "unexpected control character 0x%02x", c);
		}
		*out++ = *q;
	}
	if (q == x->end)
		return lex_fail(x, lex_column(x, open), "unterminated string");
	q++;
	if (q < x->end && !is_blank(*q) && *q != '#')
		return lex_fail(x, lex_column(x, q), "expected whitespace after string, found %s",
				byte_name((unsigned char)*q, buf, sizeof(buf)));
	*out = '\0';
	*t = (struct lex_token){
		.value = open, .len = (size_t)(out - open), .column = lex_column(x, open), .quoted = true
	};
	x->after = lex_column(x, q);
	x->pos = q;
	return 1;
}

static int lex_word(struct lexer *x, struct lex_token *t)
{
	char *q = x->pos;

	for (; q < x->end && !is_blank(*q) && *q != '#'; q++) {
		if (*q == '"')
			return lex_fail(x, lex_column(x, q), "unexpected '\"' inside a word");
		if (lex_is_ctl((unsigned char)*q))
			return lex_fail(x, lex_column(x, q), "unexpected control character 0x%02x",
					(unsigned char)*q);
	}
	*t = (struct lex_token){ .value = x->pos,
				 .len = (size_t)(q - x->pos),
				 .column = lex_column(x, x->pos) };
	x->after = lex_column(x, q);
	x->done = q == x->end || *q == '#';
	x->pos = x->done ? q : q + 1;
	*q = '\0'; /* a blank, a '#' already seen, or the line's old terminator */
	return 1;
}

int lex_next(struct lexer *x, struct lex_token *t)
{
	if (x->done)
		return 0;
	while (x->pos < x->end && is_blank(*x->pos))
		x->pos++;
	if (x->pos == x->end || *x->pos == '#') {
		x->done = true;
		return 0;
	}
	return *x->pos == '"' ? lex_string(x, t) : lex_word(x, t);
}

int lex_need(struct lexer *x, struct lex_token *t, const char *what, const char *after)
{
	int r = lex_next(x, t);

	if (r < 0)
		return r;
	if (r == 0)
		return lex_fail(x, x->after, "expected %s after '%s'", what, after);
	return 0;
}

int lex_end(struct lexer *x)
{
	struct lex_token t;
	char buf[64];
	int r = lex_next(x, &t);

	if (r <= 0)
		return r;
	return lex_fail(x, t.column, "expected end of line, found %s", lex_describe(&t, buf, sizeof(buf)));
}

bool lex_is_word(const struct lex_token *t, const char *kw)
{
	return !t->quoted && strcmp(t->value, kw) == 0;
}

int lex_write_string(FILE *f, const char *s)
{
	bool bare = *s != '\0';

	for (const char *p = s; *p; p++) {
		if (lex_is_ctl((unsigned char)*p) && *p != '\t')
			return -EINVAL;
		if (is_blank(*p) || *p == '#' || *p == '"')
			bare = false;
	}
	if (bare) {
		fputs(s, f);
		return 0;
	}
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
	return 0;
}

const char *lex_error_format(const char *file, uint32_t line, uint32_t column, const char *message, char *buf,
			     size_t size)
{
	if (size == 0)
		return buf;
	if (line == 0)
		snprintf(buf, size, "%s: %s", file, message);
	else if (column == 0)
		snprintf(buf, size, "%s:%u: %s", file, line, message);
	else
		snprintf(buf, size, "%s:%u:%u: %s", file, line, column, message);
	return buf;
}
