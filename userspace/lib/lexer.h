/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The words of every file embargo reads as statements (policy files, embargo.conf), and the one shape of
 * their errors, so that the languages cannot drift apart at this level:
 *
 * - A line is tokens separated by spaces and tabs. It ends in LF or CR LF; a UTF-8 byte-order mark
 *   opening a file is not part of line 1 (lex_line_trim()). There are no continuation lines.
 * - A bare word is a run of bytes other than blanks, '#' and '"'; a '"' inside a word is an error.
 * - A string is written between double quotes, "\"" and "\\" the only escapes, and ends on its line; a
 *   string glued to what follows it (other than a comment) is an error.
 * - '#' outside a string starts a comment, even right after a word or a string.
 * - A control character (0x00-0x1f, 0x7f: NUL and a stray CR included) outside a comment is an error,
 *   but for a tab inside a string.
 * - Bytes from 0x80 up are text: whether a value must be UTF-8 is the parser's decision.
 * - Columns count bytes from 1.
 *
 * Line and token lengths are the parsers' limits. Tokens are cut out of the line in place (a string is
 * unescaped over itself), so lexing allocates nothing.
 */
#ifndef EMBARGO_LEXER_H
#define EMBARGO_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The size of the message of an error (struct embargo_policy_error, struct embargo_config_error). */
#define LEX_MESSAGE_MAX 512

struct lex_token {
	char *value; /* NUL-terminated, in the line */
	size_t len;
	uint32_t column;
	bool quoted;
};

/* Fills the parser's error record, which holds file:line:column and message, and returns r. */
typedef int (*lex_fail_fn)(void *userdata, int r, const char *file, uint32_t line, uint32_t column,
			   const char *message);

struct lexer {
	const char *file;
	lex_fail_fn fail;
	void *userdata;
	/* The line being cut, set by lex_line(). */
	uint32_t line;
	char *start, *pos, *end;
	bool done;	/* end of line or comment reached */
	uint32_t after; /* column just after the last token: where a missing one is reported */
};

static inline bool lex_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static inline uint32_t lex_column(const struct lexer *x, const char *p)
{
	return (uint32_t)(p - x->start + 1);
}

/* Drops the CR of a CR LF line end and, from line 1, a UTF-8 byte-order mark. */
void lex_line_trim(char **line, size_t *len, uint32_t lineno);

/*
 * Starts cutting line[0..len), number lineno (trimmed already). line[len] must be writable: it is the
 * old terminator (or a reserve byte) and becomes the NUL of the last token.
 */
void lex_line(struct lexer *x, char *line, size_t len, uint32_t lineno);

/* 1 and the next token, 0 at the end of the line (or at a comment), or -EINVAL reported through x. */
int lex_next(struct lexer *x, struct lex_token *t);

/* A token that must be there: "expected <what> after '<after>'" otherwise. */
int lex_need(struct lexer *x, struct lex_token *t, const char *what, const char *after);

/* Nothing more on the line: "expected end of line, found ..." otherwise. */
int lex_end(struct lexer *x);

/* t is the keyword kw: a bare word ("vendor" is not the keyword vendor). */
bool lex_is_word(const struct lex_token *t, const char *kw);

/* 'word' or "string", shortened, for "found ..." in messages; 64 bytes hold it. */
const char *lex_describe(const struct lex_token *t, char *buf, size_t size);

/* Reports message at x's line and column through x->fail; returns -EINVAL. */
int lex_fail(struct lexer *x, uint32_t column, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * s as a token that lex_next() reads back as s: bare when it can be, quoted otherwise. -EINVAL if it
 * cannot be written (a control character other than tab), else 0; errors of f are f's.
 */
int lex_write_string(FILE *f, const char *s);

/* "file:line:column: message", "file:line: message" (column 0) or "file: message" (line 0) into buf. */
const char *lex_error_format(const char *file, uint32_t line, uint32_t column, const char *message, char *buf,
			     size_t size);

#endif
