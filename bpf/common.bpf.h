/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every embargo BPF LSM program needs to return a verdict (bpf/embargo.bpf.c, bpf/protect.bpf.c).
 * Kernel side only: userspace never includes it.
 *
 * Every LSM hook starts with `if (ret) return earlier(ret);`: an earlier LSM (or an earlier BPF program
 * on the same hook) has already refused, and its verdict stands.
 */
#ifndef EMBARGO_COMMON_BPF_H
#define EMBARGO_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* vmlinux.h has no macros: include/uapi/asm-generic/errno-base.h, include/linux/err.h. */
#define EPERM 1
#define MAX_ERRNO 4095

/*
 * What a hook returns. The verifier (6.12 and later) checks that an LSM program returns 0 or an errno;
 * a value computed from a condition must reach it as one of two constants.
 */
static __always_inline int verdict_errno(int deny)
{
	/* Opaque to clang, so it cannot turn the choice below into a negation the verifier won't follow. */
	asm volatile("" : "+r"(deny));
	if (deny)
		return -EPERM;
	return 0;
}

/* An earlier program's verdict passes through unchanged, as an errno the verifier can see is one. */
static __always_inline int earlier(int ret)
{
	if (ret < -MAX_ERRNO || ret > 0)
		return -EPERM;
	return ret;
}

#endif
