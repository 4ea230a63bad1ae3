// SPDX-License-Identifier: GPL-2.0
/*
 * security.ima digital signatures, version 2 (evmctl ima_sign): a header naming the hash algorithm and the
 * signing key's id (the last 4 bytes of its Subject Key Identifier), then the raw signature over the
 * file's digest. The key id is mapped to a certificate from the keyring given.
 */
#include "identify.h"
#include "util.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define EVM_IMA_XATTR_DIGSIG 0x03
#define DIGSIG_VERSION_2 2
/* type, version, hash_algo, keyid (be32), sig_size (be16) */
#define SIG_V2_HDR 9

/* The kernel's enum hash_algo (include/uapi/linux/hash_info.h), as far as OpenSSL knows the digests. */
static const char *const hash_algos[] = {
	[1] = "md5",	[2] = "sha1",	[3] = "ripemd160", [4] = "sha256",	 [5] = "sha384",
	[6] = "sha512", [7] = "sha224", [17] = "sm3",	   [18] = "streebog256", [19] = "streebog512",
};

static X509 *keyring_cert(const struct ident_ctx *c, const uint8_t keyid[4])
{
	for (int i = 0; i < sk_X509_num(c->keyring); i++) {
		X509 *x = sk_X509_value(c->keyring, i);
		const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(x);

		if (skid && skid->length >= 4 && memcmp(skid->data + skid->length - 4, keyid, 4) == 0)
			return x;
	}
	ERR_clear_error();
	return NULL;
}

/* Whether sig is key's signature of content's digest; why not in err. */
static bool sig_ok(X509 *x, const char *algo, const uint8_t *sig, size_t sig_len, const uint8_t *content,
		   size_t content_len, char *err, size_t errlen)
{
	const EVP_MD *md = EVP_get_digestbyname(algo);
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *key;
	bool ok = false;

	if (!md) {
		snprintf(err, errlen, "digest %s not available", algo);
		return false;
	}
	key = X509_get0_pubkey(x);
	if (!key || !EVP_Digest(content, content_len, digest, &dlen, md, NULL)) {
		snprintf(err, errlen, "no public key");
		goto out;
	}
	pctx = EVP_PKEY_CTX_new(key, NULL);
	if (!pctx || EVP_PKEY_verify_init(pctx) <= 0 || EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0) {
		snprintf(err, errlen, "key type not supported");
		goto out;
	}
	ok = EVP_PKEY_verify(pctx, sig, sig_len, digest, dlen) == 1;
	if (!ok)
		snprintf(err, errlen, "bad signature");
out:
	EVP_PKEY_CTX_free(pctx);
	ERR_clear_error();
	return ok;
}

/* Ends the entry with a state and a detail; frees it when out of memory. */
static int finish(struct embargo_signature *sig, uint8_t state, const char *detail)
{
	sig->state = state;
	sig->detail = strdup(detail);
	if (sig->detail)
		return 0;
	embargo_signature_free(sig);
	return -ENOMEM;
}

int ident_ima(const struct ident_ctx *c, const uint8_t *xattr, size_t len, const uint8_t *content,
	      size_t content_len, struct embargo_signature *sig)
{
	const char *algo = NULL;
	char err[128] = "", hex[9];
	size_t sig_size;
	bool ok;
	X509 *x;
	int r;

	*sig = (struct embargo_signature){ .kind = EMBARGO_SIG_IMA, .state = EMBARGO_SIG_MALFORMED };
	if (len < 1 || xattr[0] != EVM_IMA_XATTR_DIGSIG)
		return -ENODATA;
	if (len < SIG_V2_HDR)
		return finish(sig, EMBARGO_SIG_MALFORMED, "IMA signature shorter than its header");
	if (xattr[1] != DIGSIG_VERSION_2)
		return finish(sig, EMBARGO_SIG_MALFORMED, "IMA signature version not supported (only 2)");
	sig_size = (size_t)xattr[7] << 8 | xattr[8];
	if (sig_size == 0 || sig_size != len - SIG_V2_HDR)
		return finish(sig, EMBARGO_SIG_MALFORMED, "IMA signature size does not match the attribute");
	if (xattr[2] < ARRAY_SIZE(hash_algos))
		algo = hash_algos[xattr[2]];
	if (!algo)
		return finish(sig, EMBARGO_SIG_MALFORMED, "IMA signature hash algorithm unknown");
	sig->digest_algorithm = strdup(algo);
	if (!sig->digest_algorithm) {
		embargo_signature_free(sig);
		return -ENOMEM;
	}
	memcpy(sig->keyid, xattr + 3, 4);
	sig->has_keyid = true;

	x = keyring_cert(c, sig->keyid);
	if (!x) {
		hex_encode(sig->keyid, 4, hex);
		snprintf(err, sizeof(err), "no keyring certificate with key id %s", hex);
		return finish(sig, EMBARGO_SIG_UNVERIFIED, err);
	}
	r = ident_chain_push(sig, x);
	if (r < 0) {
		embargo_signature_free(sig);
		return r;
	}
	if (!content)
		return finish(sig, EMBARGO_SIG_UNVERIFIED, "file content not at hand: signature not checked");
	ok = sig_ok(x, algo, xattr + SIG_V2_HDR, sig_size, content, content_len, err, sizeof(err));
	r = ident_chain_verdict(c, x, NULL, ok, err, sig);
	if (r < 0)
		embargo_signature_free(sig);
	return r;
}
