/* SPDX-License-Identifier: GPL-2.0 */
/* startscan.c: the scan of files and running processes at start and after a reload. */
#ifndef EMBARGOD_STARTSCAN_H
#define EMBARGOD_STARTSCAN_H

struct daemon;

/* At start: files, then running processes. */
int startscan_begin(struct daemon *d);
/* After a reload: the files only (running_reloaded() searches the processes). */
int startscan_rescan(struct daemon *d);
void startscan_end(struct daemon *d);

#endif
