/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The inventory: find a policy's files on disk and in running processes.
 *
 * embargo_scan() walks trees (by default the local filesystems from "/"), hashes the regular files that can
 * carry code (or every file with .all) on worker threads, and reports each one through on_file with its
 * digest and the verdict of the decision core (verdict.h: the same as `embargoctl inspect`'s, every kind of
 * rule). A persistent cache (device, inode, size, mtime, ctime -> digest, and whether the content can carry
 * a signature or matched no signer rule) lets a re-scan of an unchanged tree read no file content.
 * embargo_scan_processes() finds the processes whose executable or executable file mappings match, deleted
 * files included.
 *
 * Walk rules (docs/scan.md): symbolic links are never followed (except a path given in .paths, which is
 * resolved as named); FIFOs, sockets and devices are never opened; a directory on another device is entered
 * only if its filesystem is local (pseudo, network and FUSE filesystems are skipped unless given in .paths);
 * files are opened O_NOFOLLOW|O_NONBLOCK|O_NOATIME (when permitted) and checked with fstat to still be the
 * regular file that was listed. Memory does not grow with the number of files: the walker hands files to
 * the hashers through a bounded queue, and the new cache is written to its file as the scan goes.
 *
 * Thread-safety: the callbacks are never called concurrently (one mutex), but they may be called from any
 * of the scan's threads; they must not call embargo_scan() themselves. Every pointer in a callback's
 * argument is valid only during the call.
 */
#ifndef EMBARGO_SCAN_H
#define EMBARGO_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "policy.h"
#include "sha256.h"
#include "verdict.h"

#define EMBARGO_SCAN_CACHE_PATH "/var/lib/embargo/scan-cache"

/* A file hashed in this scan, or whose digest came from the cache. */
struct embargo_scan_file {
	const char *path;		   /* the root as given, then the names walked */
	const struct stat *st;		   /* as listed (lstat) and verified on the open file */
	uint8_t sha256[SHA256_LEN];	   /* the file's content */
	const struct embargo_match *match; /* the rule it matches, which and why; NULL: none */
	bool from_cache;		   /* no content was read */
};

enum embargo_scan_error_kind {
	EMBARGO_SCAN_ERROR_FILE,  /* a file or directory could not be read: counted in stats.unreadable */
	EMBARGO_SCAN_ERROR_ROOT,  /* a path given in .paths could not be scanned at all: stats.roots_failed */
	EMBARGO_SCAN_ERROR_CACHE, /* the cache was not used (corrupt, foreign, untrusted) or not written */
	EMBARGO_SCAN_ERROR_PROCESS, /* a process, or one of its files, could not be inspected */
	/* A file was decided without all it could be judged by (signatures, packages): stats.incomplete */
	EMBARGO_SCAN_ERROR_DECISION,
};

struct embargo_scan_error {
	enum embargo_scan_error_kind kind;
	const char *path;   /* the file, directory, cache file or /proc/PID/... path */
	int err;	    /* -errno */
	const char *detail; /* why, when errno does not say it (a cache "bad checksum"), or NULL */
};

/* Counters so far; given to on_progress at most 4 times a second. */
struct embargo_scan_progress {
	uint64_t entries_seen; /* directory entries walked, of every type */
	uint64_t files_seen;   /* regular files */
	uint64_t files_hashed;
	uint64_t files_cached;
	uint64_t bytes_hashed;
	uint64_t matches;
	uint64_t unreadable;
	uint64_t elapsed_ns;
	/*
	 * Inodes in use on the filesystems being walked (statfs), when every root is a mount point; else 0.
	 * A guess for an ETA from entries_seen: hard links, other mounts and concurrent changes make it one.
	 */
	uint64_t entries_estimate;
};

/* Filled by embargo_scan() (files, cache) and embargo_scan_processes() (processes): each sets only its own.
 */
struct embargo_scan_stats {
	uint64_t dirs;		 /* directories read */
	uint64_t files_seen;	 /* regular files met */
	uint64_t files_code;	 /* of those, able to carry code (all of them with .all) */
	uint64_t files_hashed;	 /* content read and hashed */
	uint64_t files_cached;	 /* digest (or "not code") taken from the cache */
	uint64_t files_probed;	 /* opened to read their first bytes only: found not to carry code */
	uint64_t bytes_hashed;	 /* content bytes read for hashing */
	uint64_t other_skipped;	 /* symlinks, FIFOs, sockets, devices: never opened */
	uint64_t mounts_skipped; /* mount points not entered: pseudo, network, FUSE filesystems */
	uint64_t unreadable;	 /* files and directories that could not be read (on_error told which) */
	uint64_t roots_failed;	 /* paths given that could not be scanned */
	uint64_t matches;	 /* files matching a rule */
	uint64_t incomplete; /* files decided without their signatures or packages (on_error told which) */
	uint64_t elapsed_ns;
	/* The persistent cache */
	bool cache_loaded;	/* a valid cache was read */
	bool cache_rejected;	/* a cache file was there but not used (on_error said why) */
	bool cache_written;	/* the new cache replaced the old one */
	bool cache_unchanged;	/* the scan found just what the cache held: it was kept as it is */
	uint64_t cache_entries; /* entries read (loaded) */
	/* Processes */
	uint64_t processes;	  /* processes inspected */
	uint64_t process_files;	  /* (process, file) pairs checked: executables and executable mappings */
	uint64_t process_hashed;  /* distinct files hashed for them (each once, however many map it) */
	uint64_t process_errors;  /* processes or mappings that could not be inspected */
	uint64_t process_matches; /* (process, file) pairs matching a rule */
	uint64_t process_elapsed_ns;
};

/* A running process whose executable, or a file it maps executable, matches a rule. */
struct embargo_process_match {
	pid_t pid;
	uid_t uid; /* effective */
	/*
	 * A pidfd for this very process (opened before its files were read, and checked alive after), or -1
	 * where the kernel has none: pidfd_send_signal() on it cannot hit a process that reused the PID.
	 * Closed after the call: dup() it to keep it.
	 */
	int pidfd;
	const char *comm;    /* /proc/PID/comm */
	const char *cmdline; /* the arguments joined by spaces ("" for none) */
	const char *cgroup;  /* the cgroup v2 path (or v1 name=systemd), or NULL */
	const char *unit;    /* the systemd unit that cgroup path names (".../foo.service"), or NULL */
	const char *path;    /* the file as the process sees it, without the " (deleted)" suffix */
	bool exe;	     /* it is the process's executable (else an executable mapping) */
	bool deleted;	     /* the file has no name any more (st_nlink 0 or "(deleted)") */
	const struct stat *st;
	uint8_t sha256[SHA256_LEN];
	const struct embargo_match *match; /* the rule, which and why */
};

struct embargo_scan_opts {
	const char *const *paths; /* trees or files to scan; NULL/0: "/" */
	size_t n_paths;
	bool all;		/* hash every regular file, not only those that can carry code */
	unsigned jobs;		/* hashing threads; 0: the CPUs this thread may run on */
	const char *cache_path; /* the persistent cache (EMBARGO_SCAN_CACHE_PATH); NULL: none */

	void (*on_file)(void *userdata, const struct embargo_scan_file *f);
	void (*on_error)(void *userdata, const struct embargo_scan_error *e);
	void (*on_progress)(void *userdata, const struct embargo_scan_progress *p);
	void (*on_process)(void *userdata, const struct embargo_process_match *m); /* matches only */
	/*
	 * embargo_scan_processes() only, both optional: a search for digests known beforehand (learned, or
	 * new in a policy) instead of, or before, the decider. want_size: a file is read only if this says
	 * its size may be one sought (no other size can have those digests). match_file: asked first for
	 * each file hashed; true with *m filled is a match (m's pointers valid until on_process returns),
	 * false leaves it to the decider (none when the decider is NULL).
	 */
	bool (*want_size)(void *userdata, uint64_t size);
	bool (*match_file)(void *userdata, const struct stat *st, const uint8_t sha256[SHA256_LEN],
			   struct embargo_match *m);
	void *userdata;
	/* Set to true (from any thread or a signal handler) to stop: the call returns -ECANCELED. */
	const volatile bool *cancel;
};

/*
 * Walk, classify, hash, look up. 0 when the walk completed (unreadable files and failed roots are in *stats
 * and were given to on_error); -ECANCELED, the cache untouched; -EINVAL for bad options; -ENOMEM or
 * another -errno when the scan itself could not run. A cache that cannot be read or written is not an
 * error of the scan (on_error, stats). stats may be NULL.
 */
int embargo_scan(const struct embargo_decider *d, const struct embargo_scan_opts *o,
		 struct embargo_scan_stats *stats);

/*
 * Every process whose /proc/PID/exe or file-backed executable mapping (/proc/PID/maps, opened through
 * /proc/PID/map_files, which reaches deleted files) matches a rule, through o->on_process; o->on_error,
 * o->userdata and o->cancel are used as above, the other members are ignored. Each distinct file is hashed
 * once however many processes map it. Processes that exit meanwhile are skipped silently. Needs root to
 * see other users' processes (and map_files). 0, -ECANCELED, or -errno when /proc cannot be read.
 * d may be NULL when o->match_file is set: then only what match_file says matches.
 */
int embargo_scan_processes(const struct embargo_decider *d, const struct embargo_scan_opts *o,
			   struct embargo_scan_stats *stats);

/* ---- the "can carry code" classifier ---- */

enum embargo_scan_class {
	EMBARGO_SCAN_NOT_CODE = 0,
	EMBARGO_SCAN_CODE,	  /* hash it */
	EMBARGO_SCAN_NEEDS_MAGIC, /* decided by its first bytes: embargo_scan_magic_is_code() */
};

/* From what is known without reading: the executable bits, a ".so" or ".so." name. */
enum embargo_scan_class embargo_scan_classify(const char *name, mode_t mode);
/* The first bytes (n of them, fewer for a short file): ELF, PE ("MZ"), or "#!". */
bool embargo_scan_magic_is_code(const uint8_t *buf, size_t n);
#define EMBARGO_SCAN_MAGIC_LEN 4

#endif
