// SPDX-License-Identifier: GPL-2.0
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <time.h>

int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;

	/* strtoull would skip leading white space and accept a sign: "\t-1" must not become UINT64_MAX. */
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || !end || *end != '\0')
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, UINT32_MAX, &v);

	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int open_regular(const char *path, struct stat *st)
{
	struct stat buf;
	int fd, r;

	/* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (!st)
		st = &buf;
	if (fstat(fd, st) < 0)
		r = -errno;
	else if (S_ISDIR(st->st_mode))
		r = -EISDIR;
	else if (!S_ISREG(st->st_mode))
		r = -EINVAL;
	else
		return fd;
	close(fd);
	return r;
}

/* ---- trusted paths ---------------------------------------------------------------------------------- */

#define TRUSTED_MAX_LINKS 40

static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* 0, or -EPERM with what is wrong with the object at `shown` (st its lstat) in why. */
static int check_trusted(const struct stat *st, const char *shown, char *why, size_t whysize)
{
	const char *what = S_ISDIR(st->st_mode) ? "directory" : S_ISLNK(st->st_mode) ? "symlink" : "file";
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (!trusted_owner(st->st_uid)) {
		snprintf(why, whysize, "%s %s is owned by uid %u, not root (mode %04o)", what, shown,
			 (unsigned)st->st_uid, mode);
		return -EPERM;
	}
	/* A symlink's own mode means nothing; a sticky directory's entries are checked one by one. */
	if (S_ISLNK(st->st_mode) || (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))
		return 0;
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whysize, "%s %s is writable by %s (mode %04o, owner uid %u)", what, shown,
			 st->st_mode & S_IWOTH ? "others" : "its group", mode, (unsigned)st->st_uid);
		return -EPERM;
	}
	return 0;
}

/* dir/name → *shown (reallocated): only for messages. */
static int shown_push(char **shown, const char *name, size_t n)
{
	size_t len = strlen(*shown);
	char *s = realloc(*shown, len + 1 + n + 1);

	if (!s)
		return -ENOMEM;
	if (len != 1)
		s[len++] = '/';
	memcpy(s + len, name, n);
	s[len + n] = '\0';
	*shown = s;
	return 0;
}

static void shown_pop(char *shown)
{
	char *slash = strrchr(shown, '/');

	if (slash && slash != shown)
		*slash = '\0';
	else
		strcpy(shown, "/");
}

static int open_root_dir(struct stat *st, char **shown, char *why, size_t whysize)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	free(*shown);
	*shown = strdup("/");
	if (!*shown || fstat(fd, st) < 0) {
		r = *shown ? -errno : -ENOMEM;
		close(fd);
		return r;
	}
	r = check_trusted(st, "/", why, whysize);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int open_trusted(const char *path, struct stat *st, char *why, size_t whysize)
{
	_cleanup_free_ char *todo = NULL, *shown = NULL, *cwd = NULL;
	_cleanup_close_ int dir = -1, cur = -1;
	struct stat buf, dst;
	unsigned links = 0;
	char *p, *last = NULL;
	int r;

	if (whysize)
		why[0] = '\0';
	if (!st)
		st = &buf;
	if (!path || !path[0])
		return -ENOENT;
	if (path[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return -errno;
		if (asprintf(&todo, "%s/%s", cwd, path) < 0)
			return -ENOMEM;
	} else {
		todo = strdup(path);
		if (!todo)
			return -ENOMEM;
	}
	dir = open_root_dir(&dst, &shown, why, whysize);
	if (dir < 0)
		return dir;
	*st = dst;
	p = todo;
	for (;;) {
		size_t n;
		char *rest;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		rest = p + n;
		if (n == 1 && p[0] == '.') {
			p = rest;
			continue;
		}
		last = NULL;
		closep(&cur);
		cur = openat(dir, n == 2 && p[0] == '.' && p[1] == '.' ? ".." : strndupa(p, n),
			     O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (cur < 0 || fstat(cur, st) < 0)
			return -errno;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			shown_pop(shown);
		else if (shown_push(&shown, p, n) < 0)
			return -ENOMEM;
		r = check_trusted(st, shown, why, whysize);
		if (r < 0)
			return r;
		if (S_ISLNK(st->st_mode)) {
			char target[PATH_MAX + 1], *next;
			ssize_t k;

			if (++links > TRUSTED_MAX_LINKS)
				return -ELOOP;
			k = readlinkat(cur, "", target, sizeof(target));
			if (k < 0)
				return -errno;
			if ((size_t)k >= sizeof(target) - 1)
				return -ENAMETOOLONG;
			target[k] = '\0';
			if (asprintf(&next, "%s%s", target, rest) < 0)
				return -ENOMEM;
			free(todo);
			todo = p = next;
			if (target[0] == '/') {
				closep(&dir);
				dir = open_root_dir(&dst, &shown, why, whysize);
				if (dir < 0)
					return dir;
				*st = dst;
			} else {
				shown_pop(shown);
			}
			continue;
		}
		if (S_ISDIR(st->st_mode)) {
			closep(&dir);
			dir = TAKE_FD(cur);
			p = rest;
			continue;
		}
		if (rest[strspn(rest, "/")] != '\0' || rest[0] == '/')
			return -ENOTDIR;
		last = strndupa(p, n);
		break;
	}
	/* The object checked is opened for reading by its name in its (checked) directory; if it was
	 * replaced in between, it is not what was checked. Never a device or a FIFO: opening one can do
	 * things (a watchdog, a tape), and no caller reads one. */
	if (last && !S_ISREG(st->st_mode))
		return -EINVAL;
	if (last) {
		struct stat now;
		_cleanup_close_ int fd =
			openat(dir, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		if (fstat(fd, &now) < 0)
			return -errno;
		if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
			return -EAGAIN;
		*st = now;
		return TAKE_FD(fd);
	}
	/* The path names a directory: reopen it (O_PATH cannot be read). */
	r = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r < 0)
		return -errno;
	if (fstat(r, st) < 0) {
		int e = -errno;

		close(r);
		return e;
	}
	return r;
}

/* The one fill loop: read(2) when off is negative, pread(2) at off on. */
static ssize_t fill(int fd, void *buf, size_t size, off_t off)
{
	char *p = buf;
	size_t done = 0;

	while (done < size) {
		ssize_t n = off < 0 ? read(fd, p + done, size - done)
				    : pread(fd, p + done, size - done, off + (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t read_all(int fd, void *buf, size_t size)
{
	return fill(fd, buf, size, -1);
}

ssize_t pread_all(int fd, void *buf, size_t size, uint64_t off)
{
	if (off > INT64_MAX)
		return -EINVAL;
	return fill(fd, buf, size, (off_t)off);
}

const char *format_utc_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
	return buf;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fail(char *why, size_t size, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return r;
}
