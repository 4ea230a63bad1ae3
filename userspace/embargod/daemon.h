/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EMBARGOD_DAEMON_H
#define EMBARGOD_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "embargo.h"
#include "policy.h"
#include "bpf.h"
#include "probe.h"

struct ring_buffer;
struct fan;
struct startscan;
struct ident;
struct protect;
struct json_writer;

#define FAN_MAX_PATHS 32

enum on_timeout {
	ON_TIMEOUT_ALLOW, /* fail open; a late match is still denied from then on and its processes killed */
	ON_TIMEOUT_DENY,
};

#define TIER_AUTO 0xff

struct daemon {
	/* configuration */
	const char *policy_path;
	const char *runtime_dir;
	uint8_t mode;		      /* global enum embargo_mode */
	uint8_t tier_request;	      /* TIER_AUTO or an enum embargo_tier */
	const char *const *fan_paths; /* fanotify tier: mounts to mark; none: every local one */
	size_t n_fan_paths;
	unsigned decision_timeout_ms;
	enum on_timeout on_timeout;
	unsigned hash_workers;
	const char *const *scan_paths; /* the start-up scan; none: "/" */
	size_t n_scan_paths;
	bool scan_at_start;
	bool kill_running; /* enforce mode: kill processes the start-up scan finds running prohibited code */
	const char *state_dir;
	bool self_protection; /* BPF LSM tiers, enforce mode: see protect.c */
	bool syscall_filter;  /* the steady state's seccomp allow-list: see confine.c */

	/* state */
	/*
	 * The policy in force and its generation. Threads other than the event loop (fanotify workers, the
	 * start-up scan) read them under policy_lock; a reload, on the event loop, swaps them under it.
	 * The previous generation is kept until the next reload: kernel events still in the ring buffer
	 * name rules by its numbering.
	 */
	pthread_rwlock_t policy_lock;
	struct embargo_policy *policy;
	uint32_t gen;
	struct embargo_policy *prev_policy;
	uint32_t prev_gen;
	time_t loaded_at;
	/* The last reload attempt, for status. */
	struct {
		uint64_t attempts, failures;
		time_t at;
		bool failed;
		double seconds;
		char error[1024];
	} reload;
	struct embargo_probe probe;
	uint8_t tier;
	char tier_reason[1024];
	bool keep_enforcement_on_exit;
	bool deny_init_module;	   /* init_module from memory refused in enforce mode (LSM tiers) */
	char init_module_why[256]; /* ... and why, for status and the banner */
	struct fan *fan;
	struct startscan *scan;
	struct ident *ident;   /* identity rules in the policy: signers, packages, paths */
	struct bpf_state *bpf; /* the kernel programs of the tier in force */
	struct protect *protect;
	struct ring_buffer *rb;
	uint64_t events_bad; /* ring buffer records we could not parse */
	uint64_t classified; /* files userspace hashed for the kernel */
	int ctl_fd;
	bool stop;
};

/*
 * The verdict on content with digest sha under the running policy, stamped with st's ctime (taken
 * before hashing, so a change since makes it stale) and the policy generation: digest rules and learned
 * digests. Returns whether it matched.
 */
bool daemon_verdict(const struct daemon *d, const uint8_t sha256[32], const struct stat *st,
		    struct embargo_verdict *v);

/* tier.c: the best tier that works, loaded and attached (the fanotify tier's reader started). */
int tier_start(struct daemon *d);
void tier_stop(struct daemon *d);
/* Release a previous run's programs kept attached while ours warmed up (after the start-up scan). */
void tier_complete_takeover(struct daemon *d);
/* The global mode, for the kernel programs and self-protection too. */
void tier_set_mode(struct daemon *d, uint8_t mode);
/* Empty the digest set of generation gen (not the one in force) and fill it with p's digests. */
int tier_prepare_gen(struct daemon *d, const struct embargo_policy *p, uint32_t gen, char *why,
		     size_t whysize);

/* reload.c: parse the policy again and switch to it atomically, or keep the running one. who names the
 * requester for the journal. 0, or -errno with why filled (also kept in d->reload for status). */
int daemon_reload(struct daemon *d, const char *who, char *why, size_t whysize);
/* The policy that numbered the rules of generation gen (the running one, or the one before). */
const struct embargo_policy *policy_of_gen(const struct daemon *d, uint32_t gen);

/* fanotify.c */
int fanotify_start(struct daemon *d, char *why, size_t whysize);
void fanotify_stop(struct daemon *d);
/* Counters and what is marked, for status. */
struct fan_stats {
	uint64_t events, allowed, denied, timeouts, hashed, cache_hits, late_kills, marked_inodes, errors;
	size_t n_marked_fs;
};
void fanotify_stats(const struct daemon *d, struct fan_stats *st);
/* The reader thread has turned round within FAN_HEARTBEAT_LIMIT_S. */
#define FAN_HEARTBEAT_LIMIT_S 10
bool fanotify_healthy(const struct daemon *d);
/* A prohibited file found by a scan: refuse its opens from now on. */
void fanotify_mark_path(struct daemon *d, const char *path);
/* A reload switched generations: forget what was marked for the previous policy. */
void fanotify_policy_changed(struct daemon *d);

/* state.c: -ENOENT when nothing was saved, -EBADMSG when what was saved is not a mode */
int state_load_mode(const struct daemon *d, uint8_t *mode);
int state_save_mode(const struct daemon *d, uint8_t mode);

/* identity.c */
int ident_start(struct daemon *d);
void ident_stop(struct daemon *d);
/* A digest learned from an identity rule. */
bool ident_learned(const struct daemon *d, const uint8_t sha256[32], struct embargo_rule_ref *ref);
/* The file (fd may be -1, path may be NULL) matches an identity rule: its digest is learned, *ident set. */
bool ident_check(struct daemon *d, int fd, const char *path, const uint8_t sha256[32], uint32_t *ident);
/*
 * daemon_verdict(), then, if nothing matched and the policy has identity rules, who the file is: signer
 * (read through fd), package and path. Returns whether the file matched.
 */
bool daemon_identify(struct daemon *d, int fd, const char *path, const uint8_t sha256[32],
		     const struct stat *st, struct embargo_verdict *v);

/* startscan.c */
int startscan_begin(struct daemon *d);
void startscan_end(struct daemon *d);
const char *fanotify_marked_fs(const struct daemon *d, size_t i);

/* events.c */
int events_start(struct daemon *d);
void events_stop(struct daemon *d);
/* Consume what the kernel reported; -errno on a ring buffer failure. */
int events_poll(struct daemon *d);
/* Report repeated matches that no later event carried (called on a timer). */
void events_sweep_dedup(struct daemon *d);
/* Log a match found outside the ring buffer (fanotify); thread-safe. */
void events_report(struct daemon *d, const struct embargo_event *ev, uint32_t rule_id, const char *path,
		   const char *note);
/* A prohibited file's name, for events about it that come without one (no bpf_d_path before 5.11). */
void events_remember_path(uint64_t dev, uint64_t ino, uint32_t rule_id, const char *path);
/* Log that n more matches of a file (by children of one parent, in one cgroup) were counted, not logged. */
void events_report_repeated(struct daemon *d, const struct embargo_dedup_key *key, uint64_t n);
/* "file:line" of rule_id into buf under the running policy. */
const char *rule_location(const struct daemon *d, uint32_t rule_id, char *buf, size_t size);

/* main.c: STATUS= for systemd: tier, mode, policy generation. */
void notify_status(const struct daemon *d);

/* protect.c: self-protection. Never fatal: when it is not in force, status and the banner say why. */
int protect_start(struct daemon *d);
void protect_stop(struct daemon *d);
/* Called by tier_set_mode(): protection holds in enforce mode only. */
void protect_set_mode(struct daemon *d, uint8_t mode);
/* Protect what exists now: every map and program of the BPF objects, their links, the pin directory.
 * Call after creating or pinning anything at run time. */
int protect_refresh(struct daemon *d);
/* A map created at run time outside the skeletons. */
int protect_add_map_fd(struct daemon *d, int fd);
/* Log the refused attempts the kernel reported (housekeeping timer). */
void protect_poll(struct daemon *d);
bool protect_active(const struct daemon *d);
const char *protect_summary(const struct daemon *d, char *buf, size_t size);
void protect_status_json(const struct daemon *d, struct json_writer *w);

/* confine.c: the seccomp allow-list for the steady state, all threads. Never fatal. */
int confine_start(struct daemon *d);
/* Log the system calls refused since the last call (housekeeping timer). */
void confine_poll(struct daemon *d);
const char *confine_summary(char *buf, size_t size);
void confine_status_json(struct json_writer *w);

/* control.c */
int control_start(struct daemon *d);
void control_stop(struct daemon *d);
void control_handle(struct daemon *d);

#endif
