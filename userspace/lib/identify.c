// SPDX-License-Identifier: GPL-2.0
/*
 * The confined worker that runs the signature parsers, the PKCS#7 and certificate helpers they share,
 * and the JSON the worker hands its result back in.
 */
#include "identify.h"
#include "json.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* Authenticode: a nested signature is an unauthenticated attribute of the outer signer. */
#define OID_NESTED_SIGNATURE "1.3.6.1.4.1.311.2.4.1"
#define MAX_NESTING 8
/* A certificate file larger than this is not a certificate file. */
#define MAX_CERT_FILE (1U << 20)
/* The worker's answer is a few certificates' names: anything near this is not one. */
#define MAX_REPLY (16U << 20)
/* Address space the worker may add to what it inherits: the file (max_bytes) and the parsers. */
#define WORKER_AS_LIMIT (512ULL << 20)
/* The fd the worker writes its reply to once confined. */
#define REPLY_FD 3

/* ---- certificate files ---- */

static int read_small_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	struct stat st;
	_cleanup_close_ int fd = open_regular(path, &st);
	_cleanup_free_ uint8_t *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > MAX_CERT_FILE)
		return -EFBIG;
	buf = malloc(st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	n = pread_all(fd, buf, st.st_size, 0);
	if (n < 0)
		return (int)n;
	*ret = TAKE_PTR(buf);
	*ret_len = (size_t)n;
	return 0;
}

/* Every certificate of a PEM file (one or more), or the one of a DER file, pushed onto each stack given. */
static int load_certs(const char *path, STACK_OF(X509) * out)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len = 0;
	BIO *bio;
	X509 *x;
	int n = 0, r;

	r = read_small_file(path, &data, &len);
	if (r < 0)
		return r;
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (!sk_X509_push(out, x)) {
			X509_free(x);
			BIO_free(bio);
			return -ENOMEM;
		}
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (n == 0) {
		const unsigned char *p = data;
		x = d2i_X509(NULL, &p, (long)len);
		ERR_clear_error();
		if (!x)
			return -EBADMSG;
		if (!sk_X509_push(out, x)) {
			X509_free(x);
			return -ENOMEM;
		}
	}
	return 0;
}

static int note_load_error(struct ident_ctx *c, const char *what, const char *path, int err)
{
	char buf[512];

	if (c->load_error)
		return 0;
	snprintf(buf, sizeof(buf), "%s %s unusable: %s", what, path, strerror(-err));
	c->load_error = strdup(buf);
	return c->load_error ? 0 : -ENOMEM;
}

int ident_ctx_init(struct ident_ctx *c, const struct embargo_identify_opts *o)
{
	STACK_OF(X509) *anchors = NULL;
	int r = -ENOMEM;

	*c = (struct ident_ctx){ 0 };
	c->known = sk_X509_new_null();
	c->keyring = sk_X509_new_null();
	anchors = sk_X509_new_null();
	if (!c->known || !c->keyring || !anchors)
		goto out;
	for (size_t i = 0; o && i < o->n_trust_anchors; i++) {
		r = load_certs(o->trust_anchors[i], anchors);
		if (r == -ENOMEM)
			goto out;
		if (r < 0 && (r = note_load_error(c, "trust anchor", o->trust_anchors[i], r)) < 0)
			goto out;
	}
	for (size_t i = 0; o && i < o->n_ima_keyring; i++) {
		r = load_certs(o->ima_keyring[i], c->keyring);
		if (r == -ENOMEM)
			goto out;
		if (r < 0 && (r = note_load_error(c, "keyring certificate", o->ima_keyring[i], r)) < 0)
			goto out;
	}
	r = -ENOMEM;
	if (sk_X509_num(anchors) > 0) {
		c->store = X509_STORE_new();
		if (!c->store)
			goto out;
		/* An anchor may be an intermediate or the signing certificate itself, as in a kernel keyring.
		 */
		X509_STORE_set_flags(c->store, X509_V_FLAG_PARTIAL_CHAIN);
		for (int i = 0; i < sk_X509_num(anchors); i++)
			if (!X509_STORE_add_cert(c->store, sk_X509_value(anchors, i)))
				goto out;
	}
	for (int i = 0; i < sk_X509_num(anchors); i++)
		if (!sk_X509_push(c->known, sk_X509_value(anchors, i)) ||
		    !X509_up_ref(sk_X509_value(anchors, i)))
			goto out;
	for (int i = 0; i < sk_X509_num(c->keyring); i++)
		if (!sk_X509_push(c->known, sk_X509_value(c->keyring, i)) ||
		    !X509_up_ref(sk_X509_value(c->keyring, i)))
			goto out;
	r = 0;
out:
	sk_X509_pop_free(anchors, X509_free);
	ERR_clear_error();
	if (r < 0)
		ident_ctx_done(c);
	return r;
}

void ident_ctx_done(struct ident_ctx *c)
{
	X509_STORE_free(c->store);
	sk_X509_pop_free(c->known, X509_free);
	sk_X509_pop_free(c->keyring, X509_free);
	free(c->load_error);
	*c = (struct ident_ctx){ 0 };
}

/* ---- signature list ---- */

int ident_add_sig(struct embargo_identity *id, struct embargo_signature *sig)
{
	struct embargo_signature *n = reallocarray(id->sigs, id->n_sigs + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	id->sigs = n;
	id->sigs[id->n_sigs++] = *sig;
	*sig = (struct embargo_signature){ 0 };
	return 0;
}

int ident_add_malformed(struct embargo_identity *id, uint8_t kind, unsigned nesting, const char *detail)
{
	struct embargo_signature s = { .kind = kind, .state = EMBARGO_SIG_MALFORMED, .nesting = nesting };
	int r;

	s.detail = strdup(detail);
	if (!s.detail)
		return -ENOMEM;
	r = ident_add_sig(id, &s);
	if (r < 0)
		embargo_signature_free(&s);
	return r;
}

/* ---- certificates ---- */

static int name_entry(X509_NAME *name, int nid, char **ret)
{
	X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int i, n;

	*ret = NULL;
	if (!name)
		return 0;
	i = X509_NAME_get_index_by_NID(name, nid, -1);
	if (i < 0)
		return 0;
	e = X509_NAME_get_entry(name, i);
	/* Names come as PrintableString, UTF8String or BMPString: one encoding for the matcher. */
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (n < 0) {
		ERR_clear_error();
		return 0;
	}
	*ret = strndup((const char *)utf8, n);
	OPENSSL_free(utf8);
	return *ret ? 0 : -ENOMEM;
}

static int serial_hex(const ASN1_INTEGER *serial, char **ret)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex;

	*ret = NULL;
	if (!bn)
		return -ENOMEM;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (!hex)
		return -ENOMEM;
	*ret = strdup(hex);
	OPENSSL_free(hex);
	if (!*ret)
		return -ENOMEM;
	for (char *p = *ret; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

static int64_t asn1_time_epoch(const ASN1_TIME *t)
{
	struct tm tm = { 0 };

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

static int cert_fill(X509 *x, struct embargo_cert *out)
{
	unsigned len = 0;
	int r;

	*out = (struct embargo_cert){ 0 };
	if ((r = name_entry(X509_get_subject_name(x), NID_commonName, &out->subject_cn)) < 0 ||
	    (r = name_entry(X509_get_subject_name(x), NID_organizationName, &out->subject_o)) < 0 ||
	    (r = name_entry(X509_get_issuer_name(x), NID_commonName, &out->issuer_cn)) < 0 ||
	    (r = name_entry(X509_get_issuer_name(x), NID_organizationName, &out->issuer_o)) < 0 ||
	    (r = serial_hex(X509_get0_serialNumber(x), &out->serial)) < 0) {
		embargo_cert_free(out);
		return r;
	}
	if (!X509_digest(x, EVP_sha256(), out->sha256, &len) || len != SHA256_LEN) {
		embargo_cert_free(out);
		ERR_clear_error();
		return -ENOMEM;
	}
	out->not_before = asn1_time_epoch(X509_get0_notBefore(x));
	out->not_after = asn1_time_epoch(X509_get0_notAfter(x));
	return 0;
}

int ident_chain_push(struct embargo_signature *s, X509 *x)
{
	struct embargo_cert *n = reallocarray(s->chain, s->n_chain + 1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	s->chain = n;
	r = cert_fill(x, &s->chain[s->n_chain]);
	if (r < 0)
		return r;
	s->n_chain++;
	return 0;
}

/* Only the issuer and serial of a signer whose certificate is nowhere at hand. */
static int chain_push_issuer(struct embargo_signature *s, X509_NAME *issuer, const ASN1_INTEGER *serial)
{
	struct embargo_cert *n = reallocarray(s->chain, s->n_chain + 1, sizeof(*n));
	struct embargo_cert *c;
	int r;

	if (!n)
		return -ENOMEM;
	s->chain = n;
	c = &s->chain[s->n_chain];
	*c = (struct embargo_cert){ 0 };
	if ((r = name_entry(issuer, NID_commonName, &c->issuer_cn)) < 0 ||
	    (r = name_entry(issuer, NID_organizationName, &c->issuer_o)) < 0 ||
	    (r = serial_hex(serial, &c->serial)) < 0) {
		embargo_cert_free(c);
		return r;
	}
	s->n_chain++;
	return 0;
}

static int set_detail(struct embargo_signature *s, const char *fmt, const char *arg)
{
	char buf[512];

	snprintf(buf, sizeof(buf), fmt, arg);
	free(s->detail);
	s->detail = strdup(buf);
	return s->detail ? 0 : -ENOMEM;
}

/* Sets s->state and s->detail from whether the signature verified and where the signer's chain leads. */
int ident_chain_verdict(const struct ident_ctx *c, X509 *signer, STACK_OF(X509) * untrusted, bool sig_ok,
			const char *sig_error, struct embargo_signature *s)
{
	X509_STORE_CTX *ctx;
	int ok;

	s->state = EMBARGO_SIG_UNVERIFIED;
	if (!sig_ok)
		return set_detail(s, "signature does not verify: %s", sig_error ?: "bad signature");
	if (!signer)
		return set_detail(s, "%s",
				  "signer certificate not found (not in the signature, anchors or keyring)");
	if (!c->store)
		return set_detail(s, "%s",
				  c->load_error ?: "no trust anchors given (the signature itself verifies)");
	ctx = X509_STORE_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!X509_STORE_CTX_init(ctx, c->store, signer, untrusted)) {
		X509_STORE_CTX_free(ctx);
		ERR_clear_error();
		return -ENOMEM;
	}
	/* Code-signing certificates need not carry the S/MIME purposes OpenSSL checks by default. */
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	ok = X509_verify_cert(ctx);
	if (ok == 1) {
		s->state = EMBARGO_SIG_VERIFIED;
		free(s->detail);
		s->detail = NULL;
		X509_STORE_CTX_free(ctx);
		return 0;
	}
	ok = set_detail(s, "chain does not reach a trust anchor: %s",
			X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

static char *digest_name(const X509_ALGOR *alg)
{
	const char *sn = alg ? OBJ_nid2sn(OBJ_obj2nid(alg->algorithm)) : NULL;
	char *s;

	if (!sn || strcmp(sn, "UNDEF") == 0)
		return strdup("unknown");
	s = strdup(sn);
	for (char *p = s; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

static X509 *find_signer(const struct ident_ctx *c, STACK_OF(X509) * certs, PKCS7_ISSUER_AND_SERIAL *ias)
{
	X509 *x = NULL;

	if (!ias)
		return NULL;
	if (certs)
		x = X509_find_by_issuer_and_serial(certs, ias->issuer, ias->serial);
	if (!x && c->known)
		x = X509_find_by_issuer_and_serial(c->known, ias->issuer, ias->serial);
	return x;
}

/* The signature over the content: the last OpenSSL reason as a detail when it does not verify. */
static bool pkcs7_signature_ok(const struct ident_ctx *c, PKCS7 *p7, const uint8_t *content, size_t len,
			       char *err, size_t errlen)
{
	BIO *bio, *mem;
	int ok;

	if (len > INT_MAX) {
		snprintf(err, errlen, "content too large");
		return false;
	}
	/*
	 * Behind a null filter: PKCS7_verify() copies a memory BIO into one of its own, which OpenSSL 3.0
	 * leaks when PKCS7_dataInit() then fails (on a malformed signature, so at will of the file).
	 */
	bio = BIO_new(BIO_f_null());
	mem = BIO_new_mem_buf(content, (int)len);
	if (!bio || !mem) {
		BIO_free(bio);
		BIO_free(mem);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	BIO_push(bio, mem);
	/* The chain is checked apart (any purpose, our anchors): here only the signature. */
	ok = PKCS7_verify(p7, c->known, NULL, bio, NULL, PKCS7_NOVERIFY | PKCS7_BINARY);
	if (ok != 1) {
		unsigned long e = ERR_peek_last_error();
		const char *why = e ? ERR_reason_error_string(e) : NULL;
		snprintf(err, errlen, "%s", why ?: "bad signature");
	}
	BIO_free_all(bio);
	ERR_clear_error();
	return ok == 1;
}

static int nested(const struct ident_ctx *c, uint8_t kind, PKCS7_SIGNER_INFO *si, unsigned nesting,
		  struct embargo_identity *id)
{
	STACK_OF(X509_ATTRIBUTE) *attrs = si->unauth_attr;
	char oid[80];
	int r;

	for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
		X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(attrs, i);

		if (OBJ_obj2txt(oid, sizeof(oid), X509_ATTRIBUTE_get0_object(a), 1) <= 0 ||
		    strcmp(oid, OID_NESTED_SIGNATURE) != 0)
			continue;
		for (int j = 0; j < X509_ATTRIBUTE_count(a); j++) {
			ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, j);

			if (nesting + 1 > MAX_NESTING)
				r = ident_add_malformed(id, kind, nesting + 1, "signatures nested too deep");
			else if (!t || t->type != V_ASN1_SEQUENCE)
				r = ident_add_malformed(id, kind, nesting + 1,
							"nested signature is not a SEQUENCE");
			else
				r = ident_pkcs7(c, kind, t->value.sequence->data, t->value.sequence->length,
						NULL, 0, nesting + 1, id);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/*
 * The content a SignedData carries, handed to PKCS7_verify() as a BIO of ours: left to find it itself,
 * OpenSSL 3.0 leaks its own BIO when verification fails. Authenticode signs SpcIndirectDataContent, an
 * "other" content type whose messageDigest covers the value without its outer SEQUENCE tag and length.
 */
static int embedded_content(PKCS7 *p7, const uint8_t **ret, size_t *ret_len)
{
	static const uint8_t none[1];
	PKCS7 *inner = p7->d.sign->contents;
	const unsigned char *q;
	long olen = 0;
	int tag, cls;

	*ret = none;
	*ret_len = 0;
	if (!inner)
		return -EBADMSG;
	if (PKCS7_type_is_data(inner)) {
		if (inner->d.data) {
			*ret = inner->d.data->data ?: none;
			*ret_len = (size_t)inner->d.data->length;
		}
		return 0;
	}
	if (!PKCS7_type_is_other(inner) || !inner->d.other || inner->d.other->type != V_ASN1_SEQUENCE)
		return -EBADMSG;
	q = inner->d.other->value.sequence->data;
	if (ASN1_get_object(&q, &olen, &tag, &cls, inner->d.other->value.sequence->length) & 0x80) {
		ERR_clear_error();
		return -EBADMSG;
	}
	*ret = q;
	*ret_len = (size_t)olen;
	return 0;
}

/*
 * With signed attributes, the contentType attribute must name the content signed (RFC 2315 9.2):
 * PKCS7_verify() does not check it, so a signature over SpcIndirectDataContent could pass for another type.
 */
static bool content_type_matches(PKCS7 *p7, PKCS7_SIGNER_INFO *si)
{
	ASN1_TYPE *ct;

	if (sk_X509_ATTRIBUTE_num(si->auth_attr) <= 0)
		return true;
	ct = PKCS7_get_signed_attribute(si, NID_pkcs9_contentType);
	return ct && ct->type == V_ASN1_OBJECT && p7->d.sign->contents &&
	       OBJ_cmp(ct->value.object, p7->d.sign->contents->type) == 0;
}

int ident_pkcs7(const struct ident_ctx *c, uint8_t kind, const uint8_t *der, size_t len,
		const uint8_t *content, size_t content_len, unsigned nesting, struct embargo_identity *id)
{
	const unsigned char *p = der;
	STACK_OF(PKCS7_SIGNER_INFO) * sis;
	STACK_OF(X509) * certs;
	PKCS7 *p7;
	char err[256] = "";
	bool sig_ok;
	int r = 0;

	if (len > LONG_MAX)
		return ident_add_malformed(id, kind, nesting, "PKCS#7 structure too large");
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	ERR_clear_error();
	if (!p7)
		return ident_add_malformed(id, kind, nesting, "not a PKCS#7 structure");
	if (!PKCS7_type_is_signed(p7) || !p7->d.sign) {
		r = ident_add_malformed(id, kind, nesting, "PKCS#7 structure is not SignedData");
		goto out;
	}
	sis = PKCS7_get_signer_info(p7);
	if (sk_PKCS7_SIGNER_INFO_num(sis) <= 0) {
		r = ident_add_malformed(id, kind, nesting, "PKCS#7 SignedData without a signer");
		goto out;
	}
	certs = p7->d.sign->cert;
	if (!content) {
		r = embedded_content(p7, &content, &content_len);
		if (r < 0) {
			r = ident_add_malformed(id, kind, nesting,
						"signed content is neither data nor a SEQUENCE");
			goto out;
		}
	}
	sig_ok = pkcs7_signature_ok(c, p7, content, content_len, err, sizeof(err));

	for (int i = 0; i < sk_PKCS7_SIGNER_INFO_num(sis); i++) {
		PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(sis, i);
		struct embargo_signature s = { .kind = kind, .nesting = nesting };
		X509 *signer = find_signer(c, certs, si->issuer_and_serial);

		s.digest_algorithm = digest_name(si->digest_alg);
		r = s.digest_algorithm ? 0 : -ENOMEM;
		/* The signer first, then the rest of what the signature carries. */
		if (r == 0 && signer)
			r = ident_chain_push(&s, signer);
		else if (r == 0 && si->issuer_and_serial)
			r = chain_push_issuer(&s, si->issuer_and_serial->issuer,
					      si->issuer_and_serial->serial);
		for (int j = 0; r == 0 && j < sk_X509_num(certs); j++)
			if (sk_X509_value(certs, j) != signer)
				r = ident_chain_push(&s, sk_X509_value(certs, j));
		if (r == 0 && sig_ok && !content_type_matches(p7, si))
			r = ident_chain_verdict(c, signer, certs, false,
						"content type attribute does not match the content", &s);
		else if (r == 0)
			r = ident_chain_verdict(c, signer, certs, sig_ok, err, &s);
		if (r == 0)
			r = ident_add_sig(id, &s);
		embargo_signature_free(&s);
		if (r == 0 && kind == EMBARGO_SIG_AUTHENTICODE)
			r = nested(c, kind, si, nesting, id);
		if (r < 0)
			break;
	}
out:
	PKCS7_free(p7);
	ERR_clear_error();
	return r;
}

/* ---- in-process parsing ---- */

int ident_parse(const struct ident_ctx *c, uint8_t *buf, size_t len, const uint8_t *ima, size_t ima_len,
		struct embargo_identity *id)
{
	int r;

	r = ident_elf_format(buf, len, id);
	if (r < 0)
		return r;
	if (id->format && strcmp(id->format, "pe") == 0) {
		r = ident_pe(c, buf, len, id);
		if (r < 0)
			return r;
	}
	if (ident_kmod_has_trailer(buf, len)) {
		r = ident_kmod(c, buf, len, id);
		if (r < 0)
			return r;
	}
	if (ima && ima_len > 0) {
		struct embargo_signature s = { 0 };

		r = ident_ima(c, ima, ima_len, buf, len, &s);
		if (r == -ENODATA)
			return 0;
		if (r == 0)
			r = ident_add_sig(id, &s);
		embargo_signature_free(&s);
		if (r < 0)
			return r;
	}
	return 0;
}

int embargo_identify_buf(const uint8_t *buf, size_t len, const struct embargo_identify_opts *o,
			 struct embargo_identity *id)
{
	struct ident_ctx c;
	uint8_t *copy;
	int r;

	r = ident_ctx_init(&c, o);
	if (r < 0)
		return r;
	/* libelf may convert a foreign-endian image in place: the caller's buffer stays untouched. */
	copy = malloc(len ?: 1);
	if (!copy) {
		ident_ctx_done(&c);
		return -ENOMEM;
	}
	if (len)
		memcpy(copy, buf, len);
	r = ident_parse(&c, copy, len, NULL, 0, id);
	free(copy);
	ident_ctx_done(&c);
	return r;
}

int embargo_identify_ima_xattr(const uint8_t *xattr, size_t len, const struct embargo_identify_opts *o,
			       struct embargo_signature *sig)
{
	struct ident_ctx c;
	int r;

	r = ident_ctx_init(&c, o);
	if (r < 0)
		return r;
	r = ident_ima(&c, xattr, len, NULL, 0, sig);
	ident_ctx_done(&c);
	return r;
}

/* ---- serialization: worker to caller ---- */

static int write_identity(const struct embargo_identity *id, char **ret, size_t *len)
{
	struct json_writer w = JSON_WRITER_INIT;

	json_begin_object(&w);
	json_key_string(&w, "format", id->format);
	json_key_string(&w, "build_id", id->build_id);
	json_key_array(&w, "sigs");
	for (size_t i = 0; i < id->n_sigs; i++) {
		const struct embargo_signature *s = &id->sigs[i];
		char keyid[9];

		json_begin_object(&w);
		json_key_u64(&w, "kind", s->kind);
		json_key_u64(&w, "state", s->state);
		json_key_string(&w, "detail", s->detail);
		json_key_u64(&w, "nesting", s->nesting);
		json_key_string(&w, "digest_algorithm", s->digest_algorithm);
		if (s->has_keyid) {
			hex_encode(s->keyid, sizeof(s->keyid), keyid);
			json_key_string(&w, "keyid", keyid);
		}
		json_key_array(&w, "chain");
		for (size_t j = 0; j < s->n_chain; j++)
			embargo_cert_write_json(&w, &s->chain[j], 0);
		json_end_array(&w);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	return json_writer_finish(&w, ret, len);
}

static int read_sig(const struct json_value *v, struct embargo_signature *s)
{
	const struct json_value *chain = json_get(v, "chain");
	const char *keyid = json_get_string(v, "keyid");
	uint64_t kind, state, nesting;
	int r;

	if (v->type != JSON_OBJECT || !chain || chain->type != JSON_ARRAY)
		return -EINVAL;
	if ((r = json_get_u64(v, "kind", &kind)) < 0 || (r = json_get_u64(v, "state", &state)) < 0 ||
	    (r = json_get_u64(v, "nesting", &nesting)) < 0)
		return r;
	if (kind > EMBARGO_SIG_IMA || state < EMBARGO_SIG_VERIFIED || state > EMBARGO_SIG_MALFORMED ||
	    nesting > MAX_NESTING + 1)
		return -EINVAL;
	s->kind = (uint8_t)kind;
	s->state = (uint8_t)state;
	s->nesting = (unsigned)nesting;
	if ((r = json_get_strdup(v, "detail", &s->detail)) < 0 ||
	    (r = json_get_strdup(v, "digest_algorithm", &s->digest_algorithm)) < 0)
		return r;
	if (keyid) {
		r = hex_decode(keyid, strlen(keyid), s->keyid, sizeof(s->keyid));
		if (r < 0)
			return r;
		s->has_keyid = true;
	}
	if (chain->n) {
		s->chain = calloc(chain->n, sizeof(*s->chain));
		if (!s->chain)
			return -ENOMEM;
	}
	for (size_t i = 0; i < chain->n; i++) {
		r = embargo_cert_read_json(&chain->members[i].value, &s->chain[i]);
		s->n_chain = i + 1; /* freed with the rest on failure */
		if (r < 0)
			return r;
	}
	return 0;
}

/* The worker's reply merged into id: -EINVAL when it is not what a worker writes. */
static int read_identity(const char *text, size_t len, struct embargo_identity *id)
{
	_cleanup_(json_value_freep) struct json_value *v = NULL;
	const struct json_value *sigs;
	char *format = NULL, *build_id = NULL;
	int r;

	r = json_parse(text, len, &v);
	if (r < 0)
		return r;
	sigs = json_get(v, "sigs");
	if (!sigs || sigs->type != JSON_ARRAY)
		return -EINVAL;
	if ((r = json_get_strdup(v, "format", &format)) < 0 ||
	    (r = json_get_strdup(v, "build_id", &build_id)) < 0) {
		free(format);
		return r;
	}
	free(id->format);
	id->format = format;
	free(id->build_id);
	id->build_id = build_id;
	for (size_t i = 0; i < sigs->n; i++) {
		struct embargo_signature s = { 0 };

		r = read_sig(&sigs->members[i].value, &s);
		if (r == 0)
			r = ident_add_sig(id, &s);
		embargo_signature_free(&s);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the confined worker ---- */

/*
 * The allow-list, through libseccomp (which also handles the architecture check and x32): writes to the
 * reply descriptor, memory management, and leaving. Anything else kills the worker.
 */
static int confine_seccomp(void)
{
	static const int allowed[] = {
		SCMP_SYS(exit_group),	SCMP_SYS(exit),		 SCMP_SYS(brk),	      SCMP_SYS(mmap),
		SCMP_SYS(munmap),	SCMP_SYS(mremap),	 SCMP_SYS(madvise),   SCMP_SYS(futex),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(clock_gettime), SCMP_SYS(getrandom),
	};
	const struct scmp_arg_cmp reply_fd = {
		.arg = 0, .op = SCMP_CMP_EQ, .datum_a = REPLY_FD, .datum_b = 0
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, &reply_fd);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(allowed); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* seccomp_load sets no_new_privs itself (SCMP_FLTATR_CTL_NNP defaults on). */
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

/*
 * The address space the worker starts with: it inherits the caller's (a daemon's thread stacks and BPF
 * maps), which an absolute RLIMIT_AS would leave no room above. 0 when unknown.
 */
static uint64_t current_vsz(void)
{
	_cleanup_close_ int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	char buf[64], *sp;
	uint64_t pages;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	sp = strchr(buf, ' ');
	if (sp)
		*sp = '\0';
	if (parse_u64(buf, UINT64_MAX / 4096, &pages) < 0)
		return 0;
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int confine(int reply_fd, unsigned timeout_ms)
{
	/* Measured before the fds go: it opens /proc. */
	rlim_t as_limit = current_vsz() + WORKER_AS_LIMIT;
	struct rlimit as = { as_limit, as_limit };
	rlim_t cpu = timeout_ms / 1000 + 1;
	struct rlimit cpul = { cpu, cpu };
	struct rlimit nofile = { REPLY_FD + 1, REPLY_FD + 1 };
	struct rlimit zero = { 0, 0 };

	if (reply_fd != REPLY_FD && dup2(reply_fd, REPLY_FD) < 0)
		return -errno;
	/* Nothing the caller had open stays reachable: stdio included. */
	if (close_range(0, REPLY_FD - 1, 0) < 0 || close_range(REPLY_FD + 1, ~0U, 0) < 0)
		return -errno;
	if (setrlimit(RLIMIT_AS, &as) < 0 || setrlimit(RLIMIT_CPU, &cpul) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_FSIZE, &zero) < 0 ||
	    setrlimit(RLIMIT_CORE, &zero) < 0)
		return -errno;
	return confine_seccomp();
}

/* OpenSSL loads its configuration and providers on first use, by opening files: do it while we may. */
static void openssl_warm_up(void)
{
	static const char *const mds[] = { "SHA1", "SHA256", "SHA384", "SHA512", "SHA224", "MD5" };
	uint8_t out[EVP_MAX_MD_SIZE];
	unsigned n;

	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_DIGESTS |
				    OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
			    NULL);
	for (size_t i = 0; i < ARRAY_SIZE(mds); i++) {
		const EVP_MD *md = EVP_get_digestbyname(mds[i]);
		if (md)
			EVP_Digest("", 0, out, &n, md, NULL);
	}
	ERR_clear_error();
	/* glibc's gmtime_r() (certificate validity) reads /etc/localtime on first use. */
	tzset();
}

#ifdef EMBARGO_IDENTIFY_TEST_HOOKS
/* Test builds only: misbehave after confinement, so the tests can see the confinement hold. */
static void test_hook(const char *hook)
{
	if (!hook)
		return;
	if (strcmp(hook, "open") == 0)
		(void)open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	else if (strcmp(hook, "stall") == 0)
		for (volatile unsigned long i = 0;; i++)
			;
	else if (strcmp(hook, "crash") == 0)
		*(volatile int *)8 = 1;
}
#endif

/* The child: read, confine, parse, reply. Never returns. */
static __attribute__((noreturn)) void worker(int fd, int reply, const struct embargo_identify_opts *o,
					     const uint8_t *ima, size_t ima_len)
{
	struct embargo_identity id = { 0 };
	struct ident_ctx c;
	struct stat st;
	uint8_t *buf;
	size_t want, got;
	ssize_t n;
	char *text = NULL;
	size_t text_len = 0;
	bool whole;
#ifdef EMBARGO_IDENTIFY_TEST_HOOKS
	const char *hook = getenv("EMBARGO_IDENTIFY_TEST_HOOK");
#endif

	if (fstat(fd, &st) < 0)
		_exit(2);
	whole = (uint64_t)st.st_size <= o->max_bytes;
	/* A file too large for the parsers still gets its format from its first bytes. */
	want = whole ? (size_t)st.st_size : 4096;
	buf = malloc(want ?: 1);
	if (!buf || (n = pread_all(fd, buf, want, 0)) < 0)
		_exit(2);
	got = (size_t)n;
	openssl_warm_up();
	if (ident_ctx_init(&c, o) < 0)
		_exit(2);
	if (confine(reply, o->timeout_ms) < 0)
		_exit(3);
#ifdef EMBARGO_IDENTIFY_TEST_HOOKS
	test_hook(hook);
#endif
	if (whole) {
		if (ident_parse(&c, buf, got, ima, ima_len, &id) < 0)
			_exit(4);
	} else if (ident_elf_format(buf, got, &id) < 0) {
		_exit(4);
	}
	if (write_identity(&id, &text, &text_len) < 0 || write_all(REPLY_FD, text, text_len) < 0)
		_exit(5);
	_exit(0);
}

static int add_failure(struct embargo_identity *id, const char *fmt, int arg)
{
	char buf[128];

	snprintf(buf, sizeof(buf), fmt, arg);
	return ident_add_malformed(id, 0, 0, buf);
}

int embargo_identify_may_have_signatures(int fd)
{
	static const char trailer[] = MODULE_SIG_STRING;
	char head[2], tail[sizeof(trailer) - 1];
	struct stat st;
	ssize_t n;

	n = fgetxattr(fd, "security.ima", NULL, 0);
	if (n > 0)
		return 1;
	if (n < 0 && errno != ENODATA && errno != ENOTSUP && errno != EOPNOTSUPP)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 2)
		return 0;
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return -errno;
	if (n == sizeof(head) && head[0] == 'M' && head[1] == 'Z')
		return 1;
	if (st.st_size < (off_t)sizeof(tail))
		return 0;
	n = pread(fd, tail, sizeof(tail), st.st_size - (off_t)sizeof(tail));
	if (n < 0)
		return -errno;
	return n == sizeof(tail) && memcmp(tail, trailer, sizeof(tail)) == 0;
}

int embargo_identify_fd(int fd, const struct embargo_identify_opts *o, struct embargo_identity *id)
{
	struct embargo_identify_opts opts = o ? *o : (struct embargo_identify_opts){ 0 };
	_cleanup_free_ char *reply = NULL;
	_cleanup_close_ int rfd = -1;
	uint8_t ima[1024];
	ssize_t ima_len;
	size_t len = 0, cap = 0;
	bool timed_out = false, too_big = false;
	uint64_t deadline;
	struct stat st;
	int p[2], status = 0, r;
	pid_t pid;

	if (!opts.timeout_ms)
		opts.timeout_ms = EMBARGO_IDENTIFY_TIMEOUT_MS;
	if (!opts.max_bytes)
		opts.max_bytes = EMBARGO_IDENTIFY_MAX_BYTES;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* The worker cannot read extended attributes once confined: it is handed the value. */
	ima_len = fgetxattr(fd, "security.ima", ima, sizeof(ima));
	if (ima_len < 0)
		ima_len = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		close(p[0]);
		worker(fd, p[1], &opts, ima, (size_t)ima_len);
	}
	close(p[1]);
	rfd = p[0];

	deadline = now_ns() + (uint64_t)opts.timeout_ms * 1000000ULL;
	for (;;) {
		struct pollfd pfd = { .fd = rfd, .events = POLLIN };
		uint64_t now = now_ns();
		ssize_t n;

		if (now >= deadline) {
			timed_out = true;
			break;
		}
		r = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return r;
		}
		if (r == 0)
			continue;
		if (cap - len < 4096) {
			char *n2;
			if (cap >= MAX_REPLY) {
				too_big = true;
				break;
			}
			n2 = realloc(reply, cap ? cap * 2 : 8192);
			if (!n2) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				return -ENOMEM;
			}
			reply = n2;
			cap = cap ? cap * 2 : 8192;
		}
		n = read(rfd, reply + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	if (timed_out || too_big)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = 0; /* SIGCHLD ignored by the caller: the reply is all there is */
			break;
		}
	}

	if (timed_out)
		return ident_add_malformed(id, 0, 0, "parser timed out");
	if (too_big)
		return ident_add_malformed(id, 0, 0, "parser reply too large");
	if (WIFSIGNALED(status))
		return add_failure(id, "parser crashed (signal %d)", WTERMSIG(status));
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return add_failure(id, "parser failed (status %d)", WEXITSTATUS(status));
	r = read_identity(reply ?: "", len, id);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return ident_add_malformed(id, 0, 0, "parser reply unreadable");
	return 0;
}
