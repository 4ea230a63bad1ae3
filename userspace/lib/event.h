/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel events: validating what the ring buffer hands us, and turning it into a journal record. */
#ifndef EMBARGO_EVENT_H
#define EMBARGO_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "embargo.h"
#include "record.h"

/*
 * Copy a ring-buffer record into *ev after checking version, kind and size; strings are forced to be
 * NUL-terminated. -EPROTO for a record of another version or size, -EINVAL for an unknown kind.
 */
int embargo_event_parse(const void *data, size_t size, struct embargo_event *ev);

const char *embargo_hook_name(uint8_t hook);
const char *embargo_action_name(uint8_t action);
const char *embargo_tier_name(uint8_t tier);
int embargo_tier_from_string(const char *s, uint8_t *tier);

/* What userspace adds to a kernel event before it is logged. Any member may be NULL. */
struct embargo_event_context {
	const char *vendor;
	const char *rule; /* policy file:line */
	const char *label;
	const char *sha256_hex;
	const char *path; /* resolved path when the event's own is missing or relative */
	const char *parent_exe;
	const char *note; /* why this record differs from the kernel's own decision, if it does */
};

/*
 * The record of a match: MESSAGE_ID by action, MESSAGE for people, and the EMBARGO_* fields.
 * action overrides ev->action when non-zero (userspace classified a file the kernel had allowed).
 */
int embargo_event_record(const struct embargo_event *ev, const struct embargo_event_context *ctx,
			 uint8_t action, struct embargo_record *rec);

#endif
