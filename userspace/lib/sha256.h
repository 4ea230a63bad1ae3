/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EMBARGO_SHA256_H
#define EMBARGO_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

/* SHA-256 of a buffer. */
int embargo_sha256_buf(const void *buf, size_t len, uint8_t out[SHA256_LEN]);
/* SHA-256 of everything readable from fd from offset 0 (pread: the fd's offset is left alone). */
int embargo_sha256_fd(int fd, uint8_t out[SHA256_LEN], uint64_t *size);
/* Opens path read-only (O_CLOEXEC|O_NOCTTY|O_NONBLOCK, never following into a FIFO's wait). */
int embargo_sha256_path(const char *path, uint8_t out[SHA256_LEN], uint64_t *size);

#endif
