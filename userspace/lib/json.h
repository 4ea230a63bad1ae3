/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny JSON writer and reader, enough for the control protocol (embargod's status and lookup replies,
 * embargoctl's output). No external dependency.
 *
 * Writer: appends to a growable buffer and places the commas itself. Errors are sticky: after the first
 * one (-ENOMEM, or -EINVAL for a misuse such as a key outside an object) every call is a no-op returning
 * it, so a caller may write a whole document and check only json_writer_finish().
 *
 *     struct json_writer w = JSON_WRITER_INIT;
 *     json_begin_object(&w);
 *     json_key_string(&w, "mode", "enforce");
 *     json_key_array(&w, "vendors");
 *     json_string(&w, "Kaspersky");
 *     json_end_array(&w);
 *     json_end_object(&w);
 *     r = json_writer_finish(&w, &text, NULL);   // {"mode":"enforce","vendors":["Kaspersky"]}
 *
 * Strings are byte strings. Output is always valid JSON (RFC 8259) in UTF-8: '"', '\\', control characters
 * and DEL are escaped; well-formed UTF-8 is copied as is (a Cyrillic vendor name stays readable); every byte
 * that is not part of well-formed UTF-8 (a Latin-1 file name, a truncated sequence, an encoded surrogate,
 * an overlong form) is written as \u00XX, XX being the byte.
 *
 * Reader: parses a whole document into a tree (objects, arrays, strings with every escape, numbers,
 * true/false/null), bounds-checked, nesting limited to JSON_MAX_DEPTH, input rejected unless it is
 * entirely one valid JSON value in UTF-8.
 */
#ifndef EMBARGO_JSON_H
#define EMBARGO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

/* ---- writer ---- */

struct json_writer {
	char *buf; /* NUL-terminated text so far */
	size_t len;
	size_t cap;
	int error;	/* first error, sticky */
	unsigned depth; /* open containers */
	uint64_t array; /* bit d: the container at depth d+1 is an array */
	uint64_t items; /* bit d: the container at depth d+1 holds a value already */
	bool after_key; /* a key was written, its value is due */
	bool done;	/* the top-level value is complete */
};

#define JSON_WRITER_INIT                                                                                     \
	{                                                                                                    \
		.buf = NULL                                                                                  \
	}

void json_writer_init(struct json_writer *w);
/* Frees the buffer and resets; usable as _cleanup_(json_writer_free). */
void json_writer_free(struct json_writer *w);
/*
 * Ends the document: 0 with *ret the malloc'ed NUL-terminated text (and *len its length, if len is not
 * NULL), or the sticky error, or -EINVAL when the document is incomplete. Resets the writer either way.
 */
int json_writer_finish(struct json_writer *w, char **ret, size_t *len);
/* The text so far (NUL-terminated, "" when nothing was written), still owned by the writer. */
const char *json_writer_text(const struct json_writer *w);

int json_begin_object(struct json_writer *w);
int json_end_object(struct json_writer *w);
int json_begin_array(struct json_writer *w);
int json_end_array(struct json_writer *w);

/* A key inside an object; the next call writes its value. */
int json_key(struct json_writer *w, const char *key);

/* Values: in an array, after json_key(), or as the whole document. A NULL string writes null. */
int json_string(struct json_writer *w, const char *s);
int json_stringn(struct json_writer *w, const char *s, size_t n);
int json_u64(struct json_writer *w, uint64_t v);
int json_i64(struct json_writer *w, int64_t v);
int json_bool(struct json_writer *w, bool v);
int json_null(struct json_writer *w);

/* json_key() and a value in one call. */
int json_key_string(struct json_writer *w, const char *key, const char *s);
int json_key_u64(struct json_writer *w, const char *key, uint64_t v);
int json_key_i64(struct json_writer *w, const char *key, int64_t v);
int json_key_bool(struct json_writer *w, const char *key, bool v);
int json_key_null(struct json_writer *w, const char *key);
/* json_key() and json_begin_object()/json_begin_array(): close with json_end_object()/json_end_array(). */
int json_key_object(struct json_writer *w, const char *key);
int json_key_array(struct json_writer *w, const char *key);

/*
 * The length of the well-formed UTF-8 sequence at s (1 to 4, at most n), or 0 when the bytes there are not
 * one (n == 0, a stray continuation byte, a truncated, overlong or surrogate sequence, above U+10FFFF).
 */
size_t json_utf8_len(const char *s, size_t n);

/* ---- reader ---- */

enum json_type {
	JSON_NULL = 0,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

struct json_value {
	enum json_type type;
	bool boolean; /* JSON_BOOL */
	/*
	 * JSON_STRING: the decoded string, NUL-terminated; len excludes the terminator (a "\u0000" inside
	 * makes len the only way to see the whole string). JSON_NUMBER: the number's text as written.
	 */
	char *string;
	size_t len;
	/* JSON_OBJECT and JSON_ARRAY: n members in document order; key is NULL in an array. */
	struct json_member *members;
	size_t n;
};

struct json_member {
	char *key; /* decoded, NUL-terminated */
	struct json_value value;
};

/* Parses exactly len bytes of text (no terminator needed): 0 and *ret, or -EINVAL / -ENOMEM. */
int json_parse(const char *text, size_t len, struct json_value **ret);
void json_value_free(struct json_value *v);

static inline void json_value_freep(struct json_value **v)
{
	json_value_free(*v);
}

/* The value of key in an object (the first, if repeated); NULL when v is not an object or has no key. */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* The string at key, or NULL when missing or not a string. */
const char *json_get_string(const struct json_value *obj, const char *key);
/* A non-negative integer number: -EINVAL when v is missing, not a number or not an integer, -ERANGE. */
int json_value_u64(const struct json_value *v, uint64_t *ret);
/* An integer number that fits int64_t: -EINVAL otherwise (missing, not a number, fraction, out of range). */
int json_value_i64(const struct json_value *v, int64_t *ret);
/* json_value_u64() of json_get(): -ENOENT when the key is missing. */
int json_get_u64(const struct json_value *obj, const char *key, uint64_t *ret);
/* -ENOENT when missing, -EINVAL when not true or false. */
int json_get_bool(const struct json_value *obj, const char *key, bool *ret);
/* A malloc'ed copy of the string at key; *ret NULL when missing or null; -EINVAL when not a string. */
int json_get_strdup(const struct json_value *obj, const char *key, char **ret);

#endif
