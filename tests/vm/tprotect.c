// SPDX-License-Identifier: GPL-2.0
/*
 * The VM tests' tamper attempts against embargod, each one system call, its outcome printed as
 *   "<what>: ok"  or  "<what>: <strerror> (errno N)"
 * and the exit status 0 when it succeeded, 1 when it failed, 2 on a usage error.
 *
 *   tprotect kill PID SIG          kill(2)
 *   tprotect seize PID             ptrace(PTRACE_SEIZE), then PTRACE_DETACH right away if it worked
 *   tprotect mem PID               open /proc/PID/mem and read 8 bytes at the address of its stack
 *   tprotect vmread PID            process_vm_readv of 8 bytes at the same address
 *   tprotect map|prog|link ID [ro] BPF_*_GET_FD_BY_ID (ro: BPF_F_RDONLY), the fd closed again
 *   tprotect detach|update PIN     an fd to the link pinned at PIN (BPF_OBJ_GET, which self-protection
 *                                  does not refuse), then BPF_LINK_DETACH, or BPF_LINK_UPDATE (what a
 *                                  replacement by a permissive program would ask)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int outcome(const char *what, long r)
{
	if (r < 0) {
		int e = errno;

		printf("%s: %s (errno %d)\n", what, strerror(e), e);
		return 1;
	}
	printf("%s: ok\n", what);
	return 0;
}

static unsigned long number(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "tprotect: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

/* An address mapped in the process: the start of its stack, from /proc/PID/stat (field 28). */
static uint64_t stack_of(pid_t pid)
{
	char path[64], buf[4096], *p;
	uint64_t v = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* Field 3 follows ") "; the stack start is field 28. */
	for (field = 2; p && field < 28; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

static int bpf_get_fd(const char *kind, uint32_t id, int ro)
{
	union bpf_attr attr;
	int cmd;

	memset(&attr, 0, sizeof(attr));
	if (strcmp(kind, "map") == 0) {
		cmd = BPF_MAP_GET_FD_BY_ID;
		attr.map_id = id;
		attr.open_flags = ro ? BPF_F_RDONLY : 0;
	} else if (strcmp(kind, "prog") == 0) {
		cmd = BPF_PROG_GET_FD_BY_ID;
		attr.prog_id = id;
	} else if (strcmp(kind, "link") == 0) {
		cmd = BPF_LINK_GET_FD_BY_ID;
		attr.link_id = id;
	} else {
		fprintf(stderr, "tprotect: map, prog or link, not %s\n", kind);
		exit(2);
	}
	return (int)syscall(SYS_bpf, cmd, &attr, sizeof(attr));
}

/* An fd to the object pinned at path: the error of BPF_OBJ_GET printed and exit 1 if none. */
static int pinned_fd(const char *path)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(uintptr_t)path;
	fd = (int)syscall(SYS_bpf, BPF_OBJ_GET, &attr, sizeof(attr));
	if (fd < 0)
		exit(outcome("obj get", -1));
	return fd;
}

static int link_op(const char *op, const char *path)
{
	union bpf_attr attr;
	int fd = pinned_fd(path), r;

	memset(&attr, 0, sizeof(attr));
	if (strcmp(op, "detach") == 0) {
		attr.link_detach.link_fd = (uint32_t)fd;
		r = (int)syscall(SYS_bpf, BPF_LINK_DETACH, &attr, sizeof(attr));
		return outcome("link detach", r);
	}
	/* An fd to one of embargo's programs is refused too: the new program is an fd that is none, the
	 * link's own; the kernel would refuse that only after self-protection had its say. */
	attr.link_update.link_fd = (uint32_t)fd;
	attr.link_update.new_prog_fd = (uint32_t)fd;
	r = (int)syscall(SYS_bpf, BPF_LINK_UPDATE, &attr, sizeof(attr));
	return outcome("link update", r);
}

int main(int argc, char **argv)
{
	pid_t pid;
	long r;

	if (argc < 3) {
		fprintf(stderr, "usage: tprotect kill|seize|mem|vmread|map|prog|link|detach|update ARGS\n");
		return 2;
	}
	if (strcmp(argv[1], "kill") == 0 && argc == 4)
		return outcome("kill", kill((pid_t)number(argv[2]), (int)number(argv[3])));
	if (strcmp(argv[1], "seize") == 0) {
		pid = (pid_t)number(argv[2]);
		r = ptrace(PTRACE_SEIZE, pid, NULL, NULL);
		if (r == 0)
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return outcome("ptrace seize", r);
	}
	if (strcmp(argv[1], "mem") == 0 || strcmp(argv[1], "vmread") == 0) {
		uint64_t at, word = 0;
		char path[64];

		pid = (pid_t)number(argv[2]);
		at = stack_of(pid);
		if (!at) {
			fprintf(stderr, "tprotect: no stack address for pid %d\n", (int)pid);
			return 2;
		}
		if (argv[1][0] == 'v') {
			struct iovec local = { &word, sizeof(word) },
				     remote = { (void *)(uintptr_t)at, sizeof(word) };

			return outcome("process_vm_readv", process_vm_readv(pid, &local, 1, &remote, 1, 0));
		}
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return outcome("open /proc/PID/mem", -1);
		r = pread(fd, &word, sizeof(word), (off_t)at);
		close(fd);
		return outcome("read /proc/PID/mem", r);
	}
	if (strcmp(argv[1], "map") == 0 || strcmp(argv[1], "prog") == 0 || strcmp(argv[1], "link") == 0) {
		char what[64];
		int fd = bpf_get_fd(argv[1], (uint32_t)number(argv[2]),
				    argc > 3 && strcmp(argv[3], "ro") == 0);

		snprintf(what, sizeof(what), "%s %s", argv[1], argv[2]);
		if (fd >= 0)
			close(fd);
		return outcome(what, fd);
	}
	if (strcmp(argv[1], "detach") == 0 || strcmp(argv[1], "update") == 0)
		return link_op(argv[1], argv[2]);
	fprintf(stderr, "tprotect: unknown request %s\n", argv[1]);
	return 2;
}
