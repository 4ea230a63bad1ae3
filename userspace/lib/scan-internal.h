/* SPDX-License-Identifier: GPL-2.0 */
/* The parts of the scanner that scan.c, scan-proc.c and the unit tests share: cache, mounts, hashing. */
#ifndef EMBARGO_SCAN_INTERNAL_H
#define EMBARGO_SCAN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sha256.h"
#include "util.h"

/* ---- the persistent cache (scan-cache.c); format in docs/scan.md ---- */

#define SCAN_CACHE_MAGIC "EMBSCAN\0"
#define SCAN_CACHE_VERSION 2u
/* Written in the host's byte order: a cache from a machine of the other order reads as foreign. */
#define SCAN_CACHE_BYTE_ORDER 0x01020304u

#define SCAN_CACHE_HASHED 0x1u /* sha256 holds the content's digest */
#define SCAN_CACHE_CODE 0x2u   /* classified as able to carry code; neither flag: probed, not code */
/* Facts of the content for the decision core (verdict.h), with SCAN_CACHE_HASHED: */
#define SCAN_CACHE_UNSIGNED 0x4u   /* it can carry no signature (whatever the policy) */
#define SCAN_CACHE_SIGS_CLEAN 0x8u /* no signer rule matched it, under the header's signer_key */

struct scan_cache_header {
	char magic[8];
	uint32_t version;
	uint32_t byte_order;
	uint32_t header_size; /* sizeof(struct scan_cache_header) */
	uint32_t entry_size;  /* sizeof(struct scan_cache_entry) */
	uint64_t n_entries;
	uint8_t signer_key[SHA256_LEN];	 /* embargo_decider_signer_key() that SCAN_CACHE_SIGS_CLEAN is for */
	uint8_t body_sha256[SHA256_LEN]; /* over the n_entries entries that follow the header */
	uint8_t header_sha256[SHA256_LEN]; /* over every byte of the header before this field */
};

/* One file as last seen; sorted by (dev, ino), unique. */
struct scan_cache_entry {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint32_t flags;
	uint32_t reserved; /* 0 */
	uint8_t sha256[SHA256_LEN];
};

_Static_assert(sizeof(struct scan_cache_header) == 128, "cache header layout");
_Static_assert(sizeof(struct scan_cache_entry) == 80, "cache entry layout");

/* A loaded cache: the file mapped read-only, validated. */
struct scan_cache {
	const struct scan_cache_entry *entries;
	size_t n;
	uint8_t signer_key[SHA256_LEN];
	void *map;
	size_t map_len;
};

/*
 * Maps and validates the cache at path. 0; -ENOENT when there is none; -EBADMSG with *detail saying what
 * is wrong (magic, version, size, checksum, order) or -EPERM when it is not to be trusted (owner, mode:
 * whoever can write it can hide files); another -errno when it cannot be read.
 */
int scan_cache_load(const char *path, struct scan_cache *c, const char **detail);
void scan_cache_unload(struct scan_cache *c);
/* The entry for (dev, ino), or NULL. */
const struct scan_cache_entry *scan_cache_lookup(const struct scan_cache *c, uint64_t dev, uint64_t ino);
/* The entry describes the file as st shows it now (same size, mtime and ctime). */
bool scan_cache_entry_current(const struct scan_cache_entry *e, const struct stat *st);
/* Key and validity fields from st; flags and sha256 zeroed. */
void scan_cache_entry_init(struct scan_cache_entry *e, const struct stat *st);

/*
 * The new cache, written as the scan goes into a temporary file next to path (so that memory does not grow
 * with the files), sorted in place and renamed over path at commit.
 */
struct scan_cache_writer {
	int fd;
	char *path;
	char *tmp_path;
	uint8_t *buf; /* entries not yet written */
	size_t buf_len;
	uint64_t n;
	int error;			/* first write error, sticky */
	uint8_t signer_key[SHA256_LEN]; /* for the header: set before commit */
};

int scan_cache_writer_open(struct scan_cache_writer *w, const char *path, const char **detail);
/* Buffered; an error is kept for commit. */
void scan_cache_writer_add(struct scan_cache_writer *w, const struct scan_cache_entry *e);
/* Sort, drop repeated keys, checksum, fsync, rename over the old cache. The writer is closed either way. */
int scan_cache_writer_commit(struct scan_cache_writer *w, const char **detail);
/* Removes the temporary file. Safe on a writer that was never opened (fd -1) or already closed. */
void scan_cache_writer_abort(struct scan_cache_writer *w);

/* ---- mounts (scan-mounts.c) ---- */

enum scan_fs_kind {
	SCAN_FS_LOCAL = 0,
	SCAN_FS_PSEUDO,	 /* proc, sysfs, devtmpfs, cgroup, ...: no files worth hashing, some that hang */
	SCAN_FS_NETWORK, /* nfs, cifs, ...: someone else's files, slow, may hang */
	SCAN_FS_FUSE,	 /* a user process answers every read: may hang or lie */
};

enum scan_fs_kind scan_fs_kind(const char *fstype);

struct scan_mount {
	int id, parent;
	dev_t dev;
	char *mountpoint; /* unescaped */
	char *fstype;
};

struct scan_mounts {
	struct scan_mount *m;
	size_t n;
};

/* Parses a mountinfo file (/proc/self/mountinfo). */
int scan_mounts_read(const char *mountinfo, struct scan_mounts *ret);
/* The same from a descriptor of a mountinfo file, read from its start (it may be read again later). */
int scan_mounts_read_fd(int fd, struct scan_mounts *ret);
void scan_mounts_free(struct scan_mounts *m);
const struct scan_mount *scan_mounts_by_dev(const struct scan_mounts *m, dev_t dev);
/*
 * Inodes in use (statfs) on the local filesystems mounted at or below the mount point dir, not below a
 * skipped one; 0 when dir is not a mount point or nothing can be counted.
 */
uint64_t scan_mounts_inodes_below(const struct scan_mounts *m, const char *dir);

/* ---- hashing: the scanner's names for the hasher of sha256.h (one per worker) ---- */

struct scan_hasher {
	struct embargo_sha256_hasher h;
};

static inline int scan_hasher_init(struct scan_hasher *h)
{
	return embargo_sha256_hasher_init(&h->h);
}

static inline void scan_hasher_free(struct scan_hasher *h)
{
	embargo_sha256_hasher_free(&h->h);
}

static inline int scan_hash_fd(struct scan_hasher *h, int fd, uint64_t size, uint8_t out[SHA256_LEN],
			       uint64_t *bytes, const volatile bool *cancel)
{
	return embargo_sha256_hasher_fd(&h->h, fd, size, out, bytes, cancel);
}

static inline int64_t scan_ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static inline bool scan_cancelled(const volatile bool *cancel)
{
	return cancel_requested(cancel);
}

#endif
