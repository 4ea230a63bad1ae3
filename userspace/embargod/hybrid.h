/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hybrid.c: the fanotify hold beside BPF LSM. The kernel decides what it has a verdict for; an exec the
 * kernel has not classified waits in a fanotify permission event until embargod has hashed it.
 */
#ifndef EMBARGOD_HYBRID_H
#define EMBARGOD_HYBRID_H

#include <stdbool.h>
#include <stddef.h>

struct daemon;
struct embargo_verdict;
struct json_writer;
struct stat;

/* At most this many classified files skip the hold at once (fanotify ignore marks); then all are dropped. */
#define HOLD_IGNORE_MAX 4096

/* tier.c, once an LSM tier is attached: start the hold where the tier and the policy need it. */
void hybrid_start(struct daemon *d);
/* tier.c, after fanotify_stop(). */
void hybrid_stop(struct daemon *d);
/* The hold is in place (its fanotify group marks the local file systems). */
bool hybrid_active(const struct daemon *d);
/* Can a never-seen program run once before it is classified (status first_exec_window, the banner)? */
bool hybrid_first_exec_window(const struct daemon *d);
/* "lsm + fanotify hold for unclassified files", or the tier alone; and why, for status and the journal. */
const char *hybrid_mechanism(const struct daemon *d);
const char *hybrid_why(const struct daemon *d);

/* fanotify.c, any thread: the kernel's verdict for the file, if it holds for this content and generation. */
bool hybrid_kernel_verdict(const struct daemon *d, const struct stat *st, struct embargo_verdict *v);
/*
 * fanotify.c, under its lock, for a file just let through on a clean verdict whose write watch is set:
 * its next execs skip the hold (an ignore mark that any write drops). fd is the event's descriptor.
 */
void hybrid_ignore(struct daemon *d, int group_fd, int fd, const struct stat *st);
/* fanotify.c, under its lock: every ignore mark goes (a reload; a watched file closed after writing). */
void hybrid_flush(struct daemon *d, int group_fd, const char *why);
/* "hold": {...} for status. */
void hybrid_status_json(const struct daemon *d, struct json_writer *w);

#endif
