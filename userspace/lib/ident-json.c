// SPDX-License-Identifier: GPL-2.0
/*
 * The one JSON form of a certificate: in the worker's reply (read back by embargo_cert_read_json()) and in
 * `embargoctl inspect --json`, which differ only in how a known validity time is written.
 */
#include "identify.h"
#include "json.h"
#include "util.h"

#include <string.h>

bool embargo_cert_digest_known(const struct embargo_cert *c)
{
	static const uint8_t zero[SHA256_LEN];

	return memcmp(c->sha256, zero, SHA256_LEN) != 0;
}

bool embargo_cert_validity_known(const struct embargo_cert *c)
{
	return c->not_before != 0 || c->not_after != 0;
}

static void write_time(struct json_writer *w, const char *key, int64_t t, unsigned flags)
{
	char buf[64];

	if (flags & EMBARGO_CERT_JSON_ISO_TIMES)
		json_key_string(w, key, format_utc_time(t, buf, sizeof(buf)));
	else
		json_key_i64(w, key, t);
}

void embargo_cert_write_json(struct json_writer *w, const struct embargo_cert *c, unsigned flags)
{
	char hex[SHA256_HEX_LEN + 1];

	hex_encode(c->sha256, SHA256_LEN, hex);
	json_begin_object(w);
	json_key_string(w, "subject_o", c->subject_o);
	json_key_string(w, "subject_cn", c->subject_cn);
	json_key_string(w, "issuer_o", c->issuer_o);
	json_key_string(w, "issuer_cn", c->issuer_cn);
	json_key_string(w, "serial", c->serial);
	json_key_string(w, "sha256", embargo_cert_digest_known(c) ? hex : NULL);
	if (embargo_cert_validity_known(c)) {
		write_time(w, "not_before", c->not_before, flags);
		write_time(w, "not_after", c->not_after, flags);
	} else {
		json_key_null(w, "not_before");
		json_key_null(w, "not_after");
	}
	json_end_object(w);
}

/* A number, or null: not known (0). */
static int read_time(const struct json_value *obj, const char *key, int64_t *ret)
{
	const struct json_value *v = json_get(obj, key);

	if (v && v->type == JSON_NULL) {
		*ret = 0;
		return 0;
	}
	return json_value_i64(v, ret);
}

int embargo_cert_read_json(const struct json_value *v, struct embargo_cert *c)
{
	const struct json_value *digest = json_get(v, "sha256");
	int r;

	*c = (struct embargo_cert){ 0 };
	if (!v || v->type != JSON_OBJECT || !digest)
		return -EINVAL;
	if (digest->type == JSON_STRING)
		r = hex_decode(digest->string, digest->len, c->sha256, SHA256_LEN);
	else
		r = digest->type == JSON_NULL ? 0 : -EINVAL;
	if (r < 0 || (r = json_get_strdup(v, "subject_cn", &c->subject_cn)) < 0 ||
	    (r = json_get_strdup(v, "subject_o", &c->subject_o)) < 0 ||
	    (r = json_get_strdup(v, "issuer_cn", &c->issuer_cn)) < 0 ||
	    (r = json_get_strdup(v, "issuer_o", &c->issuer_o)) < 0 ||
	    (r = json_get_strdup(v, "serial", &c->serial)) < 0 ||
	    (r = read_time(v, "not_before", &c->not_before)) < 0 ||
	    (r = read_time(v, "not_after", &c->not_after)) < 0)
		return r;
	return 0;
}
