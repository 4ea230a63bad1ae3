/* SPDX-License-Identifier: GPL-2.0 */
/* embargo.conf's interpreters into the kernel programs (interpreters.c). */
#ifndef EMBARGOD_INTERPRETERS_H
#define EMBARGOD_INTERPRETERS_H

struct daemon;

/*
 * Resolve the interpreters to files and digests, give them to the kernel programs and tag the processes
 * already running one. At start, once the programs are attached, and after each policy reload (a package
 * upgrade replaces an interpreter's file). Logs what it did; failures leave the kernel's set as it was.
 */
void interp_apply(struct daemon *d);

#endif
