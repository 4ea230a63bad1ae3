/* SPDX-License-Identifier: GPL-2.0 */
/* tier.c: the enforcement tier, chosen by trying the best one first, on the kernel layer of bpf.c. */
#ifndef EMBARGOD_TIER_H
#define EMBARGOD_TIER_H

#include <stddef.h>
#include <stdint.h>

struct daemon;
struct embargo_policy;

/* The best tier that works, loaded and attached (the fanotify tier's reader started). */
int tier_start(struct daemon *d);
void tier_stop(struct daemon *d);
/* Release a previous run's programs kept attached while ours warmed up (after the start-up scan). */
void tier_complete_takeover(struct daemon *d);
/* The global mode, for the kernel programs and self-protection too. */
void tier_set_mode(struct daemon *d, uint8_t mode);
/* Empty the digest set of generation gen (not the one in force) and fill it with p's digests. */
int tier_prepare_gen(struct daemon *d, const struct embargo_policy *p, uint32_t gen, char *why,
		     size_t whysize);

#endif
