// SPDX-License-Identifier: GPL-2.0
#include "neverdeny.h"

#include "util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exactly n bytes at off: 0, -ENOENT for a short file, -errno. */
static int pread_exact(int fd, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread_all(fd, buf, n, off);

	if (r < 0)
		return (int)r;
	return (size_t)r == n ? 0 : -ENOENT;
}

int embargo_elf_interp(int fd, char *buf, size_t size)
{
	Elf64_Ehdr eh;
	int r;

	r = pread_exact(fd, &eh, sizeof(eh), 0);
	if (r < 0)
		return r;
	/* 64-bit native only: the loader of the programs that run here. */
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr))
		return -ENOENT;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		r = pread_exact(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph));
		if (r < 0)
			return r;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz >= size)
			return -ENAMETOOLONG;
		r = pread_exact(fd, buf, ph.p_filesz, ph.p_offset);
		if (r < 0)
			return r;
		buf[ph.p_filesz] = '\0';
		return buf[0] == '/' && strlen(buf) == ph.p_filesz - 1 ? 0 : -ENOENT;
	}
	return -ENOENT;
}

int embargo_maps_libc(const char *maps, char *buf, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen(maps, "re");
	char line[4096 + 128];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/'), *base;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		base = strrchr(path, '/') + 1;
		/* libc.so.6, or libc-2.31.so on older glibc; not libcrypto, libcap, ... */
		if (strncmp(base, "libc.so", 7) == 0 ||
		    (strncmp(base, "libc-", 5) == 0 && strstr(base, ".so"))) {
			snprintf(buf, size, "%s", path);
			return 0;
		}
	}
	return -ENOENT;
}

int embargo_path_writable_by_others(const char *path, char *dir, size_t size)
{
	char buf[4096];
	char *slash;

	if (!path || path[0] != '/')
		return -EINVAL;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	/* From the file's directory up to /: any of them lets another user make this name. */
	while ((slash = strrchr(buf, '/'))) {
		struct stat st;

		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (lstat(buf, &st) < 0)
			return -errno;
		/* A symlinked directory: whoever owns the link's target decides; be safe and refuse. */
		if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
			snprintf(dir, size, "%s", buf);
			return 1;
		}
		if (slash == buf)
			break;
	}
	return 0;
}

int embargo_digest_set_add(struct embargo_digest_set *s, const uint8_t sha[SHA256_LEN], const char *name)
{
	char *copy;

	if (embargo_digest_set_find(s, sha))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		uint8_t(*v)[SHA256_LEN] = reallocarray(s->v, cap, sizeof(*v));
		char **names;

		if (!v)
			return -ENOMEM;
		s->v = v;
		names = reallocarray(s->names, cap, sizeof(*names));
		if (!names)
			return -ENOMEM;
		s->names = names;
		s->cap = cap;
	}
	copy = strdup(name ? name : "");
	if (!copy)
		return -ENOMEM;
	memcpy(s->v[s->n], sha, SHA256_LEN);
	s->names[s->n++] = copy;
	return 0;
}

const char *embargo_digest_set_find(const struct embargo_digest_set *s, const uint8_t sha[SHA256_LEN])
{
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->v[i], sha, SHA256_LEN) == 0)
			return s->names[i];
	return NULL;
}

void embargo_digest_set_free(struct embargo_digest_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->v);
	*s = (struct embargo_digest_set){ 0 };
}
