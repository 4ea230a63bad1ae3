/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which rule of a policy identifies a file, given what is known about it (identity.h): its digest, its
 * signatures, the packages that own it, its path. docs/policy.md ("How a file is matched") is the
 * user-facing definition of the order and of what each kind of rule looks at.
 */
#ifndef EMBARGO_MATCH_H
#define EMBARGO_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "identity.h"
#include "policy.h"

/* A digest rule; the other kinds are those of enum embargo_ident_kind. */
#define EMBARGO_MATCH_DIGEST 0

struct embargo_match {
	uint8_t kind;	/* EMBARGO_MATCH_DIGEST or enum embargo_ident_kind */
	bool component; /* a digest rule written `component sha256` */
	uint32_t vendor;
	const struct embargo_rule *rule;	/* the digest rule, or NULL */
	const struct embargo_ident_rule *ident; /* the identity rule, or NULL */
	char location[4200];			/* "file:line" of the rule */
	bool sig_verified; /* a signer rule: the signature that matched is VERIFIED (not only well-formed) */
	/* For people: e.g. "signed by O=AO Kaspersky Lab (authenticode, unverified)". */
	char why[512];
};

/*
 * The first rule that identifies the file, in this order: digest rules, then signer-cert, signer-org and
 * signer-cn, package, package-maintainer, path; within a kind, in the order of the policy.
 * Returns 1 with *m filled, 0 when nothing matches, or -errno (-EINVAL for a NULL argument, -ENOMEM,
 * never -ENOENT: without the C.UTF-8 locale's data only ASCII letters fold).
 */
int embargo_policy_match(const struct embargo_policy *p, const struct embargo_identity *id,
			 struct embargo_match *m);

/*
 * The same, skipping the signer rules (signer-cert, signer-org, signer-cn) with EMBARGO_MATCH_SKIP_SIGNERS:
 * for a caller that knows, from an earlier match of the same content under the same signer rules, that none
 * of them matches (verdict.c). Skipping what cannot match changes nothing else of the order.
 */
#define EMBARGO_MATCH_SKIP_SIGNERS 0x1u
int embargo_policy_match_ex(const struct embargo_policy *p, const struct embargo_identity *id, unsigned skip,
			    struct embargo_match *m);

/* One identity rule against id, with m->why set on a match: 1, 0 or -errno. m's other fields are untouched.
 */
int embargo_ident_rule_match(const struct embargo_ident_rule *r, const struct embargo_identity *id,
			     struct embargo_match *m);

#endif
