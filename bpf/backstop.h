/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The fanotify tier's backstop (exec_detect in embargo.bpf.c) and embargod's fanotify.c: an image that
 * fanotify could not decide (its file system carries no exec permission mark, or it is an internal
 * mount: memfd, shmem) and nobody classified is stopped (SIGSTOP) before its first instruction and
 * handed to embargod in the "held" ring; embargod hashes /proc/PID/exe and answers with SIGCONT or
 * SIGKILL. Only in enforce mode, and only while embargod's reader stamps "holder" (else nobody would
 * answer: the backstop then kills known prohibited images only, as before).
 */
#ifndef EMBARGO_BACKSTOP_H
#define EMBARGO_BACKSTOP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The holder's stamp (bpf_ktime_get_ns, CLOCK_MONOTONIC) must be younger than this. */
#define EMBARGO_HOLDER_ALIVE_NS (1000ull * 1000000ull)
/* How often embargod renews it. */
#define EMBARGO_HOLDER_STAMP_NS (250ull * 1000000ull)

struct embargo_held {
	__u32 pid; /* thread group */
	__u32 ctime_nsec;
	__u64 dev; /* kernel encoding, as struct embargo_inode_key */
	__u64 ino;
	__s64 ctime_sec;
};

_Static_assert(sizeof(struct embargo_held) == 32, "struct embargo_held layout");

#endif
