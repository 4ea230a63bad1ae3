/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fanotify tier's verdict cache: keyed by a file handle (name_to_handle_at), which carries the inode's
 * generation, so a reused inode number never finds the verdict of the file that had it before; each entry
 * remembers whether the file is watched for writes and a sequence number that every write seen changes.
 */
#ifndef EMBARGO_FIDCACHE_H
#define EMBARGO_FIDCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embargo.h"

/* Longer handles are not cached (every common local file system's fit). */
#define EMBARGO_FID_MAX 40

struct embargo_fid {
	uint64_t dev; /* st_dev */
	int32_t type;
	uint32_t len;
	uint8_t h[EMBARGO_FID_MAX];
};

struct embargo_fid_entry {
	struct embargo_fid id;
	uint64_t ino; /* st_ino: the kernel's verdict map key, with id.dev */
	uint64_t seq; /* changed by every write seen, and when the watch is (re)placed */
	bool used;    /* the slot holds id */
	bool watched; /* a write watch is on the file */
	bool cached;  /* v is what the file held since the watch at seq */
	struct embargo_verdict v;
};

struct embargo_fid_table {
	struct embargo_fid_entry *e;
	size_t cap; /* a power of two */
	size_t n;
};

/* cap: rounded up to a power of two. */
int embargo_fid_table_init(struct embargo_fid_table *t, size_t cap);
void embargo_fid_table_free(struct embargo_fid_table *t);
/* The entry of id, or NULL. */
struct embargo_fid_entry *embargo_fid_find(struct embargo_fid_table *t, const struct embargo_fid *id);
/* The entry of id, added (zeroed but for id) when absent; NULL when the table is three quarters full. */
struct embargo_fid_entry *embargo_fid_add(struct embargo_fid_table *t, const struct embargo_fid *id);
void embargo_fid_clear(struct embargo_fid_table *t);

#endif
