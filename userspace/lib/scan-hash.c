// SPDX-License-Identifier: GPL-2.0
/* What the scanner hashes (the "can carry code" classifier) and how (one context and buffer per thread). */
#include "scan.h"
#include "scan-internal.h"
#include "util.h"

#include <openssl/evp.h>
#include <string.h>

/* 256 KiB reads: the knee of OpenSSL's throughput here (PLATFORM.md), and within L2. */
#define SCAN_READ_CHUNK (256 * 1024)

enum embargo_scan_class embargo_scan_classify(const char *name, mode_t mode)
{
	const char *so;

	if (!S_ISREG(mode))
		return EMBARGO_SCAN_NOT_CODE;
	if (mode & (S_IXUSR | S_IXGRP | S_IXOTH))
		return EMBARGO_SCAN_CODE;
	/* Shared objects are mapped, not executed: Debian installs them 0644. */
	for (so = strstr(name, ".so"); so; so = strstr(so + 1, ".so")) {
		if (so[3] == '\0' || so[3] == '.')
			return EMBARGO_SCAN_CODE;
	}
	return EMBARGO_SCAN_NEEDS_MAGIC;
}

bool embargo_scan_magic_is_code(const uint8_t *buf, size_t n)
{
	if (n >= 4 && memcmp(buf,
			     "\x7f"
			     "ELF",
			     4) == 0)
		return true;
	/* "MZ": PE (Windows binaries run through wine or binfmt_misc); "#!": a script the kernel executes. */
	return n >= 2 && (memcmp(buf, "MZ", 2) == 0 || memcmp(buf, "#!", 2) == 0);
}

int scan_hasher_init(struct scan_hasher *h)
{
	*h = (struct scan_hasher){};
	/* Fetched once: EVP_sha256() would make OpenSSL 3 look the provider up again at every init. */
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	h->buf = malloc(SCAN_READ_CHUNK);
	if (!h->md || !h->ctx || !h->buf) {
		scan_hasher_free(h);
		return -ENOMEM;
	}
	return 0;
}

void scan_hasher_free(struct scan_hasher *h)
{
	EVP_MD_free(h->md);
	EVP_MD_CTX_free(h->ctx);
	free(h->buf);
	*h = (struct scan_hasher){};
}

int scan_hash_fd(struct scan_hasher *h, int fd, uint64_t size, uint8_t out[SHA256_LEN], uint64_t *bytes,
		 const volatile bool *cancel)
{
	uint64_t off = 0;
	unsigned int n = 0;

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1)
		return -EIO;
	for (;;) {
		ssize_t r = pread(fd, h->buf, SCAN_READ_CHUNK, (off_t)off);

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
		if ((size_t)r < SCAN_READ_CHUNK && off == size)
			break;
		if (scan_cancelled(cancel))
			return -ECANCELED;
	}
	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != SHA256_LEN)
		return -EIO;
	*bytes = off;
	return 0;
}
