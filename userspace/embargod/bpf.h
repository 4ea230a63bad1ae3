/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel layer: embargo.bpf.c's programs opened, loaded, attached and pinned, and their maps, behind
 * one opaque struct bpf_state. It decides nothing: which tier, with which options, and what to do when
 * one fails is tier.c's business, what the maps hold that of the modules using them.
 */
#ifndef EMBARGOD_BPF_H
#define EMBARGOD_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "embargo.h"
#include "interp.h"
#include "policy.h"

/* embargo's directory in bpffs. */
#define EMBARGO_BPFFS "/sys/fs/bpf"
#define EMBARGO_PIN_DIR EMBARGO_BPFFS "/embargo"

struct bpf_object;
struct bpf_state;

/* The kernel's dev_t encoding of st_dev (MAJOR << 20 | MINOR): how the programs key their maps. */
static inline uint64_t kernel_dev(dev_t dev)
{
	return ((uint64_t)major(dev) << 20) | minor(dev);
}

extern bool bpf_verbose; /* libbpf's and the verifier's messages to stderr */
/* Route libbpf's messages through us (kept for the reasons a load failed): before any load. */
void bpf_setup_logging(void);

struct bpf_options {
	uint8_t tier;		/* enum embargo_tier: which programs load */
	bool d_path;		/* the LSM programs may call bpf_d_path (5.11 and later) */
	bool prealloc;		/* the digest sets are preallocated (sleepable programs before 6.1) */
	size_t digest_capacity; /* entries each digest set holds */
	uint8_t mode;
	uint32_t gen;
	bool classify_misses;
	bool deny_init_module;
	uint64_t max_hash_size; /* bytes: larger files are not hashed in the kernel (refused in enforce) */
	bool deny_remote;	/* lsm tier, enforce mode: files on remote file systems are refused */
};

/* Open and load (not attach) the programs of o->tier: 0 with *ret set, or -errno with why filled. */
int bpf_load(const struct bpf_options *o, struct bpf_state **ret, char *why, size_t whysize);
/* Whether tier's programs would load here: loaded and destroyed at once; why filled on failure. */
int bpf_probe_load(uint8_t tier, char *why, size_t whysize);
int bpf_attach(struct bpf_state *b, char *why, size_t whysize);
/* Pinned links stay attached when their descriptors close. NULL is a no-op. */
void bpf_destroy(struct bpf_state *b);

/*
 * Enforcement outlives the daemon through pins in EMBARGO_PIN_DIR. bpf_pin() pins every link and the
 * maps as "pending-NAME"; bpf_takeover() renames them over a previous run's pins, which releases its
 * links, and removes its stale ones; bpf_unpin() removes ours, detaching the links once nothing else
 * holds them.
 */
int bpf_pin(struct bpf_state *b, char *why, size_t whysize);
/* Whether pending pins were renamed (false when there were none: NULL, or done already). */
bool bpf_takeover(struct bpf_state *b);
void bpf_unpin(struct bpf_state *b);
bool bpf_pinned(const struct bpf_state *b);
/* A previous run's pins were replaced or removed. */
bool bpf_took_over(const struct bpf_state *b);
/* A previous run left pinned programs behind (crash, or keep_enforcement_on_exit). */
bool bpf_previous_pins(void);

/* p's digests into the digest set of generation gen. -errno. */
int bpf_fill_digests(struct bpf_state *b, uint32_t gen, const struct embargo_policy *p);
/* Empty the digest set of generation gen and fill it with p's digests: 0, or -errno with why filled. */
int bpf_refill_digests(struct bpf_state *b, uint32_t gen, const struct embargo_policy *p, char *why,
		       size_t whysize);
/* Cached matches of old (generation old_gen) whose digest new lists too are re-stamped for gen. */
void bpf_carry_matches(struct bpf_state *b, const struct embargo_policy *old, uint32_t old_gen,
		       const struct embargo_policy *new, uint32_t gen);
/*
 * The interpreters' digests and inodes into the kernel (LSM tiers; a no-op in the others and for NULL):
 * a process whose image is one has its read-opens decided like execs from its next exec on. -errno.
 */
int bpf_set_interpreters(struct bpf_state *b, const struct embargo_interp_set *set);
/* Process tgid runs an interpreter (one that started before the programs were attached). -errno. */
int bpf_tag_interpreter_task(struct bpf_state *b, uint32_t tgid);
/* Make generation gen the one the kernel decides with (one store). */
void bpf_switch_gen(struct bpf_state *b, uint32_t gen, bool classify_misses);
void bpf_set_mode(struct bpf_state *b, uint8_t mode);

/* The programs' counters summed over their slots; zeroes for NULL. */
void bpf_read_stats(const struct bpf_state *b, uint64_t out[EMBARGO_STAT_MAX]);
/* What the digest sets were created with; 0 and false for NULL. */
size_t bpf_digest_capacity(const struct bpf_state *b);
bool bpf_digest_prealloc(const struct bpf_state *b);
/* The libbpf object, for self-protection to register its maps and programs; NULL for NULL. */
struct bpf_object *bpf_object_of(const struct bpf_state *b);

int bpf_verdicts_fd(const struct bpf_state *b);
int bpf_dedup_fd(const struct bpf_state *b);
/* The kernel digest set generation gen uses. */
int bpf_digests_fd(const struct bpf_state *b, uint32_t gen);
int bpf_ringbuf_fd(const struct bpf_state *b);

#endif
