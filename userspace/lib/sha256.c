// SPDX-License-Identifier: GPL-2.0
#include "sha256.h"
#include "util.h"

#include <openssl/evp.h>
#include <sys/stat.h>

/* 256 KiB reads: the knee of OpenSSL's throughput here (PLATFORM.md), and within L2. */
#define READ_CHUNK (256 * 1024)

int embargo_sha256_buf(const void *buf, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN)
		return -EIO;
	return 0;
}

static int hasher_init(struct embargo_sha256_hasher *h, const char *algorithm)
{
	*h = (struct embargo_sha256_hasher){};
	/* Fetched once: EVP_sha256() would make OpenSSL 3 look the provider up again at every init. */
	h->md = EVP_MD_fetch(NULL, algorithm, NULL);
	h->ctx = EVP_MD_CTX_new();
	h->buf = malloc(READ_CHUNK);
	if (!h->md || !h->ctx || !h->buf) {
		embargo_sha256_hasher_free(h);
		return -ENOMEM;
	}
	return 0;
}

int embargo_sha256_hasher_init(struct embargo_sha256_hasher *h)
{
	return hasher_init(h, "SHA256");
}

void embargo_sha256_hasher_free(struct embargo_sha256_hasher *h)
{
	EVP_MD_free(h->md);
	EVP_MD_CTX_free(h->ctx);
	free(h->buf);
	*h = (struct embargo_sha256_hasher){};
}

/* The loop, for any algorithm; out holds len bytes. */
static int hasher_fd(struct embargo_sha256_hasher *h, int fd, uint64_t size, uint8_t *out, unsigned len,
		     uint64_t *bytes, const volatile bool *cancel)
{
	uint64_t off = 0;
	unsigned int n = 0;

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1)
		return -EIO;
	for (;;) {
		ssize_t r = pread(fd, h->buf, READ_CHUNK, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(h->ctx, h->buf, (size_t)r) != 1)
			return -EIO;
		off += (uint64_t)r;
		/*
		 * A short read that ends at the size fstat gave is the end: most files fit in one read, and
		 * the read that would return 0 is then a tenth of their cost. A file that grew meanwhile is
		 * caught by the caller's fstat after hashing.
		 */
		if ((size_t)r < READ_CHUNK && off == size)
			break;
		if (cancel_requested(cancel))
			return -ECANCELED;
	}
	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != len)
		return -EIO;
	*bytes = off;
	return 0;
}

int embargo_sha256_hasher_fd(struct embargo_sha256_hasher *h, int fd, uint64_t size, uint8_t out[SHA256_LEN],
			     uint64_t *bytes, const volatile bool *cancel)
{
	return hasher_fd(h, fd, size, out, SHA256_LEN, bytes, cancel);
}

/* One file, st its fstat: a hasher for it alone. */
static int sha256_regular(int fd, const struct stat *st, uint8_t out[SHA256_LEN], uint64_t *size)
{
	_cleanup_(embargo_sha256_hasher_free) struct embargo_sha256_hasher h = {};
	uint64_t bytes = 0;
	int r;

	r = embargo_sha256_hasher_init(&h);
	if (r < 0)
		return r;
	r = embargo_sha256_hasher_fd(&h, fd, (uint64_t)st->st_size, out, &bytes, NULL);
	if (r < 0)
		return r;
	if (size)
		*size = bytes;
	return 0;
}

int embargo_sha256_fd(int fd, uint8_t out[SHA256_LEN], uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	return sha256_regular(fd, &st, out, size);
}

int embargo_sha256_path(const char *path, uint8_t out[SHA256_LEN], uint64_t *size)
{
	struct stat st;
	_cleanup_close_ int fd = open_regular(path, &st);

	if (fd < 0)
		return fd;
	return sha256_regular(fd, &st, out, size);
}

int embargo_md5_fd(int fd, uint8_t out[MD5_LEN])
{
	_cleanup_(embargo_sha256_hasher_free) struct embargo_sha256_hasher h = {};
	uint64_t bytes = 0;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	r = hasher_init(&h, "MD5");
	if (r < 0)
		return r;
	return hasher_fd(&h, fd, (uint64_t)st.st_size, out, MD5_LEN, &bytes, NULL);
}
