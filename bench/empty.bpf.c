// SPDX-License-Identifier: GPL-2.0
/*
 * Reference programs for `make bench`: do-nothing programs on the hooks embargo uses, loaded next to
 * embargod by empty-loader so that bpf_stats gives the cost of an empty program on the same hook, on the
 * same events, in the same run. Each has the prologue embargo's programs have (pass on an earlier
 * refusal) and nothing else.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/bprm_check_security")
int BPF_PROG(empty_exec, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	return 0;
}

SEC("lsm.s/bprm_check_security")
int BPF_PROG(empty_exec_s, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	return 0;
}

SEC("lsm/mmap_file")
int BPF_PROG(empty_mmap, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
	     int ret)
{
	if (ret)
		return ret;
	return 0;
}

SEC("lsm.s/mmap_file")
int BPF_PROG(empty_mmap_s, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
	     int ret)
{
	if (ret)
		return ret;
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(empty_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	return 0;
}

/* The detection tier's hook (the host's tier: no LSM programs load there). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(empty_detect, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}
