// SPDX-License-Identifier: GPL-2.0
/*
 * The scan cache: (device, inode, size, mtime, ctime) -> digest of every file the last scan met, so that a
 * re-scan of an unchanged tree reads no file content. A cache is a shortcut around hashing, so whoever can
 * write it can hide a file: it is used only when its owner is this user and nobody else may write it or its
 * directory, and only after its header and body checksums and its order were verified.
 */
#include "scan-internal.h"
#include "util.h"

#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/mman.h>

#define WRITE_BUF (64 * 1024)

static int key_cmp(const struct scan_cache_entry *a, const struct scan_cache_entry *b)
{
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return 0;
}

void scan_cache_entry_init(struct scan_cache_entry *e, const struct stat *st)
{
	*e = (struct scan_cache_entry){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime_ns = scan_ts_ns(&st->st_mtim),
		.ctime_ns = scan_ts_ns(&st->st_ctim),
	};
}

bool scan_cache_entry_current(const struct scan_cache_entry *e, const struct stat *st)
{
	/* ctime cannot be set from userspace: content, mode and name changes all move it. */
	return e->dev == st->st_dev && e->ino == st->st_ino && e->size == (uint64_t)st->st_size &&
	       e->mtime_ns == scan_ts_ns(&st->st_mtim) && e->ctime_ns == scan_ts_ns(&st->st_ctim);
}

static int header_digest(const struct scan_cache_header *h, uint8_t out[SHA256_LEN])
{
	return embargo_sha256_buf(h, offsetof(struct scan_cache_header, header_sha256), out);
}

/* Whether a cache in directory dir, owned as st says, may be believed. */
static const char *untrusted(const struct stat *st, const struct stat *dir)
{
	uid_t me = geteuid();

	if (st->st_uid != me)
		return "not trusted: owned by another user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "not trusted: writable by group or others";
	if ((dir->st_uid != me && dir->st_uid != 0) || (dir->st_mode & (S_IWGRP | S_IWOTH)))
		return "not trusted: its directory is writable by others";
	return NULL;
}

/* Opens the directory of path (O_PATH is enough to fstat it). */
static int open_dir_of(const char *path, int flags)
{
	_cleanup_free_ char *copy = strdup(path);
	int fd;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), flags | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int validate(const uint8_t *map, size_t len, const char **detail)
{
	const struct scan_cache_header *h = (const struct scan_cache_header *)map;
	const struct scan_cache_entry *e;
	uint8_t d[SHA256_LEN];

	if (len < sizeof(*h) || memcmp(h->magic, SCAN_CACHE_MAGIC, sizeof(h->magic)) != 0) {
		*detail = "not an embargo scan cache (bad magic)";
		return -EBADMSG;
	}
	if (h->byte_order != SCAN_CACHE_BYTE_ORDER) {
		*detail = "written on a machine of another byte order";
		return -EBADMSG;
	}
	if (h->version != SCAN_CACHE_VERSION || h->header_size != sizeof(*h) || h->entry_size != sizeof(*e)) {
		*detail = "written by another version of embargo";
		return -EBADMSG;
	}
	if (header_digest(h, d) < 0 || memcmp(d, h->header_sha256, SHA256_LEN) != 0) {
		*detail = "header checksum mismatch";
		return -EBADMSG;
	}
	if (h->n_entries > (len - sizeof(*h)) / sizeof(*e) || len != sizeof(*h) + h->n_entries * sizeof(*e)) {
		*detail = "size does not match its header (truncated?)";
		return -EBADMSG;
	}
	if (embargo_sha256_buf(map + sizeof(*h), len - sizeof(*h), d) < 0 ||
	    memcmp(d, h->body_sha256, SHA256_LEN) != 0) {
		*detail = "body checksum mismatch";
		return -EBADMSG;
	}
	/* Lookups are binary searches: an order the checksum vouches for may still be a writer's bug. */
	e = (const struct scan_cache_entry *)(map + sizeof(*h));
	for (size_t i = 1; i < h->n_entries; i++) {
		if (key_cmp(&e[i - 1], &e[i]) >= 0) {
			*detail = "entries out of order";
			return -EBADMSG;
		}
	}
	return 0;
}

int scan_cache_load(const char *path, struct scan_cache *c, const char **detail)
{
	_cleanup_close_ int fd = -1, dfd = -1;
	struct stat st, dst;
	void *map;
	int r;

	*c = (struct scan_cache){};
	*detail = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ELOOP)
			*detail = "is a symbolic link";
		return -errno;
	}
	dfd = open_dir_of(path, O_PATH);
	if (dfd < 0)
		return dfd;
	if (fstat(fd, &st) < 0 || fstat(dfd, &dst) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		*detail = "not a regular file";
		return -EBADMSG;
	}
	*detail = untrusted(&st, &dst);
	if (*detail)
		return -EPERM;
	if ((uint64_t)st.st_size < sizeof(struct scan_cache_header)) {
		*detail = "too short for a header (truncated?)";
		return -EBADMSG;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	r = validate(map, (size_t)st.st_size, detail);
	if (r < 0) {
		munmap(map, (size_t)st.st_size);
		return r;
	}
	*c = (struct scan_cache){
		.entries = (const struct scan_cache_entry *)((const uint8_t *)map +
							     sizeof(struct scan_cache_header)),
		.n = ((const struct scan_cache_header *)map)->n_entries,
		.map = map,
		.map_len = (size_t)st.st_size,
	};
	memcpy(c->signer_key, ((const struct scan_cache_header *)map)->signer_key, SHA256_LEN);
	return 0;
}

void scan_cache_unload(struct scan_cache *c)
{
	if (c->map)
		munmap(c->map, c->map_len);
	*c = (struct scan_cache){};
}

const struct scan_cache_entry *scan_cache_lookup(const struct scan_cache *c, uint64_t dev, uint64_t ino)
{
	struct scan_cache_entry key = { .dev = dev, .ino = ino };
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = key_cmp(&c->entries[mid], &key);

		if (k == 0)
			return &c->entries[mid];
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- writing ---- */

/* The directory the cache goes to exists (made if missing: its parent must exist) and is trusted. */
static int prepare_dir(const char *path, const char **detail)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int dfd = -1;
	struct stat dst, self = { .st_uid = geteuid(), .st_mode = S_IFREG | 0600 };

	if (!copy)
		return -ENOMEM;
	if (mkdir(dirname(copy), 0755) < 0 && errno != EEXIST)
		return -errno;
	dfd = open_dir_of(path, O_PATH);
	if (dfd < 0)
		return dfd;
	if (fstat(dfd, &dst) < 0)
		return -errno;
	/* A cache that the next scan would not trust is not worth writing. */
	*detail = untrusted(&self, &dst);
	return *detail ? -EPERM : 0;
}

int scan_cache_writer_open(struct scan_cache_writer *w, const char *path, const char **detail)
{
	struct scan_cache_header placeholder = {};
	int r;

	*w = (struct scan_cache_writer){ .fd = -1 };
	*detail = NULL;
	r = prepare_dir(path, detail);
	if (r < 0)
		return r;
	w->path = strdup(path);
	w->buf = malloc(WRITE_BUF);
	if (!w->path || !w->buf || asprintf(&w->tmp_path, "%s.tmp.XXXXXX", path) < 0) {
		w->tmp_path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	if (w->fd < 0) {
		r = -errno;
		goto fail;
	}
	/* The header is written last, at commit, when the checksums are known. */
	r = write_all(w->fd, &placeholder, sizeof(placeholder));
	if (r < 0)
		goto fail;
	return 0;
fail:
	scan_cache_writer_abort(w);
	return r;
}

static void writer_flush(struct scan_cache_writer *w)
{
	int r;

	if (w->buf_len == 0 || w->error)
		return;
	r = write_all(w->fd, w->buf, w->buf_len);
	if (r < 0)
		w->error = r;
	w->buf_len = 0;
}

void scan_cache_writer_add(struct scan_cache_writer *w, const struct scan_cache_entry *e)
{
	if (w->fd < 0 || w->error)
		return;
	if (w->buf_len + sizeof(*e) > WRITE_BUF)
		writer_flush(w);
	memcpy(w->buf + w->buf_len, e, sizeof(*e));
	w->buf_len += sizeof(*e);
	w->n++;
}

static void swap_entries(struct scan_cache_entry *a, struct scan_cache_entry *b)
{
	struct scan_cache_entry t = *a;

	*a = *b;
	*b = t;
}

static void sift_down(struct scan_cache_entry *e, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;

		if (child >= n)
			return;
		if (child + 1 < n && key_cmp(&e[child], &e[child + 1]) < 0)
			child++;
		if (key_cmp(&e[root], &e[child]) >= 0)
			return;
		swap_entries(&e[root], &e[child]);
		root = child;
	}
}

/*
 * In place, in the mapped file: qsort() would allocate a copy of the whole array (glibc's merge sort), the
 * memory this writer exists to avoid. Heapsort: O(n log n) whatever the input, no recursion.
 */
static void sort_entries(struct scan_cache_entry *e, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(e, i, n);
	for (size_t i = n; i-- > 1;) {
		swap_entries(&e[0], &e[i]);
		sift_down(e, 0, i);
	}
}

/*
 * Hard links and a tree named twice give one key more than once: keep one, one with a digest if there is
 * (a link named *.so was hashed, the same inode under another name may have been only probed).
 */
static size_t unique_entries(struct scan_cache_entry *e, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (out > 0 && key_cmp(&e[out - 1], &e[i]) == 0) {
			if (!(e[out - 1].flags & SCAN_CACHE_HASHED) && (e[i].flags & SCAN_CACHE_HASHED))
				e[out - 1] = e[i];
			continue;
		}
		if (out != i)
			e[out] = e[i];
		out++;
	}
	return out;
}

static int fsync_dir_of(const char *path)
{
	_cleanup_close_ int dfd = open_dir_of(path, O_RDONLY);

	if (dfd < 0)
		return dfd;
	return fsync(dfd) < 0 ? -errno : 0;
}

int scan_cache_writer_commit(struct scan_cache_writer *w, const char **detail)
{
	struct scan_cache_header h = { .version = SCAN_CACHE_VERSION,
				       .byte_order = SCAN_CACHE_BYTE_ORDER,
				       .header_size = sizeof(h),
				       .entry_size = sizeof(struct scan_cache_entry) };
	size_t body = w->n * sizeof(struct scan_cache_entry), len = sizeof(h) + body;
	uint8_t *map = NULL;
	int r;

	*detail = NULL;
	if (w->fd < 0)
		return -EBADF;
	writer_flush(w);
	r = w->error;
	if (r < 0) {
		*detail = "writing the new cache failed";
		goto out;
	}
	if (w->n > 0) {
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			r = -errno;
			goto out;
		}
		struct scan_cache_entry *e = (struct scan_cache_entry *)(map + sizeof(h));

		sort_entries(e, w->n);
		w->n = unique_entries(e, w->n);
		body = w->n * sizeof(struct scan_cache_entry);
	}
	memcpy(h.magic, SCAN_CACHE_MAGIC, sizeof(h.magic));
	h.n_entries = w->n;
	memcpy(h.signer_key, w->signer_key, SHA256_LEN);
	r = embargo_sha256_buf(map ? map + sizeof(h) : (const uint8_t *)"", body, h.body_sha256);
	if (r >= 0)
		r = header_digest(&h, h.header_sha256);
	if (r < 0)
		goto out;
	if (map && munmap(map, len) < 0) {
		map = NULL;
		r = -errno;
		goto out;
	}
	map = NULL;
	if (ftruncate(w->fd, (off_t)(sizeof(h) + body)) < 0) {
		r = -errno;
		goto out;
	}
	if (pwrite(w->fd, &h, sizeof(h), 0) != sizeof(h)) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	/* Data before the rename: else a crash may leave the new name on an empty or partial file. */
	if (fsync(w->fd) < 0) {
		r = -errno;
		goto out;
	}
	if (rename(w->tmp_path, w->path) < 0) {
		r = -errno;
		goto out;
	}
	/* The rename is durable only once the directory is: else a crash may bring the old cache back. */
	free(w->tmp_path);
	w->tmp_path = NULL;
	r = fsync_dir_of(w->path);
out:
	if (map)
		munmap(map, len);
	scan_cache_writer_abort(w);
	return r;
}

void scan_cache_writer_abort(struct scan_cache_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_path && w->fd >= 0)
		unlink(w->tmp_path);
	free(w->tmp_path);
	free(w->path);
	free(w->buf);
	*w = (struct scan_cache_writer){ .fd = -1 };
}
