/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by every userspace part: scope-based cleanup and checked parsing. */
#ifndef EMBARGO_UTIL_H
#define EMBARGO_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
		/* A second call, or a use after an early close, finds nothing rather than another fd. */
		*fd = -1;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand a cleanup-owned value to the caller. */
#define TAKE_PTR(p)                                                                                          \
	({                                                                                                   \
		__typeof__(p) _p = (p);                                                                      \
		(p) = NULL;                                                                                  \
		_p;                                                                                          \
	})
#define TAKE_FD(fd)                                                                                          \
	({                                                                                                   \
		int _fd = (fd);                                                                              \
		(fd) = -1;                                                                                   \
		_fd;                                                                                         \
	})

/* Whole-string unsigned parse, base 10: -EINVAL on junk or empty, -ERANGE above max. */
int parse_u64(const char *s, uint64_t max, uint64_t *ret);
int parse_u32(const char *s, uint32_t *ret);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2n hex digits, either case, into out: -EINVAL otherwise. */
int hex_decode(const char *in, size_t len, uint8_t *out, size_t n);

/*
 * The one error convention of embargod and the library functions that explain a failure: the reason
 * into why (size bytes), and r (a -errno) returned, so that a failure is one statement:
 *	return fail(why, size, -errno, "cannot create %s: %m", path);
 * errno is untouched until the message is formatted, so %m names the error r is made of.
 */
int fail(char *why, size_t size, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* write(2) until done or a real error; -errno. */
int write_all(int fd, const void *buf, size_t len);
/*
 * Open path read-only as a regular file: the fd, or -EISDIR, -EINVAL (a FIFO, device or socket: never
 * waited on, the open does not block), or -errno. *st gets its fstat when st is not NULL.
 */
int open_regular(const char *path, struct stat *st);
/*
 * Open path read-only (a regular file or a directory, never blocking) after walking it from "/" one
 * component at a time, symlinks included, and checking everything on the way: each directory, symlink
 * and the file itself must be owned by root (or by the caller's effective uid), and neither a directory
 * nor the file may be writable by group or others, except a sticky directory (like /tmp: only an
 * entry's owner can replace it, and the entry is checked). A relative path starts at the working
 * directory, whose own chain is checked too. The fd, *st its fstat; -EPERM with `why` naming the
 * offending path, its mode and owner when something is not trusted; else -errno (`why` empty).
 */
int open_trusted(const char *path, struct stat *st, char *why, size_t whysize);
/* read(2) until end of file or size bytes: the count read, or -errno. */
ssize_t read_all(int fd, void *buf, size_t size);
/* The same with pread(2) from offset off: the fd's offset is neither used nor moved. */
ssize_t pread_all(int fd, void *buf, size_t size, uint64_t off);

/* t (seconds since the epoch) as "2026-01-31T23:59:59Z" into buf, or as the number when gmtime cannot. */
const char *format_utc_time(int64_t t, char *buf, size_t size);

/* A cancel flag set from another thread or a signal handler (NULL: never set). */
static inline bool cancel_requested(const volatile bool *cancel)
{
	return cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED);
}

#endif
