/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one decision core: is this file the prohibited vendor's, by which rule, and why.
 *
 * Every consumer decides through embargo_decide(): `embargoctl inspect` and `scan` (files and running
 * processes), embargod's start-up scan, its event path (files the kernel could not judge, and files whose
 * identity rules only userspace can check) and the fanotify tier. The order of the rules and what each kind
 * looks at is embargo_policy_match()'s (match.h, docs/policy.md "How a file is matched"); this module
 * gathers what the matcher needs, the dear parts (signatures, read in a confined worker; package
 * ownership) only when a rule of the policy can use them.
 *
 * A decider is built once per policy and is read-only afterwards: any number of threads may decide with
 * it at once.
 */
#ifndef EMBARGO_VERDICT_H
#define EMBARGO_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embargo.h"
#include "identify.h"
#include "identity.h"
#include "match.h"
#include "policy.h"

struct embargo_decider_opts {
	const char *const *ima_keyring; /* certificates IMA key ids and module signers are found in */
	size_t n_ima_keyring;
	const char *dpkg_admindir; /* NULL: /var/lib/dpkg (skipped when there is none) */
	const char *rpm;	   /* the rpm program; NULL: "rpm" from PATH (skipped when there is none) */
	bool no_dpkg, no_rpm;
	bool all_facts; /* the decider is used with EMBARGO_DECIDE_ALL: read the package index whatever the
			   rules */
	unsigned identify_timeout_ms; /* 0: EMBARGO_IDENTIFY_TIMEOUT_MS */
};

struct embargo_decider;

/*
 * A decider for p (which must outlive it). It reads the dpkg database once (an index) when a package
 * rule, or EMBARGO_DECIDE_ALL, can use it. 0, or -errno: -ENOMEM, or the dpkg database named by
 * o->dpkg_admindir cannot be read (an absent default database is not an error). o may be NULL.
 */
int embargo_decider_new(const struct embargo_policy *p, const struct embargo_decider_opts *o,
			struct embargo_decider **ret);
void embargo_decider_free(struct embargo_decider *d);
static inline void embargo_decider_freep(struct embargo_decider **d)
{
	embargo_decider_free(*d);
}

/* Whether any rule of the policy looks beyond the digest (signer, package or path rules). */
bool embargo_decider_has_identity_rules(const struct embargo_decider *d);
/* Whether signer rules exist: only then can a file's signatures change its verdict. */
bool embargo_decider_reads_signatures(const struct embargo_decider *d);
/*
 * The SHA-256 of everything the signer rules' verdict depends on besides the file: the signer rules,
 * the trust anchors' and keyring's contents. A remembered "no signer rule matches" (sigs_clean) is valid
 * only under the same key.
 */
const uint8_t *embargo_decider_signer_key(const struct embargo_decider *d);

/* The file to decide. */
struct embargo_subject {
	int fd;		  /* open on the very file: its signatures are read from it; -1: none at hand */
	const char *path; /* its canonical path (path and package rules); NULL: not known */
	uint8_t sha256[SHA256_LEN];
	uint64_t size;
	/*
	 * Known from an earlier decision on this same content (the scan cache): it carries no signature
	 * (unsigned), or no signer rule under the same signer key matched it (sigs_clean).
	 */
	bool unsigned_known, sigs_clean;
};

/* Read every signature and package, needed by a rule or not: what inspect shows. */
#define EMBARGO_DECIDE_ALL 0x1u

struct embargo_decision {
	bool match;
	struct embargo_match m; /* when match: the rule, its location and why */
	/* For a cache of the content's facts (both false when not known): */
	bool unsigned_content; /* the file can carry no signature of any kind embargo reads */
	bool sigs_clean;       /* signer rules were checked and none matched (or there are none) */
	/* What could not be had, the verdict being made without it (0 when all was read): */
	int sig_error; /* -errno: the signatures could not be read */
	int pkg_error; /* -errno: the package databases could not be asked */
};

/*
 * Decides s. id, when not NULL, receives everything learned about the file (the caller frees it with
 * embargo_identity_free(); with EMBARGO_DECIDE_ALL it is complete, otherwise it holds only what the
 * rules needed). 0 with *out filled, or -errno (-EINVAL, -ENOMEM; the matcher's errors). A signature or
 * package database that cannot be read is not an error: the decision is made without it and *out says so.
 */
int embargo_decide(const struct embargo_decider *d, const struct embargo_subject *s, unsigned flags,
		   struct embargo_identity *id, struct embargo_decision *out);

/* ---- rule ids: how the kernel and the journal name a rule of a policy ---- */

/* The kernel's reference to a match's rule (digest rules by index; identity rules with EMBARGO_RULE_IDENT).
 */
void embargo_match_rule_ref(const struct embargo_policy *p, const struct embargo_match *m,
			    struct embargo_rule_ref *ref);
/* The vendor index of a rule id, or -ENOENT when p has no such rule. */
int embargo_rule_id_vendor(const struct embargo_policy *p, uint32_t rule_id, uint32_t *vendor);
/* "file:line" of a rule id, "?" when p has no such rule; returns buf. */
const char *embargo_rule_id_location(const struct embargo_policy *p, uint32_t rule_id, char *buf,
				     size_t size);
/* The identity rule named by a rule id with EMBARGO_RULE_IDENT, or NULL. */
const struct embargo_ident_rule *embargo_rule_id_ident(const struct embargo_policy *p, uint32_t rule_id);
/* The digest rule named by a rule id, or NULL. */
const struct embargo_rule *embargo_rule_id_digest(const struct embargo_policy *p, uint32_t rule_id);

/* "sha256", "component", "signer-org", ...: the kind of rule a match is by. */
const char *embargo_match_kind_name(const struct embargo_match *m);

#endif
