/* SPDX-License-Identifier: GPL-2.0 */
/* fanotify.c: the fanotify tier's permission-event reader and hashing workers. */
#ifndef EMBARGOD_FANOTIFY_H
#define EMBARGOD_FANOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;

#define FAN_MAX_PATHS 32
/* Threads that hash files waiting for a verdict: one per CPU, never fewer than this. */
#define FAN_HASH_WORKERS 2
/* The reader thread has turned round within FAN_HEARTBEAT_LIMIT_S. */
#define FAN_HEARTBEAT_LIMIT_S 10

int fanotify_start(struct daemon *d, char *why, size_t whysize);
void fanotify_stop(struct daemon *d);
/* Counters and what is marked, for status. */
struct fan_stats {
	uint64_t events, allowed, denied, timeouts, hashed, cache_hits, late_kills, marked_inodes, errors;
	/* answered without hashing: larger than max_hash_size_mib, or no slot free */
	uint64_t too_big, queue_full;
	/* files given a write watch, verdicts a write dropped, times the watch table was full */
	uint64_t watched, invalidations, cache_flushes;
	uint64_t late_dropped; /* execs let through on a timeout that the late lane had no room to hash */
	uint64_t held;	       /* images the backstop stopped for us to classify (backstop.h) */
	/* mounts.c: namespaces followed, mounts marked and not, from a change seen to its marks */
	uint64_t mount_namespaces, mounts_marked, mount_mark_failures, mark_latency_last_us,
		mark_latency_max_us;
	unsigned workers;
	unsigned busy, queued; /* now: files being hashed, files waiting for a worker */
	size_t n_marked_fs;
};
void fanotify_stats(const struct daemon *d, struct fan_stats *st);
/* The mount point of the i-th marked filesystem into buf (fanotify_paths first, then mounts.c's); false
 * past the end. */
bool fanotify_marked_fs(const struct daemon *d, size_t i, char *buf, size_t size);
bool fanotify_healthy(const struct daemon *d);
/* A prohibited file found by a scan: refuse its opens from now on. */
void fanotify_mark_path(struct daemon *d, const char *path);
/*
 * A reload switched generations. Nothing is flushed: verdicts name their generation and are decided again,
 * and the open marks of prohibited files stay until a verdict of the new policy finds one clean.
 */
void fanotify_policy_changed(struct daemon *d);

#endif
