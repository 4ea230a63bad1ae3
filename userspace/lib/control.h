/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket between embargoctl and embargod: SOCK_SEQPACKET under the runtime directory
 * (default /run/embargo), accepting root peers only (SO_PEERCRED).
 *
 * One request per connection, one datagram each way.
 *   request:  "status" | "mode audit" | "mode enforce" | "lookup <sha256 hex>" | "reload" |
 *             "learned" | "forget <sha256 hex>"
 *   reply:    "0\n<body>"            success; body is JSON for status, lookup and learned
 *             "<errno>\n<message>"   failure, errno positive (EINVAL, EPERM, ...)
 */
#ifndef EMBARGO_CONTROL_H
#define EMBARGO_CONTROL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define EMBARGO_RUNTIME_DIR "/run/embargo"
#define EMBARGO_CONTROL_NAME "control.sock"
#define EMBARGO_CONTROL_MAX (256 * 1024)

/* "<dir>/control.sock" into buf; -ENAMETOOLONG if it does not fit a sockaddr_un. */
int embargo_control_path(const char *runtime_dir, char *buf, size_t size);

/* Server: creates runtime_dir (0755) and a listening socket (0600) in it; returns the fd or -errno. */
int embargo_control_listen(const char *runtime_dir);
/* Server: accept one connection (SOCK_CLOEXEC|SOCK_NONBLOCK); returns fd or -errno. */
int embargo_control_accept(int listen_fd);
/* Server: peer credentials; -EPERM if the peer is not uid 0. */
int embargo_control_peer(int fd, struct ucred *cred);
/* Server: receive the request (NUL-terminated, at most EMBARGO_CONTROL_MAX) into a malloc'ed *req. */
int embargo_control_recv(int fd, char **req);
/* Server: send a reply; err is 0 or a positive errno, text the body or the message. */
int embargo_control_reply(int fd, int err, const char *text);

/*
 * Client: send one request and wait (at most timeout_ms) for the reply.
 * Returns 0 with *body the body, or -errno: of the transport (-ENOENT/-ECONNREFUSED: no daemon), or
 * the daemon's error with *body its message. *body is malloc'ed in both cases where set.
 */
int embargo_control_call(const char *runtime_dir, const char *request, int timeout_ms, char **body);

#endif
