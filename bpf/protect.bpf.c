// SPDX-License-Identifier: GPL-2.0
/*
 * Self-protection: in enforce mode, the processes embargo polices may not stop, stall or tamper with
 * embargod. Loaded by embargod (userspace/embargod/protect.c) next to the enforcement programs, in the
 * BPF LSM tiers only.
 *
 *   signals   task_kill, file_send_sigiotask: no signal reaches embargod or its workers except from
 *             PID 1 (systemd: stop, watchdog abort), the kernel, or embargod itself. Signal 0 (a
 *             liveness check) delivers nothing and passes; so does SIGHUP, a policy reload, which
 *             `embargoctl reload` offers root anyway.
 *   ptrace    ptrace_access_check in PTRACE_MODE_ATTACH: no attaching, no /proc/PID/mem, no
 *             process_vm_readv/writev, no pidfd_getfd. Read-mode checks (/proc/PID/exe, fdinfo, environ)
 *             pass: journald and ps read them, and they change nothing.
 *   bpf()     bpf_map, bpf_prog: no other process gets an fd to one of embargo's maps or programs (by id
 *             or from a pin); bpf: nor to one of its links by id, and no fd to one of its links (from
 *             its pin, which BPF_OBJ_GET hands out without a hook) may detach it or replace its program.
 *   pins      inode_unlink, inode_rmdir, inode_rename: nothing under embargo's bpffs directory is
 *             removed or moved by another process.
 *
 * Objects are named by the ids userspace puts into `protected`; who embargod is, by its thread group id.
 * Nothing here is on a hot path: these hooks run on kill(2), ptrace, bpf() and unlink, not on open/exec.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "common.bpf.h"
#include "protect.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/sched.h, include/linux/ptrace.h: stable since they exist. */
#define PF_KTHREAD 0x00200000
#define PTRACE_MODE_ATTACH 0x02
#define SIGHUP 1

/* Fixed at load by embargod. */
const volatile __u32 daemon_tgid = 0;
/*
 * security_bpf() gained a parameter (bool kernel) in 6.15: the hook's `ret` follows the last one. embargod
 * reads the count from the kernel's BTF; the verifier never sees the other access.
 */
const volatile __u32 bpf_hook_params = 3;

/* Flipped by embargod with the global mode (bpf_set_mode()): protection holds in enforce mode only. */
volatile __u32 enforce = 0;
/* embargo's directory in bpffs (the kernel's dev_t encoding and inode number); 0 while there is none. */
volatile __u64 pin_dev = 0;
volatile __u64 pin_ino = 0;

__u64 stats[PROTECT_STAT_MAX];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROTECT_MAX_OBJECTS);
	__type(key, struct protect_obj);
	__type(value, __u8);
} protected SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} protect_events SEC(".maps");

static __always_inline void count(enum protect_stat s)
{
	if (s < PROTECT_STAT_MAX)
		__sync_fetch_and_add(&stats[s], 1);
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* embargod's threads and the processes it forked (its identify workers). */
static __always_inline bool is_protected_task(struct task_struct *t)
{
	__u32 d = daemon_tgid;

	return t && d && ((__u32)t->tgid == d || (__u32)BPF_CORE_READ(t, real_parent, tgid) == d);
}

/* Who may signal embargod: itself, PID 1 (systemd stops it and aborts it on a watchdog timeout), and
 * the kernel's own threads. Thread group ids are global: a container's PID 1 is not PID 1 here. */
static __always_inline bool may_signal(void)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = current_tgid();

	return tgid == daemon_tgid || tgid == 1 || (BPF_CORE_READ(cur, flags) & PF_KTHREAD);
}

/* Count the attempt, report it if there is room, and refuse it. */
static __always_inline int refuse(__u32 what, __u32 target, __u32 detail, __u32 kind)
{
	struct protect_event *e;

	count((enum protect_stat)(what - PROTECT_SIGNAL + PROTECT_STAT_SIGNAL));
	e = bpf_ringbuf_reserve(&protect_events, sizeof(*e), 0);
	if (!e) {
		count(PROTECT_STAT_RINGBUF_DROPS);
		return -EPERM;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ktime_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->what = what;
	e->pid = current_tgid();
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->target = target;
	e->detail = detail;
	e->kind = kind;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return -EPERM;
}

SEC("lsm/task_kill")
int BPF_PROG(protect_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	if (ret)
		return earlier(ret);
	if (!enforce || sig == 0 || !is_protected_task(p) || may_signal())
		return 0;
	/* A reload request to embargod itself (its workers would die of it). */
	if (sig == SIGHUP && (__u32)p->tgid == daemon_tgid)
		return 0;
	return refuse(PROTECT_SIGNAL, p->tgid, (__u32)sig, 0);
}

/*
 * F_SETOWN/F_SETSIG make the kernel signal a process when I/O is possible on a file: a way to deliver any
 * signal, SIGKILL included, past task_kill. embargod never asks for I/O signals, so none may reach it. The
 * sender is whoever made the I/O happen, not necessarily the current task.
 */
SEC("lsm/file_send_sigiotask")
int BPF_PROG(protect_sigio, struct task_struct *tsk, struct fown_struct *fown, int sig, int ret)
{
	if (ret)
		return earlier(ret);
	if (!enforce || !is_protected_task(tsk))
		return 0;
	return refuse(PROTECT_SIGNAL, tsk->tgid, (__u32)sig, 0);
}

/* The kernel itself allows a thread group to read its own /proc entries before it asks the LSMs. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(protect_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret)
		return earlier(ret);
	if (!enforce || !(mode & PTRACE_MODE_ATTACH) || !is_protected_task(child) ||
	    current_tgid() == daemon_tgid)
		return 0;
	return refuse(PROTECT_PTRACE, child->tgid, mode, 0);
}

static __always_inline bool is_protected_obj(__u32 kind, __u32 id)
{
	struct protect_obj key = { .kind = kind, .id = id };

	return bpf_map_lookup_elem(&protected, &key) != NULL;
}

/* Every new fd to a map: created, by id (BPF_MAP_GET_FD_BY_ID) or from a pin (BPF_OBJ_GET). */
SEC("lsm/bpf_map")
int BPF_PROG(protect_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	__u32 id;

	if (ret)
		return earlier(ret);
	if (!enforce || current_tgid() == daemon_tgid)
		return 0;
	id = map->id;
	if (!is_protected_obj(PROTECT_OBJ_MAP, id))
		return 0;
	return refuse(PROTECT_BPF, 0, id, PROTECT_OBJ_MAP);
}

/* Every new fd to a program: loaded, by id, or from a pin. */
SEC("lsm/bpf_prog")
int BPF_PROG(protect_prog, struct bpf_prog *prog, int ret)
{
	__u32 id;

	if (ret)
		return earlier(ret);
	if (!enforce || current_tgid() == daemon_tgid)
		return 0;
	id = prog->aux->id;
	if (!is_protected_obj(PROTECT_OBJ_PROG, id))
		return 0;
	return refuse(PROTECT_BPF, 0, id, PROTECT_OBJ_PROG);
}

/*
 * The link an fd of the current task refers to, as its id; 0 when the fd is not one. The file is read
 * as a link whatever it is: any other file gives an id no link of ours has (or a failed read, 0), and
 * the kernel then refuses the command for not being given a link anyway.
 */
static __always_inline __u32 link_id_of_fd(int fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	struct bpf_link *link;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) < 0 || !f)
		return 0;
	link = BPF_CORE_READ(f, private_data);
	return link ? BPF_CORE_READ(link, id) : 0;
}

/*
 * Links have no hook of their own: BPF_LINK_GET_FD_BY_ID is refused here by the id it asks for. A link
 * pinned in bpffs is reached through BPF_OBJ_GET, which names a path and has no hook: its unlinking is
 * refused below, and so is what its fd could do to it here: BPF_LINK_DETACH, BPF_LINK_UPDATE.
 */
SEC("lsm/bpf")
int BPF_PROG(protect_bpf_cmd, int cmd, union bpf_attr *attr, unsigned int size)
{
	__u64 ret;
	__u32 id;

	/* Two fixed-offset loads clang cannot merge into one at a computed offset, which the verifier
	 * refuses for a context pointer. */
	if (bpf_hook_params == 4)
		asm volatile("%0 = *(u64 *)(%1 + 32)" : "=r"(ret) : "r"(ctx));
	else
		asm volatile("%0 = *(u64 *)(%1 + 24)" : "=r"(ret) : "r"(ctx));
	if ((int)ret)
		return earlier((int)ret);
	if (!enforce || current_tgid() == daemon_tgid)
		return 0;
	if (cmd == BPF_LINK_GET_FD_BY_ID)
		id = attr->link_id;
	else if (cmd == BPF_LINK_DETACH)
		id = link_id_of_fd((int)attr->link_detach.link_fd);
	else if (cmd == BPF_LINK_UPDATE)
		id = link_id_of_fd((int)attr->link_update.link_fd);
	else
		return 0;
	if (!is_protected_obj(PROTECT_OBJ_LINK, id))
		return 0;
	/* target: what was asked of the link (0: an fd by its id). */
	return refuse(PROTECT_BPF, cmd == BPF_LINK_GET_FD_BY_ID ? 0 : (__u32)cmd, id, PROTECT_OBJ_LINK);
}

static __always_inline bool is_pin_dir(struct inode *inode)
{
	__u64 ino = pin_ino;

	return ino && inode && inode->i_ino == ino && inode->i_sb->s_dev == pin_dev;
}

static __always_inline __u32 dentry_ino(struct dentry *dentry)
{
	return (__u32)BPF_CORE_READ(dentry, d_inode, i_ino);
}

SEC("lsm/inode_unlink")
int BPF_PROG(protect_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return earlier(ret);
	if (!enforce || !is_pin_dir(dir) || current_tgid() == daemon_tgid)
		return 0;
	return refuse(PROTECT_PIN, 0, dentry_ino(dentry), 0);
}

/* The directory itself, or one inside it. */
SEC("lsm/inode_rmdir")
int BPF_PROG(protect_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return earlier(ret);
	if (!enforce || current_tgid() == daemon_tgid)
		return 0;
	if (!is_pin_dir(dir) && !is_pin_dir(dentry->d_inode))
		return 0;
	return refuse(PROTECT_PIN, 0, dentry_ino(dentry), 0);
}

/* Out of it, into it (a replaced pin is a removed one), or the directory itself elsewhere. */
SEC("lsm/inode_rename")
int BPF_PROG(protect_rename, struct inode *old_dir, struct dentry *old_dentry, struct inode *new_dir,
	     struct dentry *new_dentry, int ret)
{
	if (ret)
		return earlier(ret);
	if (!enforce || current_tgid() == daemon_tgid)
		return 0;
	if (!is_pin_dir(old_dir) && !is_pin_dir(new_dir) && !is_pin_dir(old_dentry->d_inode))
		return 0;
	return refuse(PROTECT_PIN, 0, dentry_ino(old_dentry), 0);
}
