/* SPDX-License-Identifier: GPL-2.0 */
/* identity.c: identity rules (signers, packages, paths) and the digests they teach. */
#ifndef EMBARGOD_IDENT_H
#define EMBARGOD_IDENT_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct embargo_decider;
struct embargo_match;
struct embargo_rule_ref;
struct embargo_inode_key;
struct embargo_policy;
struct ident;
struct json_writer;

int ident_start(struct daemon *d);
void ident_stop(struct daemon *d);
/*
 * A reload: ident_detach() before the policy is swapped, ident_restart() after, with the previous policy:
 * the learned digests are carried over (to the same rule in the new policy) instead of dropped.
 */
struct ident *ident_detach(struct daemon *d);
/*
 * The slow half of a reload's identity state, off the event loop: the decision core over p (it reads the
 * dpkg database and the trust anchors). Given to ident_restart(), or released with ident_discard().
 */
int ident_prepare(const struct daemon *d, const struct embargo_policy *p, struct ident **ret);
void ident_discard(struct ident *x);
/* prepared: from ident_prepare() for the new policy (taken), or NULL to build it here. */
int ident_restart(struct daemon *d, struct ident *old, const struct embargo_policy *old_policy,
		  struct ident *prepared);
/* A digest learned from an identity rule. */
bool ident_learned(const struct daemon *d, const uint8_t sha256[32], struct embargo_rule_ref *ref);
/* The decision core over the policy in force (NULL before ident_start()). */
const struct embargo_decider *ident_decider(const struct daemon *d);
/*
 * Learns the digest of a file an identity rule matched (m from the decision core), and says so; or says
 * why not (docs/threat-model.md): path is opened again and must still have that digest.
 */
bool ident_learn(struct daemon *d, const struct embargo_match *m, const uint8_t sha256[32], const char *path);
/*
 * The file matches an identity rule: *ident set, and its digest is learned when that is safe. fd: the very
 * file whose digest sha256 is (-1: none at hand); path: its name in the initial mount namespace, NULL when
 * that is not known (then no path or package rule can match).
 */
bool ident_check(struct daemon *d, int fd, const char *path, const uint8_t sha256[32], uint32_t *ident);
/* Whether a path or package rule would match the file at path (nothing is learned). */
bool ident_name_match(struct daemon *d, int fd, const char *path, const uint8_t sha256[32]);
/* What the never-deny list calls the content with this digest ("the C library", "embargod"), or NULL. */
const char *ident_never_denied(const struct daemon *d, const uint8_t sha256[32]);
/* A MATCH verdict for key was cached because of the learned digest sha256: forget drops it too. */
void ident_note_verdict(struct daemon *d, const uint8_t sha256[32], const struct embargo_inode_key *key);
/* embargoctl learned forget: out of memory, the kernel's deny map, the state file, its cached verdicts. */
int ident_forget(struct daemon *d, const uint8_t sha256[32]);
/* "learned": count, max, refusals, for status. */
void ident_status_json(const struct daemon *d, struct json_writer *w);
/* embargoctl learned list: {"max":N,"learned":[{sha256, rule, vendor, path, learned_at}]}. */
int ident_list_json(const struct daemon *d, char **ret);

#endif
