/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What learning must never deny, and the facts that decide whether a file may teach a digest at all:
 * the system's own loader, C library and init (denying their digest stops every program), and whether a
 * file sits where a user other than root could have put it.
 */
#ifndef EMBARGO_NEVERDENY_H
#define EMBARGO_NEVERDENY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* The ELF interpreter (PT_INTERP) fd names, into buf: 0, -ENOENT for a static or non-ELF file, -errno. */
int embargo_elf_interp(int fd, char *buf, size_t size);

/*
 * The C library mapped by the process whose maps file (e.g. "/proc/self/maps") is given, into buf:
 * 0, -ENOENT when none is mapped, -errno.
 */
int embargo_maps_libc(const char *maps, char *buf, size_t size);

/*
 * Whether a user other than root could have put a file at path: its directory or one above it is not
 * owned by root, or is group- or other-writable (sticky or not: /tmp lets anyone create a name). 1 with
 * the directory in dir, 0, or -errno (a relative path is -EINVAL).
 */
int embargo_path_writable_by_others(const char *path, char *dir, size_t size);

/* A small set of digests. */
struct embargo_digest_set {
	uint8_t (*v)[SHA256_LEN];
	char **names; /* what each digest is of, for the report */
	size_t n, cap;
};
int embargo_digest_set_add(struct embargo_digest_set *s, const uint8_t sha[SHA256_LEN], const char *name);
/* The name of the entry with this digest, or NULL. */
const char *embargo_digest_set_find(const struct embargo_digest_set *s, const uint8_t sha[SHA256_LEN]);
void embargo_digest_set_free(struct embargo_digest_set *s);

#endif
