// SPDX-License-Identifier: GPL-2.0
/*
 * Reference programs for `make bench`: do-nothing programs on the hooks embargo uses, loaded next to
 * embargod by empty-loader so that bpf_stats gives the cost of an empty program on the same hook, on the
 * same events, in the same run. Each has the prologue embargo's programs have (pass on an earlier
 * refusal) and nothing else. At the end, "floor" programs: one cache lookup and nothing else.
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

/*
 * Not empty: the least a verdict cache hit can do, for scale. The key of the file's inode and one lookup
 * in an LRU hash map keyed by it, as big as embargo's cache (an entry is added on the first sight, every
 * later run is a hit). What an embargo program costs above this is its own work; what this costs above
 * an empty program is the price of any inode-keyed cache on that hook.
 */
struct floor_key {
	__u64 dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct floor_key);
	__type(value, __u64);
} floor_cache SEC(".maps");

static __always_inline int floor_lookup(struct file *file)
{
	struct inode *inode = file->f_inode;
	struct floor_key key = { .dev = inode->i_sb->s_dev, .ino = inode->i_ino };
	__u64 one = 1;

	if (!bpf_map_lookup_elem(&floor_cache, &key))
		bpf_map_update_elem(&floor_cache, &key, &one, BPF_ANY);
	return 0;
}

SEC("lsm.s/bprm_check_security")
int BPF_PROG(floor_exec_s, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	return floor_lookup(bprm->file);
}

SEC("lsm.s/mmap_file")
int BPF_PROG(floor_mmap_s, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
	     int ret)
{
	if (ret)
		return ret;
	if (!file || !(prot & 0x4 /* PROT_EXEC */))
		return 0;
	return floor_lookup(file);
}

/*
 * The same with the verdict in the inode's own BPF storage instead of a hash map: no hashing, no bucket
 * walk, a pointer chase from the inode. Created on the first sight, found on every later run.
 */
struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} floor_istore SEC(".maps");

static __always_inline int istore_lookup(struct file *file)
{
	bpf_inode_storage_get(&floor_istore, file->f_inode, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	return 0;
}

SEC("lsm.s/bprm_check_security")
int BPF_PROG(istore_exec_s, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	return istore_lookup(bprm->file);
}

SEC("lsm.s/mmap_file")
int BPF_PROG(istore_mmap_s, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
	     int ret)
{
	if (ret)
		return ret;
	if (!file || !(prot & 0x4 /* PROT_EXEC */))
		return 0;
	return istore_lookup(file);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_detect, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return floor_lookup(bprm->file);
}
