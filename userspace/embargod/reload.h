/* SPDX-License-Identifier: GPL-2.0 */
/* reload.c: policy reload, prepared on a thread of its own and swapped in on the event loop. */
#ifndef EMBARGOD_RELOAD_H
#define EMBARGOD_RELOAD_H

#include <stddef.h>

struct daemon;

/*
 * The reload thread: 0 or -errno. reload_stop() ends it: 0, or -EBUSY when a reload or save stuck on a
 * hung file system was left running (it still reads d->policy: the caller must not free it).
 */
int reload_start(struct daemon *d);
int reload_stop(struct daemon *d);
/* The event loop polls this fd; when it is readable, reload_complete() swaps in what was prepared. */
int reload_fd(const struct daemon *d);
/*
 * Ask for a reload: who names the requester for the journal (the last one of coalesced requests is
 * named). reply_fd: a control connection that gets the result and is closed then (this takes it), or
 * -1 (SIGHUP: no one waits).
 */
void reload_request(struct daemon *d, const char *who, int reply_fd);
void reload_complete(struct daemon *d);
/* Keep a copy of the policy in force as the last good one (state_save_policy()), on the thread. */
void reload_save(struct daemon *d);

#endif
