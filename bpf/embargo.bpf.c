// SPDX-License-Identifier: GPL-2.0
/*
 * embargo's kernel side: decide whether code may be loaded, by the SHA-256 of the file it comes from.
 *
 * Tiers (embargod loads one set of programs, see enum embargo_tier):
 *   lsm-hash  lsm.s/bprm_check_security, lsm.s/mmap_file: on a cache miss the file is hashed in the
 *             kernel (bpf_ima_file_hash) and looked up in the deny-digest map, synchronously.
 *   lsm       lsm/ variants: verdicts come from userspace; a miss is reported and allowed.
 *   detect    tp_btf/sched_process_exec: report only.
 * lsm/kernel_read_file (READING_MODULE) decides finit_module like an exec; lsm/kernel_load_data refuses
 * init_module from memory (nothing to hash) when embargo.conf's init_module says so.
 * lsm/file_open drops the verdict of a file opened for writing, refuses any
 * other open of a file already known to be prohibited (but embargod's own), and decides like an exec the
 * read-opens of regular files by a process running an interpreter (embargo.conf's interpreters: tagged
 * at exec by the digest of its image, inherited at fork; hashed in lsm.s/file_post_open where the kernel
 * has that hook); lsm/path_truncate drops a verdict on
 * truncate(2). lsm/file_mprotect decides a file mapping made executable like mmap_file (from the cache:
 * the hook may not sleep); bprm_creds_for_exec decides execveat(AT_EXECVE_CHECK), which stops before
 * bprm_check_security, where the kernel has it (6.14 and later).
 *
 * The cache-hit path for a file that matches nothing is one map lookup and emits nothing. What may be
 * cached is decided on the miss path (subject_miss): never a clean or pending verdict for content that
 * can change without a write-open or a new ctime.
 *
 * Lost work fails closed: a pending or clean verdict is stored only once its ring-buffer record is
 * reserved (a full ring leaves the file unknown, to be reported again); a file too large to hash, or
 * one the kernel could not hash, is refused in enforce mode.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "common.bpf.h"
#include "backstop.h"
#include "embargo.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/fs.h; stable since they were introduced. */
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
/* include/linux/fcntl.h: execve's open asks with this in f_flags; f_mode has FMODE_EXEC only later */
#define __FMODE_EXEC 0x20
/* include/uapi/linux/stat.h */
#define S_IFMT 00170000
#define S_IFREG 0100000
/* include/uapi/asm-generic/mman-common.h, include/linux/mm.h */
#define PROT_EXEC 0x4
#define VM_EXEC 0x4
/* include/uapi/linux/hash_info.h: what bpf_ima_file_hash returns for SHA-256. */
#define HASH_ALGO_SHA256 4
/* Multigrain timestamps keep a "queried" flag in the top bit of i_ctime_nsec; it is no change. */
#define CTIME_NSEC_MASK 0x3fffffffu
/*
 * include/linux/fs.h: an internal mount (kern_mount: memfd, shmem pseudo files, hugetlbfs memfd) and a
 * pseudo file system no one can mount. Files there are opened by alloc_file_pseudo, which takes no
 * i_writecount, and shmem has no page_mkwrite: only the first write fault of a page moves the ctime, later
 * writes through the same shared mapping move nothing.
 */
#define SB_KERNMOUNT (1u << 22)
#define SB_NOUSER (1u << 31)

/* Fixed at load by embargod. */
const volatile __u32 tier = EMBARGO_TIER_DETECT;
/*
 * LSM hooks may call bpf_d_path from 5.11 on. embargod clears this when the kernel refuses the call; the
 * verifier then sees a constant and never visits it, and events carry execve's name or no name (userspace
 * finds the file through /proc/PID).
 */
const volatile bool have_d_path = true;
/*
 * The policy has identity rules (signer, package, path): a file the kernel hashed and found unlisted is
 * still handed to embargod, once per change stamp, to be identified; if it matches, its digest joins the
 * deny set for every later use.
 */
volatile bool classify_misses = false;
/*
 * init_module (a module from a buffer, nothing to hash) is refused in enforce mode: embargo.conf's
 * init_module, read once at start. Constant, so that where it is off the verifier drops the refusal.
 */
const volatile bool deny_init_module = false;
/* embargo.conf's max_hash_size_mib, in bytes: larger files are not hashed (refused in enforce mode). */
const volatile __u64 max_hash_size = 2048ull << 20;
/* embargo.conf's remote_fs deny: the lsm tier refuses, in enforce mode, files on remote file systems
 * (never cached there, so never decided before they run). */
const volatile bool deny_remote = false;
/*
 * Who embargod is: it reads listed files to hash and identify them. By thread group id (its workers are
 * its children) and by its executable's inode, which outlives a crash: the programs a crashed run left
 * pinned must let the next run's start-up scan read what they refuse to others.
 */
const volatile __u32 daemon_tgid = 0;
const volatile __u64 daemon_exe_dev = 0;
const volatile __u64 daemon_exe_ino = 0;
/* lsm-hash on a kernel with file_post_open: post_open_hash decides interpreters' reads (see file_open). */
const volatile bool have_post_open = false;

/*
 * Flipped at runtime by embargod through the mmap'ed data section: no reload, no gap.
 *
 * policy_gen also names the digest set in force: an even generation looks digests up in digests_even,
 * an odd one in digests_odd. A policy reload fills the other set while this one keeps deciding, then
 * stores the next generation here: one 32-bit store switches the whole policy. A decision reads the
 * generation once, so it finishes on the set it started with and stamps its cached verdict with that
 * generation (a verdict of the old one is never valid under the new).
 */
volatile __u32 global_mode = EMBARGO_MODE_ENFORCE;
volatile __u32 policy_gen = 1;
/*
 * The generation a reload is preparing. Before it switches, embargod re-stamps with it the cached
 * matches whose digest the new policy lists too: such a match holds under both generations, so a known
 * prohibited file never becomes "unknown" for a moment (in the lsm tier that would let it run once).
 */
volatile __u32 carry_gen = 0;

struct stat_slot stats[EMBARGO_STAT_SLOTS];

/*
 * Moved by every invalidation (write-open, truncate). A miss reads it before it hashes and stores its
 * verdict only if it has not moved: a write-open or truncate that raced with the hash (and may leave the
 * same ctime within one timestamp tick) cannot be overwritten by a verdict on the old content.
 */
volatile __u64 invalidation_seq;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* sized by embargod */
	__type(key, struct embargo_inode_key);
	__type(value, struct embargo_verdict);
} verdicts SEC(".maps");

/* Sized (and preallocated or not) by embargod: room for the policy, learned digests and a reload. */
struct digest_set {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u8[EMBARGO_SHA256_LEN]);
	__type(value, struct embargo_rule_ref);
};

struct digest_set digests_even SEC(".maps");
struct digest_set digests_odd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct embargo_dedup_key);
	__type(value, struct embargo_dedup_val);
} dedup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Interpreters (see embargo.h). Preallocated hash maps: sleepable programs before 6.1 need them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EMBARGO_INTERP_DIGESTS_MAX);
	__type(key, __u8[EMBARGO_SHA256_LEN]);
	__type(value, __u8);
} interp_digests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EMBARGO_INTERP_INODES_MAX);
	__type(key, struct embargo_inode_key);
	__type(value, struct embargo_interp_stamp);
} interp_inodes SEC(".maps");

/*
 * A hash map by thread group id, not task storage: 5.10 (the lsm tier) has none. Full, a new interpreter
 * process goes untagged: its reads are then decided as anyone's (known listed files only).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EMBARGO_INTERP_TASKS_MAX);
	__type(key, __u32);
	__type(value, __u8);
} interp_tasks SEC(".maps");

/* The tiers whose programs can refuse (tier is constant: the verifier drops what the others never run). */
static __always_inline bool is_lsm_tier(void)
{
	return tier == EMBARGO_TIER_LSM || tier == EMBARGO_TIER_LSM_HASH;
}

static __always_inline void count(enum embargo_stat s)
{
	__u32 slot = bpf_get_smp_processor_id() & (EMBARGO_STAT_SLOTS - 1);

	if (s < EMBARGO_STAT_MAX)
		__sync_fetch_and_add(&stats[slot].v[s], 1);
}

/* struct inode's ctime moved twice: a timespec64 until 6.6, __i_ctime until 6.11, split fields since. */
struct inode___ctime_ts {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime_priv {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime_split {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));

/* Direct loads (BTF pointers), not probe reads: this runs on every exec and executable mmap. */
static __always_inline void inode_ctime(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	if (bpf_core_field_exists(((struct inode___ctime_split *)inode)->i_ctime_sec)) {
		*sec = ((struct inode___ctime_split *)inode)->i_ctime_sec;
		*nsec = ((struct inode___ctime_split *)inode)->i_ctime_nsec;
	} else if (bpf_core_field_exists(((struct inode___ctime_priv *)inode)->__i_ctime)) {
		*sec = ((struct inode___ctime_priv *)inode)->__i_ctime.tv_sec;
		*nsec = ((struct inode___ctime_priv *)inode)->__i_ctime.tv_nsec;
	} else {
		*sec = ((struct inode___ctime_ts *)inode)->i_ctime.tv_sec;
		*nsec = ((struct inode___ctime_ts *)inode)->i_ctime.tv_nsec;
	}
	*nsec &= CTIME_NSEC_MASK;
}

/* What the decision path knows about the file in hand. */
struct subject {
	struct file *file;
	struct inode *inode;
	struct embargo_inode_key key;
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 gen;
	__u32 hook;
	bool writers; /* open for writing somewhere: content may change without a new open */
	/* Filled on a miss only (subject_miss): */
	bool no_cache; /* clean and pending verdicts are not stored (EMBARGO_EVF_NO_CACHE) */
	__u8 fs_kind;  /* enum embargo_fs_kind */
	__u64 seq;     /* invalidation_seq before the decision */
	__s64 size;    /* i_size */
};

static __always_inline void subject_init(struct subject *s, struct file *file, __u32 hook)
{
	struct inode *inode = file->f_inode;

	s->file = file;
	s->inode = inode;
	s->key.dev = inode->i_sb->s_dev;
	s->key.ino = inode->i_ino;
	inode_ctime(inode, &s->ctime_sec, &s->ctime_nsec);
	s->gen = policy_gen;
	s->hook = hook;
	s->writers = inode->i_writecount.counter > 0;
}

/* rw_semaphore's count is its state: non-zero while a writer (write, truncate) or reader holds it. */
static __always_inline bool inode_locked(struct inode *inode)
{
	if (!bpf_core_field_exists(inode->i_rwsem.count))
		return false;
	return BPF_CORE_READ(inode, i_rwsem.count.counter) != 0;
}

/*
 * A miss: what the cache-hit path does not need. Plain field reads; the invalidation sequence first, then
 * the lock, so that a truncate whose hook ran before the sequence was read is still seen holding the
 * inode lock.
 */
static __always_inline void subject_miss(struct subject *s)
{
	struct inode *inode = s->inode;
	struct super_block *sb = inode->i_sb;

	s->seq = invalidation_seq;
	/* The order of the reads matters (see above): x86 does not reorder loads with older loads. */
	asm volatile("" ::: "memory");
	s->size = inode->i_size;
	s->fs_kind = embargo_fs_kind(sb->s_magic);
	s->no_cache = s->writers || (sb->s_flags & (SB_KERNMOUNT | SB_NOUSER)) ||
		      s->fs_kind != EMBARGO_FS_LOCAL ||
		      BPF_CORE_READ(inode, i_mapping, i_mmap_writable.counter) > 0 || inode_locked(inode);
}

static __always_inline bool verdict_valid(const struct subject *s, const struct embargo_verdict *v)
{
	return (v->gen == s->gen || (v->gen == carry_gen && v->verdict == EMBARGO_VERDICT_MATCH)) &&
	       v->ctime_sec == s->ctime_sec && v->ctime_nsec == s->ctime_nsec;
}

/* Store a verdict made on a miss. A match is stored even where content may change: that fails closed. */
static __always_inline void remember(const struct subject *s, __u8 verdict,
				     const struct embargo_rule_ref *ref)
{
	struct embargo_verdict v = {};

	if (s->writers)
		return;
	if (verdict != EMBARGO_VERDICT_MATCH && s->no_cache) {
		count(EMBARGO_STAT_NOT_CACHED);
		return;
	}
	if (invalidation_seq != s->seq)
		return;
	v.ctime_sec = s->ctime_sec;
	v.ctime_nsec = s->ctime_nsec;
	v.gen = s->gen;
	v.verdict = verdict;
	v.stored_ns = bpf_ktime_get_ns();
	if (ref) {
		v.rule_id = ref->rule_id;
		v.vendor_id = ref->vendor_id;
		v.vendor_mode = ref->vendor_mode;
	}
	if (bpf_map_update_elem(&verdicts, &s->key, &v, BPF_ANY) < 0)
		count(EMBARGO_STAT_MAP_ERRORS);
}

/* Off the hot path (matches and unknown files only): probe reads, which 5.10 supports too. */
static __always_inline __u32 current_ppid(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, real_parent, tgid);
}

static __always_inline void fill_task(struct embargo_event *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ppid = current_ppid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	BPF_CORE_READ_STR_INTO(&e->parent_comm, task, real_parent, comm);
}

/* A record with its header and the current task filled in, path empty; NULL (counted) if the ring is full. */
static __always_inline struct embargo_event *event_reserve(__u16 kind)
{
	struct embargo_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(EMBARGO_STAT_RINGBUF_DROPS);
		return NULL;
	}
	/* Ring buffer memory is not zeroed: everything but the path, which is read up to its first NUL. */
	__builtin_memset(e, 0, sizeof(*e) - EMBARGO_PATH_LEN);
	e->path[0] = '\0';
	e->hdr.version = EMBARGO_EVENT_VERSION;
	e->hdr.kind = kind;
	e->hdr.size = sizeof(*e);
	e->hdr.ktime_ns = bpf_ktime_get_ns();
	fill_task(e);
	return e;
}

/*
 * Reserve and fill the common part of an event; the caller submits it. from_argv (a compile-time
 * constant): the detection tier's tracepoint may not call bpf_d_path, so it reports the name given to
 * execve; the verifier must not see the bpf_d_path call there at all.
 */
static __always_inline struct embargo_event *event_new(const struct subject *s, __u16 kind, bool from_argv,
						       const char *argv_name)
{
	struct embargo_event *e = event_reserve(kind);
	long n;

	if (!e)
		return NULL;
	e->dev = s->key.dev;
	e->ino = s->key.ino;
	e->ctime_sec = s->ctime_sec;
	e->ctime_nsec = s->ctime_nsec;
	e->size = (__u64)s->size;
	e->gen = s->gen;
	e->hook = s->hook;
	e->tier = tier;
	if (s->writers)
		e->flags |= EMBARGO_EVF_WRITERS;
	if (s->no_cache)
		e->flags |= EMBARGO_EVF_NO_CACHE;
	if (from_argv || !have_d_path) {
		n = -1;
		if (argv_name) {
			n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), argv_name);
			e->flags |= EMBARGO_EVF_PATH_ARGV;
		}
	} else {
		/* f_path is const since 6.x; the helper only reads it. */
		n = bpf_d_path((struct path *)&s->file->f_path, e->path, sizeof(e->path));
	}
	if (n < 0) {
		e->path[0] = '\0';
		e->flags |= EMBARGO_EVF_PATH_TRUNC;
		count(EMBARGO_STAT_PATH_ERRORS);
	}
	return e;
}

/*
 * A use to report, unless the same parent, in the same cgroup, made the same file match through the same
 * hook within the dedup window (then it is counted into the next report). Returns the reserved record
 * with its repeat count, or NULL. The window moves only once a record is reserved: a use the full ring
 * lost is counted as unreported, so the sweep in embargod reports it ("N more ...").
 */
static __always_inline struct embargo_event *event_dedup(const struct subject *s, bool from_argv,
							 const char *argv_name)
{
	struct embargo_dedup_key dk = {};
	struct embargo_dedup_val *dv, nv = {};
	struct embargo_event *e;
	__u64 now = bpf_ktime_get_ns();

	dk.dev = s->key.dev;
	dk.ino = s->key.ino;
	dk.cgroup_id = bpf_get_current_cgroup_id();
	dk.ppid = current_ppid();
	dk.hook = s->hook;
	dv = bpf_map_lookup_elem(&dedup, &dk);
	if (dv && now - dv->last_emit_ns < EMBARGO_DEDUP_WINDOW_NS) {
		__sync_fetch_and_add(&dv->hits, 1);
		count(EMBARGO_STAT_DEDUPED);
		return NULL;
	}
	e = event_new(s, EMBARGO_EV_MATCH, from_argv, argv_name);
	if (!e) {
		if (dv) {
			__sync_fetch_and_add(&dv->hits, 1);
		} else {
			nv.hits = 1;
			bpf_map_update_elem(&dedup, &dk, &nv, BPF_NOEXIST);
		}
		return NULL;
	}
	if (dv) {
		e->repeated = dv->hits - dv->emitted_hits;
		dv->hits += 1;
		dv->emitted_hits = dv->hits;
		dv->last_emit_ns = now;
	} else {
		nv.last_emit_ns = now;
		nv.hits = 1;
		nv.emitted_hits = 1;
		bpf_map_update_elem(&dedup, &dk, &nv, BPF_ANY);
	}
	return e;
}

/* A file matched: decide by the effective mode, count, and report (event_dedup). */
static __always_inline int on_match(const struct subject *s, const struct embargo_rule_ref *ref,
				    const __u8 *sha256, bool from_argv, const char *argv_name)
{
	struct embargo_event *e;
	__u8 mode = embargo_effective_mode(ref->vendor_mode, global_mode);
	bool deny = embargo_match_action(ref->vendor_mode, global_mode, tier) == EMBARGO_ACTION_DENIED;

	count(deny ? EMBARGO_STAT_DENIED : EMBARGO_STAT_AUDITED);
	e = event_dedup(s, from_argv, argv_name);
	if (e) {
		e->rule_id = ref->rule_id;
		e->vendor_id = ref->vendor_id;
		e->mode = mode;
		e->action = deny ? EMBARGO_ACTION_DENIED : EMBARGO_ACTION_AUDITED;
		if (sha256) {
			__builtin_memcpy(e->sha256, sha256, EMBARGO_SHA256_LEN);
			e->flags |= EMBARGO_EVF_KERNEL_HASH;
		}
		bpf_ringbuf_submit(e, 0);
	}
	return deny ? -EPERM : 0;
}

/*
 * The kernel cannot judge the content (why: EMBARGO_EVF_TOO_LARGE, _HASH_FAILED, _REMOTE_FS): refused in
 * enforce mode, allowed in audit mode, reported in both, never cached (decided again at every use).
 */
static __always_inline int on_undecidable(const struct subject *s, __u16 why, bool from_argv,
					  const char *argv_name)
{
	struct embargo_event *e;
	__u8 mode = global_mode;
	bool deny = mode == EMBARGO_MODE_ENFORCE && is_lsm_tier();

	count(deny ? EMBARGO_STAT_DENIED : EMBARGO_STAT_AUDITED);
	e = event_dedup(s, from_argv, argv_name);
	if (e) {
		e->rule_id = EMBARGO_RULE_NONE;
		e->mode = mode;
		e->action = deny ? EMBARGO_ACTION_DENIED : EMBARGO_ACTION_AUDITED;
		e->flags |= why;
		bpf_ringbuf_submit(e, 0);
	}
	return deny ? -EPERM : 0;
}

/*
 * Not decidable here: tell userspace once per change stamp, allow meanwhile. Pending only once the record
 * is reserved: if the ring is full the file stays unknown and is reported again at its next use.
 */
static __always_inline int on_unknown(const struct subject *s, bool from_argv, const char *argv_name)
{
	struct embargo_event *e;

	count(EMBARGO_STAT_UNKNOWN);
	e = event_new(s, EMBARGO_EV_UNKNOWN, from_argv, argv_name);
	if (!e)
		return 0;
	remember(s, EMBARGO_VERDICT_PENDING, NULL);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* A valid cached verdict: allowed, or the match it records (reported, refused in enforce mode). */
static __always_inline int decide_cached(struct subject *s, const struct embargo_verdict *v, bool from_argv,
					 const char *argv_name)
{
	struct embargo_rule_ref cached_ref;

	count(EMBARGO_STAT_CACHE_HITS);
	if (v->verdict != EMBARGO_VERDICT_MATCH)
		return 0;
	/* A carried match names its rule in the coming generation's numbering. */
	s->gen = v->gen;
	cached_ref.rule_id = v->rule_id;
	cached_ref.vendor_id = v->vendor_id;
	cached_ref.vendor_mode = v->vendor_mode;
	cached_ref.pad = 0;
	return on_match(s, &cached_ref, NULL, from_argv, argv_name);
}

/* The file an exec hashed is an interpreter's image: its inode is one while its ctime holds. */
static __always_inline void note_interpreter(const struct subject *s, const __u8 *digest)
{
	struct embargo_interp_stamp st = {};

	if (s->hook != EMBARGO_HOOK_EXEC || !bpf_map_lookup_elem(&interp_digests, digest))
		return;
	st.ctime_sec = s->ctime_sec;
	st.ctime_nsec = s->ctime_nsec;
	if (bpf_map_update_elem(&interp_inodes, &s->key, &st, BPF_ANY) < 0)
		count(EMBARGO_STAT_MAP_ERRORS);
}

/*
 * A file an interpreter reads is most often data: one the kernel cannot judge (too large, not hashable,
 * remote) is allowed, unreported, where an exec of it would be refused (docs/threat-model.md).
 */
static __always_inline bool judged_as_code(const struct subject *s)
{
	return s->hook != EMBARGO_HOOK_READ;
}

/*
 * The decision on a cache miss. can_hash is a compile-time constant per program: only sleepable programs
 * may call bpf_ima_file_hash, and the verifier must not see the call in the others.
 */
static __always_inline int decide_miss(struct subject *s, bool can_hash, bool from_argv,
				       const char *argv_name)
{
	struct embargo_rule_ref *ref;
	__u8 digest[EMBARGO_SHA256_LEN] = {};
	long algo;

	count(EMBARGO_STAT_CACHE_MISSES);
	subject_miss(s);
	/*
	 * Bounded before it starts: a 2^62-byte sparse memfd would otherwise be read to its end, here or, in
	 * the lsm tier, by embargod. The tiers that refuse in the kernel refuse it.
	 */
	if (is_lsm_tier() && (s->size < 0 || (__u64)s->size > max_hash_size)) {
		count(EMBARGO_STAT_TOO_LARGE);
		if (!judged_as_code(s))
			return 0;
		return on_undecidable(s, EMBARGO_EVF_TOO_LARGE, from_argv, argv_name);
	}
	if (!can_hash) {
		/* Never cached there, so never decided before it runs: remote_fs deny refuses it instead. */
		if (deny_remote && s->fs_kind == EMBARGO_FS_REMOTE && tier == EMBARGO_TIER_LSM &&
		    global_mode == EMBARGO_MODE_ENFORCE && judged_as_code(s))
			return on_undecidable(s, EMBARGO_EVF_REMOTE_FS, from_argv, argv_name);
		return on_unknown(s, from_argv, argv_name);
	}
	count(EMBARGO_STAT_KERNEL_HASHES);
	algo = bpf_ima_file_hash(s->file, digest, sizeof(digest));
	if (algo != HASH_ALGO_SHA256) {
		/* Cannot judge the content (O_DIRECT, an I/O error): allowing it would let anything through.
		 */
		count(EMBARGO_STAT_HASH_ERRORS);
		if (!judged_as_code(s))
			return 0;
		return on_undecidable(s, EMBARGO_EVF_HASH_FAILED, from_argv, argv_name);
	}
	note_interpreter(s, digest);
	ref = bpf_map_lookup_elem(s->gen & 1 ? (void *)&digests_odd : (void *)&digests_even, digest);
	if (!ref) {
		struct embargo_event *e;

		if (!classify_misses) {
			remember(s, EMBARGO_VERDICT_CLEAN, NULL);
			return 0;
		}
		/* Clean only once embargod is sure to hear of it: identity rules may still match it. */
		e = event_new(s, EMBARGO_EV_UNKNOWN, from_argv, argv_name);
		if (!e)
			return 0;
		remember(s, EMBARGO_VERDICT_CLEAN, NULL);
		__builtin_memcpy(e->sha256, digest, EMBARGO_SHA256_LEN);
		e->flags |= EMBARGO_EVF_KERNEL_HASH;
		bpf_ringbuf_submit(e, 0);
		return 0;
	}
	remember(s, EMBARGO_VERDICT_MATCH, ref);
	return on_match(s, ref, digest, from_argv, argv_name);
}

/* The decision: from the cache, or decide_miss. */
static __always_inline int decide(struct file *file, __u32 hook, bool can_hash, bool from_argv,
				  const char *argv_name)
{
	struct subject s = {};
	struct embargo_verdict *v;

	subject_init(&s, file, hook);
	v = bpf_map_lookup_elem(&verdicts, &s.key);
	if (v && verdict_valid(&s, v))
		return decide_cached(&s, v, from_argv, argv_name);
	return decide_miss(&s, can_hash, from_argv, argv_name);
}

static __always_inline bool is_exec_mmap(struct file *file, unsigned long prot)
{
	return file && (prot & PROT_EXEC);
}

SEC("lsm.s/bprm_check_security")
int BPF_PROG(exec_hash, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return earlier(ret);
	return verdict_errno(decide(bprm->file, EMBARGO_HOOK_EXEC, true, false, bprm->filename));
}

SEC("lsm/bprm_check_security")
int BPF_PROG(exec_cache, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return earlier(ret);
	return verdict_errno(decide(bprm->file, EMBARGO_HOOK_EXEC, false, false, bprm->filename));
}

SEC("lsm.s/mmap_file")
int BPF_PROG(mmap_hash, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
	     int ret)
{
	if (ret)
		return earlier(ret);
	if (!is_exec_mmap(file, prot))
		return 0;
	return verdict_errno(decide(file, EMBARGO_HOOK_MMAP, true, false, NULL));
}

SEC("lsm/mmap_file")
int BPF_PROG(mmap_cache, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
	     int ret)
{
	if (ret)
		return earlier(ret);
	if (!is_exec_mmap(file, prot))
		return 0;
	return verdict_errno(decide(file, EMBARGO_HOOK_MMAP, false, false, NULL));
}

/*
 * Kernel modules loaded from a file (finit_module): decided like an exec, before the kernel reads them.
 * The enum's value is taken from the running kernel (CO-RE), not assumed.
 */
static __always_inline bool is_module(enum kernel_read_file_id id)
{
	return id == bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE);
}

SEC("lsm.s/kernel_read_file")
int BPF_PROG(module_hash, struct file *file, enum kernel_read_file_id id, bool contents, int ret)
{
	if (ret)
		return earlier(ret);
	if (!file || !is_module(id))
		return 0;
	return verdict_errno(decide(file, EMBARGO_HOOK_MODULE, true, false, NULL));
}

SEC("lsm/kernel_read_file")
int BPF_PROG(module_cache, struct file *file, enum kernel_read_file_id id, bool contents, int ret)
{
	if (ret)
		return earlier(ret);
	if (!file || !is_module(id))
		return 0;
	return verdict_errno(decide(file, EMBARGO_HOOK_MODULE, false, false, NULL));
}

/*
 * init_module(2): the module comes from a buffer, so there is no file to hash or identify. The setting
 * decides (refused in enforce mode, or allowed), and every such load is reported with who did it.
 */
SEC("lsm/kernel_load_data")
int BPF_PROG(module_memory, enum kernel_load_data_id id, bool contents, int ret)
{
	struct embargo_event *e;
	bool deny;

	if (ret)
		return earlier(ret);
	if (id != bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE))
		return 0;
	deny = deny_init_module && global_mode == EMBARGO_MODE_ENFORCE;
	count(deny ? EMBARGO_STAT_DENIED : EMBARGO_STAT_AUDITED);
	e = event_reserve(EMBARGO_EV_MATCH);
	if (!e)
		return verdict_errno(deny);
	e->gen = policy_gen;
	e->hook = EMBARGO_HOOK_MODULE;
	e->tier = tier;
	e->flags = EMBARGO_EVF_MEMORY;
	e->rule_id = EMBARGO_RULE_NONE;
	e->mode = global_mode;
	e->action = deny ? EMBARGO_ACTION_DENIED : EMBARGO_ACTION_AUDITED;
	bpf_ringbuf_submit(e, 0);
	return verdict_errno(deny);
}

/* The content may change: drop the inode's verdict, and keep a decision under way from storing one. */
static __always_inline void invalidate(struct inode *inode)
{
	struct embargo_inode_key key = {
		.dev = inode->i_sb->s_dev,
		.ino = inode->i_ino,
	};

	__sync_fetch_and_add((__u64 *)&invalidation_seq, 1);
	if (bpf_map_delete_elem(&verdicts, &key) == 0)
		count(EMBARGO_STAT_INVALIDATIONS);
}

/*
 * truncate(2) by name takes no open, so file_open never sees it, and within one timestamp tick the ctime
 * may not move. Every other size change (ftruncate, fallocate, O_TRUNC, writes) needs a write descriptor,
 * which file_open has seen; mode and owner changes do not change the content.
 */
SEC("lsm/path_truncate")
int BPF_PROG(path_truncate, const struct path *path, int ret)
{
	if (ret)
		return earlier(ret);
	invalidate(path->dentry->d_inode);
	return 0;
}

/* embargod and the workers it forks read listed files to hash and identify them. Off the hot path. */
static __always_inline bool is_daemon(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct inode *exe = BPF_CORE_READ(task, mm, exe_file, f_inode);
	__u32 d = daemon_tgid;

	if (d && ((__u32)(bpf_get_current_pid_tgid() >> 32) == d || current_ppid() == d))
		return true;
	return exe && daemon_exe_ino && BPF_CORE_READ(exe, i_ino) == daemon_exe_ino &&
	       BPF_CORE_READ(exe, i_sb, s_dev) == daemon_exe_dev;
}

static __always_inline bool is_interpreter_task(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return bpf_map_lookup_elem(&interp_tasks, &tgid) != NULL;
}

/* include/uapi/linux/magic.h: files that are views of the kernel's state, no one's code. */
static __always_inline bool is_pseudo_fs(__u64 magic)
{
	switch (magic) {
	case 0x9fa0:	 /* PROC_SUPER_MAGIC */
	case 0x62656572: /* SYSFS_MAGIC */
	case 0x27e0eb:	 /* CGROUP_SUPER_MAGIC */
	case 0x63677270: /* CGROUP2_SUPER_MAGIC */
	case 0x64626720: /* DEBUGFS_MAGIC */
	case 0x74726163: /* TRACEFS_MAGIC */
	case 0x73636673: /* SECURITYFS_MAGIC */
	case 0xcafe4a11: /* BPF_FS_MAGIC */
	case 0x62656570: /* CONFIGFS_MAGIC */
	case 0xde5e81e4: /* EFIVARFS_MAGIC */
	case 0x6165676c: /* PSTOREFS_MAGIC */
		return true;
	default:
		return false;
	}
}

/* A file an interpreter's read-open of which is decided like an exec: a regular file with content. */
static __always_inline bool is_script_candidate(struct inode *inode)
{
	return (inode->i_mode & S_IFMT) == S_IFREG && !is_pseudo_fs(inode->i_sb->s_magic);
}

/*
 * Every open on the machine passes here. A write-open drops the cached verdict (the content may change).
 * Any other open of a file known to be prohibited is refused here (in enforce mode; reported in audit
 * mode): an exec-open, or a read by anyone but embargod, so that `sh known.sh`, `sh < known.sh` and
 * `. known.sh` fail like the exec. For everything else this costs the verdict lookup and emits nothing.
 *
 * A read-open of a regular file by an interpreter is decided like an exec. Not here in lsm-hash where the
 * kernel has file_post_open (6.9 and later): the file is not readable yet (no FMODE_CAN_READ), so IMA
 * cannot hash it; post_open_hash decides once it is. Elsewhere an unknown one is reported for embargod to
 * classify, and allowed meanwhile (docs/threat-model.md).
 */
SEC("lsm/file_open")
int BPF_PROG(file_open, struct file *file, int ret)
{
	struct embargo_verdict *v;
	struct subject s = {};
	__u32 fmode;

	if (ret)
		return earlier(ret);
	fmode = file->f_mode;
	if (fmode & FMODE_WRITE) {
		invalidate(file->f_inode);
		return 0;
	}
	/* execve's own open: bprm_check_security, which runs next, decides (and reports the exec). */
	if (!(fmode & FMODE_EXEC) && (file->f_flags & __FMODE_EXEC))
		return 0;
	subject_init(&s, file, fmode & FMODE_EXEC ? EMBARGO_HOOK_OPEN : EMBARGO_HOOK_READ);
	v = bpf_map_lookup_elem(&verdicts, &s.key);
	if (v && verdict_valid(&s, v)) {
		if (v->verdict != EMBARGO_VERDICT_MATCH || (!(fmode & FMODE_EXEC) && is_daemon()))
			return 0;
		return verdict_errno(decide_cached(&s, v, false, NULL));
	}
	/* An unknown exec-open is left to bprm_check_security, which runs next. */
	if (fmode & FMODE_EXEC || have_post_open || !is_interpreter_task() || !is_script_candidate(s.inode))
		return 0;
	return verdict_errno(decide_miss(&s, false, false, NULL));
}

/* lsm-hash, 6.9 and later: an interpreter's read-open, now readable, hashed in the kernel on a miss. */
SEC("lsm.s/file_post_open")
int BPF_PROG(post_open_hash, struct file *file, int mask, int ret)
{
	struct embargo_verdict *v;
	struct subject s = {};

	if (ret)
		return earlier(ret);
	if (file->f_mode & (FMODE_WRITE | FMODE_EXEC) || (file->f_flags & __FMODE_EXEC) ||
	    !is_interpreter_task() || !is_script_candidate(file->f_inode))
		return 0;
	subject_init(&s, file, EMBARGO_HOOK_READ);
	v = bpf_map_lookup_elem(&verdicts, &s.key);
	if (v && verdict_valid(&s, v))
		return verdict_errno(decide_cached(&s, v, false, NULL));
	return verdict_errno(decide_miss(&s, true, false, NULL));
}

/*
 * A file mapping made executable after the fact (mmap PROT_READ, then mprotect PROT_EXEC) is decided as
 * mmap_file decides one mapped executable. The hook runs under the mmap lock and may not sleep: a file the
 * cache does not know is reported and allowed, as in the lsm tier. Anonymous memory (JITs) is not looked
 * at, nor a mapping that is executable already (mmap_file or an earlier mprotect decided it).
 */
SEC("lsm/file_mprotect")
int BPF_PROG(mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret)
{
	struct file *file;

	if (ret)
		return earlier(ret);
	file = vma->vm_file;
	if (!is_exec_mmap(file, prot) || (vma->vm_flags & VM_EXEC))
		return 0;
	/* bpf_d_path is for sleepable hooks only: the event names no path, embargod finds the mapping. */
	return verdict_errno(decide(file, EMBARGO_HOOK_MPROTECT, false, true, NULL));
}

/* include/linux/binfmts.h, 6.14 and later: execveat(AT_EXECVE_CHECK) asks and stops here. */
struct linux_binprm___check {
	unsigned int is_check : 1;
} __attribute__((preserve_access_index));

static __always_inline bool bprm_is_check(struct linux_binprm *bprm)
{
	struct linux_binprm___check *b = (void *)bprm;

	if (!bpf_core_field_exists(b->is_check))
		return false;
	return BPF_CORE_READ_BITFIELD(b, is_check);
}

/*
 * Interpreters that honour AT_EXECVE_CHECK get exec's answer for the script they are about to read. Loaded
 * only where struct linux_binprm has is_check (embargod asks the kernel's BTF).
 */
SEC("lsm.s/bprm_creds_for_exec")
int BPF_PROG(exec_check_hash, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return earlier(ret);
	if (!bprm_is_check(bprm))
		return 0;
	return verdict_errno(decide(bprm->file, EMBARGO_HOOK_EXEC_CHECK, true, false, bprm->filename));
}

SEC("lsm/bprm_creds_for_exec")
int BPF_PROG(exec_check_cache, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return earlier(ret);
	if (!bprm_is_check(bprm))
		return 0;
	return verdict_errno(decide(bprm->file, EMBARGO_HOOK_EXEC_CHECK, false, false, bprm->filename));
}

/*
 * Which processes run an interpreter. At exec (the image is in place, the thread group id is the one it
 * keeps) by the image's inode; at fork the child inherits; when the last thread exits the tag goes.
 */
static __always_inline bool is_interpreter_image(struct file *file)
{
	struct inode *inode = file->f_inode;
	struct embargo_inode_key key = {
		.dev = inode->i_sb->s_dev,
		.ino = inode->i_ino,
	};
	struct embargo_interp_stamp *st = bpf_map_lookup_elem(&interp_inodes, &key);
	__s64 sec;
	__u32 nsec;

	if (!st)
		return false;
	inode_ctime(inode, &sec, &nsec);
	return st->ctime_sec == sec && st->ctime_nsec == nsec;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(interp_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 one = 1;

	if (!is_interpreter_image(bprm->file))
		bpf_map_delete_elem(&interp_tasks, &tgid);
	else if (bpf_map_update_elem(&interp_tasks, &tgid, &one, BPF_ANY) < 0)
		count(EMBARGO_STAT_MAP_ERRORS);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(interp_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (ctgid == ptgid || !bpf_map_lookup_elem(&interp_tasks, &ptgid))
		return 0;
	if (bpf_map_update_elem(&interp_tasks, &ctgid, &one, BPF_ANY) < 0)
		count(EMBARGO_STAT_MAP_ERRORS);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(interp_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	/* do_exit has counted this thread out of signal->live before the tracepoint. */
	if (BPF_CORE_READ(p, signal, live.counter) == 0)
		bpf_map_delete_elem(&interp_tasks, &tgid);
	return 0;
}

#define SIGKILL 9
#define SIGSTOP 19
/* include/linux/fsnotify_backend.h: in a super block's s_fsnotify_mask while a group has such a mark. */
#define FS_OPEN_EXEC_PERM 0x00040000

/* embargod's fanotify reader stamps slot 0 (bpf_ktime_get_ns) while it answers held images. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} holder SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} held SEC(".maps");

/*
 * The fanotify tier, enforce mode: an image no permission event decided (an unmarked file system, or an
 * internal mount: memfd, shmem) and no verdict covers is stopped before its first instruction and handed
 * to embargod, which classifies /proc/PID/exe and continues or kills it (backstop.h). A clean verdict
 * lets it run, except on internal mounts (content that changes without a new ctime); a match is left to
 * decide(), which kills it. A full ring kills: what cannot be classified does not run.
 */
static __always_inline bool hold_unclassified(struct file *file)
{
	struct inode *inode = file->f_inode;
	struct super_block *sb = inode->i_sb;
	bool internal = sb->s_flags & (SB_KERNMOUNT | SB_NOUSER);
	struct subject s = {};
	struct embargo_verdict *v;
	struct embargo_held *h;
	__u32 zero = 0;
	__u64 *stamp;

	if (tier != EMBARGO_TIER_FANOTIFY || global_mode != EMBARGO_MODE_ENFORCE)
		return false;
	if (!internal && (sb->s_fsnotify_mask & FS_OPEN_EXEC_PERM))
		return false;
	/*
	 * Remote file systems are not marked (a stalled server would stall every exec): held only where
	 * remote_fs deny says their files must not run unchecked; else they run as before.
	 */
	if (!deny_remote && embargo_fs_kind(sb->s_magic) == EMBARGO_FS_REMOTE)
		return false;
	stamp = bpf_map_lookup_elem(&holder, &zero);
	if (!stamp || !*stamp || bpf_ktime_get_ns() - *stamp > EMBARGO_HOLDER_ALIVE_NS)
		return false;
	subject_init(&s, file, EMBARGO_HOOK_EXEC);
	v = bpf_map_lookup_elem(&verdicts, &s.key);
	if (v && verdict_valid(&s, v) &&
	    (v->verdict == EMBARGO_VERDICT_MATCH || (v->verdict == EMBARGO_VERDICT_CLEAN && !internal)))
		return false;
	h = bpf_ringbuf_reserve(&held, sizeof(*h), 0);
	if (!h) {
		count(EMBARGO_STAT_RINGBUF_DROPS);
		bpf_send_signal(SIGKILL);
		return true;
	}
	h->pid = bpf_get_current_pid_tgid() >> 32;
	h->dev = s.key.dev;
	h->ino = s.key.ino;
	h->ctime_sec = s.ctime_sec;
	h->ctime_nsec = s.ctime_nsec;
	bpf_send_signal(SIGSTOP);
	bpf_ringbuf_submit(h, 0);
	return true;
}

/*
 * Detection and fanotify tiers: the new image is in place; report what we know or hand it to userspace.
 * In the fanotify tier embargod refuses the exec before it gets here; a known prohibited image that
 * still arrives (the daemon is gone, or was too slow) is killed before its first instruction, and an
 * unclassified one that fanotify could not see is held (hold_unclassified).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_detect, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (hold_unclassified(bprm->file))
		return 0;
	if (decide(bprm->file, EMBARGO_HOOK_EXEC, false, true, bprm->filename) &&
	    tier == EMBARGO_TIER_FANOTIFY)
		bpf_send_signal(SIGKILL);
	return 0;
}
