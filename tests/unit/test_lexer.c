// SPDX-License-Identifier: GPL-2.0
/* The tokenizer of policy files and embargo.conf, on its own: tokens, columns, errors and their format. */
#include "lexer.h"
#include "test.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>

struct sink {
	int calls;
	int r;
	char file[64];
	uint32_t line, column;
	char message[LEX_MESSAGE_MAX];
};

static int record(void *userdata, int r, const char *file, uint32_t line, uint32_t column,
		  const char *message)
{
	struct sink *s = userdata;

	s->calls++;
	s->r = r;
	snprintf(s->file, sizeof(s->file), "%s", file);
	s->line = line;
	s->column = column;
	snprintf(s->message, sizeof(s->message), "%s", message);
	return r;
}

/* A lexer over a copy of text (n bytes), line 3 of "t.conf"; the copy has a reserve byte past its end. */
struct lexed {
	struct lexer x;
	struct sink sink;
	char buf[256];
};

static void start(struct lexed *l, const char *text, size_t n)
{
	*l = (struct lexed){ 0 };
	memcpy(l->buf, text, n);
	l->x = (struct lexer){ .file = "t.conf", .fail = record, .userdata = &l->sink };
	lex_line(&l->x, l->buf, n, 3);
}

/* Every token of the line as "value@column" ("q:" before a string's), space-separated, or the error. */
static const char *tokens(const char *text, size_t n, char *out, size_t size)
{
	struct lexed l;
	struct lex_token t;
	size_t used = 0;
	int r;

	start(&l, text, n);
	out[0] = '\0';
	while ((r = lex_next(&l.x, &t)) > 0) {
		int w = snprintf(out + used, size - used, "%s%s%s@%u", used ? " " : "", t.quoted ? "q:" : "",
				 t.value, t.column);

		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
		if (strlen(t.value) != t.len)
			return "length mismatch";
	}
	if (r < 0)
		snprintf(out, size, "%u:%u: %s", l.sink.line, l.sink.column, l.sink.message);
	return out;
}

#define CHECK_TOKENS(text, want)                                                                             \
	do {                                                                                                 \
		char _out[512];                                                                              \
		CHECK_EQ_STR(tokens(text, sizeof(text) - 1, _out, sizeof(_out)), want);                      \
	} while (0)

TEST(lexer_tokens)
{
	CHECK_TOKENS("", "");
	CHECK_TOKENS("   \t ", "");
	CHECK_TOKENS("# only a comment \x01 \"", "");
	CHECK_TOKENS("vendor Kaspersky", "vendor@1 Kaspersky@8");
	CHECK_TOKENS("  a\t\tb  ", "a@3 b@6");
	/* A comment ends a word or a string it touches; inside a string '#' is text. */
	CHECK_TOKENS("vendor X#note", "vendor@1 X@8");
	CHECK_TOKENS("\"a b\"#c", "q:a b@1");
	CHECK_TOKENS("\"a # b\" c", "q:a # b@1 c@9");
	/* The two escapes; a tab in a string; an empty string; a backslash in a word is a character. */
	CHECK_TOKENS("\"q\\\"uote\" \"back\\\\slash\"", "q:q\"uote@1 q:back\\slash@11");
	CHECK_TOKENS("\"a\tb\"", "q:a\tb@1");
	CHECK_TOKENS("x \"\" y", "x@1 q:@3 y@6");
	CHECK_TOKENS("a\\b \\", "a\\b@1 \\@5");
	/* Bytes from 0x80 up are text, valid UTF-8 or not; columns count bytes. */
	CHECK_TOKENS("\xc3\xa9t\xc3\xa9 \xff x", "\xc3\xa9t\xc3\xa9@1 \xff@7 x@9");
	CHECK_TOKENS("\"\xc0\xaf\" x", "q:\xc0\xaf@1 x@6");
	/* The line's end is the token's end, with no terminator in the text. */
	CHECK_TOKENS("key value", "key@1 value@5");
}

TEST(lexer_errors)
{
	CHECK_TOKENS("a \"bc", "3:3: unterminated string");
	CHECK_TOKENS("a \"bc\\", "3:3: unterminated string");
	CHECK_TOKENS("a \"bc\\\"", "3:3: unterminated string");
	CHECK_TOKENS("\"a\\tb\"", "3:3: invalid escape '\\t' (only \\\" and \\\\ are allowed)");
	CHECK_TOKENS("\"a\\\x01\"",
		     "3:3: invalid escape: backslash before byte 0x01 (only \\\" and \\\\ are allowed)");
	CHECK_TOKENS("\"a\\\xc3\xa9\"",
		     "3:3: invalid escape: backslash before byte 0xc3 (only \\\" and \\\\ are allowed)");
	CHECK_TOKENS("\"a\"b", "3:4: expected whitespace after string, found 'b'");
	CHECK_TOKENS("\"a\"\"b\"", "3:4: expected whitespace after string, found '\"'");
	CHECK_TOKENS("\"a\"\xe2\x80\x83", "3:4: expected whitespace after string, found byte 0xe2");
	CHECK_TOKENS("\"a\"\r", "3:4: expected whitespace after string, found byte 0x0d");
	CHECK_TOKENS("ab\"c\"", "3:3: unexpected '\"' inside a word");
	CHECK_TOKENS("ab\x1b[2J", "3:3: unexpected control character 0x1b");
	CHECK_TOKENS("a\rb", "3:2: unexpected control character 0x0d");
	CHECK_TOKENS("a \x7f", "3:3: unexpected control character 0x7f");
	CHECK_TOKENS("\"a\x1b\"", "3:3: unexpected control character 0x1b");
	CHECK_TOKENS("a b\0c", "3:4: unexpected control character 0x00");
	CHECK_TOKENS("\"a\0\"", "3:3: unexpected control character 0x00");
	/* A tab is a blank outside a string, text inside one: never an error. */
	CHECK_TOKENS("a\tb", "a@1 b@3");
}

TEST(lexer_fail_reports_through_the_parser)
{
	struct lexed l;
	struct lex_token t;

	start(&l, "a \"b", 4);
	CHECK_EQ_INT(lex_next(&l.x, &t), 1);
	CHECK_EQ_INT(lex_next(&l.x, &t), -EINVAL);
	CHECK_EQ_INT(l.sink.calls, 1);
	CHECK_EQ_INT(l.sink.r, -EINVAL);
	CHECK_EQ_STR(l.sink.file, "t.conf");
	CHECK_EQ_INT(l.sink.line, 3);
	CHECK_EQ_INT(l.sink.column, 3);

	/* A parser's own error at a token goes the same way. */
	start(&l, "x", 1);
	CHECK_EQ_INT(lex_fail(&l.x, 7, "%s is %d", "answer", 42), -EINVAL);
	CHECK_EQ_STR(l.sink.message, "answer is 42");
	CHECK_EQ_INT(l.sink.line, 3);
	CHECK_EQ_INT(l.sink.column, 7);
}

TEST(lexer_need_end_and_keywords)
{
	struct lexed l;
	struct lex_token t;

	/* A missing token is reported just after the last one. */
	start(&l, "mode  # c", 9);
	CHECK_EQ_INT(lex_need(&l.x, &t, "a keyword", "start"), 0);
	CHECK(lex_is_word(&t, "mode"));
	CHECK_EQ_INT(lex_need(&l.x, &t, "'audit' or 'enforce'", "mode"), -EINVAL);
	CHECK_EQ_STR(l.sink.message, "expected 'audit' or 'enforce' after 'mode'");
	CHECK_EQ_INT(l.sink.column, 5);
	/* At the end, the end stays the end. */
	CHECK_EQ_INT(lex_next(&l.x, &t), 0);
	CHECK_EQ_INT(lex_end(&l.x), 0);

	start(&l, "\"a\"", 3);
	CHECK_EQ_INT(lex_need(&l.x, &t, "x", "y"), 0);
	CHECK(!lex_is_word(&t, "a")); /* "vendor" is not the keyword vendor */
	CHECK_EQ_INT(lex_need(&l.x, &t, "a value", "\"a\""), -EINVAL);
	CHECK_EQ_INT(l.sink.column, 4);

	start(&l, "a b \"c d\"", 9);
	CHECK_EQ_INT(lex_next(&l.x, &t), 1);
	CHECK_EQ_INT(lex_end(&l.x), -EINVAL);
	CHECK_EQ_STR(l.sink.message, "expected end of line, found 'b'");
	CHECK_EQ_INT(l.sink.column, 3);
	CHECK_EQ_INT(lex_end(&l.x), -EINVAL);
	CHECK_EQ_STR(l.sink.message, "expected end of line, found \"c d\"");
	CHECK_EQ_INT(l.sink.column, 5);
}

TEST(lexer_describe)
{
	char word[100], want[64], buf[64];
	struct lex_token t = { .value = word, .len = 48 };

	/* 48 bytes are shown whole; more are cut there, with "..." to say so. */
	memset(word, 'a', 60);
	word[48] = '\0';
	snprintf(want, sizeof(want), "'%s'", word);
	CHECK_EQ_STR(lex_describe(&t, buf, sizeof(buf)), want);
	word[48] = 'a';
	word[60] = '\0';
	t.len = 60;
	t.quoted = true;
	snprintf(want, sizeof(want), "\"%.48s...\"", word);
	CHECK_EQ_STR(lex_describe(&t, buf, sizeof(buf)), want);
}

/* lex_line_trim() on text[0..n) as line lineno: "offset+length" of what is left. */
static const char *trimmed(const char *text, size_t n, uint32_t lineno, char *out, size_t size)
{
	char buf[16];
	char *s = buf;

	memcpy(buf, text, n);
	lex_line_trim(&s, &n, lineno);
	snprintf(out, size, "%td+%zu", s - buf, n);
	return out;
}

TEST(lexer_line_trim)
{
	char out[32];

	CHECK_EQ_STR(trimmed("\xef\xbb\xbf"
			     "ab\r",
			     6, 1, out, sizeof(out)),
		     "3+2");
	/* The mark opens a file, not a line; a CR is dropped once, the one before the LF. */
	CHECK_EQ_STR(trimmed("\xef\xbb\xbf"
			     "ab\r",
			     6, 2, out, sizeof(out)),
		     "0+5");
	CHECK_EQ_STR(trimmed("a\r\r", 3, 1, out, sizeof(out)), "0+2");
	CHECK_EQ_STR(trimmed("ab", 2, 1, out, sizeof(out)), "0+2");
	CHECK_EQ_STR(trimmed("", 0, 1, out, sizeof(out)), "0+0");
	CHECK_EQ_STR(trimmed("\xef\xbb\xbf", 3, 1, out, sizeof(out)), "3+0");
	CHECK_EQ_STR(trimmed("\xef\xbb\xbf\r", 4, 1, out, sizeof(out)), "3+0");
}

/* lex_write_string() then lex_next(): the same string, bare when it can be. */
static void round_trip(const char *s, const char *written)
{
	_cleanup_free_ char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	struct lexed l;
	struct lex_token t;

	REQUIRE(f != NULL);
	CHECK_EQ_INT(lex_write_string(f, s), 0);
	REQUIRE(fclose(f) == 0);
	CHECK_EQ_STR(out, written);
	start(&l, out, size);
	REQUIRE(lex_next(&l.x, &t) == 1);
	CHECK_EQ_STR(t.value, s);
	CHECK_EQ_INT(lex_next(&l.x, &t), 0);
}

TEST(lexer_write_string)
{
	FILE *f = fopen("/dev/null", "we");

	round_trip("/usr/bin", "/usr/bin");
	round_trip("a\\b", "a\\b");
	round_trip("", "\"\"");
	round_trip("a b", "\"a b\"");
	round_trip("a\tb", "\"a\tb\"");
	round_trip("a#b", "\"a#b\"");
	round_trip("say \"hi\\\"", "\"say \\\"hi\\\\\\\"\"");
	round_trip("\xc3\xa9", "\xc3\xa9");
	REQUIRE(f != NULL);
	CHECK_EQ_INT(lex_write_string(f, "a\nb"), -EINVAL);
	CHECK_EQ_INT(lex_write_string(f, "\x7f"), -EINVAL);
	fclose(f);
}

TEST(lexer_error_format)
{
	char buf[128];

	CHECK_EQ_STR(lex_error_format("a.policy", 2, 10, "unterminated string", buf, sizeof(buf)),
		     "a.policy:2:10: unterminated string");
	CHECK_EQ_STR(lex_error_format("a.policy", 2, 0, "line is longer than 65536 bytes", buf, sizeof(buf)),
		     "a.policy:2: line is longer than 65536 bytes");
	CHECK_EQ_STR(lex_error_format("/etc/embargo/embargo.conf", 0, 0, "out of memory", buf, sizeof(buf)),
		     "/etc/embargo/embargo.conf: out of memory");
	CHECK_EQ_STR(lex_error_format("a", 1, 1, "long message", buf, 8), "a:1:1: ");
	buf[0] = 'x';
	CHECK(lex_error_format("a", 1, 1, "m", buf, 0) == buf && buf[0] == 'x');
}
