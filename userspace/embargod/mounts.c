// SPDX-License-Identifier: GPL-2.0
/*
 * Every mount namespace's file systems, after the start too. A mount namespace is followed through a
 * descriptor of /proc/PID/mountinfo of one of its processes: the descriptor keeps the namespace's mount
 * table readable and poll() reports POLLPRI at every mount or unmount there. Namespaces are found three
 * ways: the processes the fanotify reader sees exec (a process that unshared its mount namespace and then
 * runs anything is followed before it can mount), a sweep of /proc every SWEEP_MS, and embargod's own.
 *
 * A mount is named by a descriptor, never by a string that must survive being parsed: its mount point
 * (mountinfo's escapes decoded) is opened O_PATH below /proc/PID/root, which resolves it in that process's
 * namespace and root, and the descriptor is checked to be on the device mountinfo says before it is
 * handed over. A namespace's mounts are remembered by (mount id, device, mount point) between changes: a
 * mount seen before is not handed over twice, one that went is forgotten, and nothing has a fixed cap.
 *
 * Execs from a file system mounted a moment ago, before its mark, reach the backstop, which holds unknown
 * images from unmarked file systems until embargod classified them (fanotify.c).
 */
#include "mounts.h"
#include "log.h"
#include "scan-internal.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* A namespace nobody exec'd in is found by the sweep; the sweep also forgets namespaces that went. */
#define SWEEP_MS 2000
#define HINTS 512

struct seen {
	int id;
	dev_t dev;
	char *mountpoint;
};

struct ns {
	dev_t nsdev;
	ino_t nsino;
	pid_t pid;	/* a process in it: its root resolves the mount points */
	int fd;		/* its /proc/PID/mountinfo */
	bool own;	/* embargod's: never forgotten */
	unsigned sweep; /* the last sweep that found a process in it */
	bool retry;	/* a mount could not be marked: try again at the next sweep */
	struct seen *seen;
	size_t n_seen;
};

/* A process seen to exec, and its namespace as it was then (the process may be gone when we look). */
struct hint {
	pid_t pid;
	dev_t nsdev;
	ino_t nsino;
};

struct mounts {
	struct mounts_config c;
	pthread_t thread;
	bool started;
	int wake_fd;
	pthread_mutex_t lock;
	bool stopping;		  /* under lock */
	struct hint hints[HINTS]; /* under lock */
	dev_t own_nsdev;	  /* embargod's namespace, set before the thread starts */
	ino_t own_nsino;
	unsigned n_hints;	/* under lock */
	struct mounts_stats st; /* under lock */
	char **names;		/* under lock: one per marked superblock */
	size_t n_names;		/* under lock */
	struct ns *ns;		/* the thread's (and mounts_start's before it) */
	size_t n_ns;
	unsigned sweep;
};

static void seen_free(struct seen *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].mountpoint);
	free(s);
}

static bool in_scope(const struct mounts *m, const char *mp)
{
	if (m->c.n_scope == 0)
		return true;
	for (size_t i = 0; i < m->c.n_scope; i++) {
		size_t len = strlen(m->c.scope[i]);

		while (len > 1 && m->c.scope[i][len - 1] == '/')
			len--;
		if (strncmp(mp, m->c.scope[i], len) == 0 && mp[len] == '/')
			return true;
	}
	return false;
}

static const struct seen *find_seen(const struct ns *n, const struct scan_mount *mt)
{
	for (size_t i = 0; i < n->n_seen; i++)
		if (n->seen[i].id == mt->id && n->seen[i].dev == mt->dev &&
		    strcmp(n->seen[i].mountpoint, mt->mountpoint) == 0)
			return &n->seen[i];
	return NULL;
}

/* Open the mount point in its namespace, check it is the mount mountinfo lists, hand it over. */
static int mark_mount(struct mounts *m, const struct ns *n, const struct scan_mount *mt)
{
	char path[PATH_MAX + 32], fdpath[64], shown[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "/proc/%d/root%s", (int)n->pid, mt->mountpoint) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_dev != mt->dev)
		return -ESTALE; /* remounted meanwhile: the change that did it brings us back */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (n->own)
		snprintf(shown, sizeof(shown), "%s", mt->mountpoint);
	else
		snprintf(shown, sizeof(shown), "%s (mount namespace %llu)", mt->mountpoint,
			 (unsigned long long)n->nsino);
	return m->c.mark(m->c.ctx, fdpath, shown, mt->fstype);
}

/* Under lock: a name for status, once per superblock. */
static void add_name(struct mounts *m, dev_t dev, const char *mountpoint, const struct ns *n)
{
	char buf[PATH_MAX + 64], **nn;

	(void)dev;
	if (n->own)
		snprintf(buf, sizeof(buf), "%s", mountpoint);
	else
		snprintf(buf, sizeof(buf), "%s (mount namespace %llu)", mountpoint,
			 (unsigned long long)n->nsino);
	for (size_t i = 0; i < m->n_names; i++)
		if (strcmp(m->names[i], buf) == 0)
			return;
	nn = realloc(m->names, (m->n_names + 1) * sizeof(*nn));
	if (!nn)
		return;
	m->names = nn;
	m->names[m->n_names] = strdup(buf);
	if (m->names[m->n_names])
		m->n_names++;
}

/* Under lock: the names of the superblocks still mounted somewhere. */
static void rebuild_names(struct mounts *m)
{
	for (size_t i = 0; i < m->n_names; i++)
		free(m->names[i]);
	m->n_names = 0;
	for (size_t i = 0; i < m->n_ns; i++) {
		const struct ns *n = &m->ns[i];

		for (size_t j = 0; j < n->n_seen; j++) {
			bool dup = false;

			for (size_t k = 0; k < i && !dup; k++)
				for (size_t l = 0; l < m->ns[k].n_seen && !dup; l++)
					dup = m->ns[k].seen[l].dev == n->seen[j].dev;
			for (size_t l = 0; l < j && !dup; l++)
				dup = n->seen[l].dev == n->seen[j].dev;
			if (!dup)
				add_name(m, n->seen[j].dev, n->seen[j].mountpoint, n);
		}
	}
}

static bool pid_in(pid_t pid, const struct ns *n)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
	return stat(p, &st) == 0 && st.st_ino == n->nsino && st.st_dev == n->nsdev;
}

/*
 * The process that named the namespace may be gone (often: the hint is of a process that just exec'd,
 * and short-lived): another one in it, found in /proc, resolves its mount points.
 */
static int repick_pid(struct ns *n)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (pid_in(n->pid, n))
		return 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint32_t pid;

		if (parse_u32(de->d_name, &pid) == 0 && pid > 0 && pid_in((pid_t)pid, n)) {
			n->pid = (pid_t)pid;
			return 0;
		}
	}
	return -ESRCH;
}

/*
 * Read the namespace's mount table again and hand over the mounts it did not have: 0, or -errno when the
 * table cannot be read (the namespace is forgotten at the next sweep).
 */
static int rescan(struct mounts *m, struct ns *n, uint64_t t0)
{
	struct scan_mounts mm = {};
	struct seen *next;
	size_t n_next = 0;
	uint64_t marked = 0, failed = 0;
	int r;

	r = scan_mounts_read_fd(n->fd, &mm);
	if (r < 0)
		return r;
	if (!n->own && repick_pid(n) < 0) {
		/* Nobody is in it any more: nobody execs there; the sweep forgets it. */
		scan_mounts_free(&mm);
		return -ESRCH;
	}
	next = calloc(mm.n ? mm.n : 1, sizeof(*next));
	if (!next) {
		scan_mounts_free(&mm);
		return -ENOMEM;
	}
	n->retry = false;
	for (size_t i = 0; i < mm.n; i++) {
		struct scan_mount *mt = &mm.m[i];

		if (scan_fs_kind(mt->fstype) != SCAN_FS_LOCAL || !in_scope(m, mt->mountpoint))
			continue;
		if (!find_seen(n, mt)) {
			r = mark_mount(m, n, mt);
			/* The process that resolves mount points may have just exited: another one, once. */
			if (r == -ENOENT && !n->own && !pid_in(n->pid, n) && repick_pid(n) == 0)
				r = mark_mount(m, n, mt);
			if (r < 0) {
				failed++;
				n->retry = true;
				log_warning(
					"fanotify: cannot mark the %s file system at %s (mount namespace %llu): "
					"%s; execs there are held by the backstop until classified",
					mt->fstype, mt->mountpoint, (unsigned long long)n->nsino,
					strerror(-r));
				continue;
			}
			marked++;
		}
		next[n_next].id = mt->id;
		next[n_next].dev = mt->dev;
		next[n_next].mountpoint = TAKE_PTR(mt->mountpoint);
		n_next++;
	}
	scan_mounts_free(&mm);
	pthread_mutex_lock(&m->lock);
	seen_free(n->seen, n->n_seen);
	n->seen = next;
	n->n_seen = n_next;
	m->st.rescans++;
	m->st.marked += marked;
	m->st.failed += failed;
	if (marked && t0) {
		uint64_t us = (now_ns() - t0) / 1000;

		m->st.last_latency_us = us;
		if (us > m->st.max_latency_us)
			m->st.max_latency_us = us;
	}
	rebuild_names(m);
	pthread_mutex_unlock(&m->lock);
	if (marked && t0)
		log_info(
			"fanotify: %llu new file system(s) marked in mount namespace %llu, %.1f ms after the "
			"change was seen",
			(unsigned long long)marked, (unsigned long long)n->nsino,
			(double)(now_ns() - t0) / 1e6);
	return 0;
}

static void ns_free(struct ns *n)
{
	if (n->fd >= 0)
		close(n->fd);
	seen_free(n->seen, n->n_seen);
}

/*
 * The namespace (nsdev, nsino) of pid, followed from now on if it is new (through pid, or another of its
 * processes if pid is gone); its sweep stamp renewed.
 */
static void add_ns(struct mounts *m, pid_t pid, dev_t nsdev, ino_t nsino, bool own)
{
	struct ns want = { .nsdev = nsdev, .nsino = nsino, .pid = pid }, *nn, *n;
	char p[64];
	int fd;

	for (size_t i = 0; i < m->n_ns; i++)
		if (m->ns[i].nsino == nsino && m->ns[i].nsdev == nsdev) {
			m->ns[i].sweep = m->sweep;
			return;
		}
	if (repick_pid(&want) < 0)
		return;
	snprintf(p, sizeof(p), "/proc/%d/mountinfo", (int)want.pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	/* The process may have left the namespace between the look and the open. */
	if (fd >= 0 && !pid_in(want.pid, &want)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return;
	pthread_mutex_lock(&m->lock);
	nn = realloc(m->ns, (m->n_ns + 1) * sizeof(*nn));
	if (!nn) {
		pthread_mutex_unlock(&m->lock);
		close(fd);
		return;
	}
	m->ns = nn;
	n = &m->ns[m->n_ns++];
	*n = (struct ns){
		.nsdev = nsdev, .nsino = nsino, .pid = want.pid, .fd = fd, .own = own, .sweep = m->sweep
	};
	m->st.namespaces = m->n_ns;
	pthread_mutex_unlock(&m->lock);
	if (rescan(m, n, now_ns()) < 0)
		n->retry = true;
}

static int ns_of(pid_t pid, struct stat *st)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
	return stat(p, st) < 0 ? -errno : 0;
}

static void add_pid(struct mounts *m, pid_t pid, bool own)
{
	struct stat st;

	if (ns_of(pid, &st) == 0)
		add_ns(m, pid, st.st_dev, st.st_ino, own);
}

/* Every process's namespace; namespaces no process is in any more are forgotten. */
static void sweep(struct mounts *m)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return;
	m->sweep++;
	while ((de = readdir(d))) {
		uint32_t pid;

		if (parse_u32(de->d_name, &pid) == 0 && pid > 0)
			add_pid(m, (pid_t)pid, false);
	}
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_ns;) {
		if (!m->ns[i].own && m->ns[i].sweep != m->sweep) {
			ns_free(&m->ns[i]);
			m->ns[i] = m->ns[--m->n_ns];
			continue;
		}
		i++;
	}
	m->st.namespaces = m->n_ns;
	rebuild_names(m);
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < m->n_ns; i++)
		if (m->ns[i].retry)
			(void)rescan(m, &m->ns[i], 0);
}

static void *watch(void *arg)
{
	struct mounts *m = arg;
	struct pollfd *pfd = NULL;
	uint64_t next_sweep = now_ns() + SWEEP_MS * 1000000ull;

	for (;;) {
		struct hint hints[HINTS];
		unsigned n_hints;
		uint64_t now, t0, v;
		size_t n_fds = m->n_ns;
		struct pollfd *np = realloc(pfd, (n_fds + 1) * sizeof(*np));

		if (!np) {
			log_error("fanotify: out of memory: mount changes are not followed");
			break;
		}
		pfd = np;
		pfd[0] = (struct pollfd){ .fd = m->wake_fd, .events = POLLIN };
		for (size_t i = 0; i < n_fds; i++)
			pfd[i + 1] = (struct pollfd){ .fd = m->ns[i].fd, .events = POLLPRI };
		now = now_ns();
		if (poll(pfd, n_fds + 1, now >= next_sweep ? 0 : (int)((next_sweep - now) / 1000000 + 1)) <
			    0 &&
		    errno != EINTR) {
			log_error("fanotify: poll of mount tables: %m");
			sleep(1);
		}
		t0 = now_ns();
		pthread_mutex_lock(&m->lock);
		if (m->stopping) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		n_hints = m->n_hints;
		memcpy(hints, m->hints, n_hints * sizeof(hints[0]));
		m->n_hints = 0;
		pthread_mutex_unlock(&m->lock);
		if ((pfd[0].revents & POLLIN) && read(m->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_error("fanotify: reading the mount watcher's wake-up: %m");
		/* The namespaces in the poll set are the first n_fds: add_pid only appends. */
		for (size_t i = 0; i < n_fds; i++)
			if (pfd[i + 1].revents & (POLLPRI | POLLERR))
				(void)rescan(m, &m->ns[i], t0);
		for (unsigned i = 0; i < n_hints; i++)
			add_ns(m, hints[i].pid, hints[i].nsdev, hints[i].nsino, false);
		if (now_ns() >= next_sweep) {
			sweep(m);
			next_sweep = now_ns() + SWEEP_MS * 1000000ull;
		}
	}
	free(pfd);
	return NULL;
}

void mounts_saw_pid(struct mounts *m, uint32_t pid)
{
	uint64_t one = 1;
	struct stat st;
	bool wake;

	/*
	 * The namespace now, while the exec waits for its answer: a short-lived process is gone by the time
	 * the watcher looks, and its namespace with it unless another process is in it. Most execs are in
	 * embargod's own: no news.
	 */
	if (!m || ns_of((pid_t)pid, &st) < 0 || (st.st_ino == m->own_nsino && st.st_dev == m->own_nsdev))
		return;
	pthread_mutex_lock(&m->lock);
	/* A full list waits for the sweep; a repeat of the last namespace is no news. */
	wake = m->n_hints == 0;
	if (m->n_hints < HINTS && (m->n_hints == 0 || m->hints[m->n_hints - 1].nsino != st.st_ino ||
				   m->hints[m->n_hints - 1].nsdev != st.st_dev))
		m->hints[m->n_hints++] =
			(struct hint){ .pid = (pid_t)pid, .nsdev = st.st_dev, .nsino = st.st_ino };
	pthread_mutex_unlock(&m->lock);
	if (wake && write(m->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("fanotify: cannot wake the mount watcher: %m");
}

int mounts_start(struct mounts **ret, const struct mounts_config *c, char *why, size_t whysize)
{
	struct mounts *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return fail(why, whysize, -ENOMEM, "out of memory");
	m->c = *c;
	pthread_mutex_init(&m->lock, NULL);
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wake_fd < 0) {
		r = fail(why, whysize, -errno, "eventfd: %m");
		goto fail;
	}
	add_pid(m, getpid(), true);
	if (m->n_ns > 0) {
		m->own_nsdev = m->ns[0].nsdev;
		m->own_nsino = m->ns[0].nsino;
	}
	if (m->n_ns == 0) {
		r = fail(why, whysize, -errno, "cannot read embargod's own mount table");
		goto fail;
	}
	sweep(m);
	r = -pthread_create(&m->thread, NULL, watch, m);
	if (r < 0) {
		snprintf(why, whysize, "cannot start the mount watcher: %s", strerror(-r));
		goto fail;
	}
	m->started = true;
	*ret = m;
	return 0;
fail:
	mounts_stop(m);
	return r;
}

void mounts_stop(struct mounts *m)
{
	uint64_t one = 1;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_mutex_unlock(&m->lock);
	if (m->started) {
		if (write(m->wake_fd, &one, sizeof(one)) < 0)
			log_error("fanotify: cannot wake the mount watcher: %m");
		pthread_join(m->thread, NULL);
	}
	for (size_t i = 0; i < m->n_ns; i++)
		ns_free(&m->ns[i]);
	free(m->ns);
	for (size_t i = 0; i < m->n_names; i++)
		free(m->names[i]);
	free(m->names);
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void mounts_stats(struct mounts *m, struct mounts_stats *st)
{
	*st = (struct mounts_stats){};
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	*st = m->st;
	pthread_mutex_unlock(&m->lock);
}

bool mounts_marked_name(struct mounts *m, size_t i, char *buf, size_t size)
{
	bool ok;

	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	ok = i < m->n_names;
	if (ok)
		snprintf(buf, size, "%s", m->names[i]);
	pthread_mutex_unlock(&m->lock);
	return ok;
}
