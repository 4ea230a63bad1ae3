/* SPDX-License-Identifier: GPL-2.0 */
/* control.c: the daemon's side of the control socket.
 * (Not control.h: that is the protocol, shared with embargoctl, in userspace/lib.) */
#ifndef EMBARGOD_CONTROL_SERVER_H
#define EMBARGOD_CONTROL_SERVER_H

struct daemon;

int control_start(struct daemon *d);
void control_stop(struct daemon *d);
void control_handle(struct daemon *d);

#endif
