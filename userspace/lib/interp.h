/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interpreters (embargo.conf's interpreters): the programs whose read-opens of files the kernel decides
 * like execs. Named by path or glob; known to the kernel by digest (a copy elsewhere is still one) and,
 * for the files found here, by inode.
 */
#ifndef EMBARGO_INTERP_H
#define EMBARGO_INTERP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sha256.h"

/* The default list: shells, python, perl, ruby, node, php, lua and java, at Debian's paths. */

struct embargo_interp {
	char *path; /* the file itself, symlinks resolved */
	dev_t dev;
	ino_t ino;
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	uint8_t sha256[SHA256_LEN];
};

struct embargo_interp_set {
	struct embargo_interp *v;
	size_t n;
	size_t n_missing; /* patterns that named no regular file */
};

/*
 * Every regular file the n patterns (absolute paths or glob(3) patterns) name, symlinks followed, each
 * inode once: 0, or -errno (-ENOMEM; a file that cannot be hashed is -errno with *bad set to its path,
 * malloc'ed). A pattern that names nothing is no error (counted in n_missing): not every machine has
 * every interpreter.
 */
int embargo_interp_resolve(char *const *patterns, size_t n, struct embargo_interp_set *set, char **bad);
void embargo_interp_set_free(struct embargo_interp_set *set);

#endif
