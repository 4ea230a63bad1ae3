// SPDX-License-Identifier: GPL-2.0
/*
 * The fanotify tier: kernels without BPF LSM still let embargod decide every exec before it happens,
 * through fanotify permission events (FAN_OPEN_EXEC_PERM on the marked filesystems), and refuse opens of
 * files already known to be prohibited (FAN_OPEN_PERM on those inodes only, so ordinary opens cost
 * nothing).
 *
 * The one rule that keeps the machine alive: every permission event is answered within
 * decision_timeout_ms, whatever happens to the hash. A reader thread owns the fanotify descriptor and
 * only ever does quick work (fstat, one map lookup, a write); hashing runs in worker threads; on the
 * deadline the reader answers as on_timeout says and the worker's verdict, when it comes, still goes into
 * the cache (and a late match in enforce mode kills the process that got through). No thread here opens
 * a file by name: every file is read through the descriptor the event carries, which raises no events.
 */
#include "bpf.h"
#include "cgroup.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "fanotify.h"
#include "log.h"
#include "sha256.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define SLOTS 1024
#define MAX_WORKERS 8
#define EVENT_BUF (64 * 1024)

struct pending {
	bool used, queued, answered;
	int fd;
	uint32_t pid;
	uint64_t mask;
	uint64_t deadline_ns;
	struct stat st;
};

struct fan {
	struct daemon *d;
	int fd;
	int wake_fd;
	pid_t self;
	dev_t ctl_dev; /* embargoctl, installed next to us */
	ino_t ctl_ino;
	pthread_t reader;
	pthread_t workers[MAX_WORKERS];
	unsigned n_workers;
	bool reader_started;
	uint64_t heartbeat_ns; /* last turn of the reader's loop */
	pthread_mutex_t lock;
	pthread_cond_t work;
	bool stopping;
	struct pending slots[SLOTS];
	unsigned queue[SLOTS];
	unsigned q_head, q_len;
	/* statistics, under lock */
	struct fan_stats st;
	char marked_fs[FAN_MAX_PATHS * 4][PATH_MAX];
};

static uint8_t effective_mode(const struct daemon *d, uint8_t vendor_mode)
{
	return embargo_effective_mode(vendor_mode, __atomic_load_n(&d->mode, __ATOMIC_RELAXED));
}

/* Called with f->lock held: the group descriptor is closed under it at stop. */
static void respond(struct fan *f, int fd, bool allow)
{
	struct fanotify_response r = { .fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY };

	if (f->fd < 0)
		return; /* stopping: closing the group answered it */
	if (write(f->fd, &r, sizeof(r)) != sizeof(r))
		log_error("fanotify: answering a permission event failed: %m");
}

/* Fill what userspace can learn of a process into an event, the way the kernel would. */
static void fill_process(struct embargo_event *ev, uint32_t pid)
{
	char p[64], buf[512];
	_cleanup_fclose_ FILE *f = NULL;
	unsigned ppid = 0;

	ev->pid = ev->tid = pid;
	/* Part of the dedup key, as in the kernel: 0 (one key for all) if it cannot be read. */
	uint64_t cg;

	ev->cgroup_id = embargo_cgroup_id((pid_t)pid, &cg) == 0 ? cg : 0;
	snprintf(p, sizeof(p), "/proc/%u/stat", pid);
	f = fopen(p, "re");
	if (f && fgets(buf, sizeof(buf), f)) {
		/* comm may hold spaces and parentheses: the state and ppid follow the last ')'. */
		char *rp = strrchr(buf, ')'), *lp = strchr(buf, '(');

		if (lp && rp && rp > lp) {
			snprintf(ev->comm, sizeof(ev->comm), "%.*s", (int)(rp - lp - 1), lp + 1);
			if (sscanf(rp + 1, " %*c %u", &ppid) != 1)
				ppid = 0;
		}
	}
	ev->ppid = ppid;
	if (f) {
		fclose(f);
		f = NULL;
	}
	snprintf(p, sizeof(p), "/proc/%u/status", pid);
	f = fopen(p, "re");
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "Uid: %*u %u", &ev->uid) == 1)
			break;
	if (ppid) {
		_cleanup_fclose_ FILE *pf = NULL;

		snprintf(p, sizeof(p), "/proc/%u/comm", ppid);
		pf = fopen(p, "re");
		if (pf && fgets(ev->parent_comm, sizeof(ev->parent_comm), pf))
			ev->parent_comm[strcspn(ev->parent_comm, "\n")] = '\0';
	}
}

/*
 * Decide whether this match is reported now or counted into the next report, with the same map and
 * the same rule as the kernel's programs (so one sweep reports both).
 */
static bool dedup_emit(struct fan *f, const struct embargo_event *ev, uint64_t *repeated)
{
	struct embargo_dedup_key k = {
		.dev = ev->dev, .ino = ev->ino, .cgroup_id = ev->cgroup_id, .ppid = ev->ppid, .hook = ev->hook
	};
	struct embargo_dedup_val v = {};
	int fd = bpf_dedup_fd(f->d->bpf);
	uint64_t now = now_ns();

	*repeated = 0;
	if (bpf_map_lookup_elem(fd, &k, &v) == 0 && now - v.last_emit_ns < EMBARGO_DEDUP_WINDOW_NS) {
		v.hits++;
		(void)bpf_map_update_elem(fd, &k, &v, BPF_ANY);
		return false;
	}
	*repeated = v.hits - v.emitted_hits;
	v.hits++;
	v.emitted_hits = v.hits;
	v.last_emit_ns = now;
	(void)bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	return true;
}

static void report(struct fan *f, const struct pending *p, const struct embargo_verdict *v, bool deny,
		   const char *note)
{
	struct embargo_event ev;
	char link[64], path[PATH_MAX];
	ssize_t n;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.version = EMBARGO_EVENT_VERSION;
	ev.hdr.kind = EMBARGO_EV_MATCH;
	ev.hdr.size = sizeof(ev);
	ev.dev = kernel_dev(p->st.st_dev);
	ev.ino = p->st.st_ino;
	ev.ctime_sec = p->st.st_ctim.tv_sec;
	ev.ctime_nsec = (uint32_t)p->st.st_ctim.tv_nsec;
	ev.hook = (p->mask & FAN_OPEN_EXEC_PERM) ? EMBARGO_HOOK_EXEC : EMBARGO_HOOK_OPEN;
	ev.action = deny ? EMBARGO_ACTION_DENIED : EMBARGO_ACTION_AUDITED;
	ev.mode = effective_mode(f->d, v->vendor_mode);
	ev.tier = EMBARGO_TIER_FANOTIFY;
	ev.gen = v->gen;
	ev.rule_id = v->rule_id;
	ev.vendor_id = v->vendor_id;
	uint64_t repeated;

	fill_process(&ev, p->pid);
	if (!dedup_emit(f, &ev, &repeated))
		return;
	ev.repeated = repeated;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", p->fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n < 0 ? 0 : n] = '\0';
	events_report(f->d, &ev, v->rule_id, path[0] ? path : NULL, note);
}

/* Known prohibited: refuse its opens too (libraries, ld.so, interpreters), on this inode only. */
static void mark_inode(struct fan *f, int fd)
{
	int r = 0;

	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0 && fanotify_mark(f->fd, FAN_MARK_ADD, FAN_OPEN_PERM, fd, NULL) < 0)
		r = -errno;
	else if (f->fd >= 0)
		f->st.marked_inodes++;
	pthread_mutex_unlock(&f->lock);
	if (r < 0)
		log_warning("fanotify: cannot watch the opens of a prohibited file: %s", strerror(-r));
}

void fanotify_policy_changed(struct daemon *d)
{
	struct fan *f = d->fan;
	int r = 0;

	if (!f)
		return;
	/* The inode marks name files of the old policy; the scan that follows a reload marks the new one's.
	 */
	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0 && fanotify_mark(f->fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
		r = -errno;
	else
		f->st.marked_inodes = 0;
	pthread_mutex_unlock(&f->lock);
	if (r < 0)
		log_warning("fanotify: cannot drop the marks of the previous policy: %s", strerror(-r));
}

/*
 * Opens of a prohibited file are refused to everyone but embargo itself: the daemon never opens by name
 * here, and embargoctl must still be able to inspect and scan it.
 */
static bool is_embargo(const struct fan *f, uint32_t pid, uint64_t mask)
{
	char exe[64];
	struct stat st;

	if (pid == (uint32_t)f->self)
		return true;
	/* Only the opens of prohibited inodes are ever refused: an exec needs no look at /proc (it is on
	 * the path of every exec on the machine). */
	if (!(mask & FAN_OPEN_PERM))
		return false;
	snprintf(exe, sizeof(exe), "/proc/%u/exe", pid);
	return f->ctl_ino && stat(exe, &st) == 0 && st.st_ino == f->ctl_ino && st.st_dev == f->ctl_dev;
}

static bool verdict_valid(const struct daemon *d, const struct pending *p, const struct embargo_verdict *v)
{
	return v->gen == d->gen && v->ctime_sec == p->st.st_ctim.tv_sec &&
	       v->ctime_nsec == (uint32_t)p->st.st_ctim.tv_nsec;
}

/* With a verdict: the answer, and what to report. Called with f->lock held or by the slot's owner. */
static bool decide(struct fan *f, const struct pending *p, const struct embargo_verdict *v, bool *report_it)
{
	bool deny;

	*report_it = false;
	if (v->verdict != EMBARGO_VERDICT_MATCH)
		return true;
	deny = effective_mode(f->d, v->vendor_mode) == EMBARGO_MODE_ENFORCE;
	/* An exec let through in audit mode is reported by sched_process_exec, with the new image's
	 * context; report here what that program will not see. */
	*report_it = deny || !(p->mask & FAN_OPEN_EXEC_PERM);
	return !deny;
}

static void free_slot(struct fan *f, struct pending *p)
{
	if (p->fd >= 0)
		close(p->fd);
	*p = (struct pending){ .fd = -1 };
	(void)f;
}

/* Kill what got through on a timeout and turned out to be prohibited: the process now runs the file. */
static void late_kill(struct fan *f, const struct pending *p)
{
	char exe[64];
	struct stat st;

	snprintf(exe, sizeof(exe), "/proc/%u/exe", p->pid);
	if (stat(exe, &st) < 0 || st.st_ino != p->st.st_ino || st.st_dev != p->st.st_dev)
		return;
	if (kill((pid_t)p->pid, SIGKILL) == 0) {
		pthread_mutex_lock(&f->lock);
		f->st.late_kills++;
		pthread_mutex_unlock(&f->lock);
	}
}

static void *worker(void *arg)
{
	struct fan *f = arg;
	struct daemon *d = f->d;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (f->q_len == 0 && !f->stopping)
			pthread_cond_wait(&f->work, &f->lock);
		if (f->stopping)
			break;
		struct pending *p = &f->slots[f->queue[f->q_head]];
		struct embargo_verdict v = {};
		struct embargo_inode_key key;
		bool rule;
		uint8_t digest[SHA256_LEN];
		bool allow, report_it, late;
		int r;

		f->q_head = (f->q_head + 1) % SLOTS;
		f->q_len--;
		pthread_mutex_unlock(&f->lock);

		r = embargo_sha256_fd(p->fd, digest, NULL);
		pthread_mutex_lock(&f->lock);
		f->st.hashed++;
		pthread_mutex_unlock(&f->lock);
		/* From the verdict to its report, one policy generation: a reload waits for us. */
		pthread_rwlock_rdlock(&d->policy_lock);
		key.dev = kernel_dev(p->st.st_dev);
		key.ino = p->st.st_ino;
		if (r < 0) {
			log_warning("fanotify: cannot hash a file (pid %u): %s; allowed", p->pid,
				    strerror(-r));
			v.verdict = EMBARGO_VERDICT_CLEAN;
		} else {
			char link[64], name[PATH_MAX];
			ssize_t n;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", p->fd);
			n = readlink(link, name, sizeof(name) - 1);
			name[n < 0 ? 0 : n] = '\0';
			rule = daemon_identify(d, p->fd, name[0] ? name : NULL, digest, &p->st, &v);
			if (bpf_map_update_elem(bpf_verdicts_fd(d->bpf), &key, &v, BPF_ANY) < 0)
				log_warning("fanotify: cannot cache a verdict: %m");
			if (rule)
				mark_inode(f, p->fd);
		}

		pthread_mutex_lock(&f->lock);
		allow = decide(f, p, &v, &report_it);
		late = p->answered;
		if (!late) {
			respond(f, p->fd, allow);
			p->answered = true;
			if (allow)
				f->st.allowed++;
			else
				f->st.denied++;
		}
		pthread_mutex_unlock(&f->lock);

		if (late && v.verdict == EMBARGO_VERDICT_MATCH &&
		    effective_mode(d, v.vendor_mode) == EMBARGO_MODE_ENFORCE &&
		    (p->mask & FAN_OPEN_EXEC_PERM)) {
			late_kill(f, p);
			report(f, p, &v, true,
			       "listed, found after the decision timed out: the process was killed");
		} else if (report_it) {
			report(f, p, &v, !allow, NULL);
		}
		pthread_rwlock_unlock(&d->policy_lock);

		pthread_mutex_lock(&f->lock);
		free_slot(f, p);
		pthread_cond_broadcast(&f->work);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static struct pending *slot_get(struct fan *f)
{
	for (unsigned i = 0; i < SLOTS; i++)
		if (!f->slots[i].used)
			return &f->slots[i];
	return NULL;
}

/* Answer what is overdue as on_timeout says; returns ms until the next deadline, or -1. */
static int expire(struct fan *f)
{
	uint64_t now = now_ns(), next = UINT64_MAX;
	bool allow = embargo_config_on_timeout_allows(f->d->cfg->on_timeout);

	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < SLOTS; i++) {
		struct pending *p = &f->slots[i];

		if (!p->used || p->answered)
			continue;
		if (p->deadline_ns <= now) {
			respond(f, p->fd, allow);
			p->answered = true;
			f->st.timeouts++;
			log_warning("fanotify: no verdict for a file after %u ms (pid %u, inode %llu): %s as "
				    "on_timeout "
				    "says; it is still being hashed",
				    f->d->cfg->decision_timeout_ms, p->pid, (unsigned long long)p->st.st_ino,
				    allow ? "allowed" : "denied");
		} else if (p->deadline_ns < next) {
			next = p->deadline_ns;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (next == UINT64_MAX)
		return -1;
	return (int)((next - now) / 1000000 + 1);
}

static void handle(struct fan *f, const struct fanotify_event_metadata *m)
{
	struct daemon *d = f->d;
	struct embargo_inode_key key;
	struct embargo_verdict v;
	struct pending tmp = { .fd = m->fd, .pid = (uint32_t)m->pid, .mask = m->mask }, *p;
	bool allow, report_it;

	pthread_mutex_lock(&f->lock);
	f->st.events++;
	pthread_mutex_unlock(&f->lock);

	/* Our own opens (and anything we cannot even stat) are never held up. */
	if (is_embargo(f, (uint32_t)m->pid, m->mask) || fstat(m->fd, &tmp.st) < 0 ||
	    !S_ISREG(tmp.st.st_mode)) {
		pthread_mutex_lock(&f->lock);
		respond(f, m->fd, true);
		pthread_mutex_unlock(&f->lock);
		close(m->fd);
		return;
	}
	key.dev = kernel_dev(tmp.st.st_dev);
	key.ino = tmp.st.st_ino;
	if (bpf_map_lookup_elem(bpf_verdicts_fd(d->bpf), &key, &v) == 0 && verdict_valid(d, &tmp, &v) &&
	    v.verdict != EMBARGO_VERDICT_PENDING) {
		allow = decide(f, &tmp, &v, &report_it);
		pthread_mutex_lock(&f->lock);
		respond(f, m->fd, allow);
		f->st.cache_hits++;
		if (allow)
			f->st.allowed++;
		else
			f->st.denied++;
		pthread_mutex_unlock(&f->lock);
		/* Known from a scan or an earlier classification: its opens are refused from now on. */
		if (v.verdict == EMBARGO_VERDICT_MATCH && (m->mask & FAN_OPEN_EXEC_PERM))
			mark_inode(f, m->fd);
		if (report_it) {
			pthread_rwlock_rdlock(&d->policy_lock);
			report(f, &tmp, &v, !allow, NULL);
			pthread_rwlock_unlock(&d->policy_lock);
		}
		close(m->fd);
		return;
	}

	pthread_mutex_lock(&f->lock);
	p = slot_get(f);
	if (!p) {
		/* More undecided files at once than slots: answer now rather than let anything wait. */
		bool ok = embargo_config_on_timeout_allows(d->cfg->on_timeout);

		respond(f, m->fd, ok);
		f->st.timeouts++;
		pthread_mutex_unlock(&f->lock);
		log_warning("fanotify: %u files awaiting a verdict; %s one without hashing it", SLOTS,
			    ok ? "allowed" : "denied");
		close(m->fd);
		return;
	}
	*p = tmp;
	p->used = true;
	p->deadline_ns = now_ns() + (uint64_t)d->cfg->decision_timeout_ms * 1000000ull;
	f->queue[(f->q_head + f->q_len) % SLOTS] = (unsigned)(p - f->slots);
	f->q_len++;
	pthread_cond_signal(&f->work);
	pthread_mutex_unlock(&f->lock);
}

static void *reader(void *arg)
{
	struct fan *f = arg;
	_cleanup_free_ char *buf = malloc(EVENT_BUF);

	if (!buf) {
		log_error("fanotify: out of memory: permission events are answered by the kernel's default");
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[2] = { { .fd = f->fd, .events = POLLIN },
					 { .fd = f->wake_fd, .events = POLLIN } };
		int timeout = expire(f);

		__atomic_store_n(&f->heartbeat_ns, now_ns(), __ATOMIC_RELAXED);
		/* Wake at least every second, so that the heartbeat says this thread is alive. */
		if (timeout < 0 || timeout > 1000)
			timeout = 1000;
		ssize_t len;

		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			log_error("fanotify: poll: %m");
			continue;
		}
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		len = read(f->fd, buf, EVENT_BUF);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_error("fanotify: read: %m");
			continue;
		}
		for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			if (m->vers != FANOTIFY_METADATA_VERSION) {
				log_error("fanotify: event version %u, expected %u", m->vers,
					  FANOTIFY_METADATA_VERSION);
				if (m->fd >= 0)
					close(m->fd);
				continue;
			}
			if (m->fd < 0)
				continue;
			handle(f, m);
		}
	}
	return NULL;
}

/* Filesystems that cannot hold code we police, or where a stalled server would stall execs. */
static bool skip_fstype(const char *t)
{
	static const char *const skip[] = {
		"proc",	    "sysfs",	 "devpts",   "cgroup",	    "cgroup2",	  "pstore",
		"bpf",	    "tracefs",	 "debugfs",  "securityfs",  "configfs",	  "fusectl",
		"mqueue",   "hugetlbfs", "autofs",   "binfmt_misc", "rpc_pipefs", "nsfs",
		"efivarfs", "devtmpfs",	 "nfs",	     "nfs4",	    "cifs",	  "smb3",
		"ceph",	    "9p",	 "virtiofs", "afs",	    "sshfs",
	};

	if (strncmp(t, "fuse", 4) == 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strcmp(t, skip[i]) == 0)
			return true;
	return false;
}

static int mark_fs(struct fan *f, const char *path, char *why, size_t whysize)
{
	size_t n = f->st.n_marked_fs;

	if (fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, path) < 0)
		return fail(why, whysize, -errno, "cannot mark %s for exec permission events: %m", path);
	if (n < ARRAY_SIZE(f->marked_fs)) {
		snprintf(f->marked_fs[n], sizeof(f->marked_fs[n]), "%s", path);
		f->st.n_marked_fs++;
	}
	return 0;
}

/* Every local filesystem, once per superblock, from mountinfo. */
static int mark_local(struct fan *f, char *why, size_t whysize)
{
	_cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
	dev_t seen[256];
	size_t n_seen = 0;
	char line[8192];

	if (!mi)
		return fail(why, whysize, -errno, "cannot read /proc/self/mountinfo: %m");
	while (fgets(line, sizeof(line), mi)) {
		char mnt[4096], fstype[256];
		unsigned ma, mi_;
		const char *sep = strstr(line, " - ");
		bool dup = false;

		if (!sep || sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi_, mnt) != 3 ||
		    sscanf(sep + 3, "%255s", fstype) != 1 || skip_fstype(fstype))
			continue;
		for (size_t i = 0; i < n_seen; i++)
			dup |= seen[i] == makedev(ma, mi_);
		if (dup || n_seen == ARRAY_SIZE(seen))
			continue;
		seen[n_seen++] = makedev(ma, mi_);
		/* mountinfo escapes spaces as \040: such mount points are rare; skip what we cannot name. */
		if (strchr(mnt, '\\'))
			continue;
		if (mark_fs(f, mnt, why, whysize) < 0)
			log_warning("fanotify: %s (%s); execs there are not checked", why, fstype);
	}
	if (f->st.n_marked_fs == 0)
		return fail(why, whysize, -ENODEV, "no local filesystem could be marked");
	return 0;
}

static void embargoctl_identity(dev_t *dev, ino_t *ino)
{
	char self[PATH_MAX], ctl[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct stat st;
	char *slash;

	*ino = 0;
	if (n <= 0)
		return;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	snprintf(ctl, sizeof(ctl), "%s/embargoctl", self);
	if (stat(ctl, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
}

int fanotify_start(struct daemon *d, char *why, size_t whysize)
{
	struct fan *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return fail(why, whysize, -ENOMEM, "out of memory");
	f->d = d;
	f->self = getpid();
	embargoctl_identity(&f->ctl_dev, &f->ctl_ino);
	f->wake_fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->work, NULL);
	for (unsigned i = 0; i < SLOTS; i++)
		f->slots[i].fd = -1;
	d->fan = f;

	f->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0) {
		r = -errno;
		snprintf(why, whysize, "fanotify_init: %s%s", strerror(-r),
			 r == -EINVAL ? " (no CONFIG_FANOTIFY_ACCESS_PERMISSIONS?)" : "");
		goto fail;
	}
	f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->wake_fd < 0) {
		r = -errno;
		snprintf(why, whysize, "eventfd: %s", strerror(-r));
		goto fail;
	}
	f->heartbeat_ns = now_ns();
	/* Threads first: once a mark exists, execs wait for us. */
	r = -pthread_create(&f->reader, NULL, reader, f);
	if (r < 0) {
		snprintf(why, whysize, "cannot start the fanotify thread: %s", strerror(-r));
		goto fail;
	}
	f->reader_started = true;
	for (unsigned i = 0; i < FAN_HASH_WORKERS && i < MAX_WORKERS; i++) {
		r = -pthread_create(&f->workers[i], NULL, worker, f);
		if (r < 0) {
			snprintf(why, whysize, "cannot start a hashing thread: %s", strerror(-r));
			goto fail;
		}
		f->n_workers++;
	}
	if (d->cfg->n_fanotify_paths == 0) {
		r = mark_local(f, why, whysize);
	} else {
		r = 0;
		for (size_t i = 0; i < d->cfg->n_fanotify_paths && r == 0; i++)
			r = mark_fs(f, d->cfg->fanotify_paths[i], why, whysize);
	}
	if (r < 0)
		goto fail;
	return 0;
fail:
	fanotify_stop(d);
	return r;
}

void fanotify_stop(struct daemon *d)
{
	struct fan *f = d->fan;
	uint64_t one = 1;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_broadcast(&f->work);
	pthread_mutex_unlock(&f->lock);
	if (f->reader_started) {
		if (write(f->wake_fd, &one, sizeof(one)) != sizeof(one))
			log_error("fanotify: cannot wake the reader: %m");
		pthread_join(f->reader, NULL);
	}
	/* Closing the group lets every pending event through and removes every mark with it; the reader is
	 * gone, and workers check the descriptor under the lock. */
	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < f->n_workers; i++)
		pthread_join(f->workers[i], NULL);
	for (unsigned i = 0; i < SLOTS; i++)
		if (f->slots[i].used)
			free_slot(f, &f->slots[i]);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->work);
	free(f);
	d->fan = NULL;
}

void fanotify_stats(const struct daemon *d, struct fan_stats *st)
{
	struct fan *f = d->fan;

	*st = (struct fan_stats){};
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	*st = f->st;
	pthread_mutex_unlock(&f->lock);
}

void fanotify_mark_path(struct daemon *d, const char *path)
{
	struct fan *f = d->fan;
	int r = 0;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0 &&
	    fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_DONT_FOLLOW, FAN_OPEN_PERM, AT_FDCWD, path) < 0)
		r = -errno;
	else if (f->fd >= 0)
		f->st.marked_inodes++;
	pthread_mutex_unlock(&f->lock);
	if (r < 0)
		log_warning("fanotify: cannot watch the opens of %s: %s", path, strerror(-r));
}

bool fanotify_healthy(const struct daemon *d)
{
	uint64_t hb = __atomic_load_n(&d->fan->heartbeat_ns, __ATOMIC_RELAXED);

	return now_ns() - hb < (uint64_t)FAN_HEARTBEAT_LIMIT_S * 1000000000ull;
}

const char *fanotify_marked_fs(const struct daemon *d, size_t i)
{
	return d->fan && i < d->fan->st.n_marked_fs ? d->fan->marked_fs[i] : NULL;
}
