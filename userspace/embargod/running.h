/* SPDX-License-Identifier: GPL-2.0 */
/*
 * running.c: processes running code that is prohibited, found by the start-up scan or after the fact (a
 * reload, a classification): reported, and stopped in enforce mode with kill_running.
 */
#ifndef EMBARGOD_RUNNING_H
#define EMBARGOD_RUNNING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct daemon;
struct embargo_match;
struct embargo_policy;
struct embargo_process_match;
struct embargo_record;

/* The sweeper thread: 0 or -errno. running_stop() ends it (safe when it never started). */
int running_start(struct daemon *d);
void running_stop(struct daemon *d);

/*
 * One process found running prohibited code (m, from embargo_scan_processes()): reported, and killed
 * through m's pidfd where kill_running, the mode and the tier say so, unless it is embargod, PID 1 or
 * code of the never-deny list. found_by says which search found it, for the journal; learn: a match of an
 * identity rule teaches its digest (ident_learn()), as a decider's match does. Returns whether it
 * was killed. Any thread; the caller holds the policy in force steady (it reads d->policy).
 */
bool running_report(struct daemon *d, const struct embargo_process_match *m, const char *found_by,
		    bool learn);

/* The fields every report of a match carries (vendor, rule, digest, path, label) into rec: 0 or -ENOMEM. */
int running_record_match(struct embargo_record *rec, const struct embargo_policy *p,
			 const struct embargo_match *m, const uint8_t sha256[32], const char *path);

/*
 * A file was classified prohibited after it could already run (events.c): every process that runs or maps
 * its content is searched for, off the caller's thread, together with what else is classified within
 * 100 ms. inode_only: the match held for this file only (its digest was not learned), not for copies.
 * Never waits but for a mutex held only to queue.
 */
void running_classified(struct daemon *d, const uint8_t sha256[32], const struct stat *st, uint32_t rule_id,
			bool inode_only);

/*
 * A reload, on the event loop: running_pause() before the policy is swapped (a search in progress stops
 * and waits; it reads the policy without the lock), running_reloaded() after: every process is searched
 * again with the policy now in force.
 */
void running_pause(struct daemon *d);
void running_reloaded(struct daemon *d);

#endif
