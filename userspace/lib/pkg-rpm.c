// SPDX-License-Identifier: GPL-2.0
/*
 * rpm ownership through the rpm program: its database format (BerkeleyDB, NDB, SQLite, by version) is
 * not ours to read. `rpm -qf` is spawned, never through a shell, with a deadline, since a locked or
 * damaged rpm database can make it wait for ever.
 */
#include "pkg.h"

#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

#define RPM_QUERYFORMAT "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{PACKAGER}\\t%{VENDOR}\\t%{SIGPGP:pgpsig}\\n"
#define RPM_OUTPUT_MAX (1024 * 1024)

/* The rpm program: rpm itself when it has a '/', else the first executable "rpm" in PATH. */
static int find_rpm(const char *rpm, char *buf, size_t size)
{
	const char *path = getenv("PATH") ?: "/usr/bin:/bin:/usr/sbin:/sbin";

	if (rpm && strchr(rpm, '/')) {
		snprintf(buf, size, "%s", rpm);
		return access(buf, X_OK) == 0 ? 0 : -ENOENT;
	}
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, size, "%.*s/%s", (int)n, p, rpm ?: "rpm");
		if (n > 0 && access(buf, X_OK) == 0)
			return 0;
		p += n + (p[n] == ':');
	}
	return -ENOENT;
}

bool embargo_pkg_rpm_present(const char *rpm)
{
	char buf[4096];

	return find_rpm(rpm, buf, sizeof(buf)) == 0;
}

/* A field of the query: NULL for rpm's "(none)" or an empty one. */
static int field_dup(const char *s, size_t n, char **ret)
{
	*ret = NULL;
	if (n == 0 || (n == 6 && memcmp(s, "(none)", 6) == 0))
		return 0;
	*ret = strndup(s, n);
	return *ret ? 0 : -ENOMEM;
}

/* "NAME\tVERSION-RELEASE\tPACKAGER\tVENDOR\tSIGPGP" into a package; lines without 5 fields are skipped. */
static int parse_line(char *line, struct embargo_package **pkgs, size_t *n)
{
	char *f[5], *key = NULL;
	struct embargo_package *e, *v;
	size_t k = 0;
	int r;

	for (char *s = line; k < 5; k++) {
		f[k] = s;
		s = strchr(s, '\t');
		if (!s) {
			k++;
			break;
		}
		*s++ = '\0';
	}
	if (k != 5 || strchr(f[4], '\t'))
		return 0;
	v = reallocarray(*pkgs, *n + 1, sizeof(**pkgs));
	if (!v)
		return -ENOMEM;
	*pkgs = v;
	e = &(*pkgs)[*n];
	*e = (struct embargo_package){ 0 };
	/* "RSA/SHA256, Tue 01 Jan 2024, Key ID 0123456789abcdef": the key id is what names the signer. */
	key = strstr(f[4], "Key ID ");
	r = field_dup(f[0], strlen(f[0]), &e->name);
	if (r == 0)
		r = field_dup(f[1], strlen(f[1]), &e->version);
	if (r == 0)
		r = field_dup(f[2], strlen(f[2]), &e->maintainer);
	if (r == 0)
		r = field_dup(f[3], strlen(f[3]), &e->vendor);
	if (r == 0 && key)
		r = field_dup(key + 7, strlen(key + 7), &e->signing_key);
	if (r == 0) {
		e->manager = strdup("rpm");
		r = e->manager ? 0 : -ENOMEM;
	}
	if (r < 0 || !e->name) {
		embargo_package_free(e);
		return r;
	}
	(*n)++;
	return 0;
}

/* The output of the child into out (at most RPM_OUTPUT_MAX bytes kept), until EOF or the deadline. */
static int read_until(int fd, uint64_t deadline, char *out, size_t *len)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ns();
		char buf[4096];
		ssize_t k;
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (k == 0)
			return 0;
		if (k > 0) {
			size_t take = (size_t)k < RPM_OUTPUT_MAX - *len ? (size_t)k : RPM_OUTPUT_MAX - *len;

			memcpy(out + *len, buf, take);
			*len += take;
		}
	}
}

int embargo_pkg_rpm_lookup(const char *path, const char *rpm, unsigned timeout_ms,
			   struct embargo_package **pkgs, size_t *n)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_close_ int rfd = -1, wfd = -1;
	posix_spawn_file_actions_t fa;
	char prog[4096], *line, *save = NULL;
	char *argv[] = { "rpm", "-qf", "--queryformat", RPM_QUERYFORMAT, (char *)path, NULL };
	size_t len = 0;
	pid_t pid;
	int p[2], r, status;

	if (!path || path[0] != '/' || !pkgs || !n)
		return -EINVAL;
	r = find_rpm(rpm, prog, sizeof(prog));
	if (r < 0)
		return r;
	out = malloc(RPM_OUTPUT_MAX + 1);
	if (!out)
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rfd = p[0];
	wfd = p[1];
	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	/* dup2 clears O_CLOEXEC on the copies; every other descriptor of ours is O_CLOEXEC. */
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, wfd, 1);
	if (!r)
		r = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (!r)
		r = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	close(TAKE_FD(wfd));
	r = read_until(rfd, now_ns() + (uint64_t)(timeout_ms ?: EMBARGO_RPM_TIMEOUT_MS) * 1000000, out, &len);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	/* Exit status 1 with "file ... is not owned by any package" is the common answer: no line has
	 * the five fields then. */
	out[len] = '\0';
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		r = parse_line(line, pkgs, n);
		if (r < 0)
			return r;
	}
	return 0;
}
