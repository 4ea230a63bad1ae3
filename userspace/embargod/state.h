/* SPDX-License-Identifier: GPL-2.0 */
/* state.c: what embargod keeps across restarts, under state_dir. */
#ifndef EMBARGOD_STATE_H
#define EMBARGOD_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct daemon;
struct embargo_policy;

/* -ENOENT when nothing was saved, -EBADMSG when what was saved is not a mode. */
int state_load_mode(const struct daemon *d, uint8_t *mode);
int state_save_mode(const struct daemon *d, uint8_t mode);
/*
 * Keep a copy of every file p read under state_dir, checked by loading it back: 0, or -errno with why.
 * Slow (it reads and writes the whole policy): the reload thread's work.
 */
int state_save_policy(const struct daemon *d, const struct embargo_policy *p, char *why, size_t whysize);
/* The copy kept by state_save_policy() and when it was saved: 0, or -errno with why (-ENOENT: none). */
int state_load_policy(const struct daemon *d, struct embargo_policy **ret, time_t *saved, char *why,
		      size_t whysize);

#endif
