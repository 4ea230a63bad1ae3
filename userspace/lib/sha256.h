/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EMBARGO_SHA256_H
#define EMBARGO_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64
#define MD5_LEN 16

/* SHA-256 of a buffer. */
int embargo_sha256_buf(const void *buf, size_t len, uint8_t out[SHA256_LEN]);
/*
 * SHA-256 of everything readable from a regular file fd from offset 0 (pread: the fd's offset is left
 * alone); -EBADFD when fd is not a regular file. *size (when not NULL) the length read.
 */
int embargo_sha256_fd(int fd, uint8_t out[SHA256_LEN], uint64_t *size);
/* Opens path as open_regular() does (never waiting on a FIFO) and hashes it as embargo_sha256_fd(). */
int embargo_sha256_path(const char *path, uint8_t out[SHA256_LEN], uint64_t *size);
/* MD5 of a regular file fd as embargo_sha256_fd() reads it: only to find a file in dpkg's md5sums. */
int embargo_md5_fd(int fd, uint8_t out[MD5_LEN]);

/*
 * The one file-hashing loop. A hasher keeps its digest context and read buffer across files: the scanner's
 * workers hold one each, and embargo_sha256_fd() makes one for its single file.
 */
struct embargo_sha256_hasher {
	void *md;  /* EVP_MD, fetched once */
	void *ctx; /* EVP_MD_CTX */
	uint8_t *buf;
};

int embargo_sha256_hasher_init(struct embargo_sha256_hasher *h);
/* Safe on a zeroed hasher and on one whose init failed. */
void embargo_sha256_hasher_free(struct embargo_sha256_hasher *h);
/*
 * SHA-256 of fd from offset 0 to its end with pread. size: the file's size as fstat gave it (it spares the
 * last read; a wrong one costs a read, never a wrong digest of a file that does not change meanwhile).
 * *bytes: the length read. -ECANCELED as soon as *cancel is set (cancel may be NULL).
 */
int embargo_sha256_hasher_fd(struct embargo_sha256_hasher *h, int fd, uint64_t size, uint8_t out[SHA256_LEN],
			     uint64_t *bytes, const volatile bool *cancel);

#endif
