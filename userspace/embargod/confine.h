/* SPDX-License-Identifier: GPL-2.0 */
/* confine.c: the seccomp allow-list for the steady state, all threads. Never fatal. */
#ifndef EMBARGOD_CONFINE_H
#define EMBARGOD_CONFINE_H

#include <stddef.h>

struct daemon;
struct json_writer;

int confine_start(struct daemon *d);
/* Log the system calls refused since the last call (housekeeping timer). */
void confine_poll(struct daemon *d);
const char *confine_summary(char *buf, size_t size);
void confine_status_json(struct json_writer *w);

#endif
