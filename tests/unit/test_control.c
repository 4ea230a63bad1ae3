// SPDX-License-Identifier: GPL-2.0
/* The control socket: a real listening socket in the test's directory, served from a thread. */
#include "test.h"

#include "control.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/un.h>

enum serve_how {
	SERVE_REPLY,  /* embargo_control_reply(err, reply) */
	SERVE_RAW,    /* send raw as one datagram */
	SERVE_SILENT, /* read the request, answer nothing, wait for the client to go */
	SERVE_CLOSE,  /* read the request, close */
};

struct server {
	int listen_fd;
	enum serve_how how;
	int err;
	const char *reply;
	/* What the server saw. */
	int accept_r, peer_r, recv_r, reply_r;
	struct ucred cred;
	char *req;
	pthread_t thread;
};

static void *serve_one(void *arg)
{
	struct server *s = arg;
	_cleanup_close_ int fd = embargo_control_accept(s->listen_fd);
	struct pollfd pfd;

	s->accept_r = fd < 0 ? fd : 0;
	if (fd < 0)
		return NULL;
	s->peer_r = embargo_control_peer(fd, &s->cred);
	s->recv_r = embargo_control_recv(fd, &s->req);
	switch (s->how) {
	case SERVE_REPLY:
		s->reply_r = embargo_control_reply(fd, s->err, s->reply);
		break;
	case SERVE_RAW:
		s->reply_r = send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL) < 0 ? -errno : 0;
		break;
	case SERVE_SILENT:
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		(void)poll(&pfd, 1, 5000);
		break;
	case SERVE_CLOSE:
		break;
	}
	return NULL;
}

static const char *dir_in_tmp(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", test_tmpdir(), name);
	return buf;
}

static bool server_start(struct server *s, const char *dir)
{
	s->listen_fd = embargo_control_listen(dir);
	if (s->listen_fd < 0) {
		test_fail(__FILE__, __LINE__, "embargo_control_listen(%s): %s", dir, strerror(-s->listen_fd));
		return false;
	}
	return pthread_create(&s->thread, NULL, serve_one, s) == 0;
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	free(s->req);
	s->req = NULL;
}

/* One call against a server answering as told. */
static int call_once(struct server *s, const char *dir, const char *request, int timeout_ms, char **body)
{
	int r;

	if (!server_start(s, dir))
		return -EIO;
	r = embargo_control_call(dir, request, timeout_ms, body);
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	return r;
}

static bool is_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC);
}

TEST(control_path)
{
	char buf[256], dir[256];

	CHECK_EQ_INT(embargo_control_path("/run/embargo", buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "/run/embargo/control.sock");
	CHECK_EQ_INT(embargo_control_path("/run/embargo//", buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "/run/embargo/control.sock");
	CHECK_EQ_INT(embargo_control_path("/", buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "/control.sock");
	CHECK_EQ_INT(embargo_control_path("run", buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "run/control.sock");
	CHECK_EQ_INT(embargo_control_path(NULL, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, EMBARGO_RUNTIME_DIR "/" EMBARGO_CONTROL_NAME);
	CHECK_EQ_INT(embargo_control_path("", buf, sizeof(buf)), -EINVAL);
	CHECK_EQ_INT(embargo_control_path("/run/embargo", buf, 10), -ENAMETOOLONG);

	/* sun_path holds 107 characters and the NUL: a 94-character directory is the longest. */
	memset(dir, 'd', sizeof(dir));
	dir[0] = '/';
	dir[94] = '\0';
	CHECK_EQ_INT(embargo_control_path(dir, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(strlen(buf), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	dir[94] = 'd';
	dir[95] = '\0';
	CHECK_EQ_INT(embargo_control_path(dir, buf, sizeof(buf)), -ENAMETOOLONG);
}

TEST(control_round_trip)
{
	const char *dir = dir_in_tmp("run/embargo");
	struct server s = { .how = SERVE_REPLY, .reply = "{\"mode\":\"enforce\"}" };
	_cleanup_free_ char *body = NULL;
	char path[256];
	struct stat st;

	REQUIRE(server_start(&s, dir));
	CHECK(is_cloexec(s.listen_fd));
	REQUIRE(embargo_control_path(dir, path, sizeof(path)) == 0);
	REQUIRE(stat(path, &st) == 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	REQUIRE(stat(dir, &st) == 0);
	CHECK(S_ISDIR(st.st_mode));

	CHECK_EQ_INT(embargo_control_call(dir, "status", 5000, &body), 0);
	server_stop(&s);
	CHECK_EQ_STR(body, "{\"mode\":\"enforce\"}");
	CHECK_EQ_INT(s.accept_r, 0);
	CHECK_EQ_INT(s.recv_r, 0);
	CHECK_EQ_INT(s.reply_r, 0);
	CHECK_EQ_INT(s.cred.pid, getpid());
	CHECK_EQ_INT(s.cred.uid, getuid());
	/* Root only: whoever runs the tests sees the check from the side they are on. */
	CHECK_EQ_INT(s.peer_r, getuid() == 0 ? 0 : -EPERM);

	/* An error reply: the daemon's errno and message. */
	free(TAKE_PTR(body));
	s = (struct server){ .how = SERVE_REPLY, .err = EINVAL, .reply = "unknown request 'frob'" };
	CHECK_EQ_INT(call_once(&s, dir, "frob", 5000, &body), -EINVAL);
	CHECK_EQ_STR(body, "unknown request 'frob'");
	free(s.req);

	/* An empty success body, and an error given as a negative errno. */
	free(TAKE_PTR(body));
	s = (struct server){ .how = SERVE_REPLY, .err = 0, .reply = NULL };
	CHECK_EQ_INT(call_once(&s, dir, "mode audit", 5000, &body), 0);
	CHECK_EQ_STR(s.req, "mode audit");
	CHECK_EQ_STR(body, "");
	free(s.req);
	free(TAKE_PTR(body));
	s = (struct server){ .how = SERVE_REPLY, .err = -EBADMSG, .reply = "x" };
	CHECK_EQ_INT(call_once(&s, dir, "lookup 00", 5000, &body), -EBADMSG);
	CHECK_EQ_STR(body, "x");
	free(s.req);
}

TEST(control_large_reply)
{
	const char *dir = dir_in_tmp("run");
	size_t n = EMBARGO_CONTROL_MAX - 2; /* "0\n" and the body fill the largest datagram */
	_cleanup_free_ char *big = malloc(n + 2), *body = NULL;
	struct server s = { .how = SERVE_REPLY };

	REQUIRE(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\0';
	s.reply = big;
	CHECK_EQ_INT(call_once(&s, dir, "status", 5000, &body), 0);
	CHECK_EQ_INT(s.reply_r, 0);
	REQUIRE(body);
	CHECK_EQ_INT(strlen(body), n);
	CHECK(strcmp(body, big) == 0);
	free(s.req);
	free(TAKE_PTR(body));

	/* One byte more does not fit: the server is told, the client sees the connection end. */
	big[n] = 'x';
	big[n + 1] = '\0';
	s = (struct server){ .how = SERVE_REPLY, .reply = big };
	CHECK_EQ_INT(call_once(&s, dir, "status", 5000, &body), -ECONNRESET);
	CHECK_EQ_INT(s.reply_r, -EMSGSIZE);
	CHECK(body == NULL);
	free(s.req);
}

TEST(control_no_daemon)
{
	const char *dir = dir_in_tmp("run");
	char *body = (char *)"untouched";
	struct server s = { .how = SERVE_REPLY, .reply = "ok" };
	char path[256];
	int fd, fd2;

	/* Nothing there. */
	CHECK_EQ_INT(embargo_control_call(dir_in_tmp("nothing"), "status", 1000, &body), -ENOENT);
	CHECK(body == NULL);

	/* A socket left behind by a daemon that is gone: refused, and replaced by the next listener. */
	fd = embargo_control_listen(dir);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK_EQ_INT(embargo_control_call(dir, "status", 1000, &body), -ECONNREFUSED);
	CHECK(body == NULL);
	CHECK_EQ_INT(call_once(&s, dir, "status", 5000, &body), 0);
	CHECK_EQ_STR(body, "ok");
	free(body);
	free(s.req);

	/* A live listener is not replaced. */
	fd = embargo_control_listen(dir);
	REQUIRE(fd >= 0);
	fd2 = embargo_control_listen(dir);
	CHECK_EQ_INT(fd2, -EADDRINUSE);
	if (fd2 >= 0)
		close(fd2);
	close(fd);

	/* Nor is a file that is not a socket. */
	REQUIRE(embargo_control_path(dir, path, sizeof(path)) == 0);
	REQUIRE(unlink(path) == 0);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK_EQ_INT(embargo_control_listen(dir), -EEXIST);

	/* A runtime "directory" that is a file. */
	CHECK_EQ_INT(embargo_control_listen(path), -ENOTDIR);
}

TEST(control_name_too_long)
{
	char dir[300], *body = NULL;

	snprintf(dir, sizeof(dir), "%s/", test_tmpdir());
	while (strlen(dir) < 200)
		strcat(dir, "x");
	CHECK_EQ_INT(embargo_control_listen(dir), -ENAMETOOLONG);
	CHECK_EQ_INT(embargo_control_call(dir, "status", 1000, &body), -ENAMETOOLONG);
	CHECK(body == NULL);
	/* Nothing was created on the way to the failure. */
	CHECK(access(dir, F_OK) < 0);
}

TEST(control_bad_requests)
{
	const char *dir = dir_in_tmp("run");
	_cleanup_free_ char *huge = malloc(EMBARGO_CONTROL_MAX + 2);
	char *body = NULL;

	REQUIRE(huge);
	memset(huge, 'a', EMBARGO_CONTROL_MAX + 1);
	huge[EMBARGO_CONTROL_MAX + 1] = '\0';
	CHECK_EQ_INT(embargo_control_call(dir, huge, 1000, &body), -EMSGSIZE);
	CHECK_EQ_INT(embargo_control_call(dir, "", 1000, &body), -EINVAL);
	CHECK(body == NULL);
}

TEST(control_timeout)
{
	const char *dir = dir_in_tmp("run");
	struct server s = { .how = SERVE_SILENT };
	char *body = NULL;
	uint64_t start = now_ns(), ms;

	CHECK_EQ_INT(call_once(&s, dir, "status", 100, &body), -ETIMEDOUT);
	ms = (now_ns() - start) / 1000000;
	CHECK(ms >= 100);
	CHECK(ms < 3000);
	CHECK(body == NULL);
	CHECK_EQ_STR(s.req, "status");
	free(s.req);
}

TEST(control_malformed_replies)
{
	static const char *bad[] = { "garbage", "0", "x\n{}", "-1\nno", "99999\nno", "\nno" };
	const char *dir = dir_in_tmp("run");
	char *body = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct server s = { .how = SERVE_RAW, .reply = bad[i] };

		CHECK_EQ_INT(call_once(&s, dir, "status", 5000, &body), -EBADMSG);
		CHECK(body == NULL);
		free(s.req);
	}

	/* The daemon hangs up without a word. */
	struct server s = { .how = SERVE_CLOSE };
	CHECK_EQ_INT(call_once(&s, dir, "status", 5000, &body), -ECONNRESET);
	CHECK(body == NULL);
	free(s.req);
}

/* A raw client for what embargo_control_call() never sends. */
static int raw_connect(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (embargo_control_path(dir, sa.sun_path, sizeof(sa.sun_path)) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST(control_server_recv)
{
	const char *dir = dir_in_tmp("run");
	_cleanup_close_ int lfd = embargo_control_listen(dir);
	_cleanup_close_ int client = -1, conn = -1;
	char *req = NULL;
	uint64_t start;
	int flags;

	REQUIRE(lfd >= 0);

	/* A client that connects and says nothing is given up on. */
	client = raw_connect(dir);
	REQUIRE(client >= 0);
	conn = embargo_control_accept(lfd);
	REQUIRE(conn >= 0);
	CHECK(is_cloexec(conn));
	flags = fcntl(conn, F_GETFL);
	CHECK(flags >= 0 && (flags & O_NONBLOCK));
	start = now_ns();
	CHECK_EQ_INT(embargo_control_recv(conn, &req), -ETIMEDOUT);
	CHECK(now_ns() - start < 3000000000ull);
	CHECK(req == NULL);

	/* A request with a NUL inside. */
	REQUIRE(send(client, "status\0x", 8, 0) == 8);
	CHECK_EQ_INT(embargo_control_recv(conn, &req), -EBADMSG);
	CHECK(req == NULL);

	/* A request is one datagram: two are two requests. */
	REQUIRE(send(client, "mode audit", 10, 0) == 10);
	REQUIRE(send(client, "status", 6, 0) == 6);
	CHECK_EQ_INT(embargo_control_recv(conn, &req), 0);
	CHECK_EQ_STR(req, "mode audit");
	free(TAKE_PTR(req));
	CHECK_EQ_INT(embargo_control_recv(conn, &req), 0);
	CHECK_EQ_STR(req, "status");
	free(TAKE_PTR(req));

	/* The client went away. */
	close(TAKE_FD(client));
	CHECK_EQ_INT(embargo_control_recv(conn, &req), -ECONNRESET);
	CHECK_EQ_INT(embargo_control_reply(conn, 0, "late"), -EPIPE);
}
