/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every signature an untrusted file carries, extracted in a confined worker process: Authenticode (PE/COFF
 * attribute certificate table, nested signatures included), Linux module appended signatures, IMA
 * signatures (security.ima v2). Also the file's format and ELF build id.
 *
 * The parsers read attacker-controlled bytes with OpenSSL and libelf, so embargo_identify_fd() runs them
 * in a child process that is resource-limited and under a seccomp allow-list (read/write, memory, exit):
 * a parser bug costs the child, never the caller.
 *
 * What "verified" covers (EMBARGO_SIG_VERIFIED):
 *  - Authenticode: the PKCS#7 SignedData signature verifies over its signed attributes, whose
 *    messageDigest matches the SpcIndirectDataContent it carries, AND the signer's chain (the
 *    certificates in the signature as untrusted intermediates) reaches one of the trust anchors
 *    (X509_verify_cert, any purpose, at the current time). The PE image digest inside
 *    SpcIndirectDataContent is NOT recomputed: a verified Authenticode signature proves who signed some
 *    image, not that this image is unmodified (the file's own SHA-256 is what the deny list matches).
 *  - Module: the PKCS#7 signature verifies over the module bytes before it, and the signer's certificate
 *    (found among the trust anchors and keyring, since sign-file embeds none) reaches a trust anchor.
 *  - IMA: the v2 signature verifies over the file's digest (hash_algo of the header) with the keyring
 *    certificate whose SKID ends in keyid, and that certificate reaches a trust anchor. Without the file
 *    content (embargo_identify_ima_xattr) it is never more than unverified.
 */
#ifndef EMBARGO_IDENTIFY_H
#define EMBARGO_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define EMBARGO_IDENTIFY_TIMEOUT_MS 5000
#define EMBARGO_IDENTIFY_MAX_BYTES (256ULL << 20)

struct embargo_identify_opts {
	const char *const *trust_anchors; /* PEM/DER CA files: signatures verify to these */
	size_t n_trust_anchors;
	const char *const *ima_keyring; /* certs to map IMA key ids (and module signers) to */
	size_t n_ima_keyring;
	unsigned timeout_ms; /* the worker is killed after this (0: EMBARGO_IDENTIFY_TIMEOUT_MS) */
	uint64_t max_bytes;  /* larger files are not parsed for signatures (0: EMBARGO_IDENTIFY_MAX_BYTES) */
};

/*
 * Parses fd (a regular file, read from offset 0 with pread) in a confined child process; fills id->format,
 * id->build_id and id->sigs (appended to what id holds). Never crashes or stalls the caller: a parser
 * crash, a timeout or garbage yields a MALFORMED entry or none, and 0. -errno only for the caller's own
 * failures (fork, pipe, memory). o may be NULL.
 */
int embargo_identify_fd(int fd, const struct embargo_identify_opts *o, struct embargo_identity *id);
/*
 * Whether fd can carry a signature the parsers read: a security.ima value, a PE ("MZ") header, a module
 * signature trailer. A cheap test (three system calls, no fork) that is never false for a file in which
 * embargo_identify_fd() would find a signature. 1, 0, or -errno.
 */
int embargo_identify_may_have_signatures(int fd);
/* The same parsers in-process, for the fuzzers and the worker itself. */
int embargo_identify_buf(const uint8_t *buf, size_t len, const struct embargo_identify_opts *o,
			 struct embargo_identity *id);
/* A security.ima value: *sig filled (IMA digital signature v2, or MALFORMED), or -ENODATA when the value
 * is not a signature (a plain digest). Never verified: the file content is not at hand. */
int embargo_identify_ima_xattr(const uint8_t *xattr, size_t len, const struct embargo_identify_opts *o,
			       struct embargo_signature *sig);

/* ---- a certificate in JSON (ident-json.c) ---- */

struct json_writer;
struct json_value;

/* Known validity times as ISO 8601 UTC strings ("2026-01-31T23:59:59Z") rather than epoch seconds. */
#define EMBARGO_CERT_JSON_ISO_TIMES 0x1u

/*
 * A module signer that sign-file did not embed and that no trust anchor or keyring holds is known by its
 * issuer and serial only: its digest and validity are then zero, which means not known.
 */
bool embargo_cert_digest_known(const struct embargo_cert *c);
bool embargo_cert_validity_known(const struct embargo_cert *c);
/*
 * c as an object: subject_o, subject_cn, issuer_o, issuer_cn, serial, sha256 (hex), not_before, not_after;
 * null for a missing name, an unknown digest and an unknown validity. Errors are the writer's (sticky).
 */
void embargo_cert_write_json(struct json_writer *w, const struct embargo_cert *c, unsigned flags);
/*
 * The object embargo_cert_write_json() writes without EMBARGO_CERT_JSON_ISO_TIMES, into *c (zeroed first;
 * on failure what was filled is the caller's to free with embargo_cert_free()): -EINVAL when it is not one.
 */
int embargo_cert_read_json(const struct json_value *v, struct embargo_cert *c);

/* ---- internal: shared by identify.c and the ident-*.c parsers ---- */

struct x509_store_st;
struct stack_st_X509;
struct x509_st;

struct ident_ctx {
	struct x509_store_st *store; /* trust anchors; NULL when none were given */
	struct stack_st_X509 *known; /* trust anchors and keyring: where a signer named by issuer is found */
	struct stack_st_X509 *keyring;
	char *load_error; /* a trust anchor or keyring file that could not be read, for the details */
};

int ident_ctx_init(struct ident_ctx *c, const struct embargo_identify_opts *o);
void ident_ctx_done(struct ident_ctx *c);

/* Parses buf (mutable: libelf may convert in place) with the optional security.ima value. */
int ident_parse(const struct ident_ctx *c, uint8_t *buf, size_t len, const uint8_t *ima, size_t ima_len,
		struct embargo_identity *id);

/* Appends *sig to id (moved: *sig is zeroed). */
int ident_add_sig(struct embargo_identity *id, struct embargo_signature *sig);
/* Appends a MALFORMED entry with a detail. */
int ident_add_malformed(struct embargo_identity *id, uint8_t kind, unsigned nesting, const char *detail);
/*
 * A PKCS#7 SignedData in DER: appends one entry per signature (nested Authenticode ones too).
 * content: the detached content (module), or NULL for an embedded one (Authenticode).
 */
int ident_pkcs7(const struct ident_ctx *c, uint8_t kind, const uint8_t *der, size_t len,
		const uint8_t *content, size_t content_len, unsigned nesting, struct embargo_identity *id);

/* Appends x's names, serial and digest to s->chain. */
int ident_chain_push(struct embargo_signature *s, struct x509_st *x);
/*
 * Sets s->state and s->detail: VERIFIED when sig_ok and signer's chain (untrusted: intermediates, may be
 * NULL) reaches a trust anchor; UNVERIFIED with why otherwise (sig_error: why the signature failed).
 */
int ident_chain_verdict(const struct ident_ctx *c, struct x509_st *signer, struct stack_st_X509 *untrusted,
			bool sig_ok, const char *sig_error, struct embargo_signature *s);

/* Format detection and ELF build id (ident-elf.c): sets id->format, id->build_id. */
int ident_elf_format(uint8_t *buf, size_t len, struct embargo_identity *id);
/* Each parser appends what it finds; 0 or -ENOMEM. */
int ident_pe(const struct ident_ctx *c, const uint8_t *buf, size_t len, struct embargo_identity *id);
int ident_kmod(const struct ident_ctx *c, const uint8_t *buf, size_t len, struct embargo_identity *id);
/* content NULL: the signature cannot be checked. -ENODATA: not a digital signature. */
int ident_ima(const struct ident_ctx *c, const uint8_t *xattr, size_t len, const uint8_t *content,
	      size_t content_len, struct embargo_signature *sig);
/* What ends a signed kernel module (the kernel's include/linux/module_signature.h). */
#define MODULE_SIG_STRING "~Module signature appended~\n"
/* Whether buf ends in a module signature trailer. */
int ident_kmod_has_trailer(const uint8_t *buf, size_t len);

#endif
