/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the targets of the file parsers (policy, list, config): one private directory for the run
 * (mode 0700, so open_trusted() accepts it), a file written there per input, and a policy load that
 * must either fail with an error message or give a table whose every rule is found again.
 */
#ifndef EMBARGO_FUZZ_FILES_H
#define EMBARGO_FUZZ_FILES_H

#include "policy.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir_path[4096];

static void fuzz_dir_remove(void)
{
	static const char *const names[] = { "a.policy", "b.sha256", "ca.pem",
					     "l.policy", "l.sha256", "embargo.conf" };
	char path[4200];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir_path, names[i]);
		unlink(path);
	}
	rmdir(fuzz_dir_path);
}

static inline const char *fuzz_dir(void)
{
	char *dir = fuzz_dir_path;

	if (!dir[0]) {
		/* On tmpfs: ext4 flushes a file truncated and written again at its close, every input. */
		snprintf(dir, sizeof(fuzz_dir_path), "%s/embargo-fuzz-XXXXXX",
			 getenv("TMPDIR")
				 ?: access("/dev/shm", W_OK) == 0 ? "/dev/shm"
								  : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(fuzz_dir_remove);
		/* What a policy may name beside it: a list and a (not a certificate) trust anchor. */
		char path[4200];
		snprintf(path, sizeof(path), "%s/b.sha256", dir);
		FILE *f = fopen(path, "we");
		if (!f)
			abort();
		fputs("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  b\n", f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/ca.pem", dir);
		f = fopen(path, "we");
		if (!f)
			abort();
		fclose(f);
	}
	return dir;
}

static inline void fuzz_write(const char *name, const void *data, size_t size)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
}

static inline void fuzz_load_policy(const char *name)
{
	struct embargo_policy_error err;
	struct embargo_policy *p = NULL;
	char path[4200], msg[8192];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	if (embargo_policy_load(path, &p, &err) == 0) {
		/* Every rule can be found again. */
		for (size_t i = 0; i < p->n_rules; i++)
			if (embargo_policy_lookup(p, p->rules[i].sha256) != &p->rules[i])
				abort();
		embargo_policy_free(p);
	} else {
		embargo_policy_error_format(&err, msg, sizeof(msg));
	}
}

#endif
