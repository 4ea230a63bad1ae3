/* SPDX-License-Identifier: GPL-2.0 */
/* embargod's shared state. Each module declares its functions in its own header (bpf.h, tier.h, ...). */
#ifndef EMBARGOD_DAEMON_H
#define EMBARGOD_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "embargo.h"
#include "policy.h"
#include "probe.h"

struct bpf_state;
struct ring_buffer;
struct fan;
struct startscan;
struct ident;
struct protect;
struct reloader;
struct hybrid;

/*
 * What the modules share, grouped by the module that writes it; state only one module uses is behind
 * that module's own struct (struct fan, struct startscan, struct ident, struct protect, struct bpf_state).
 */
struct daemon {
	/* main.c: embargo.conf with the command line's overrides, and what follows from it */
	const struct embargo_config *cfg;
	bool deny_init_module;	   /* init_module from memory refused in enforce mode (LSM tiers) */
	char init_module_why[256]; /* ... and why, for status and the banner */

	/* main.c at start, then tier_set_mode(): the global enum embargo_mode */
	uint8_t mode;

	/*
	 * main.c, then reload.c: the policy in force and its generation. Threads other than the event loop
	 * (fanotify workers, the start-up scan, the reload thread) read them under policy_lock; a reload,
	 * on the event loop, swaps them under it. The previous generation is kept until the next reload:
	 * kernel events still in the ring buffer name rules by its numbering.
	 */
	pthread_rwlock_t policy_lock;
	struct embargo_policy *policy;
	uint32_t gen;
	struct embargo_policy *prev_policy;
	uint32_t prev_gen;
	time_t loaded_at;
	/*
	 * main.c at start: the configured policy did not load and the last good copy (state.c) is in
	 * force, saved at `saved`; reload.c clears it once a reload succeeds.
	 */
	struct {
		bool active;
		time_t saved;
		char error[1024];
	} fallback;
	/* reload.c: the last reload attempt, for status. */
	struct {
		uint64_t attempts, failures;
		uint64_t coalesced; /* requests answered by a reload another request started */
		time_t at;
		bool failed;
		double seconds;
		char error[1024];
	} reload;

	/* tier.c: the tier in force, why, and what the kernel was found to offer */
	struct embargo_probe probe;
	uint8_t tier;
	char tier_reason[1024];
	struct bpf_state *bpf; /* its kernel programs (bpf.c) */

	/* each module's own state */
	struct fan *fan;	   /* fanotify.c */
	struct hybrid *hold;	   /* hybrid.c: the fanotify hold beside an LSM tier (NULL: none) */
	struct startscan *scan;	   /* startscan.c */
	struct ident *ident;	   /* identity.c: identity rules in the policy: signers, packages, paths */
	struct protect *protect;   /* protect.c */
	struct reloader *reloader; /* reload.c */

	/* events.c */
	struct ring_buffer *rb;
	uint64_t events_bad;	   /* ring buffer records we could not parse */
	uint64_t classified;	   /* files userspace hashed for the kernel (atomic: the classifier thread) */
	uint64_t classify_dropped; /* events the classifier's full queue refused (reported again) */

	/* control.c */
	int ctl_fd;
};

/* main.c: STATUS= for systemd: tier, mode, policy generation. */
void notify_status(const struct daemon *d);

#endif
