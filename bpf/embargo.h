/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Types shared by the BPF programs and userspace. One definition for both sides: plain fixed-size
 * types, explicit padding, sizes asserted, so that a record written by one side is read bit for bit by
 * the other whatever the compiler. Every record is zeroed before it is filled.
 */
#ifndef EMBARGO_H
#define EMBARGO_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define EMBARGO_SHA256_LEN 32
#define EMBARGO_COMM_LEN 16
/* A full PATH_MAX: a truncated path in an audit trail is a path nobody can act on. */
#define EMBARGO_PATH_LEN 4096

/* Version of struct embargo_event; bump on any layout change. */
#define EMBARGO_EVENT_VERSION 2

/* Global and per-vendor enforcement mode. */
enum embargo_mode {
	EMBARGO_MODE_INHERIT = 0, /* vendor without its own mode: the global one applies */
	EMBARGO_MODE_AUDIT = 1,
	EMBARGO_MODE_ENFORCE = 2,
};

/*
 * The one definition of the mode that applies to a match: a vendor's own mode wins over the global one.
 * Both sides use it (the kernel programs, embargod, embargoctl): never write the comparison out again.
 */
static inline __u8 embargo_effective_mode(__u8 vendor_mode, __u8 global_mode)
{
	return vendor_mode != EMBARGO_MODE_INHERIT ? vendor_mode : global_mode;
}

/* The kernel path that asked. */
enum embargo_hook {
	EMBARGO_HOOK_EXEC = 1,	 /* bprm_check_security, or sched_process_exec in the detection tier */
	EMBARGO_HOOK_MMAP = 2,	 /* mmap_file with PROT_EXEC */
	EMBARGO_HOOK_OPEN = 3,	 /* file_open for exec */
	EMBARGO_HOOK_MODULE = 4, /* kernel_read_file of a kernel module (finit_module) */
	/* file_open for reading: of a file known to be listed, or of any regular file by an interpreter */
	EMBARGO_HOOK_READ = 5,
	EMBARGO_HOOK_MPROTECT = 6,   /* file_mprotect making a file mapping executable */
	EMBARGO_HOOK_EXEC_CHECK = 7, /* bprm_creds_for_exec of execveat(AT_EXECVE_CHECK), 6.14 and later */
};

enum embargo_action {
	EMBARGO_ACTION_DENIED = 1,
	EMBARGO_ACTION_AUDITED = 2,
};

enum embargo_event_kind {
	/* A file matched a rule; action says what the kernel did. */
	EMBARGO_EV_MATCH = 1,
	/* The kernel could not decide (no in-kernel hashing): userspace must classify the file. */
	EMBARGO_EV_UNKNOWN = 2,
};

/* Verdict cached per inode. */
enum embargo_verdict_kind {
	EMBARGO_VERDICT_CLEAN = 1,
	EMBARGO_VERDICT_MATCH = 2,
	/* Reported to userspace, not yet classified: not reported again until it is. */
	EMBARGO_VERDICT_PENDING = 3,
};

/* The enforcement tier; the kernel programs loaded differ per tier. */
enum embargo_tier {
	EMBARGO_TIER_DETECT = 0,   /* tp_btf/sched_process_exec: report only */
	EMBARGO_TIER_LSM = 1,	   /* BPF LSM, verdicts from userspace: an unseen file runs once */
	EMBARGO_TIER_LSM_HASH = 2, /* BPF LSM + in-kernel SHA-256: synchronous on first sight */
	/* fanotify permission events decided by embargod; sched_process_exec kills known prohibited
	 * images (SIGKILL before their first instruction) if the daemon is gone */
	EMBARGO_TIER_FANOTIFY = 3,
};

/* What is done with a match: refused only in enforce mode and in a tier that can refuse. */
static inline __u8 embargo_match_action(__u8 vendor_mode, __u8 global_mode, __u8 tier)
{
	return embargo_effective_mode(vendor_mode, global_mode) == EMBARGO_MODE_ENFORCE &&
			       tier != EMBARGO_TIER_DETECT
		       ? EMBARGO_ACTION_DENIED
		       : EMBARGO_ACTION_AUDITED;
}

/* Flags in embargo_event.flags. */
#define EMBARGO_EVF_KERNEL_HASH (1u << 0) /* sha256 was computed in the kernel */
#define EMBARGO_EVF_PATH_TRUNC (1u << 1)  /* path did not fit or could not be resolved */
#define EMBARGO_EVF_PATH_ARGV (1u << 2)	  /* path is the name given to execve (detection tier) */
#define EMBARGO_EVF_WRITERS (1u << 3)	  /* the file was open for writing: verdict not cached */
#define EMBARGO_EVF_MEMORY (1u << 4)	  /* init_module: a module from memory, no file (dev, ino 0) */
/*
 * The content can change with no new open and no ctime change (a memfd or another file on an internal
 * mount, a writable shared mapping, an overlay or remote file system, a write or truncate under way):
 * the kernel cached no clean or pending verdict, and userspace must not either (a match may be cached:
 * that fails closed).
 */
#define EMBARGO_EVF_NO_CACHE (1u << 5)
/* Refused in enforce mode, reported in audit mode, with rule EMBARGO_RULE_NONE: the kernel could not judge */
#define EMBARGO_EVF_TOO_LARGE (1u << 6) /* i_size (event .size) above max_hash_size_mib: not hashed */
#define EMBARGO_EVF_HASH_FAILED                                                                              \
	(1u << 7)			/* bpf_ima_file_hash failed (O_DIRECT, I/O error) or not SHA-256     \
					 */
#define EMBARGO_EVF_REMOTE_FS (1u << 8) /* on a remote file system, lsm tier, remote_fs deny */
#define EMBARGO_EVF_UNDECIDABLE (EMBARGO_EVF_TOO_LARGE | EMBARGO_EVF_HASH_FAILED | EMBARGO_EVF_REMOTE_FS)

/* A rule id with this bit names an identity rule (signer, package, path) whose file's digest was learned. */
#define EMBARGO_RULE_IDENT (1u << 31)
/* The rule id of an init_module event: no rule, the init_module setting of embargo.conf decided. */
#define EMBARGO_RULE_NONE 0xffffffffu

/*
 * File systems whose content embargo cannot pin to an inode's ctime, by super_block.s_magic
 * (include/uapi/linux/magic.h and the file systems' own headers). The one list: the kernel programs and
 * userspace both ask here.
 */
enum embargo_fs_kind {
	EMBARGO_FS_LOCAL = 0,
	/* The overlay inode's ctime does not follow the lower file; the real inode is not reachable portably.
	 */
	EMBARGO_FS_OVERLAY = 1,
	/* FUSE and network file systems: the server controls content and ctime. */
	EMBARGO_FS_REMOTE = 2,
};

static inline __u8 embargo_fs_kind(__u64 magic)
{
	switch (magic) {
	case 0x794c7630: /* OVERLAYFS_SUPER_MAGIC */
		return EMBARGO_FS_OVERLAY;
	case 0x65735546: /* FUSE_SUPER_MAGIC */
	case 0x6969:	 /* NFS_SUPER_MAGIC */
	case 0xff534d42: /* CIFS_SUPER_MAGIC */
	case 0xfe534d42: /* SMB2_SUPER_MAGIC */
	case 0x01021997: /* V9FS_MAGIC */
	case 0x00c36400: /* CEPH_SUPER_MAGIC */
	case 0x5346414f: /* AFS_SUPER_MAGIC */
	case 0x6b414653: /* AFS_FS_MAGIC (kAFS) */
	case 0x517b:	 /* SMB_SUPER_MAGIC */
	case 0x73757245: /* CODA_SUPER_MAGIC */
	case 0x7461636f: /* OCFS2_SUPER_MAGIC */
	case 0x01161970: /* GFS2_MAGIC */
	case 0x20030528: /* ORANGEFS_DEVREQ_MAGIC */
	case 0x0bd00bd0: /* LL_SUPER_MAGIC (Lustre) */
	case 0x564c:	 /* NCP_SUPER_MAGIC */
		return EMBARGO_FS_REMOTE;
	default:
		return EMBARGO_FS_LOCAL;
	}
}

/* Key of the per-inode verdict cache. dev is the kernel's s_dev encoding (MAJOR << 20 | MINOR). */
struct embargo_inode_key {
	__u64 dev;
	__u64 ino;
};

/*
 * A cached verdict is valid only while the inode's ctime equals the stamp (every write, truncate,
 * chmod, chown or link moves ctime) and the policy generation is the one it was made under.
 */
struct embargo_verdict {
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 gen;
	__u32 rule_id;
	__u16 vendor_id;
	__u8 verdict;	  /* enum embargo_verdict_kind */
	__u8 vendor_mode; /* enum embargo_mode */
	/* bpf_ktime_get_ns() when the kernel stored it: embargod drops PENDING older than the TTL below */
	__u64 stored_ns;
};

/*
 * A PENDING verdict whose event embargod never classified (it was restarted, or classification failed
 * quietly) would keep the file unreported: embargod deletes PENDING entries older than this, so the
 * kernel reports the file again at its next use.
 */
#define EMBARGO_PENDING_TTL_NS 5000000000ull /* 5 s */

/*
 * Interpreters (embargo.conf's interpreters): a process whose image is one has its read-opens of regular
 * files decided like execs. Userspace puts their digests into interp_digests (value: a byte, unused) and
 * the inodes it found them at into interp_inodes; the kernel adds the inodes of copies it hashes at exec
 * (lsm-hash). An inode entry holds while the inode's ctime equals the stamp.
 */
#define EMBARGO_INTERP_DIGESTS_MAX 256
#define EMBARGO_INTERP_INODES_MAX 4096
/* Processes (thread group ids) running an interpreter, tagged at exec and inherited at fork. */
#define EMBARGO_INTERP_TASKS_MAX 16384

struct embargo_interp_stamp {
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 pad;
};

/* Value of the deny-digest map, keyed by the 32-byte SHA-256. */
struct embargo_rule_ref {
	__u32 rule_id; /* index into the userspace rule table of the generation */
	__u16 vendor_id;
	__u8 vendor_mode; /* enum embargo_mode */
	__u8 pad;
};

/*
 * Repeated matches of one file by one parent in one cgroup through one hook are counted here, not
 * re-emitted. The cgroup is part of the key so that two containers or services running the same file
 * under the same parent (a container runtime's shim, PID 1) are each reported, with their own counts.
 * Within the window after a report a match is only counted; the kernel programs and embargod (the
 * fanotify tier's matches, the sweep that reports repeats) share this one window.
 */
#define EMBARGO_DEDUP_WINDOW_NS 1000000000ull /* 1 s */

struct embargo_dedup_key {
	__u64 dev;
	__u64 ino;
	__u64 cgroup_id; /* cgroup v2 id of the process (bpf_get_current_cgroup_id) */
	__u32 ppid;
	__u32 hook;
};

struct embargo_dedup_val {
	__u64 last_emit_ns;
	__u64 hits;	    /* every match, emitted or not */
	__u64 emitted_hits; /* hits at the last emission: hits - emitted_hits were suppressed */
};

struct embargo_event_hdr {
	__u16 version; /* EMBARGO_EVENT_VERSION */
	__u16 kind;    /* enum embargo_event_kind */
	__u32 size;    /* sizeof(struct embargo_event) */
	__u64 ktime_ns;
};

struct embargo_event {
	struct embargo_event_hdr hdr;
	__u32 pid; /* thread group id */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u64 cgroup_id;
	__u64 dev;
	__u64 ino;
	__u64 repeated;	 /* matches of this file by this parent in this cgroup suppressed before this one */
	__s64 ctime_sec; /* the inode's change stamp when the kernel looked: userspace caches under it */
	__u32 ctime_nsec;
	__u32 pad;
	__u64 size; /* i_size when the kernel looked */
	__u32 rule_id;
	__u16 vendor_id;
	__u8 hook;   /* enum embargo_hook */
	__u8 action; /* enum embargo_action */
	__u8 mode;   /* effective enum embargo_mode */
	__u8 tier;   /* enum embargo_tier */
	__u16 flags; /* EMBARGO_EVF_* */
	__u32 gen;
	__u8 sha256[EMBARGO_SHA256_LEN];
	char comm[EMBARGO_COMM_LEN];
	char parent_comm[EMBARGO_COMM_LEN];
	char path[EMBARGO_PATH_LEN];
};

/* Counters, one per-CPU slot each; userspace sums them. */
enum embargo_stat {
	/* Every decision is a hit or a miss: "decisions" is their sum, counted by nobody. */
	EMBARGO_STAT_CACHE_HITS = 0,
	EMBARGO_STAT_CACHE_MISSES,
	EMBARGO_STAT_KERNEL_HASHES,
	EMBARGO_STAT_DENIED,
	EMBARGO_STAT_AUDITED,
	EMBARGO_STAT_UNKNOWN, /* handed to userspace for classification */
	EMBARGO_STAT_DEDUPED, /* matches counted into an earlier event */
	EMBARGO_STAT_RINGBUF_DROPS,
	EMBARGO_STAT_HASH_ERRORS, /* bpf_ima_file_hash failed or was not SHA-256 */
	EMBARGO_STAT_PATH_ERRORS,
	EMBARGO_STAT_MAP_ERRORS,
	EMBARGO_STAT_INVALIDATIONS, /* cache entries dropped by a write-open or a truncate */
	EMBARGO_STAT_TOO_LARGE,	    /* above max_hash_size_mib: not hashed, refused in enforce mode */
	EMBARGO_STAT_NOT_CACHED,    /* decided, but content may change unseen: no clean verdict kept */
	EMBARGO_STAT_MAX,
};

/* Counters live in a per-CPU-slot global array, so counting costs no map lookup on the hot path. */
#define EMBARGO_STAT_SLOTS 256

/* One CPU's counters, a cache line pair of their own. The skeleton names this type for .bss. */
struct stat_slot {
	__u64 v[EMBARGO_STAT_MAX];
} __attribute__((aligned(128)));

#define EMBARGO_STAT_NAMES                                                                                   \
	{                                                                                                    \
		"cache_hits", "cache_misses", "kernel_hashes", "denied", "audited", "unknown",               \
			"deduplicated", "ringbuf_drops", "hash_errors", "path_errors", "map_errors",         \
			"invalidations", "too_large", "not_cached",                                          \
	}

_Static_assert(sizeof(struct embargo_inode_key) == 16, "embargo_inode_key layout");
_Static_assert(sizeof(struct embargo_verdict) == 32, "embargo_verdict layout");
_Static_assert(sizeof(struct embargo_rule_ref) == 8, "embargo_rule_ref layout");
_Static_assert(sizeof(struct embargo_interp_stamp) == 16, "embargo_interp_stamp layout");
_Static_assert(sizeof(struct embargo_dedup_key) == 32, "embargo_dedup_key layout");
_Static_assert(sizeof(struct embargo_dedup_val) == 24, "embargo_dedup_val layout");
_Static_assert(sizeof(struct stat_slot) == 128, "stat_slot layout");
_Static_assert(sizeof(struct embargo_event_hdr) == 16, "embargo_event_hdr layout");
_Static_assert(sizeof(struct embargo_event) == 16 + 24 + 24 + 16 + 8 + 16 + 32 + 32 + EMBARGO_PATH_LEN,
	       "embargo_event layout");

#endif
