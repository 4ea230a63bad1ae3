/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mounts.c: the file systems of every mount namespace, followed after the start. Each new local mount is
 * handed to the caller (fanotify.c marks it) through a descriptor, on the watcher's own thread.
 */
#ifndef EMBARGOD_MOUNTS_H
#define EMBARGOD_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mounts;

/*
 * A new local mount: path names it through a descriptor opened in its namespace ("/proc/self/fd/N"),
 * shown is what status and the journal call it, fstype its type. 0, or -errno (tried again at the next
 * change of that namespace and at the next sweep).
 */
typedef int (*mounts_mark_fn)(void *ctx, const char *path, const char *shown, const char *fstype);

struct mounts_config {
	/* Only mounts strictly below these directories (--fanotify-path); none: every local mount. */
	char *const *scope;
	size_t n_scope;
	mounts_mark_fn mark;
	void *ctx;
};

struct mounts_stats {
	uint64_t marked, failed, rescans, namespaces;
	uint64_t last_latency_us, max_latency_us; /* from a change seen to its mounts marked */
};

/* Marks what is mounted now (in every namespace found), then follows changes on a thread of its own. */
int mounts_start(struct mounts **ret, const struct mounts_config *c, char *why, size_t whysize);
void mounts_stop(struct mounts *m);
/* A process that just exec'd (any thread, never blocks): a namespace of its own is followed at once. */
void mounts_saw_pid(struct mounts *m, uint32_t pid);
void mounts_stats(struct mounts *m, struct mounts_stats *st);
/* The i-th marked file system, one name per superblock, into buf; false past the end. */
bool mounts_marked_name(struct mounts *m, size_t i, char *buf, size_t size);

#endif
