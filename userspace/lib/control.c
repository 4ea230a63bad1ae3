// SPDX-License-Identifier: GPL-2.0
#include "control.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

/* How long the server side waits for a request that is not there yet, or for room to send its reply. */
#define SERVER_IO_TIMEOUT_MS 500
/* Replies this large need a send buffer above the default. */
#define SNDBUF_DEFAULT_OK (32 * 1024)

/* ---- deadlines ---- */

#define NO_DEADLINE UINT64_MAX

static uint64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? NO_DEADLINE : now_ns() + (uint64_t)timeout_ms * 1000000ull;
}

/* Milliseconds left, rounded up, for poll(): -1 for no deadline, 0 when past. */
static int remaining_ms(uint64_t deadline)
{
	uint64_t now = now_ns(), ms;

	if (deadline == NO_DEADLINE)
		return -1;
	if (now >= deadline)
		return 0;
	ms = (deadline - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int n = poll(&pfd, 1, remaining_ms(deadline));

		if (n > 0)
			return 0; /* readable, writable or an error the next call reports */
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* ---- datagrams ---- */

static int send_msg(int fd, const char *buf, size_t len, uint64_t deadline)
{
	if (len > SNDBUF_DEFAULT_OK) {
		/* A datagram must fit the send buffer whole (AF_UNIX refuses len > sndbuf - 32 with
		 * EMSGSIZE). */
		int want = (int)len + 4096, have = 0;
		socklen_t sl = sizeof(have);

		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
		if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &sl) == 0 && have < want)
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want));
	}
	for (;;) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (n >= 0)
			return (size_t)n == len ? 0 : -EIO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
}

/*
 * One datagram of at most EMBARGO_CONTROL_MAX bytes into a malloc'ed NUL-terminated *ret: -EMSGSIZE when
 * larger, -ECONNRESET when the peer closed without sending, -EBADMSG when it holds a NUL.
 */
static int recv_msg(int fd, char **ret, size_t *ret_len, uint64_t deadline)
{
	_cleanup_free_ char *buf = malloc(EMBARGO_CONTROL_MAX + 1);
	char *shrunk;
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = EMBARGO_CONTROL_MAX + 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0) {
			if ((mh.msg_flags & MSG_TRUNC) || n > EMBARGO_CONTROL_MAX)
				return -EMSGSIZE;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
	if (n == 0)
		return -ECONNRESET;
	if (memchr(buf, '\0', (size_t)n))
		return -EBADMSG;
	buf[n] = '\0';
	shrunk = realloc(buf, (size_t)n + 1);
	if (shrunk)
		buf = shrunk;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

/* ---- paths ---- */

static const char *runtime_dir_or_default(const char *runtime_dir)
{
	return runtime_dir ? runtime_dir : EMBARGO_RUNTIME_DIR;
}

int embargo_control_path(const char *runtime_dir, char *buf, size_t size)
{
	struct sockaddr_un sa;
	size_t dlen;
	int n;

	runtime_dir = runtime_dir_or_default(runtime_dir);
	dlen = strlen(runtime_dir);
	if (dlen == 0)
		return -EINVAL;
	/* "/run/embargo/" and "/run/embargo" name the same socket; "/" stays "/". */
	while (dlen > 1 && runtime_dir[dlen - 1] == '/')
		dlen--;
	if (dlen > INT_MAX - 64)
		return -ENAMETOOLONG;
	n = snprintf(buf, size, "%.*s%s%s", (int)dlen, runtime_dir,
		     dlen == 1 && runtime_dir[0] == '/' ? "" : "/", EMBARGO_CONTROL_NAME);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int sockaddr_for(const char *runtime_dir, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	return embargo_control_path(runtime_dir, sa->sun_path, sizeof(sa->sun_path));
}

/* mkdir -p: every missing component with mode; the last one must end up a directory. */
static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	struct stat st;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* A non-blocking SEQPACKET socket connected to sa: -EAGAIN when the listener's backlog is full. */
static int connect_to(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	while (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		if (errno != EINTR)
			return -errno;
	return TAKE_FD(fd);
}

/*
 * A socket file left by a daemon that is gone is removed; one that a live daemon answers on is not
 * (-EADDRINUSE), nor is anything that is not a socket (-EEXIST).
 */
static int remove_stale_socket(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = connect_to(sa);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (fd == -EAGAIN)
		return -EADDRINUSE; /* alive, and busy */
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- server ---- */

int embargo_control_listen(const char *runtime_dir)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	int r;

	r = sockaddr_for(runtime_dir, &sa);
	if (r < 0)
		return r;
	r = mkdir_p(runtime_dir_or_default(runtime_dir), 0755);
	if (r < 0)
		return r;
	r = remove_stale_socket(&sa);
	if (r < 0)
		return r;
	/* Blocking: accept() after poll() or in a thread both work; accepted sockets are non-blocking. */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	/* Until the chmod the socket has the umask's mode: embargo_control_peer() refuses non-root anyway. */
	if (chmod(sa.sun_path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		(void)unlink(sa.sun_path);
		return r;
	}
	return TAKE_FD(fd);
}

int embargo_control_accept(int listen_fd)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0)
			return fd;
		if (errno != EINTR)
			return -errno;
	}
}

int embargo_control_peer(int fd, struct ucred *cred)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	if (len != sizeof(uc))
		return -EIO;
	if (cred)
		*cred = uc;
	return uc.uid == 0 ? 0 : -EPERM;
}

/*
 * The accepted socket is non-blocking and a client's request may be a moment behind its connect():
 * waits for it at most SERVER_IO_TIMEOUT_MS (-ETIMEDOUT), so a silent client cannot hold the daemon.
 */
int embargo_control_recv(int fd, char **req)
{
	return recv_msg(fd, req, NULL, deadline_after(SERVER_IO_TIMEOUT_MS));
}

int embargo_control_reply(int fd, int err, const char *text)
{
	_cleanup_free_ char *msg = NULL;
	size_t tlen = text ? strlen(text) : 0;
	char head[16];
	int hlen;

	if (err < 0)
		err = -err;
	hlen = snprintf(head, sizeof(head), "%d\n", err);
	if (tlen > EMBARGO_CONTROL_MAX - (size_t)hlen)
		return -EMSGSIZE;
	msg = malloc((size_t)hlen + tlen);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, head, (size_t)hlen);
	if (tlen)
		memcpy(msg + hlen, text, tlen);
	return send_msg(fd, msg, (size_t)hlen + tlen, deadline_after(SERVER_IO_TIMEOUT_MS));
}

/* ---- client ---- */

/* "<errno>\n<text>" in place: the text moved to the front of buf, *err the daemon's errno; or -EBADMSG. */
static int parse_reply(char *buf, size_t len, int *err)
{
	char *nl = memchr(buf, '\n', len);
	uint32_t e;

	if (!nl)
		return -EBADMSG;
	*nl = '\0';
	if (parse_u32(buf, &e) < 0 || e > 4095)
		return -EBADMSG;
	memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf) + 1);
	*err = (int)e;
	return 0;
}

/* Connects before the deadline, retrying while the listener's backlog is full. */
static int connect_until(const struct sockaddr_un *sa, uint64_t deadline)
{
	for (;;) {
		const struct timespec pause = { .tv_nsec = 10 * 1000000 };
		int fd = connect_to(sa);

		if (fd != -EAGAIN)
			return fd;
		if (remaining_ms(deadline) == 0)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

int embargo_control_call(const char *runtime_dir, const char *request, int timeout_ms, char **body)
{
	uint64_t deadline = deadline_after(timeout_ms);
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	size_t len;
	int r, err;

	*body = NULL;
	if (!request || !*request)
		return -EINVAL;
	if (strlen(request) > EMBARGO_CONTROL_MAX)
		return -EMSGSIZE;
	r = sockaddr_for(runtime_dir, &sa);
	if (r < 0)
		return r;
	fd = connect_until(&sa, deadline);
	if (fd < 0)
		return fd;
	r = send_msg(fd, request, strlen(request), deadline);
	if (r < 0)
		return r;
	r = recv_msg(fd, &buf, &len, deadline);
	if (r < 0)
		return r;
	r = parse_reply(buf, len, &err);
	if (r < 0)
		return r;
	*body = TAKE_PTR(buf);
	return -err;
}
