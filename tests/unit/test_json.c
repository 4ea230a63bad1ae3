// SPDX-License-Identifier: GPL-2.0
#include "test.h"

#include "json.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>

/* The document w holds, or NULL; the writer is reset. */
static char *finish(struct json_writer *w)
{
	char *text = NULL;

	if (json_writer_finish(w, &text, NULL) < 0)
		return NULL;
	return text;
}

/* s written as a JSON string. */
static char *escaped(const char *s, size_t n)
{
	struct json_writer w = JSON_WRITER_INIT;

	json_stringn(&w, s, n);
	return finish(&w);
}

static bool parses(const char *text)
{
	_cleanup_(json_value_freep) struct json_value *v = NULL;

	return json_parse(text, strlen(text), &v) == 0;
}

TEST(json_writer_nesting_and_commas)
{
	struct json_writer w = JSON_WRITER_INIT;
	_cleanup_free_ char *text = NULL;

	json_begin_object(&w);
	json_key_u64(&w, "version", 1);
	json_key_string(&w, "mode", "enforce");
	json_key_bool(&w, "first_exec_window", false);
	json_key_null(&w, "label");
	json_key_i64(&w, "delta", -5);
	json_key_object(&w, "policy");
	json_key_u64(&w, "max", UINT64_MAX);
	json_end_object(&w);
	json_key_array(&w, "vendors");
	json_begin_object(&w);
	json_key_string(&w, "name", "Kaspersky");
	json_key_array(&w, "entities");
	json_string(&w, "AO Kaspersky Lab");
	json_string(&w, NULL);
	json_end_array(&w);
	json_end_object(&w);
	json_begin_array(&w);
	json_end_array(&w);
	json_u64(&w, 0);
	json_bool(&w, true);
	json_null(&w);
	json_end_array(&w);
	json_key_object(&w, "empty");
	json_end_object(&w);
	json_end_object(&w);
	text = finish(&w);
	CHECK_EQ_STR(text,
		     "{\"version\":1,\"mode\":\"enforce\",\"first_exec_window\":false,\"label\":null,"
		     "\"delta\":-5,\"policy\":{\"max\":18446744073709551615},\"vendors\":[{\"name\":"
		     "\"Kaspersky\",\"entities\":[\"AO Kaspersky Lab\",null]},[],0,true,null],\"empty\":{}}");
	REQUIRE(text);
	CHECK(parses(text));
}

TEST(json_writer_escapes)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "", 0, "\"\"" },
		{ "q\"b\\s/", 6, "\"q\\\"b\\\\s/\"" },
		{ "\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"" },
		{ "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
		{ "a\0b", 3, "\"a\\u0000b\"" },
		/* Well-formed UTF-8 stays as is. */
		{ "\xd0\x9b\xd0\xb0\xd0\xb1", 6, "\"\xd0\x9b\xd0\xb0\xd0\xb1\"" },
		{ "\xe2\x80\x94 \xf0\x9f\x98\x80", 8, "\"\xe2\x80\x94 \xf0\x9f\x98\x80\"" },
		/* Anything else byte by byte. */
		{ "caf\xe9", 4, "\"caf\\u00e9\"" },
		{ "\xff\xfe", 2, "\"\\u00ff\\u00fe\"" },
		{ "\x80", 1, "\"\\u0080\"" },
		{ "\xc0\xaf", 2, "\"\\u00c0\\u00af\"" },		       /* overlong '/' */
		{ "\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\"" },	       /* encoded surrogate */
		{ "\xf4\x90\x80\x80", 4, "\"\\u00f4\\u0090\\u0080\\u0080\"" }, /* above U+10FFFF */
		{ "\xe2\x80", 2, "\"\\u00e2\\u0080\"" },		       /* truncated */
		{ "\xe2\x80x", 3, "\"\\u00e2\\u0080x\"" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *text = escaped(cases[i].in, cases[i].n);

		CHECK_EQ_STR(text, cases[i].out);
	}
}

TEST(json_writer_every_byte_is_valid_json)
{
	_cleanup_(json_value_freep) struct json_value *v = NULL;
	_cleanup_free_ char *text = NULL;
	char all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (char)(255 - i);
	text = escaped(all, sizeof(all));
	REQUIRE(text);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	REQUIRE(json_parse(text, strlen(text), &v) == 0);
	CHECK_EQ_INT(v->type, JSON_STRING);
}

TEST(json_writer_misuse)
{
	struct json_writer w = JSON_WRITER_INIT;
	char *text = NULL;

	/* A value in an object without its key. */
	json_begin_object(&w);
	CHECK_EQ_INT(json_u64(&w, 1), -EINVAL);
	CHECK_EQ_INT(json_key_string(&w, "a", "b"), -EINVAL); /* sticky */
	CHECK_EQ_INT(json_writer_finish(&w, &text, NULL), -EINVAL);
	CHECK(!text);

	/* A key in an array; mismatched close; close with a key pending. */
	json_begin_array(&w);
	CHECK_EQ_INT(json_key(&w, "a"), -EINVAL);
	json_writer_free(&w);
	json_begin_array(&w);
	CHECK_EQ_INT(json_end_object(&w), -EINVAL);
	json_writer_free(&w);
	json_begin_object(&w);
	json_key(&w, "a");
	CHECK_EQ_INT(json_end_object(&w), -EINVAL);
	json_writer_free(&w);

	/* Incomplete, and two top-level values. */
	json_begin_object(&w);
	CHECK_EQ_INT(json_writer_finish(&w, &text, NULL), -EINVAL);
	CHECK_EQ_INT(json_writer_finish(&w, &text, NULL), -EINVAL); /* nothing written */
	json_u64(&w, 1);
	CHECK_EQ_INT(json_u64(&w, 2), -EINVAL);
	json_writer_free(&w);

	/* Too deep. */
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		CHECK_EQ_INT(json_begin_array(&w), 0);
	CHECK_EQ_INT(json_begin_array(&w), -EINVAL);
	json_writer_free(&w);

	/* A scalar document. */
	json_string(&w, "x");
	CHECK_EQ_STR(json_writer_text(&w), "\"x\"");
	text = finish(&w);
	CHECK_EQ_STR(text, "\"x\"");
	free(text);
	CHECK_EQ_STR(json_writer_text(&w), "");
}

TEST(json_parse_status_shape)
{
	static const char doc[] =
		"{\"version\":1,\"pid\":123,\"mode\":\"enforce\",\"tier\":\"lsm-hash\",\"tier_reason\":\"bpf_"
		"ima\","
		"\"first_exec_window\":false,\"policy\":{\"path\":\"/etc/"
		"embargo\",\"generation\":1,\"vendors\":1,"
		"\"rules\":10,\"duplicates\":0,\"loaded_at\":\"2026-11-22T15:00:00Z\"},\"vendors\":[{"
		"\"name\":"
		"\"Kaspersky\",\"mode\":\"inherit\",\"effective_mode\":\"enforce\",\"digests\":10,"
		"\"entities\":["
		"\"AO Kaspersky "
		"Lab\"]}],\"counters\":{\"decisions\":18446744073709551615},\"probe\":[{\"check\":"
		"\"btf\",\"ok\":true,\"detail\":\"\"}]}";
	_cleanup_(json_value_freep) struct json_value *v = NULL;
	const struct json_value *vendors, *probe;
	uint64_t u = 0;
	bool b = true;

	REQUIRE(json_parse(doc, strlen(doc), &v) == 0);
	CHECK_EQ_INT(v->type, JSON_OBJECT);
	CHECK_EQ_INT(json_get_u64(v, "pid", &u), 0);
	CHECK_EQ_INT(u, 123);
	CHECK_EQ_STR(json_get_string(v, "mode"), "enforce");
	CHECK_EQ_INT(json_get_bool(v, "first_exec_window", &b), 0);
	CHECK(!b);
	CHECK_EQ_STR(json_get_string(json_get(v, "policy"), "loaded_at"), "2026-11-22T15:00:00Z");
	CHECK_EQ_INT(json_get_u64(json_get(v, "counters"), "decisions", &u), 0);
	CHECK(u == UINT64_MAX);
	vendors = json_get(v, "vendors");
	REQUIRE(vendors && vendors->type == JSON_ARRAY && vendors->n == 1);
	CHECK(vendors->members[0].key == NULL);
	CHECK_EQ_STR(json_get_string(&vendors->members[0].value, "name"), "Kaspersky");
	probe = json_get(v, "probe");
	REQUIRE(probe && probe->n == 1);
	CHECK_EQ_INT(json_get_bool(&probe->members[0].value, "ok", &b), 0);
	CHECK(b);

	/* Missing and mistyped. */
	CHECK(json_get(v, "nope") == NULL);
	CHECK(json_get_string(v, "pid") == NULL);
	CHECK_EQ_INT(json_get_u64(v, "nope", &u), -ENOENT);
	CHECK_EQ_INT(json_get_u64(v, "mode", &u), -EINVAL);
	CHECK_EQ_INT(json_get_bool(v, "pid", &b), -EINVAL);
	CHECK(json_get(vendors, "name") == NULL);
	CHECK(json_get(NULL, "name") == NULL);
}

TEST(json_parse_strings_and_numbers)
{
	static const char doc[] =
		" [ \"a\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\\ud83d\\ude00\", \"x\\u0000y\","
		" \"\xd0\x9b\", -0, 0.5, 1e3, -12.5E-2, 18446744073709551616, true, false, null ] ";
	_cleanup_(json_value_freep) struct json_value *v = NULL;
	const struct json_member *m;
	uint64_t u;

	REQUIRE(json_parse(doc, strlen(doc), &v) == 0);
	REQUIRE(v->type == JSON_ARRAY && v->n == 12);
	m = v->members;
	CHECK_EQ_STR(m[0].value.string, "a\"\\/\b\f\n\r\t");
	CHECK_EQ_STR(m[1].value.string, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	CHECK_EQ_INT(m[2].value.len, 3);
	CHECK(memcmp(m[2].value.string, "x\0y", 4) == 0);
	CHECK_EQ_STR(m[3].value.string, "\xd0\x9b");
	CHECK_EQ_STR(m[4].value.string, "-0");
	CHECK_EQ_INT(m[4].value.type, JSON_NUMBER);
	CHECK_EQ_STR(m[7].value.string, "-12.5E-2");
	CHECK_EQ_INT(json_value_u64(&m[5].value, &u), -EINVAL);
	CHECK_EQ_INT(json_value_u64(&m[6].value, &u), -EINVAL);
	CHECK_EQ_INT(json_value_u64(&m[8].value, &u), -ERANGE);
	CHECK(m[9].value.type == JSON_BOOL && m[9].value.boolean);
	CHECK(m[10].value.type == JSON_BOOL && !m[10].value.boolean);
	CHECK_EQ_INT(m[11].value.type, JSON_NULL);
}

TEST(json_parse_rejects)
{
	static const char *bad[] = {
		"",
		" ",
		"{",
		"}",
		"[1,]",
		"[,1]",
		"{\"a\":1,}",
		"{\"a\" 1}",
		"{1:2}",
		"{\"a\":1 \"b\":2}",
		"[1 2]",
		"01",
		"1.",
		".5",
		"1e",
		"+1",
		"-",
		"0x10",
		"tru",
		"truex",
		"nul",
		"True",
		"\"abc",
		"\"abc\\\"",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\u12g4\"",
		"\"\\ud800\"",
		"\"\\ud800\\u0041\"",
		"\"\\udc00\"",
		"\"tab\there\"",
		"\"nl\nhere\"",
		"\"\xff\"",
		"\"\xc0\xaf\"",
		"\"\xed\xa0\x80\"",
		"[] []",
		"{} x",
		"NaN",
		"Infinity",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parses(bad[i]))
			test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
	}
}

TEST(json_parse_every_prefix_is_rejected)
{
	static const char doc[] =
		"{\"a\":[1,-2.5e3,{\"b\":\"c\\u00e9\\ud83d\\ude00\"}],\"t\":true,\"n\":null}";

	REQUIRE(parses(doc));
	/* Every proper prefix, parsed from an exactly-sized copy so that reading past it would be caught. */
	for (size_t n = 0; n < strlen(doc); n++) {
		_cleanup_(json_value_freep) struct json_value *v = NULL;
		_cleanup_free_ char *copy = malloc(n ? n : 1);

		REQUIRE(copy);
		memcpy(copy, doc, n);
		if (json_parse(copy, n, &v) == 0)
			test_fail(__FILE__, __LINE__, "accepted the first %zu bytes", n);
	}
}

TEST(json_parse_depth_limit)
{
	char deep[2 * (JSON_MAX_DEPTH + 1) + 1];
	_cleanup_(json_value_freep) struct json_value *v = NULL;

	for (int i = 0; i < JSON_MAX_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * JSON_MAX_DEPTH - 1 - i] = ']';
	}
	CHECK_EQ_INT(json_parse(deep, 2 * JSON_MAX_DEPTH, &v), 0);
	json_value_free(TAKE_PTR(v));
	for (int i = 0; i <= JSON_MAX_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * JSON_MAX_DEPTH + 1 - i] = ']';
	}
	CHECK_EQ_INT(json_parse(deep, 2 * (JSON_MAX_DEPTH + 1), &v), -EINVAL);
	CHECK(v == NULL);
}

TEST(json_round_trip)
{
	static const char key[] = "k\x01\"\xd0\x9b";
	char bytes[] = "ctl\x1b[31m \xe9t\xc3\xa9 \xed\xa0\x80";
	_cleanup_(json_value_freep) struct json_value *v = NULL;
	struct json_writer w = JSON_WRITER_INIT;
	_cleanup_free_ char *text = NULL;

	json_begin_object(&w);
	json_key_string(&w, key, bytes);
	json_end_object(&w);
	text = finish(&w);
	REQUIRE(text);
	REQUIRE(json_parse(text, strlen(text), &v) == 0);
	REQUIRE(v->n == 1);
	CHECK_EQ_STR(v->members[0].key, key);
	/* Well-formed UTF-8 comes back as it was; other bytes as the code points U+0080..U+00FF. */
	CHECK_EQ_STR(v->members[0].value.string, "ctl\x1b[31m \xc3\xa9t\xc3\xa9 \xc3\xad\xc2\xa0\xc2\x80");
}

TEST(json_utf8_len)
{
	CHECK_EQ_INT(json_utf8_len("a", 1), 1);
	CHECK_EQ_INT(json_utf8_len("a", 0), 0);
	CHECK_EQ_INT(json_utf8_len("\xc2\x80", 2), 2);
	CHECK_EQ_INT(json_utf8_len("\xc2\x80", 1), 0);
	CHECK_EQ_INT(json_utf8_len("\xc1\xbf", 2), 0);
	CHECK_EQ_INT(json_utf8_len("\xe0\x9f\xbf", 3), 0);
	CHECK_EQ_INT(json_utf8_len("\xe0\xa0\x80", 3), 3);
	CHECK_EQ_INT(json_utf8_len("\xed\x9f\xbf", 3), 3);
	CHECK_EQ_INT(json_utf8_len("\xed\xa0\x80", 3), 0);
	CHECK_EQ_INT(json_utf8_len("\xef\xbf\xbf", 3), 3);
	CHECK_EQ_INT(json_utf8_len("\xf0\x8f\xbf\xbf", 4), 0);
	CHECK_EQ_INT(json_utf8_len("\xf0\x90\x80\x80", 4), 4);
	CHECK_EQ_INT(json_utf8_len("\xf4\x8f\xbf\xbf", 4), 4);
	CHECK_EQ_INT(json_utf8_len("\xf4\x90\x80\x80", 4), 0);
	CHECK_EQ_INT(json_utf8_len("\xf5\x80\x80\x80", 4), 0);
	CHECK_EQ_INT(json_utf8_len("\xe2\x28\xa1", 3), 0);
}
