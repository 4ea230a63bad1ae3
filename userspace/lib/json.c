// SPDX-License-Identifier: GPL-2.0
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <string.h>

/* ---- UTF-8 ---- */

size_t json_utf8_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return 0; /* continuation byte, overlong lead (c0, c1) or beyond U+10FFFF (f5..ff) */
	/* The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/* ---- writer ---- */

void json_writer_init(struct json_writer *w)
{
	*w = (struct json_writer)JSON_WRITER_INIT;
}

void json_writer_free(struct json_writer *w)
{
	free(w->buf);
	json_writer_init(w);
}

static int writer_fail(struct json_writer *w, int err)
{
	if (!w->error)
		w->error = err;
	return w->error;
}

static int put(struct json_writer *w, const char *s, size_t n)
{
	if (w->error)
		return w->error;
	if (n > SIZE_MAX / 2 - w->len)
		return writer_fail(w, -ENOMEM);
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		char *p;

		while (cap < w->len + n + 1)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p)
			return writer_fail(w, -ENOMEM);
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
	return 0;
}

static uint64_t level_bit(const struct json_writer *w)
{
	return UINT64_C(1) << (w->depth - 1);
}

static bool in_object(const struct json_writer *w)
{
	return w->depth > 0 && !(w->array & level_bit(w));
}

/* Before a value: is one allowed here, and the comma that separates it from the previous one. */
static int value_begin(struct json_writer *w)
{
	if (w->error)
		return w->error;
	if (w->depth == 0)
		return w->done ? writer_fail(w, -EINVAL) : 0;
	if (in_object(w)) {
		if (!w->after_key)
			return writer_fail(w, -EINVAL);
		w->after_key = false;
		return 0;
	}
	return (w->items & level_bit(w)) ? put(w, ",", 1) : 0;
}

static int value_end(struct json_writer *w)
{
	if (w->error)
		return w->error;
	if (w->depth == 0)
		w->done = true;
	else
		w->items |= level_bit(w);
	return 0;
}

static int put_escaped(struct json_writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0, i = 0;

	put(w, "\"", 1);
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 0 };
		size_t esc_len = 2, len;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (len = json_utf8_len(s + i, n - i)) > 0) {
			i += len;
			continue;
		}
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			/* Other control characters, DEL, and bytes outside well-formed UTF-8. */
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			esc_len = 6;
			break;
		}
		put(w, s + start, i - start);
		put(w, esc, esc_len);
		start = ++i;
	}
	put(w, s + start, i - start);
	return put(w, "\"", 1);
}

static int open_container(struct json_writer *w, bool array)
{
	if (value_begin(w) < 0)
		return w->error;
	if (w->depth >= JSON_MAX_DEPTH)
		return writer_fail(w, -EINVAL);
	if (put(w, array ? "[" : "{", 1) < 0)
		return w->error;
	w->depth++;
	if (array)
		w->array |= level_bit(w);
	else
		w->array &= ~level_bit(w);
	w->items &= ~level_bit(w);
	return 0;
}

static int close_container(struct json_writer *w, bool array)
{
	if (w->error)
		return w->error;
	if (w->depth == 0 || !(w->array & level_bit(w)) != !array || w->after_key)
		return writer_fail(w, -EINVAL);
	if (put(w, array ? "]" : "}", 1) < 0)
		return w->error;
	w->depth--;
	return value_end(w);
}

int json_begin_object(struct json_writer *w)
{
	return open_container(w, false);
}

int json_end_object(struct json_writer *w)
{
	return close_container(w, false);
}

int json_begin_array(struct json_writer *w)
{
	return open_container(w, true);
}

int json_end_array(struct json_writer *w)
{
	return close_container(w, true);
}

int json_key(struct json_writer *w, const char *key)
{
	if (w->error)
		return w->error;
	if (!key || !in_object(w) || w->after_key)
		return writer_fail(w, -EINVAL);
	if (w->items & level_bit(w))
		put(w, ",", 1);
	put_escaped(w, key, strlen(key));
	if (put(w, ":", 1) < 0)
		return w->error;
	w->after_key = true;
	return 0;
}

/* A scalar value already in JSON form. */
static int put_value(struct json_writer *w, const char *text, size_t n)
{
	if (value_begin(w) < 0 || put(w, text, n) < 0)
		return w->error;
	return value_end(w);
}

int json_stringn(struct json_writer *w, const char *s, size_t n)
{
	if (!s)
		return json_null(w);
	if (value_begin(w) < 0 || put_escaped(w, s, n) < 0)
		return w->error;
	return value_end(w);
}

int json_string(struct json_writer *w, const char *s)
{
	return json_stringn(w, s, s ? strlen(s) : 0);
}

int json_u64(struct json_writer *w, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	return put_value(w, buf, (size_t)n);
}

int json_i64(struct json_writer *w, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	return put_value(w, buf, (size_t)n);
}

int json_bool(struct json_writer *w, bool v)
{
	return v ? put_value(w, "true", 4) : put_value(w, "false", 5);
}

int json_null(struct json_writer *w)
{
	return put_value(w, "null", 4);
}

int json_key_string(struct json_writer *w, const char *key, const char *s)
{
	return json_key(w, key) ?: json_string(w, s);
}

int json_key_u64(struct json_writer *w, const char *key, uint64_t v)
{
	return json_key(w, key) ?: json_u64(w, v);
}

int json_key_i64(struct json_writer *w, const char *key, int64_t v)
{
	return json_key(w, key) ?: json_i64(w, v);
}

int json_key_bool(struct json_writer *w, const char *key, bool v)
{
	return json_key(w, key) ?: json_bool(w, v);
}

int json_key_null(struct json_writer *w, const char *key)
{
	return json_key(w, key) ?: json_null(w);
}

int json_key_object(struct json_writer *w, const char *key)
{
	return json_key(w, key) ?: json_begin_object(w);
}

int json_key_array(struct json_writer *w, const char *key)
{
	return json_key(w, key) ?: json_begin_array(w);
}

const char *json_writer_text(const struct json_writer *w)
{
	return w->buf ? w->buf : "";
}

int json_writer_finish(struct json_writer *w, char **ret, size_t *len)
{
	int r = w->error;

	if (r == 0 && (!w->done || w->depth != 0))
		r = -EINVAL;
	if (r == 0) {
		*ret = TAKE_PTR(w->buf);
		if (len)
			*len = w->len;
	}
	json_writer_free(w);
	return r;
}

/* ---- reader ---- */

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	unsigned depth;
};

static void skip_space(struct parser *p)
{
	while (p->pos < p->len &&
	       (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static bool next_is(struct parser *p, char c)
{
	skip_space(p);
	if (p->pos < p->len && p->s[p->pos] == c) {
		p->pos++;
		return true;
	}
	return false;
}

static int hex4(const char *s, uint32_t *ret)
{
	uint8_t b[2];

	if (hex_decode(s, 4, b, 2) < 0)
		return -EINVAL;
	*ret = (uint32_t)b[0] << 8 | b[1];
	return 0;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \u escape (and its low surrogate) at p->s + *i, pointing past "\u"; appends the code point to out. */
static int decode_u_escape(const char *s, size_t end, size_t *i, char *out, size_t *o)
{
	uint32_t cp, lo;

	if (end - *i < 4 || hex4(s + *i, &cp) < 0)
		return -EINVAL;
	*i += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -EINVAL; /* a low surrogate alone */
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (end - *i < 6 || s[*i] != '\\' || s[*i + 1] != 'u' || hex4(s + *i + 2, &lo) < 0 ||
		    lo < 0xdc00 || lo > 0xdfff)
			return -EINVAL; /* a high surrogate without its low one */
		*i += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	*o += utf8_encode(cp, out + *o);
	return 0;
}

/* A string at p->pos (the opening quote): decoded into a malloc'ed *ret of *ret_len bytes. */
static int parse_string(struct parser *p, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *out = NULL;
	size_t start, end, i, o = 0;

	if (p->pos >= p->len || p->s[p->pos] != '"')
		return -EINVAL;
	/* Find the closing quote first: the decoded string is never longer than the text. */
	start = p->pos + 1;
	for (end = start; end < p->len && p->s[end] != '"'; end++)
		if (p->s[end] == '\\')
			end++;
	if (end >= p->len)
		return -EINVAL;
	out = malloc(end - start + 1);
	if (!out)
		return -ENOMEM;
	for (i = start; i < end;) {
		unsigned char c = (unsigned char)p->s[i];
		size_t n;

		if (c < 0x20)
			return -EINVAL;
		if (c >= 0x80) {
			n = json_utf8_len(p->s + i, end - i);
			if (n == 0)
				return -EINVAL;
			memcpy(out + o, p->s + i, n);
			i += n;
			o += n;
			continue;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		/* The scan above guarantees a character after the backslash, before end. */
		c = (unsigned char)p->s[i + 1];
		i += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			out[o++] = (char)c;
			break;
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u':
			if (decode_u_escape(p->s, end, &i, out, &o) < 0)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	out[o] = '\0';
	p->pos = end + 1;
	*ret = TAKE_PTR(out);
	if (ret_len)
		*ret_len = o;
	return 0;
}

static bool is_digit(const struct parser *p, size_t i)
{
	return i < p->len && p->s[i] >= '0' && p->s[i] <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, kept as text. */
static int parse_number(struct parser *p, struct json_value *v)
{
	size_t i = p->pos;

	if (i < p->len && p->s[i] == '-')
		i++;
	if (!is_digit(p, i))
		return -EINVAL;
	if (p->s[i] == '0')
		i++;
	else
		while (is_digit(p, i))
			i++;
	if (i < p->len && p->s[i] == '.') {
		if (!is_digit(p, ++i))
			return -EINVAL;
		while (is_digit(p, i))
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (!is_digit(p, i))
			return -EINVAL;
		while (is_digit(p, i))
			i++;
	}
	v->string = strndup(p->s + p->pos, i - p->pos);
	if (!v->string)
		return -ENOMEM;
	v->len = i - p->pos;
	v->type = JSON_NUMBER;
	p->pos = i;
	return 0;
}

static int parse_literal(struct parser *p, const char *lit)
{
	size_t n = strlen(lit);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0)
		return -EINVAL;
	p->pos += n;
	return 0;
}

/* A new zeroed member at the end of v; v stays consistent for json_value_free() on every path. */
static struct json_member *add_member(struct json_value *v, size_t *cap)
{
	if (v->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct json_member *m = reallocarray(v->members, ncap, sizeof(*m));

		if (!m)
			return NULL;
		v->members = m;
		*cap = ncap;
	}
	memset(&v->members[v->n], 0, sizeof(v->members[0]));
	return &v->members[v->n++];
}

static int parse_value(struct parser *p, struct json_value *v);

/* An object or an array at p->pos (its opening bracket). */
static int parse_container(struct parser *p, struct json_value *v, bool object)
{
	char close = object ? '}' : ']';
	size_t cap = 0;
	int r;

	if (++p->depth > JSON_MAX_DEPTH)
		return -EINVAL;
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	p->pos++;
	if (next_is(p, close)) {
		p->depth--;
		return 0;
	}
	do {
		struct json_member *m = add_member(v, &cap);

		if (!m)
			return -ENOMEM;
		if (object) {
			skip_space(p);
			r = parse_string(p, &m->key, NULL);
			if (r < 0)
				return r;
			if (!next_is(p, ':'))
				return -EINVAL;
		}
		r = parse_value(p, &m->value);
		if (r < 0)
			return r;
	} while (next_is(p, ','));
	if (!next_is(p, close))
		return -EINVAL;
	p->depth--;
	return 0;
}

static int parse_value(struct parser *p, struct json_value *v)
{
	int r;

	skip_space(p);
	if (p->pos >= p->len)
		return -EINVAL;
	switch (p->s[p->pos]) {
	case '{':
		return parse_container(p, v, true);
	case '[':
		return parse_container(p, v, false);
	case '"':
		r = parse_string(p, &v->string, &v->len);
		if (r == 0)
			v->type = JSON_STRING;
		return r;
	case 't':
		v->type = JSON_BOOL;
		v->boolean = true;
		return parse_literal(p, "true");
	case 'f':
		v->type = JSON_BOOL;
		return parse_literal(p, "false");
	case 'n':
		return parse_literal(p, "null");
	default:
		return parse_number(p, v);
	}
}

static void value_clear(struct json_value *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->members[i].key);
		value_clear(&v->members[i].value);
	}
	free(v->members);
	free(v->string);
}

void json_value_free(struct json_value *v)
{
	if (!v)
		return;
	value_clear(v);
	free(v);
}

int json_parse(const char *text, size_t len, struct json_value **ret)
{
	_cleanup_(json_value_freep) struct json_value *v = calloc(1, sizeof(*v));
	struct parser p = { .s = text, .len = len };
	int r;

	if (!v)
		return -ENOMEM;
	if (!text)
		return -EINVAL;
	r = parse_value(&p, v);
	if (r < 0)
		return r;
	skip_space(&p);
	if (p.pos != p.len)
		return -EINVAL;
	*ret = TAKE_PTR(v);
	return 0;
}

/* ---- access ---- */

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->members[i].key, key) == 0)
			return &obj->members[i].value;
	return NULL;
}

const char *json_get_string(const struct json_value *obj, const char *key)
{
	const struct json_value *v = json_get(obj, key);

	return v && v->type == JSON_STRING ? v->string : NULL;
}

int json_value_u64(const struct json_value *v, uint64_t *ret)
{
	if (!v || v->type != JSON_NUMBER)
		return -EINVAL;
	/* parse_u64 refuses the sign, fraction and exponent that the number's grammar allows. */
	return parse_u64(v->string, UINT64_MAX, ret);
}

int json_value_i64(const struct json_value *v, int64_t *ret)
{
	char *end;
	long long n;

	if (!v || v->type != JSON_NUMBER)
		return -EINVAL;
	errno = 0;
	n = strtoll(v->string, &end, 10);
	if (errno || end == v->string || *end)
		return -EINVAL;
	*ret = n;
	return 0;
}

int json_get_u64(const struct json_value *obj, const char *key, uint64_t *ret)
{
	const struct json_value *v = json_get(obj, key);

	return v ? json_value_u64(v, ret) : -ENOENT;
}

int json_get_bool(const struct json_value *obj, const char *key, bool *ret)
{
	const struct json_value *v = json_get(obj, key);

	if (!v)
		return -ENOENT;
	if (v->type != JSON_BOOL)
		return -EINVAL;
	*ret = v->boolean;
	return 0;
}

int json_get_strdup(const struct json_value *obj, const char *key, char **ret)
{
	const struct json_value *v = json_get(obj, key);

	*ret = NULL;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_STRING)
		return -EINVAL;
	*ret = strndup(v->string, v->len);
	return *ret ? 0 : -ENOMEM;
}
