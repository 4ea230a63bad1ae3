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

int ident_start(struct daemon *d);
void ident_stop(struct daemon *d);
/* A digest learned from an identity rule. */
bool ident_learned(const struct daemon *d, const uint8_t sha256[32], struct embargo_rule_ref *ref);
/* The decision core over the policy in force (NULL before ident_start()). */
const struct embargo_decider *ident_decider(const struct daemon *d);
/* Learns the digest of a file an identity rule matched (m from the decision core), and says so. */
bool ident_learn(struct daemon *d, const struct embargo_match *m, const uint8_t sha256[32], const char *path);
/* The file (fd may be -1, path may be NULL) matches an identity rule: its digest is learned, *ident set. */
bool ident_check(struct daemon *d, int fd, const char *path, const uint8_t sha256[32], uint32_t *ident);

#endif
