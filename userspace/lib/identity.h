/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What embargo can learn about a file beyond its digest: who signed it (Authenticode, kernel module
 * signatures, IMA), which package owns it, what it is. One definition shared by the parsers (which run
 * in a confined worker process: see identify.h), the policy matcher and the CLI.
 * Every string is owned by the structure; free with embargo_identity_free().
 */
#ifndef EMBARGO_IDENTITY_H
#define EMBARGO_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* One certificate of a chain. */
struct embargo_cert {
	char *subject_cn; /* NULL when absent */
	char *subject_o;
	char *issuer_cn;
	char *issuer_o;
	char *serial;		    /* hex */
	uint8_t sha256[SHA256_LEN]; /* of the DER encoding: what `signer-cert` names */
	int64_t not_before;	    /* seconds since the epoch */
	int64_t not_after;
};

enum embargo_sig_kind {
	EMBARGO_SIG_AUTHENTICODE = 1, /* PE/COFF attribute certificate table (PKCS#7 SignedData) */
	EMBARGO_SIG_MODULE, /* Linux kernel module: appended PKCS#7, "~Module signature appended~" */
	EMBARGO_SIG_IMA,    /* security.ima digital signature v2 */
};

enum embargo_sig_state {
	EMBARGO_SIG_VERIFIED = 1, /* the signature verifies and its chain reaches a trust anchor given */
	EMBARGO_SIG_UNVERIFIED,	  /* well-formed, names a signer, but not verified (why in .detail) */
	EMBARGO_SIG_MALFORMED,	  /* present but not parseable (why in .detail); no signer */
};

struct embargo_signature {
	uint8_t kind;		/* enum embargo_sig_kind */
	uint8_t state;		/* enum embargo_sig_state */
	char *detail;		/* why unverified or malformed; NULL when verified */
	unsigned nesting;	/* Authenticode: 0 for a top-level signature, 1.. for nested ones */
	char *digest_algorithm; /* "sha256", ... as the signature declares it */
	/* The certificates the signature carries, the signer's first when it can be told apart. */
	struct embargo_cert *chain;
	size_t n_chain;
	/* IMA v2: the key id (last 4 bytes of the key's SKID), to map to a certificate from a keyring. */
	bool has_keyid;
	uint8_t keyid[4];
};

struct embargo_package {
	char *manager; /* "dpkg" or "rpm" */
	char *name;
	char *version;
	char *maintainer;  /* dpkg Maintainer:, rpm Packager: */
	char *vendor;	   /* rpm Vendor:, dpkg Origin:/Vendor: when recorded; NULL otherwise */
	char *signing_key; /* rpm signature key id when recorded; NULL otherwise */
};

struct embargo_identity {
	char *path;
	uint8_t sha256[SHA256_LEN];
	uint64_t size;
	char *format;	/* "elf", "elf-kmod", "pe", "script", "data" */
	char *build_id; /* ELF NT_GNU_BUILD_ID in hex, or NULL */
	struct embargo_signature *sigs;
	size_t n_sigs;
	struct embargo_package *pkgs;
	size_t n_pkgs;
};

void embargo_cert_free(struct embargo_cert *c);
void embargo_signature_free(struct embargo_signature *s);
void embargo_package_free(struct embargo_package *p);
void embargo_identity_free(struct embargo_identity *id);

const char *embargo_sig_kind_name(uint8_t kind);
const char *embargo_sig_state_name(uint8_t state);

#endif
