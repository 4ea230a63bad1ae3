// SPDX-License-Identifier: GPL-2.0
/*
 * Signature extraction on material made by the real tools (openssl, osslsigncode, sign-file, evmctl:
 * tests/host/identify.sh --material), in-process (embargo_identify_buf) and through the worker; the JSON
 * form of a certificate (the worker's reply, inspect --json).
 */
#include "identify.h"
#include "json.h"
#include "test.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

static char material[256];

static void material_remove(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", material);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", material);
}

/* Made once for every test of this file: RSA keys take a while. */
static const char *mat(void)
{
	char cmd[512];

	if (material[0])
		return material;
	snprintf(material, sizeof(material), "%s/embargo-identify-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(material))
		return NULL;
	atexit(material_remove);
	snprintf(cmd, sizeof(cmd), "tests/host/identify.sh --material '%s/m' >/dev/null 2>&1", material);
	if (system(cmd) != 0) {
		fprintf(stderr,
			"  cannot make the signed material (tools/install-deps installs the tools)\n");
		return NULL;
	}
	strcat(material, "/m");
	return material;
}

static char *path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", mat(), name);
	return buf;
}

static uint8_t *slurp(const char *name, size_t *len)
{
	int fd = open(path(name), O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc(st.st_size + 1);
	if (buf && read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = st.st_size;
	return buf;
}

static bool exists(const char *name)
{
	return access(path(name), R_OK) == 0;
}

/* The sha256 of a certificate as `openssl x509 -outform DER | sha256sum` wrote it. */
static bool cert_is(const struct embargo_cert *c, const char *who, const char *o, const char *cn)
{
	char name[64], want[SHA256_HEX_LEN + 1] = "", hex[SHA256_HEX_LEN + 1];
	size_t len;
	_cleanup_free_ uint8_t *f = NULL;

	snprintf(name, sizeof(name), "%s.sha256", who);
	f = slurp(name, &len);
	if (!f || len < SHA256_HEX_LEN)
		return false;
	memcpy(want, f, SHA256_HEX_LEN);
	hex_encode(c->sha256, SHA256_LEN, hex);
	return c->subject_o && c->subject_cn && strcmp(c->subject_o, o) == 0 &&
	       strcmp(c->subject_cn, cn) == 0 && strcmp(hex, want) == 0;
}

static int identify(const char *name, const char *anchor, const char *keyring, struct embargo_identity *id)
{
	char abuf[512], kbuf[512];
	const char *a[1] = { abuf }, *k[1] = { kbuf };
	struct embargo_identify_opts o = { 0 };
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;

	/* path() returns the same buffer each time: copies. */
	if (anchor) {
		snprintf(abuf, sizeof(abuf), "%s", path(anchor));
		o.trust_anchors = a;
		o.n_trust_anchors = 1;
	}
	if (keyring) {
		snprintf(kbuf, sizeof(kbuf), "%s", path(keyring));
		o.ima_keyring = k;
		o.n_ima_keyring = 1;
	}
	buf = slurp(name, &len);
	if (!buf)
		return -ENOENT;
	return embargo_identify_buf(buf, len, &o, id);
}

TEST(identify_pe_nested_signers_verified)
{
	struct embargo_identity id = { 0 };

	REQUIRE(mat());
	REQUIRE(identify("nested.exe", "ca.pem", NULL, &id) == 0);
	CHECK_EQ_STR(id.format, "pe");
	REQUIRE(id.n_sigs == 2);
	CHECK_EQ_INT(id.sigs[0].kind, EMBARGO_SIG_AUTHENTICODE);
	CHECK_EQ_INT(id.sigs[0].state, EMBARGO_SIG_VERIFIED);
	CHECK_EQ_INT(id.sigs[0].nesting, 0);
	CHECK_EQ_STR(id.sigs[0].digest_algorithm, "sha256");
	REQUIRE(id.sigs[0].n_chain >= 1);
	CHECK(cert_is(&id.sigs[0].chain[0], "vendor", "AO Kaspersky Lab", "Kaspersky Lab"));
	CHECK_EQ_STR(id.sigs[0].chain[0].issuer_o, "Embargo Test CA");
	CHECK(id.sigs[0].chain[0].not_after > id.sigs[0].chain[0].not_before);
	CHECK_EQ_INT(id.sigs[1].state, EMBARGO_SIG_VERIFIED);
	CHECK_EQ_INT(id.sigs[1].nesting, 1);
	REQUIRE(id.sigs[1].n_chain >= 1);
	CHECK(cert_is(&id.sigs[1].chain[0], "lookalike", "AO Kaspersky Labs", "Kaspersky Labs"));
	embargo_identity_free(&id);
}

TEST(identify_pe_unverified_without_the_anchor)
{
	struct embargo_identity id = { 0 };

	REQUIRE(mat());
	REQUIRE(identify("signed.exe", NULL, NULL, &id) == 0);
	REQUIRE(id.n_sigs == 1);
	CHECK_EQ_INT(id.sigs[0].state, EMBARGO_SIG_UNVERIFIED);
	CHECK(id.sigs[0].detail && strstr(id.sigs[0].detail, "no trust anchors given"));
	REQUIRE(id.sigs[0].n_chain >= 1);
	CHECK(cert_is(&id.sigs[0].chain[0], "vendor", "AO Kaspersky Lab", "Kaspersky Lab"));
	embargo_identity_free(&id);

	REQUIRE(identify("signed.exe", "other-ca.pem", NULL, &id) == 0);
	REQUIRE(id.n_sigs == 1);
	CHECK_EQ_INT(id.sigs[0].state, EMBARGO_SIG_UNVERIFIED);
	CHECK(id.sigs[0].detail && strstr(id.sigs[0].detail, "chain does not reach a trust anchor: "));
	embargo_identity_free(&id);

	/* A missing anchor file is said so, not taken for "no anchors". */
	REQUIRE(identify("signed.exe", "no-such.pem", NULL, &id) == 0);
	REQUIRE(id.n_sigs == 1);
	CHECK(id.sigs[0].detail && strstr(id.sigs[0].detail, "no-such.pem unusable"));
	embargo_identity_free(&id);
}

TEST(identify_pe_corrupted_signature_never_verified)
{
	struct embargo_identity id = { 0 };
	const char *a[1];
	struct embargo_identify_opts o = { .trust_anchors = a, .n_trust_anchors = 1 };
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, pkcs7_end;
	char anchor[512];

	REQUIRE(mat());
	snprintf(anchor, sizeof(anchor), "%s", path("ca.pem"));
	a[0] = anchor;
	buf = slurp("signed.exe", &len);
	REQUIRE(buf && len > 1024 + 300);
	/*
	 * Flip each signed byte in turn: the content type and SpcIndirectDataContent near the start of the
	 * PKCS#7 (after the 8-byte WIN_CERTIFICATE header at 1024), and the RSA signature value at its
	 * end (the signature algorithm identifier before it is not signed, so not flipped).
	 */
	REQUIRE(buf[1032] == 0x30 && buf[1033] == 0x82); /* SEQUENCE, two length bytes */
	pkcs7_end = 1032 + 4 + (size_t)(buf[1034] << 8 | buf[1035]);
	REQUIRE(pkcs7_end <= len);
	for (size_t off = 1024 + 8 + 43; off < pkcs7_end; off++) {
		if (off == 1024 + 8 + 43 + 120)
			off = pkcs7_end - 256;
		buf[off] ^= 0x5a;
		REQUIRE(embargo_identify_buf(buf, len, &o, &id) == 0);
		for (size_t i = 0; i < id.n_sigs; i++)
			if (id.sigs[i].state == EMBARGO_SIG_VERIFIED)
				test_fail(__FILE__, __LINE__, "flipped byte at %zu still verified", off);
		embargo_identity_free(&id);
		buf[off] ^= 0x5a;
	}
	buf[len - 20] ^= 0xff;
	REQUIRE(embargo_identify_buf(buf, len, &o, &id) == 0);
	REQUIRE(id.n_sigs == 1);
	CHECK(id.sigs[0].state != EMBARGO_SIG_VERIFIED);
	embargo_identity_free(&id);
}

TEST(identify_unsigned_files_have_no_signatures)
{
	struct embargo_identity id = { 0 };

	REQUIRE(mat());
	REQUIRE(identify("unsigned.exe", "ca.pem", NULL, &id) == 0);
	CHECK_EQ_STR(id.format, "pe");
	CHECK_EQ_INT(id.n_sigs, 0);
	embargo_identity_free(&id);
	REQUIRE(identify("unsigned.elf", "ca.pem", NULL, &id) == 0);
	CHECK_EQ_STR(id.format, "elf");
	CHECK(id.build_id && strlen(id.build_id) == 40);
	CHECK_EQ_INT(id.n_sigs, 0);
	embargo_identity_free(&id);
	REQUIRE(identify("mkpe.c", NULL, NULL, &id) == 0);
	CHECK_EQ_STR(id.format, "data");
	embargo_identity_free(&id);
	REQUIRE(embargo_identify_buf((const uint8_t *)"#!/bin/sh\n", 10, NULL, &id) == 0);
	CHECK_EQ_STR(id.format, "script");
	embargo_identity_free(&id);
}

/* Every prefix of a signed file (in steps), in process: nothing crashes, nothing claims verified. */
static void truncations(const char *name)
{
	struct embargo_identity id = { 0 };
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;

	buf = slurp(name, &len);
	REQUIRE(buf);
	for (size_t n = 0; n < len; n += (n < 2048 ? 7 : 61)) {
		REQUIRE(embargo_identify_buf(buf, n, NULL, &id) == 0);
		embargo_identity_free(&id);
	}
}

TEST(identify_truncated_files_do_not_crash)
{
	REQUIRE(mat());
	truncations("nested.exe");
	if (exists("signed.ko"))
		truncations("signed.ko");
}

TEST(identify_module_signer)
{
	struct embargo_identity id = { 0 };

	REQUIRE(mat());
	if (!exists("signed.ko")) {
		fprintf(stderr, "  no kernel module to sign (the VM tests download one): not checked\n");
		return;
	}
	/* sign-file embeds no certificate: the signer is found in the keyring. */
	REQUIRE(identify("signed.ko", "ca.pem", "vendor.pem", &id) == 0);
	CHECK_EQ_STR(id.format, "elf-kmod");
	REQUIRE(id.n_sigs == 1);
	CHECK_EQ_INT(id.sigs[0].kind, EMBARGO_SIG_MODULE);
	CHECK_EQ_INT(id.sigs[0].state, EMBARGO_SIG_VERIFIED);
	REQUIRE(id.sigs[0].n_chain == 1);
	CHECK(cert_is(&id.sigs[0].chain[0], "vendor", "AO Kaspersky Lab", "Kaspersky Lab"));
	embargo_identity_free(&id);

	/* Without it, only the issuer and serial are known. */
	REQUIRE(identify("signed.ko", "ca.pem", NULL, &id) == 0);
	REQUIRE(id.n_sigs == 1);
	CHECK_EQ_INT(id.sigs[0].state, EMBARGO_SIG_UNVERIFIED);
	REQUIRE(id.sigs[0].n_chain == 1);
	CHECK(id.sigs[0].chain[0].subject_o == NULL);
	CHECK_EQ_STR(id.sigs[0].chain[0].issuer_o, "Embargo Test CA");
	CHECK(id.sigs[0].chain[0].serial != NULL);
	embargo_identity_free(&id);

	REQUIRE(identify("unsigned.ko", "ca.pem", NULL, &id) == 0);
	CHECK_EQ_STR(id.format, "elf-kmod");
	CHECK_EQ_INT(id.n_sigs, 0);
	embargo_identity_free(&id);
}

TEST(identify_ima_xattr)
{
	struct embargo_signature sig = { 0 };
	char k[512];
	const char *kr[1] = { k };
	struct embargo_identify_opts o = { .ima_keyring = kr, .n_ima_keyring = 1 };
	_cleanup_free_ uint8_t *x = NULL;
	size_t len = 0;
	char hex[9];

	REQUIRE(mat());
	snprintf(k, sizeof(k), "%s", path("vendor.pem"));
	x = slurp("ima.elf.sig", &len);
	REQUIRE(x && len > 9);
	REQUIRE(embargo_identify_ima_xattr(x, len, &o, &sig) == 0);
	CHECK_EQ_INT(sig.kind, EMBARGO_SIG_IMA);
	CHECK_EQ_INT(sig.state, EMBARGO_SIG_UNVERIFIED);
	CHECK_EQ_STR(sig.digest_algorithm, "sha256");
	CHECK(sig.has_keyid);
	REQUIRE(sig.n_chain == 1);
	CHECK(cert_is(&sig.chain[0], "vendor", "AO Kaspersky Lab", "Kaspersky Lab"));
	embargo_signature_free(&sig);

	REQUIRE(embargo_identify_ima_xattr(x, len, NULL, &sig) == 0);
	CHECK_EQ_INT(sig.state, EMBARGO_SIG_UNVERIFIED);
	hex_encode(x + 3, 4, hex);
	CHECK(sig.detail && strstr(sig.detail, hex));
	CHECK_EQ_INT(sig.n_chain, 0);
	embargo_signature_free(&sig);

	REQUIRE(embargo_identify_ima_xattr(x, len - 1, NULL, &sig) == 0);
	CHECK_EQ_INT(sig.state, EMBARGO_SIG_MALFORMED);
	embargo_signature_free(&sig);
	/* A plain digest (IMA_XATTR_DIGEST_NG) is no signature. */
	x[0] = 0x04;
	CHECK_EQ_INT(embargo_identify_ima_xattr(x, len, NULL, &sig), -ENODATA);
}

TEST(identify_fd_through_the_worker)
{
	struct embargo_identity id = { 0 };
	char a[512];
	const char *anchors[1] = { a };
	struct embargo_identify_opts o = { .trust_anchors = anchors, .n_trust_anchors = 1 };
	int fd;

	REQUIRE(mat());
	snprintf(a, sizeof(a), "%s", path("ca.pem"));
	fd = open(path("nested.exe"), O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK(embargo_identify_fd(fd, &o, &id) == 0);
	close(fd);
	CHECK_EQ_STR(id.format, "pe");
	REQUIRE(id.n_sigs == 2);
	CHECK_EQ_INT(id.sigs[0].state, EMBARGO_SIG_VERIFIED);
	CHECK_EQ_INT(id.sigs[1].nesting, 1);
	REQUIRE(id.sigs[1].n_chain >= 1);
	CHECK(cert_is(&id.sigs[1].chain[0], "lookalike", "AO Kaspersky Labs", "Kaspersky Labs"));
	embargo_identity_free(&id);

	/* Larger than max_bytes: the format, no signature parsing. */
	o.max_bytes = 100;
	fd = open(path("nested.exe"), O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK(embargo_identify_fd(fd, &o, &id) == 0);
	close(fd);
	CHECK_EQ_STR(id.format, "pe");
	CHECK_EQ_INT(id.n_sigs, 0);
	embargo_identity_free(&id);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool cert_eq(const struct embargo_cert *a, const struct embargo_cert *b)
{
	return str_eq(a->subject_cn, b->subject_cn) && str_eq(a->subject_o, b->subject_o) &&
	       str_eq(a->issuer_cn, b->issuer_cn) && str_eq(a->issuer_o, b->issuer_o) &&
	       str_eq(a->serial, b->serial) && memcmp(a->sha256, b->sha256, SHA256_LEN) == 0 &&
	       a->not_before == b->not_before && a->not_after == b->not_after;
}

static char *cert_text(const struct embargo_cert *c, unsigned flags)
{
	struct json_writer w = JSON_WRITER_INIT;
	char *text = NULL;

	embargo_cert_write_json(&w, c, flags);
	return json_writer_finish(&w, &text, NULL) == 0 ? text : NULL;
}

/* text read back: 0 and *c, or the reader's error. */
static int cert_parse(const char *text, struct embargo_cert *c)
{
	_cleanup_(json_value_freep) struct json_value *v = NULL;
	int r = json_parse(text, strlen(text), &v);

	return r < 0 ? r : embargo_cert_read_json(v, c);
}

/* The exact text of both forms, and the raw one read back to what was written. */
TEST(identify_cert_json)
{
	struct embargo_cert c = {
		.subject_cn = (char *)"Kaspersky Lab",
		.subject_o = (char *)"AO \"Kaspersky\" Lab",
		.issuer_cn = (char *)"CA",
		.issuer_o = NULL,
		.serial = (char *)"0a1b",
		.not_before = 1577836800, /* 2020-01-01 */
		.not_after = 0,		  /* one time zero, the other known: validity known */
	};
	struct embargo_cert back = { 0 };
	char *text;

	for (size_t i = 0; i < SHA256_LEN; i++)
		c.sha256[i] = (uint8_t)(0xa0 + i);
	CHECK(embargo_cert_digest_known(&c));
	CHECK(embargo_cert_validity_known(&c));

	text = cert_text(&c, EMBARGO_CERT_JSON_ISO_TIMES);
	CHECK_EQ_STR(text, "{\"subject_o\":\"AO \\\"Kaspersky\\\" Lab\",\"subject_cn\":\"Kaspersky Lab\","
			   "\"issuer_o\":null,\"issuer_cn\":\"CA\",\"serial\":\"0a1b\","
			   "\"sha256\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\","
			   "\"not_before\":\"2020-01-01T00:00:00Z\",\"not_after\":\"1970-01-01T00:00:00Z\"}");
	/* The ISO form is for people: not what the reader takes. */
	CHECK_EQ_INT(cert_parse(text, &back), -EINVAL);
	embargo_cert_free(&back);
	free(text);

	text = cert_text(&c, 0);
	CHECK_EQ_STR(text, "{\"subject_o\":\"AO \\\"Kaspersky\\\" Lab\",\"subject_cn\":\"Kaspersky Lab\","
			   "\"issuer_o\":null,\"issuer_cn\":\"CA\",\"serial\":\"0a1b\","
			   "\"sha256\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\","
			   "\"not_before\":1577836800,\"not_after\":0}");
	CHECK_EQ_INT(text ? cert_parse(text, &back) : -1, 0);
	CHECK(cert_eq(&back, &c));
	embargo_cert_free(&back);
	free(text);

	/* A module signer known by issuer and serial only: digest and validity null in both forms. */
	memset(c.sha256, 0, SHA256_LEN);
	c.not_before = c.not_after = 0;
	CHECK(!embargo_cert_digest_known(&c));
	CHECK(!embargo_cert_validity_known(&c));
	for (unsigned flags = 0; flags <= EMBARGO_CERT_JSON_ISO_TIMES; flags += EMBARGO_CERT_JSON_ISO_TIMES) {
		text = cert_text(&c, flags);
		CHECK(text && strstr(text, "\"sha256\":null,\"not_before\":null,\"not_after\":null}"));
		CHECK_EQ_INT(text ? cert_parse(text, &back) : -1, 0);
		CHECK(cert_eq(&back, &c));
		embargo_cert_free(&back);
		free(text);
	}
}

TEST(identify_cert_json_rejected)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"sha256\":\"00\",\"not_before\":0,\"not_after\":0}",			 /* short digest */
		"{\"sha256\":1,\"not_before\":0,\"not_after\":0}",			 /* not a string */
		"{\"sha256\":null,\"not_after\":0}",					 /* missing time */
		"{\"sha256\":null,\"not_before\":1.5,\"not_after\":0}",			 /* not an integer */
		"{\"sha256\":null,\"not_before\":0,\"not_after\":99999999999999999999}", /* out of range */
		"{\"sha256\":null,\"not_before\":0,\"not_after\":0,\"serial\":7}",	 /* not a string */
	};
	struct embargo_cert c = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (cert_parse(bad[i], &c) != -EINVAL)
			test_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
		embargo_cert_free(&c);
	}
	CHECK_EQ_INT(cert_parse("{\"sha256\":null,\"not_before\":-5,\"not_after\":7}", &c), 0);
	CHECK_EQ_INT(c.not_before, -5);
	CHECK_EQ_INT(c.not_after, 7);
	CHECK(c.subject_cn == NULL && c.serial == NULL);
	embargo_cert_free(&c);
}

/* The worker's reply carries every certificate field, known or not, as the parsers filled it. */
TEST(identify_worker_reply_matches_in_process)
{
	static const struct {
		const char *file, *keyring;
	} cases[] = { { "nested.exe", NULL }, { "signed.ko", "vendor.pem" }, { "signed.ko", NULL } };

	REQUIRE(mat());
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct embargo_identity in = { 0 }, out = { 0 };
		char a[512], k[512];
		const char *anchors[1] = { a }, *keyring[1] = { k };
		struct embargo_identify_opts o = { .trust_anchors = anchors, .n_trust_anchors = 1 };
		int fd;

		if (!exists(cases[i].file))
			continue; /* no kernel module to sign: said by identify_module_signer */
		snprintf(a, sizeof(a), "%s", path("ca.pem"));
		if (cases[i].keyring) {
			snprintf(k, sizeof(k), "%s", path(cases[i].keyring));
			o.ima_keyring = keyring;
			o.n_ima_keyring = 1;
		}
		REQUIRE(identify(cases[i].file, "ca.pem", cases[i].keyring, &in) == 0);
		fd = open(path(cases[i].file), O_RDONLY | O_CLOEXEC);
		REQUIRE(fd >= 0);
		CHECK(embargo_identify_fd(fd, &o, &out) == 0);
		close(fd);
		REQUIRE(in.n_sigs > 0);
		REQUIRE(out.n_sigs == in.n_sigs);
		for (size_t s = 0; s < in.n_sigs; s++) {
			REQUIRE(out.sigs[s].n_chain == in.sigs[s].n_chain);
			for (size_t c = 0; c < in.sigs[s].n_chain; c++)
				if (!cert_eq(&out.sigs[s].chain[c], &in.sigs[s].chain[c]))
					test_fail(__FILE__, __LINE__,
						  "%s: signature %zu certificate %zu differs", cases[i].file,
						  s, c);
		}
		if (!cases[i].keyring && strcmp(cases[i].file, "signed.ko") == 0) {
			CHECK(!embargo_cert_digest_known(&out.sigs[0].chain[0]));
			CHECK(!embargo_cert_validity_known(&out.sigs[0].chain[0]));
		}
		embargo_identity_free(&in);
		embargo_identity_free(&out);
	}
}
