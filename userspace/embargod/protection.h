/* SPDX-License-Identifier: GPL-2.0 */
/* protect.c: self-protection. Never fatal: when it is not in force, status and the banner say why.
 * (Not protect.h: that is the kernel program's ABI header in bpf/.) */
#ifndef EMBARGOD_PROTECTION_H
#define EMBARGOD_PROTECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct json_writer;

int protect_start(struct daemon *d);
void protect_stop(struct daemon *d);
/* Called by tier_set_mode(): protection holds in enforce mode only. */
void protect_set_mode(struct daemon *d, uint8_t mode);
/* Protect what exists now: every map and program of the BPF objects, their links, the pin directory.
 * Call after creating or pinning anything at run time. */
int protect_refresh(struct daemon *d);
/* A map created at run time outside the skeletons. */
int protect_add_map_fd(struct daemon *d, int fd);
/* Log the refused attempts the kernel reported (housekeeping timer). */
void protect_poll(struct daemon *d);
bool protect_active(const struct daemon *d);
const char *protect_summary(const struct daemon *d, char *buf, size_t size);
void protect_status_json(const struct daemon *d, struct json_writer *w);

#endif
