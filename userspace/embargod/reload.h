/* SPDX-License-Identifier: GPL-2.0 */
/* reload.c: policy reload. */
#ifndef EMBARGOD_RELOAD_H
#define EMBARGOD_RELOAD_H

#include <stddef.h>

struct daemon;

/* Parse the policy again and switch to it atomically, or keep the running one. who names the requester
 * for the journal. 0, or -errno with why filled (also kept in d->reload for status). */
int daemon_reload(struct daemon *d, const char *who, char *why, size_t whysize);

#endif
