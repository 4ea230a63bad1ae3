// SPDX-License-Identifier: GPL-2.0
#include "sha256.h"
#include "util.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

/* 256 KiB reads: measured here as the knee of OpenSSL's throughput (see PLATFORM.md). */
#define READ_CHUNK (256 * 1024)

static void md_ctx_freep(EVP_MD_CTX **c)
{
	EVP_MD_CTX_free(*c);
}

int embargo_sha256_buf(const void *buf, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN)
		return -EIO;
	return 0;
}

int embargo_sha256_fd(int fd, uint8_t out[SHA256_LEN], uint64_t *size)
{
	_cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_free_ uint8_t *buf = malloc(READ_CHUNK);
	uint64_t off = 0;
	unsigned int n = 0;
	struct stat st;

	if (!ctx || !buf)
		return -ENOMEM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -EIO;
	for (;;) {
		ssize_t r = pread(fd, buf, READ_CHUNK, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1)
			return -EIO;
		off += (uint64_t)r;
	}
	if (EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != SHA256_LEN)
		return -EIO;
	if (size)
		*size = off;
	return 0;
}

int embargo_sha256_path(const char *path, uint8_t out[SHA256_LEN], uint64_t *size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	return embargo_sha256_fd(fd, out, size);
}
