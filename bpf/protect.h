/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Self-protection (bpf/protect.bpf.c): the types its programs share with embargod. Plain fixed-size
 * types, sizes asserted, every record zeroed before it is filled (see embargo.h).
 */
#ifndef EMBARGO_PROTECT_H
#define EMBARGO_PROTECT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PROTECT_COMM_LEN 16
/* Objects (maps, programs, links) protected at once: every generation's maps fit many times over. */
#define PROTECT_MAX_OBJECTS 1024

/* What a refused attempt tried. */
enum protect_what {
	PROTECT_SIGNAL = 1, /* kill(2) and friends, or an I/O signal (F_SETOWN), to embargod or its workers */
	PROTECT_PTRACE = 2, /* attach, or read/write its memory (/proc/PID/mem, process_vm_*, pidfd_getfd) */
	PROTECT_BPF = 3,    /* an fd to one of embargo's maps, programs or links */
	PROTECT_PIN = 4,    /* unlink, rename or rmdir in embargo's bpffs pin directory */
};

enum protect_obj_kind {
	PROTECT_OBJ_MAP = 1,
	PROTECT_OBJ_PROG = 2,
	PROTECT_OBJ_LINK = 3,
};

/* Key of the set of protected objects (the value is a byte, unused). */
struct protect_obj {
	__u32 kind; /* enum protect_obj_kind */
	__u32 id;   /* the kernel's id, as bpftool shows it */
};

/* One refused attempt, reported through the ring buffer. */
struct protect_event {
	__u64 ktime_ns;
	__u64 cgroup_id;
	__u32 what; /* enum protect_what */
	__u32 pid;  /* who tried: thread group id */
	__u32 uid;
	__u32 target; /* the protected task's thread group id (signal, ptrace); 0 otherwise */
	/* signal: the signal number (0: an I/O signal); ptrace: the PTRACE_MODE_* bits; bpf: the object id;
	 * pin: the inode number of the entry */
	__u32 detail;
	__u32 kind; /* bpf: enum protect_obj_kind */
	char comm[PROTECT_COMM_LEN];
};

/* Counters in the programs' .bss; userspace reads them through the skeleton. */
enum protect_stat {
	PROTECT_STAT_SIGNAL = 0, /* refused attempts, one counter per enum protect_what */
	PROTECT_STAT_PTRACE,
	PROTECT_STAT_BPF,
	PROTECT_STAT_PIN,
	PROTECT_STAT_RINGBUF_DROPS, /* refused attempts that could not be reported (counted above) */
	PROTECT_STAT_MAX,
};

#define PROTECT_STAT_NAMES                                                                                   \
	{                                                                                                    \
		"signals", "ptrace", "bpf", "pins", "reports_dropped"                                        \
	}

_Static_assert(sizeof(struct protect_obj) == 8, "protect_obj layout");
_Static_assert(sizeof(struct protect_event) == 8 + 8 + 6 * 4 + PROTECT_COMM_LEN, "protect_event layout");

#endif
