/* SPDX-License-Identifier: GPL-2.0 */
/* events.c: verdicts on digests, and what the kernel and the fanotify tier report. */
#ifndef EMBARGOD_EVENTS_H
#define EMBARGOD_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct stat;
struct embargo_verdict;
struct embargo_event;
struct embargo_dedup_key;
struct embargo_policy;

/*
 * The verdict on content with digest sha under the running policy, stamped with st's ctime (taken
 * before hashing, so a change since makes it stale) and the policy generation: digest rules and learned
 * digests. Returns whether it matched.
 */
bool daemon_verdict(const struct daemon *d, const uint8_t sha256[32], const struct stat *st,
		    struct embargo_verdict *v);
/*
 * daemon_verdict(), then, if nothing matched and the policy has identity rules, who the file is: signer
 * (read through fd), package and path. Returns whether the file matched.
 */
bool daemon_identify(struct daemon *d, int fd, const char *path, const uint8_t sha256[32],
		     const struct stat *st, struct embargo_verdict *v);
/*
 * Whether pid sees the file system as PID 1 does: 1, 0 (a mount namespace of its own, where any user can
 * fake /opt/<vendor>/ with unshare -Urm and a bind mount), or -errno (-ENOENT: it is gone). Path and
 * package rules are given a name only when this is 1 (embargo.policy(5)).
 */
int daemon_in_initial_mntns(uint32_t pid);
/* The policy that numbered the rules of generation gen (the running one, or the one before). */
const struct embargo_policy *policy_of_gen(const struct daemon *d, uint32_t gen);
/* "file:line" of rule_id into buf under the running policy. */
const char *rule_location(const struct daemon *d, uint32_t rule_id, char *buf, size_t size);

int events_start(struct daemon *d);
void events_stop(struct daemon *d);
/* Consume what the kernel reported; -errno on a ring buffer failure. */
int events_poll(struct daemon *d);
/* Report repeated matches that no later event carried (called on a timer). */
void events_sweep_dedup(struct daemon *d);
/* Housekeeping tick: drop stale PENDING verdicts (every EMBARGO_PENDING_TTL_NS at most). */
void events_sweep_pending(struct daemon *d);
/* Housekeeping tick: log the kernel events lost to a full ring buffer, one entry per interval. */
void events_report_drops(struct daemon *d);
/* Log a match found outside the ring buffer (fanotify); thread-safe. */
void events_report(struct daemon *d, const struct embargo_event *ev, uint32_t rule_id, const char *path,
		   const char *note);
/* A prohibited file's name, for events about it that come without one (no bpf_d_path before 5.11). */
void events_remember_path(uint64_t dev, uint64_t ino, uint32_t rule_id, const char *path);
/* Log that n more matches of a file (by children of one parent, in one cgroup) were counted, not logged. */
void events_report_repeated(struct daemon *d, const struct embargo_dedup_key *key, uint64_t n);

#endif
