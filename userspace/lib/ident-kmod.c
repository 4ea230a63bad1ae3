// SPDX-License-Identifier: GPL-2.0
/*
 * Linux kernel module appended signature (scripts/sign-file): the module, the PKCS#7 DER, a
 * struct module_signature, then the trailer "~Module signature appended~\n".
 */
#include "identify.h"

#include <string.h>

#define PKEY_ID_PKCS7 2

/* As in the kernel's include/linux/module_signature.h. */
struct module_signature {
	uint8_t algo;	    /* public-key crypto algorithm [0] */
	uint8_t hash;	    /* digest algorithm [0] */
	uint8_t id_type;    /* key identifier type [PKEY_ID_PKCS7] */
	uint8_t signer_len; /* length of signer's name [0] */
	uint8_t key_id_len; /* length of key identifier [0] */
	uint8_t pad[3];
	uint8_t sig_len[4]; /* length of signature data, big endian */
};
_Static_assert(sizeof(struct module_signature) == 12, "struct module_signature is 12 bytes");

int ident_kmod_has_trailer(const uint8_t *buf, size_t len)
{
	const size_t tl = sizeof(MODULE_SIG_STRING) - 1;

	return len >= tl && memcmp(buf + len - tl, MODULE_SIG_STRING, tl) == 0;
}

int ident_kmod(const struct ident_ctx *c, const uint8_t *buf, size_t len, struct embargo_identity *id)
{
	const size_t tl = sizeof(MODULE_SIG_STRING) - 1;
	struct module_signature ms;
	size_t body, sig_len;

	if (!ident_kmod_has_trailer(buf, len))
		return 0;
	if (len - tl < sizeof(ms))
		return ident_add_malformed(id, EMBARGO_SIG_MODULE, 0,
					   "module signature trailer without a header");
	body = len - tl - sizeof(ms);
	memcpy(&ms, buf + body, sizeof(ms));
	sig_len = (size_t)ms.sig_len[0] << 24 | (size_t)ms.sig_len[1] << 16 | (size_t)ms.sig_len[2] << 8 |
		  ms.sig_len[3];
	if (ms.id_type != PKEY_ID_PKCS7)
		return ident_add_malformed(id, EMBARGO_SIG_MODULE, 0, "module signature is not PKCS#7");
	/* The kernel insists on these being zero for PKCS#7: the signer is in the PKCS#7 itself. */
	if (ms.algo || ms.hash || ms.signer_len || ms.key_id_len)
		return ident_add_malformed(id, EMBARGO_SIG_MODULE, 0,
					   "module signature header has stray fields");
	if (sig_len == 0 || sig_len > body)
		return ident_add_malformed(id, EMBARGO_SIG_MODULE, 0,
					   "module signature length out of bounds");
	body -= sig_len;
	return ident_pkcs7(c, EMBARGO_SIG_MODULE, buf + body, sig_len, buf, body, 0, id);
}
