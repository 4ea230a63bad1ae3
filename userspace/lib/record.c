// SPDX-License-Identifier: GPL-2.0
#include "record.h"
#include "util.h"

#include <stdarg.h>
#include <string.h>

static int reserve(struct embargo_record *r, size_t more)
{
	size_t cap;
	char *b;

	if (r->len + more <= r->cap)
		return 0;
	cap = r->cap ? r->cap : 512;
	while (cap < r->len + more)
		cap *= 2;
	b = realloc(r->buf, cap);
	if (!b)
		return -ENOMEM;
	r->buf = b;
	r->cap = cap;
	return 0;
}

int record_add(struct embargo_record *r, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	int ret;

	if (r->n >= EMBARGO_RECORD_MAX_FIELDS)
		return -E2BIG;
	ret = reserve(r, nl + 1 + vl + 1);
	if (ret < 0)
		return ret;
	r->off[r->n++] = r->len;
	memcpy(r->buf + r->len, name, nl);
	r->buf[r->len + nl] = '=';
	memcpy(r->buf + r->len + nl + 1, value, vl + 1);
	r->len += nl + 1 + vl + 1;
	return 0;
}

int record_addf(struct embargo_record *r, const char *name, const char *fmt, ...)
{
	_cleanup_free_ char *v = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0) {
		v = NULL;
		return -ENOMEM;
	}
	return record_add(r, name, v);
}

const char *record_get(const struct embargo_record *r, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < r->n; i++) {
		const char *f = r->buf + r->off[i];

		if (strncmp(f, name, nl) == 0 && f[nl] == '=')
			return f + nl + 1;
	}
	return NULL;
}

void record_iovec(const struct embargo_record *r, struct iovec *iov)
{
	for (size_t i = 0; i < r->n; i++) {
		iov[i].iov_base = r->buf + r->off[i];
		iov[i].iov_len = strlen(r->buf + r->off[i]);
	}
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

char *record_format_line(const struct embargo_record *r)
{
	const char *msg = record_get(r, "MESSAGE");
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	if (!f)
		return NULL;
	if (msg)
		put_escaped(f, msg);
	for (size_t i = 0; i < r->n; i++) {
		const char *field = r->buf + r->off[i];
		const char *eq = strchr(field, '=');

		if (strncmp(field, "MESSAGE=", 8) == 0 || strncmp(field, "PRIORITY=", 9) == 0)
			continue;
		fprintf(f, " %.*s=\"", (int)(eq - field), field);
		put_escaped(f, eq + 1);
		fputc('"', f);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

void record_free(struct embargo_record *r)
{
	free(r->buf);
	*r = (struct embargo_record){};
}
