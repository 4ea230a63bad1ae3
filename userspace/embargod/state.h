/* SPDX-License-Identifier: GPL-2.0 */
/* state.c: what embargod keeps across restarts, under state_dir. */
#ifndef EMBARGOD_STATE_H
#define EMBARGOD_STATE_H

#include <stdint.h>

struct daemon;

/* -ENOENT when nothing was saved, -EBADMSG when what was saved is not a mode. */
int state_load_mode(const struct daemon *d, uint8_t *mode);
int state_save_mode(const struct daemon *d, uint8_t mode);

#endif
