// SPDX-License-Identifier: GPL-2.0
/*
 * The fanotify tier: kernels without BPF LSM still let embargod decide every exec before it happens,
 * through fanotify permission events (FAN_OPEN_EXEC_PERM on the marked filesystems), and refuse opens of
 * files already known to be prohibited (FAN_OPEN_PERM on those inodes only, so ordinary opens cost
 * nothing).
 *
 * The one rule that keeps the machine alive: every permission event is answered within
 * decision_timeout_ms, whatever happens to the hash. A reader thread owns the fanotify descriptor and
 * only ever does quick work (fstat, one lookup, a write); hashing runs in worker threads, one per CPU,
 * smallest file first, and never all of them on big files. On the deadline the reader answers as
 * on_timeout says, frees the slot and stops the worker; an allowed exec is hashed again by the late lane,
 * whose verdict still goes into the cache (and a late match in enforce mode kills the process that got
 * through). When no slot is free, or a file is larger than max_hash_size_mib, the answer is the mode's:
 * refused in enforce mode, reported in audit mode. No thread here opens a file by name: every file is
 * read through the descriptor the event carries, which raises no events.
 *
 * A cached verdict means the content is what was hashed: the cache is keyed by file handle (inode and
 * generation), and before a verdict is cached the file gets a write watch in a second, notification
 * group (FAN_MODIFY, FAN_CLOSE_WRITE, FAN_DELETE_SELF on that inode only). Every write queues an event
 * there before the write returns; the reader drains that group after reading permission events and
 * before deciding them, so a write that happened before an exec has always dropped the verdict first.
 * Files on remote or layered file systems, unlinked files and memfds are never cached.
 */
#include "backstop.h"
#include "bpf.h"
#include "cgroup.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "fanotify.h"
#include "fidcache.h"
#include "hybrid.h"
#include "ident.h"
#include "log.h"
#include "mounts.h"
#include "sha256.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SLOTS 1024
#define MAX_WORKERS 64
#define LATE_SLOTS 64
#define WATCHES 16384
/* A file this big may not take the last worker that is free for small ones. */
#define BIG_FILE_BYTES (64ull << 20)
#define WATCH_MASK (FAN_MODIFY | FAN_CLOSE_WRITE | FAN_DELETE_SELF)
#define FSIDS 64
#define EVENT_BUF (64 * 1024)
/* The rule of a report that no rule made (events_report names none). */
#define NO_RULE UINT32_MAX

enum { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING };

struct pending {
	uint8_t state;
	bool cacheable; /* a local file with a handle and a link: a watched verdict may be kept */
	bool remote;	/* on a remote file system (remote_fs) */
	bool held;	/* no permission event: a process the backstop stopped; answered by a signal */
	/* beside an LSM tier: linked, local, not a memfd: the kernel may trust a clean verdict (hybrid.c) */
	bool holdable;
	int fd;
	uint32_t pid;
	unsigned worker; /* SLOT_RUNNING: who hashes it */
	uint64_t mask;
	uint64_t deadline_ns;
	struct stat st;
	struct embargo_fid id;
};

struct worker {
	struct fan *f;
	pthread_t thread;
	bool started;
	bool cancel;	      /* the reader answered at the deadline (or we stop): stop hashing */
	bool timeout_allowed; /* ... and let it through */
	int slot;	      /* the slot waiting for our answer; -1 once answered */
	bool big;
	struct pending job;
	struct embargo_sha256_hasher h;
};

struct fan {
	struct daemon *d;
	int fd;	 /* permission events */
	int wfd; /* write watches on files with a cached verdict (-1: nothing is cached) */
	int wake_fd;
	pid_t self;
	int holder_fd; /* the backstop's "holder" map: our stamp says someone answers held images */
	uint64_t holder_stamp_ns; /* reader only: when it last stamped */
	struct ring_buffer *held; /* the backstop's "held" ring */
	pthread_t held_thread;
	bool held_started;
	dev_t memfd_dev; /* memfd_create's internal file system: never cached */
	bool have_memfd_dev;
	pthread_t reader;
	bool reader_started;
	uint64_t heartbeat_ns; /* last turn of the reader's loop */
	pthread_mutex_t lock;
	pthread_cond_t work, late_work;
	bool stopping;
	/* under lock */
	struct worker workers[MAX_WORKERS];
	unsigned n_workers, busy, big_busy, n_queued;
	struct worker late; /* the late lane: execs let through on a timeout, hashed all the same */
	struct pending late_q[LATE_SLOTS];
	unsigned late_head, late_len;
	struct pending slots[SLOTS];
	struct embargo_fid_table cache;
	uint64_t watch_seq;
	struct {
		fsid_t fsid;
		uint64_t dev;
	} fsids[FSIDS];
	unsigned n_fsids;
	struct fan_stats st;
	struct mounts
		*mounts; /* every local file system, also those mounted later (fanotify_paths: below them) */
	char marked_fs[FAN_MAX_PATHS][PATH_MAX]; /* fanotify_paths, as given */
};

static uint8_t effective_mode(const struct daemon *d, uint8_t vendor_mode)
{
	return embargo_effective_mode(vendor_mode, __atomic_load_n(&d->mode, __ATOMIC_RELAXED));
}

static bool enforcing(const struct daemon *d)
{
	return effective_mode(d, EMBARGO_MODE_INHERIT) == EMBARGO_MODE_ENFORCE;
}

/*
 * A held process (backstop.h) is answered by a signal: continued, or killed. Only if it still runs the
 * image that was decided: the pid may have gone (and been reused) meanwhile.
 */
static void release_held(const struct pending *p, bool allow)
{
	char exe[64];
	struct stat st;

	snprintf(exe, sizeof(exe), "/proc/%u/exe", p->pid);
	if (stat(exe, &st) < 0 || st.st_dev != p->st.st_dev || st.st_ino != p->st.st_ino)
		return;
	if (kill((pid_t)p->pid, allow ? SIGCONT : SIGKILL) < 0)
		log_error("fanotify: cannot %s held process %u: %m", allow ? "continue" : "kill", p->pid);
}

/* Called with f->lock held: the group descriptor is closed under it at stop. */
static void respond(struct fan *f, const struct pending *p, bool allow)
{
	struct fanotify_response r = { .fd = p->fd, .response = allow ? FAN_ALLOW : FAN_DENY };

	if (p->held) {
		release_held(p, allow);
		return;
	}
	if (f->fd < 0)
		return; /* stopping: closing the group answered it */
	if (write(f->fd, &r, sizeof(r)) != sizeof(r))
		log_error("fanotify: answering a permission event failed: %m");
}

/* Under lock: an answer, counted. */
static void answer(struct fan *f, const struct pending *p, bool allow)
{
	respond(f, p, allow);
	if (allow)
		f->st.allowed++;
	else
		f->st.denied++;
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

/* flags: EMBARGO_EVF_UNDECIDABLE's reason, for the note and size events.c gives every such entry. */
static void report_as(struct fan *f, const struct pending *p, const struct embargo_verdict *v, uint8_t kind,
		      bool deny, uint16_t flags, const char *note)
{
	struct embargo_event ev;
	char link[64], path[PATH_MAX];
	ssize_t n;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.version = EMBARGO_EVENT_VERSION;
	ev.hdr.kind = kind;
	ev.hdr.size = sizeof(ev);
	ev.dev = kernel_dev(p->st.st_dev);
	ev.ino = p->st.st_ino;
	ev.ctime_sec = p->st.st_ctim.tv_sec;
	ev.ctime_nsec = (uint32_t)p->st.st_ctim.tv_nsec;
	ev.hook = (p->mask & FAN_OPEN_EXEC_PERM) ? EMBARGO_HOOK_EXEC : EMBARGO_HOOK_OPEN;
	ev.action = deny ? EMBARGO_ACTION_DENIED : EMBARGO_ACTION_AUDITED;
	ev.mode = effective_mode(f->d, v->vendor_mode);
	ev.tier = f->d->hold ? f->d->tier : EMBARGO_TIER_FANOTIFY;
	ev.gen = v->gen;
	ev.rule_id = v->rule_id;
	ev.vendor_id = v->vendor_id;
	ev.flags = flags;
	ev.size = (uint64_t)p->st.st_size;
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

static void report(struct fan *f, const struct pending *p, const struct embargo_verdict *v, bool deny,
		   const char *note)
{
	report_as(f, p, v, EMBARGO_EV_MATCH, deny, 0, note);
}

/* A file answered without a verdict (too big, no slot, unreadable): reported as unclassified. */
static void report_undecided(struct fan *f, const struct pending *p, bool deny, uint16_t flags,
			     const char *note)
{
	struct embargo_verdict v = { .gen = f->d->gen,
				     .rule_id = NO_RULE,
				     .vendor_mode = EMBARGO_MODE_INHERIT };

	pthread_rwlock_rdlock(&f->d->policy_lock);
	report_as(f, p, &v, EMBARGO_EV_UNKNOWN, deny, flags, note);
	pthread_rwlock_unlock(&f->d->policy_lock);
}

/* Known prohibited: refuse its opens too (libraries, ld.so, interpreters), on this inode only. */
static void mark_inode(struct fan *f, int fd)
{
	int r = 0;

	/* The hold (hybrid.c): the kernel's file_open decides opens, and the hold's inode marks are flushed.
	 */
	if (f->d->hold)
		return;

	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0 && fanotify_mark(f->fd, FAN_MARK_ADD, FAN_OPEN_PERM, fd, NULL) < 0)
		r = -errno;
	else if (f->fd >= 0)
		f->st.marked_inodes++;
	pthread_mutex_unlock(&f->lock);
	if (r < 0)
		log_warning("fanotify: cannot watch the opens of a prohibited file: %s", strerror(-r));
}

/* No longer prohibited (a reload delisted it): its opens go through unwatched again. */
static void unmark_inode(struct fan *f, int fd)
{
	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0 && fanotify_mark(f->fd, FAN_MARK_REMOVE, FAN_OPEN_PERM, fd, NULL) == 0 &&
	    f->st.marked_inodes > 0)
		f->st.marked_inodes--;
	pthread_mutex_unlock(&f->lock);
}

void fanotify_policy_changed(struct daemon *d)
{
	/*
	 * Nothing is dropped: a verdict names its generation, so every file is decided again under the new
	 * policy on its next use, and the open marks of prohibited files stay until a verdict of the new
	 * policy finds one clean (unmark_inode). Flushing them here let their opens through unchecked
	 * until a scan marked them again.
	 * The hold's ignore marks do go (hybrid.c): a file clean under the old generation is decided again.
	 */
	struct fan *f = d->fan;

	if (!f || !d->hold)
		return;
	pthread_mutex_lock(&f->lock);
	hybrid_flush(d, f->fd, "the policy was reloaded");
	pthread_mutex_unlock(&f->lock);
}

/*
 * Opens of a prohibited file are refused to everyone but embargod itself, which never opens by name here.
 * embargoctl gets no exemption: whatever code runs in it (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH, a
 * debugger) would open listed libraries through it, and no look at the process at the time of the open
 * can tell its own code from injected code. It reports such a file as refused by the enforcer.
 */
static bool is_embargo(const struct fan *f, uint32_t pid)
{
	return pid == (uint32_t)f->self;
}

static bool verdict_valid(const struct daemon *d, const struct stat *st, const struct embargo_verdict *v)
{
	return v->gen == d->gen && v->ctime_sec == st->st_ctim.tv_sec &&
	       v->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec && v->verdict != EMBARGO_VERDICT_PENDING;
}

/* With a verdict: the answer, and what to report. */
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

/*
 * The kernel's verdict map, which the pinned backstop and sched_process_exec read: a file let through
 * without a verdict is stamped PENDING there, so that the kernel does not hand it to userspace again.
 */
static void kernel_verdict(struct fan *f, const struct pending *p, const struct embargo_verdict *v)
{
	struct embargo_inode_key key = { .dev = kernel_dev(p->st.st_dev), .ino = p->st.st_ino };
	struct embargo_verdict pend;

	/* Beside an LSM tier the kernel trusts this entry: only a match where content can change unseen. */
	if (f->d->hold && !p->holdable && (!v || v->verdict != EMBARGO_VERDICT_MATCH))
		return;
	if (!v) {
		pend = (struct embargo_verdict){ .ctime_sec = p->st.st_ctim.tv_sec,
						 .ctime_nsec = (uint32_t)p->st.st_ctim.tv_nsec,
						 .gen = f->d->gen,
						 .verdict = EMBARGO_VERDICT_PENDING };
		v = &pend;
	}
	if (bpf_map_update_elem(bpf_verdicts_fd(f->d->bpf), &key, v, BPF_ANY) < 0)
		log_warning("fanotify: cannot cache a verdict: %m");
}

/* The file's handle, which names the inode and its generation; false when the file system has none. */
static bool fid_of(int fd, const struct stat *st, struct embargo_fid *id)
{
	alignas(struct file_handle) char buf[sizeof(struct file_handle) + EMBARGO_FID_MAX];
	struct file_handle *fh = (struct file_handle *)buf;
	int mnt;

	fh->handle_bytes = EMBARGO_FID_MAX;
	if (name_to_handle_at(fd, "", fh, &mnt, AT_EMPTY_PATH) < 0 || fh->handle_bytes > EMBARGO_FID_MAX)
		return false;
	memset(id, 0, sizeof(*id));
	id->dev = st->st_dev;
	id->type = fh->handle_type;
	id->len = fh->handle_bytes;
	memcpy(id->h, fh->f_handle, fh->handle_bytes);
	return true;
}

/* Under lock: the write-watch group knows the file system of fd by its fsid; remember its st_dev. */
static void remember_fsid(struct fan *f, int fd, uint64_t dev)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return;
	for (unsigned i = 0; i < f->n_fsids; i++)
		if (f->fsids[i].dev == dev && memcmp(&f->fsids[i].fsid, &sfs.f_fsid, sizeof(sfs.f_fsid)) == 0)
			return;
	if (f->n_fsids < FSIDS) {
		f->fsids[f->n_fsids].fsid = sfs.f_fsid;
		f->fsids[f->n_fsids].dev = dev;
		f->n_fsids++;
	}
}

/*
 * Under lock, before the file is read: a write watch on it, so that a write from now on is seen. Returns
 * the sequence number a verdict must still find at cache_store(), or 0: not to be cached.
 */
static uint64_t watch_begin(struct fan *f, const struct pending *p)
{
	struct embargo_fid_entry *e;

	if (!p->cacheable || f->wfd < 0)
		return 0;
	e = embargo_fid_add(&f->cache, &p->id);
	if (!e) {
		/* Full: forget every watch at once (a few rehashes are the price), then start again. */
		if (fanotify_mark(f->wfd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
			return 0;
		embargo_fid_clear(&f->cache);
		f->st.cache_flushes++;
		e = embargo_fid_add(&f->cache, &p->id);
		if (!e)
			return 0;
	}
	if (!e->watched) {
		if (fanotify_mark(f->wfd, FAN_MARK_ADD, WATCH_MASK, p->fd, NULL) < 0)
			return 0;
		remember_fsid(f, p->fd, p->st.st_dev);
		e->watched = true;
		e->cached = false;
		e->ino = p->st.st_ino;
		e->seq = ++f->watch_seq;
		f->st.watched++;
	}
	return e->seq;
}

/* Under lock: keep v only if no write was seen since watch_begin() returned seq. */
static void cache_store(struct fan *f, const struct pending *p, uint64_t seq, const struct embargo_verdict *v)
{
	struct embargo_fid_entry *e = seq ? embargo_fid_find(&f->cache, &p->id) : NULL;

	if (e && e->watched && e->seq == seq) {
		e->v = *v;
		e->cached = true;
	}
}

/* Under lock: a cached verdict for the file of p that still holds. */
static bool cache_lookup(struct fan *f, const struct pending *p, struct embargo_verdict *v)
{
	struct embargo_fid_entry *e = p->cacheable ? embargo_fid_find(&f->cache, &p->id) : NULL;

	if (!e || !e->watched || !e->cached || !verdict_valid(f->d, &p->st, &e->v))
		return false;
	*v = e->v;
	return true;
}

/* Under lock: a write (or the unlink) of the file with this fsid and handle: its verdict goes. */
static void invalidate(struct fan *f, const fsid_t *fsid, const struct file_handle *fh, bool gone)
{
	struct embargo_fid id = { .type = fh->handle_type, .len = fh->handle_bytes };

	if (fh->handle_bytes > EMBARGO_FID_MAX)
		return;
	memcpy(id.h, fh->f_handle, fh->handle_bytes);
	for (unsigned i = 0; i < f->n_fsids; i++) {
		struct embargo_fid_entry *e;

		if (memcmp(&f->fsids[i].fsid, fsid, sizeof(*fsid)) != 0)
			continue;
		id.dev = f->fsids[i].dev;
		e = embargo_fid_find(&f->cache, &id);
		if (!e)
			continue;
		if (e->cached) {
			struct embargo_inode_key key = { .dev = kernel_dev((dev_t)e->id.dev), .ino = e->ino };

			/* The kernel's copy too: the backstop must not kill the file's new, clean content. */
			(void)bpf_map_delete_elem(bpf_verdicts_fd(f->d->bpf), &key);
			f->st.invalidations++;
		}
		e->cached = false;
		e->seq = ++f->watch_seq;
		if (gone)
			e->watched = false; /* the kernel dropped the mark with the last link */
	}
}

/* Read every queued write-watch event; the reader calls it before deciding permission events. */
static void drain_watches(struct fan *f, char *buf)
{
	ssize_t len;

	if (f->wfd < 0)
		return;
	while ((len = read(f->wfd, buf, EVENT_BUF)) > 0) {
		pthread_mutex_lock(&f->lock);
		for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			const char *info = (const char *)m + m->metadata_len,
				   *end = (const char *)m + m->event_len;

			if (m->mask & FAN_Q_OVERFLOW) {
				/* Cannot happen with FAN_UNLIMITED_QUEUE; if it does, trust nothing cached.
				 */
				for (size_t i = 0; i < f->cache.cap; i++)
					f->cache.e[i].cached = false;
				continue;
			}
			while (info + sizeof(struct fanotify_event_info_fid) <= end) {
				const struct fanotify_event_info_fid *fid = (const void *)info;

				if (fid->hdr.len == 0)
					break;
				if (fid->hdr.info_type == FAN_EVENT_INFO_TYPE_FID)
					invalidate(f, (const fsid_t *)&fid->fsid,
						   (const struct file_handle *)fid->handle,
						   m->mask & FAN_DELETE_SELF);
				info += fid->hdr.len;
			}
		}
		pthread_mutex_unlock(&f->lock);
	}
	if (len < 0 && errno != EAGAIN && errno != EINTR)
		log_error("fanotify: reading write watches: %m");
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

static bool is_big(const struct pending *p)
{
	return (uint64_t)p->st.st_size > BIG_FILE_BYTES;
}

/* Under lock: the queued file to hash next, smallest first; big ones never take the last free worker. */
static int pick(struct fan *f)
{
	int best = -1;

	if (f->n_queued == 0)
		return -1;
	for (int i = 0; i < SLOTS; i++) {
		const struct pending *p = &f->slots[i];

		if (p->state != SLOT_QUEUED)
			continue;
		if (is_big(p) && f->big_busy + 1 >= f->n_workers)
			continue;
		if (best < 0 || p->st.st_size < f->slots[best].st.st_size)
			best = i;
	}
	return best;
}

/* Under lock: the slot is answered (by its worker, or at its deadline). */
static void slot_free(struct fan *f, struct pending *p)
{
	if (p->state == SLOT_QUEUED)
		f->n_queued--;
	*p = (struct pending){ .fd = -1 };
}

/*
 * Under lock: an exec let through on a timeout is hashed all the same, by the late lane, so that a
 * listed file is killed and refused from then on. Takes p's fd.
 */
static void late_push(struct fan *f, struct pending *p)
{
	if (f->late_len == LATE_SLOTS) {
		f->st.late_dropped++;
		close(p->fd);
		return;
	}
	f->late_q[(f->late_head + f->late_len) % LATE_SLOTS] = *p;
	f->late_q[(f->late_head + f->late_len) % LATE_SLOTS].state = SLOT_RUNNING;
	f->late_len++;
	pthread_cond_signal(&f->late_work);
}

/* The answer on the deadline: on_timeout, but remote_fs deny refuses a remote file in enforce mode. */
static bool timeout_allows(const struct fan *f, const struct pending *p)
{
	if (p->remote && f->d->cfg->remote_fs == EMBARGO_CONFIG_REMOTE_FS_DENY && enforcing(f->d))
		return false;
	return embargo_config_on_timeout_allows(f->d->cfg->on_timeout);
}

/*
 * The verdict on a hashed file: cached if no write came meanwhile, answered unless the deadline did it,
 * reported; a match let through on a timeout is killed. Called without f->lock.
 */
static void conclude(struct worker *w, uint64_t seq, int r, const uint8_t digest[SHA256_LEN])
{
	struct fan *f = w->f;
	struct daemon *d = f->d;
	struct pending *p = &w->job;
	struct embargo_verdict v = {};
	bool allow, report_it = false, late, rule = false;
	char note[160];

	/* From the verdict to its report, one policy generation: a reload waits for us. */
	pthread_rwlock_rdlock(&d->policy_lock);
	if (r == 0) {
		char link[64], name[PATH_MAX];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", p->fd);
		n = readlink(link, name, sizeof(name) - 1);
		name[n < 0 ? 0 : n] = '\0';
		/*
		 * The name is the one the process sees: in a mount namespace of its own (unshare -Urm and a
		 * bind mount) it can be anything. Path and package rules see it only from the initial one.
		 */
		rule = daemon_identify(d, p->fd, name[0] && daemon_in_initial_mntns(p->pid) > 0 ? name : NULL,
				       digest, &p->st, &v);
		kernel_verdict(f, p, &v);
		/* The hold: embargoctl learned forget must find this match to drop it. */
		if (d->hold && p->holdable && v.verdict == EMBARGO_VERDICT_MATCH &&
		    (v.rule_id & EMBARGO_RULE_IDENT)) {
			struct embargo_inode_key key = { .dev = kernel_dev(p->st.st_dev),
							 .ino = p->st.st_ino };

			ident_note_verdict(d, digest, &key);
		}
	}

	pthread_mutex_lock(&f->lock);
	if (r == 0) {
		f->st.hashed++;
		cache_store(f, p, seq, &v);
		allow = decide(f, p, &v, &report_it);
	} else {
		/* Unreadable: what cannot be checked does not run in enforce mode. */
		f->st.errors++;
		allow = !enforcing(d);
		report_it = true;
		if (allow)
			kernel_verdict(f, p, NULL);
	}
	late = w->slot < 0;
	if (!late) {
		answer(f, p, allow);
		if (r == 0 && p->holdable && v.verdict == EMBARGO_VERDICT_CLEAN)
			hybrid_ignore(d, f->fd, p->fd, &p->st);
		slot_free(f, &f->slots[w->slot]);
		w->slot = -1;
	}
	pthread_mutex_unlock(&f->lock);

	if (r < 0) {
		log_warning("fanotify: cannot hash a file (pid %u, inode %llu): %s; %s", p->pid,
			    (unsigned long long)p->st.st_ino, strerror(-r), allow ? "allowed" : "denied");
		snprintf(note, sizeof(note), "could not be hashed (%s): %s", strerror(-r),
			 allow ? "let through in audit mode" : "refused in enforce mode");
		pthread_rwlock_unlock(&d->policy_lock);
		if (!late)
			report_undecided(f, p, !allow, 0, note);
		return;
	}
	if (rule)
		mark_inode(f, p->fd);
	else if (p->mask & FAN_OPEN_PERM)
		unmark_inode(f, p->fd);
	if (late && w->timeout_allowed && v.verdict == EMBARGO_VERDICT_MATCH &&
	    effective_mode(d, v.vendor_mode) == EMBARGO_MODE_ENFORCE && (p->mask & FAN_OPEN_EXEC_PERM)) {
		late_kill(f, p);
		report(f, p, &v, true, "listed, found after the decision timed out: the process was killed");
	} else if (report_it && !late) {
		report(f, p, &v, !allow, NULL);
	}
	pthread_rwlock_unlock(&d->policy_lock);
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct fan *f = w->f;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		uint8_t digest[SHA256_LEN];
		uint64_t seq, bytes;
		int i = -1, r;

		while (!f->stopping && (i = pick(f)) < 0)
			pthread_cond_wait(&f->work, &f->lock);
		if (f->stopping)
			break;
		w->job = f->slots[i];
		f->slots[i].state = SLOT_RUNNING;
		f->slots[i].worker = (unsigned)(w - f->workers);
		f->n_queued--;
		w->slot = i;
		w->cancel = false;
		w->timeout_allowed = false;
		w->big = is_big(&w->job);
		f->busy++;
		f->big_busy += w->big;
		seq = watch_begin(f, &w->job);
		pthread_mutex_unlock(&f->lock);

		r = embargo_sha256_hasher_fd(&w->h, w->job.fd, (uint64_t)w->job.st.st_size, digest, &bytes,
					     &w->cancel);
		if (r != -ECANCELED)
			conclude(w, seq, r, digest);

		pthread_mutex_lock(&f->lock);
		f->busy--;
		f->big_busy -= w->big;
		if (r == -ECANCELED && w->timeout_allowed && !f->stopping &&
		    (w->job.mask & FAN_OPEN_EXEC_PERM))
			late_push(f, &w->job);
		else
			close(w->job.fd);
		w->job.fd = -1;
		/* A big file's end may let a waiting one start. */
		pthread_cond_broadcast(&f->work);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* The late lane: one thread, so that files let through on timeouts never hold up fresh decisions. */
static void *late_worker(void *arg)
{
	struct worker *w = arg;
	struct fan *f = w->f;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		uint8_t digest[SHA256_LEN];
		uint64_t seq, bytes;
		int r;

		while (!f->stopping && f->late_len == 0)
			pthread_cond_wait(&f->late_work, &f->lock);
		if (f->stopping)
			break;
		w->job = f->late_q[f->late_head];
		f->late_head = (f->late_head + 1) % LATE_SLOTS;
		f->late_len--;
		w->slot = -1; /* answered already, and let through */
		w->timeout_allowed = true;
		seq = watch_begin(f, &w->job);
		pthread_mutex_unlock(&f->lock);

		r = embargo_sha256_hasher_fd(&w->h, w->job.fd, (uint64_t)w->job.st.st_size, digest, &bytes,
					     &w->cancel);
		if (r != -ECANCELED)
			conclude(w, seq, r, digest);
		close(w->job.fd);
		w->job.fd = -1;
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static struct pending *slot_get(struct fan *f)
{
	for (unsigned i = 0; i < SLOTS; i++)
		if (f->slots[i].state == SLOT_FREE)
			return &f->slots[i];
	return NULL;
}

/*
 * Answer what is overdue as on_timeout says, free its slot at once, and stop its hashing; returns ms until
 * the next deadline, or -1.
 */
static int expire(struct fan *f)
{
	uint64_t now = now_ns(), next = UINT64_MAX;

	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < SLOTS; i++) {
		struct pending *p = &f->slots[i];
		bool allow;

		if (p->state == SLOT_FREE)
			continue;
		if (p->deadline_ns > now) {
			if (p->deadline_ns < next)
				next = p->deadline_ns;
			continue;
		}
		allow = timeout_allows(f, p);
		answer(f, p, allow);
		f->st.timeouts++;
		/* Not to be hashed a second time, on the event loop, when sched_process_exec sees it. */
		if (allow)
			kernel_verdict(f, p, NULL);
		log_warning(
			"fanotify: no verdict for a file after %u ms (pid %u, inode %llu): %s as on_timeout "
			"says%s",
			f->d->cfg->decision_timeout_ms, p->pid, (unsigned long long)p->st.st_ino,
			allow ? "allowed" : "denied", allow ? "; it is still being hashed" : "");
		if (p->state == SLOT_RUNNING) {
			struct worker *w = &f->workers[p->worker];

			/* The worker keeps the descriptor; it hands it to the late lane or closes it. */
			w->slot = -1;
			w->timeout_allowed = allow;
			__atomic_store_n(&w->cancel, true, __ATOMIC_RELAXED);
			slot_free(f, p);
		} else if (allow && (p->mask & FAN_OPEN_EXEC_PERM)) {
			struct pending q = *p;

			slot_free(f, p);
			late_push(f, &q);
		} else {
			close(p->fd);
			slot_free(f, p);
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (next == UINT64_MAX)
		return -1;
	return (int)((next - now) / 1000000 + 1);
}

/*
 * Answered at once without a verdict (a full queue, a file too big to hash): the mode decides. flags
 * (EMBARGO_EVF_TOO_LARGE) name a reason the kernel programs report too: events.c writes the note, the
 * same for both; else why says it.
 */
static void undecided(struct fan *f, struct pending *p, uint64_t *counter, uint16_t flags, const char *why)
{
	bool allow = !enforcing(f->d);
	char note[200];

	pthread_mutex_lock(&f->lock);
	answer(f, p, allow);
	(*counter)++;
	pthread_mutex_unlock(&f->lock);
	if (allow)
		kernel_verdict(f, p, NULL);
	if (!flags)
		snprintf(note, sizeof(note), "%s: %s", why,
			 allow ? "let through unchecked in audit mode" : "refused in enforce mode");
	report_undecided(f, p, !allow, flags, flags ? NULL : note);
	close(p->fd);
}

/*
 * The hold beside an LSM tier (hybrid.c): the kernel already has a verdict for this content. Answered
 * from it; a clean file skips the hold from now.
 */
static void decide_known(struct fan *f, struct pending *p, const struct embargo_verdict *v)
{
	bool allow, report_it;

	pthread_mutex_lock(&f->lock);
	allow = decide(f, p, v, &report_it);
	answer(f, p, allow);
	f->st.cache_hits++;
	if (v->verdict == EMBARGO_VERDICT_CLEAN && !p->held)
		hybrid_ignore(f->d, f->fd, p->fd, &p->st);
	pthread_mutex_unlock(&f->lock);
	if (report_it) {
		pthread_rwlock_rdlock(&f->d->policy_lock);
		report(f, p, v, !allow, NULL);
		pthread_rwlock_unlock(&f->d->policy_lock);
	}
	close(p->fd);
}

/*
 * A file to decide (tmp->fd open, tmp->st filled), from a permission event or a held process: a cached
 * verdict answers at once, else a slot is queued for the workers. Takes tmp->fd.
 */
static void decide_file(struct fan *f, struct pending *tmp)
{
	struct daemon *d = f->d;
	struct embargo_verdict v;
	struct pending *p;
	bool allow, report_it, hit;
	struct statfs sfs;

	/* Unlinked (the kernel dropped its watch with the last link) and memfds are never cached. */
	tmp->cacheable = tmp->st.st_nlink > 0 && !(f->have_memfd_dev && tmp->st.st_dev == f->memfd_dev) &&
			 fid_of(tmp->fd, &tmp->st, &tmp->id);
	pthread_mutex_lock(&f->lock);
	/* Beside an LSM tier the kernel's map is the one cache (embargoctl learned forget drops from it). */
	hit = !d->hold && cache_lookup(f, tmp, &v);
	if (hit) {
		allow = decide(f, tmp, &v, &report_it);
		answer(f, tmp, allow);
		f->st.cache_hits++;
	}
	pthread_mutex_unlock(&f->lock);
	if (hit) {
		/* Known from an earlier classification: its opens are refused from now on. */
		if (v.verdict == EMBARGO_VERDICT_MATCH && (tmp->mask & FAN_OPEN_EXEC_PERM))
			mark_inode(f, tmp->fd);
		if (report_it) {
			pthread_rwlock_rdlock(&d->policy_lock);
			report(f, tmp, &v, !allow, NULL);
			pthread_rwlock_unlock(&d->policy_lock);
		}
		close(tmp->fd);
		return;
	}

	if (fstatfs(tmp->fd, &sfs) == 0) {
		/* The kernel programs' list (embargo.h): statfs's f_type is the super block's s_magic. */
		uint8_t kind = embargo_fs_kind((uint64_t)sfs.f_type);

		tmp->remote = kind == EMBARGO_FS_REMOTE;
		if (kind != EMBARGO_FS_LOCAL)
			tmp->cacheable = false;
		tmp->holdable = kind == EMBARGO_FS_LOCAL && tmp->st.st_nlink > 0 &&
				!(f->have_memfd_dev && tmp->st.st_dev == f->memfd_dev);
	}
	if (d->hold && tmp->holdable && hybrid_kernel_verdict(d, &tmp->st, &v)) {
		decide_known(f, tmp, &v);
		return;
	}
	if ((uint64_t)tmp->st.st_size > (uint64_t)d->cfg->max_hash_size_mib << 20) {
		undecided(f, tmp, &f->st.too_big, EMBARGO_EVF_TOO_LARGE, NULL);
		return;
	}

	pthread_mutex_lock(&f->lock);
	p = slot_get(f);
	if (!p) {
		pthread_mutex_unlock(&f->lock);
		/* A full queue is no timeout: nothing waits, and nothing runs unhashed in enforce mode. */
		log_warning("fanotify: %u files awaiting a verdict; %s one without hashing it", SLOTS,
			    enforcing(d) ? "refused" : "allowed");
		undecided(f, tmp, &f->st.queue_full, 0, "no slot free to hash it (too many undecided files)");
		return;
	}
	*p = *tmp;
	p->state = SLOT_QUEUED;
	p->deadline_ns = now_ns() + (uint64_t)d->cfg->decision_timeout_ms * 1000000ull;
	f->n_queued++;
	pthread_cond_broadcast(&f->work);
	pthread_mutex_unlock(&f->lock);
}

static void handle(struct fan *f, const struct fanotify_event_metadata *m)
{
	struct pending tmp = { .fd = m->fd, .pid = (uint32_t)m->pid, .mask = m->mask };

	pthread_mutex_lock(&f->lock);
	f->st.events++;
	pthread_mutex_unlock(&f->lock);
	/* It may run in a mount namespace of its own, where it may mount next: follow that one now. */
	if (m->mask & FAN_OPEN_EXEC_PERM)
		mounts_saw_pid(f->mounts, (uint32_t)m->pid);

	/* Our own opens (and anything we cannot even stat) are never held up. */
	if (is_embargo(f, (uint32_t)m->pid) || fstat(m->fd, &tmp.st) < 0 || !S_ISREG(tmp.st.st_mode)) {
		pthread_mutex_lock(&f->lock);
		respond(f, &tmp, true);
		pthread_mutex_unlock(&f->lock);
		close(m->fd);
		return;
	}
	decide_file(f, &tmp);
}

/*
 * A process the backstop stopped (backstop.h): its image, through /proc/PID/exe, decided like an exec.
 * On its own thread, never the reader's: the open may raise a permission event (an inode marked
 * FAN_OPEN_PERM), which the reader answers.
 */
static int on_held(void *ctx, void *data, size_t size)
{
	struct fan *f = ctx;
	const struct embargo_held *h = data;
	struct pending tmp = { .fd = -1, .mask = FAN_OPEN_EXEC_PERM, .held = true };
	char exe[64];

	if (size < sizeof(*h))
		return 0;
	tmp.pid = h->pid;
	snprintf(exe, sizeof(exe), "/proc/%u/exe", h->pid);
	tmp.fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (tmp.fd < 0) {
		int e = errno;

		/* Gone already; or alive and unreadable: what cannot be checked does not run. */
		if (e != ENOENT && e != ESRCH && kill((pid_t)h->pid, SIGKILL) == 0)
			log_warning("fanotify: cannot read the image of held process %u (%s): killed", h->pid,
				    strerror(e));
		return 0;
	}
	if (fstat(tmp.fd, &tmp.st) < 0 || kernel_dev(tmp.st.st_dev) != h->dev || tmp.st.st_ino != h->ino) {
		close(tmp.fd); /* not the image that was held: that process is gone */
		return 0;
	}
	pthread_mutex_lock(&f->lock);
	f->st.held++;
	pthread_mutex_unlock(&f->lock);
	decide_file(f, &tmp);
	return 0;
}

static void *held_reader(void *arg)
{
	struct fan *f = arg;

	while (!__atomic_load_n(&f->stopping, __ATOMIC_RELAXED)) {
		int r = ring_buffer__poll(f->held, 500);

		if (r < 0 && r != -EINTR) {
			log_error("fanotify: reading held processes: %s", strerror(-r));
			break;
		}
	}
	return NULL;
}

/* Reader only: tell the backstop that held images are answered (or, with 0, that they no longer are). */
static void stamp_holder(struct fan *f, uint64_t now)
{
	uint32_t zero = 0;

	if (f->holder_fd < 0 || (now && now - f->holder_stamp_ns < EMBARGO_HOLDER_STAMP_NS))
		return;
	f->holder_stamp_ns = now;
	if (bpf_map_update_elem(f->holder_fd, &zero, &now, BPF_ANY) < 0)
		log_warning("fanotify: cannot stamp the backstop's holder: %m");
}

static void *reader(void *arg)
{
	struct fan *f = arg;
	_cleanup_free_ char *buf = malloc(EVENT_BUF), *wbuf = malloc(EVENT_BUF);

	if (!buf || !wbuf) {
		log_error("fanotify: out of memory: permission events are answered by the kernel's default");
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[3] = { { .fd = f->fd, .events = POLLIN },
					 { .fd = f->wake_fd, .events = POLLIN },
					 { .fd = f->wfd, .events = POLLIN } };
		int timeout = expire(f);

		uint64_t now = now_ns();

		__atomic_store_n(&f->heartbeat_ns, now, __ATOMIC_RELAXED);
		stamp_holder(f, now);
		/* Wake often enough that the backstop's holder stamp (and the heartbeat) stay fresh. */
		if (timeout < 0 || timeout > (int)(EMBARGO_HOLDER_STAMP_NS / 1000000))
			timeout = (int)(EMBARGO_HOLDER_STAMP_NS / 1000000);
		ssize_t len;

		if (poll(pfd, f->wfd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) {
			log_error("fanotify: poll: %m");
			continue;
		}
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN)) {
			if (pfd[2].revents & POLLIN)
				drain_watches(f, wbuf);
			continue;
		}
		len = read(f->fd, buf, EVENT_BUF);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_error("fanotify: read: %m");
			continue;
		}
		/* After the read: every write that happened before these events is queued there by now. */
		drain_watches(f, wbuf);
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
			if (!(m->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM))) {
				/* The hold's FAN_CLOSE_WRITE on a file with an ignore mark (hybrid.c). */
				pthread_mutex_lock(&f->lock);
				hybrid_flush(f->d, f->fd,
					     "a file with an ignore mark was closed after writing");
				pthread_mutex_unlock(&f->lock);
				close(m->fd);
				continue;
			}
			handle(f, m);
		}
	}
	return NULL;
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

/*
 * mounts.c's callback, on its thread: a local file system mounted (or found) in some mount namespace,
 * named through a descriptor. Marked for the same events as the ones named in fanotify_paths.
 */
static int mark_mount(void *ctx, const char *path, const char *shown, const char *fstype)
{
	struct fan *f = ctx;

	if (fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, path) < 0)
		return -errno;
	log_debug("fanotify: marked the %s file system at %s", fstype, shown);
	return 0;
}

/* What mountinfo lists now and what is mounted later, in every mount namespace (below scope, if any). */
static int watch_mounts(struct fan *f, char *const *scope, size_t n_scope, char *why, size_t whysize)
{
	struct mounts_config c = { .scope = scope, .n_scope = n_scope, .mark = mark_mount, .ctx = f };
	struct mounts_stats ms;
	int r = mounts_start(&f->mounts, &c, why, whysize);

	if (r < 0)
		return r;
	mounts_stats(f->mounts, &ms);
	if (n_scope == 0 && ms.marked == 0)
		return fail(why, whysize, -ENODEV, "no local filesystem could be marked");
	return 0;
}

/* The write-watch group: notification class, events name files by handle (FAN_DELETE_SELF needs it). */
static void watch_start(struct fan *f)
{
	int r = embargo_fid_table_init(&f->cache, WATCHES);

	if (r == 0)
		f->wfd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE |
					       FAN_UNLIMITED_MARKS | FAN_REPORT_FID,
				       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (r < 0 || f->wfd < 0)
		log_warning("fanotify: no write watches (%s): no verdict is cached, every exec is hashed",
			    strerror(r < 0 ? -r : errno));
}

/* memfd_create's files live on an internal file system: its st_dev, to never cache them. */
static void memfd_identity(struct fan *f)
{
	_cleanup_close_ int fd = memfd_create("embargo-probe", MFD_CLOEXEC);
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0) {
		f->memfd_dev = st.st_dev;
		f->have_memfd_dev = true;
	}
}

/* One worker per CPU, at least two (one is always free for small files). */
static unsigned n_hash_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < FAN_HASH_WORKERS)
		return FAN_HASH_WORKERS;
	return n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static int start_worker(struct fan *f, struct worker *w, void *(*fn)(void *), char *why, size_t whysize)
{
	int r;

	w->f = f;
	w->slot = -1;
	w->job.fd = -1;
	r = embargo_sha256_hasher_init(&w->h);
	if (r < 0)
		return fail(why, whysize, r, "cannot set up hashing: %s", strerror(-r));
	r = -pthread_create(&w->thread, NULL, fn, w);
	if (r < 0)
		return fail(why, whysize, r, "cannot start a hashing thread: %s", strerror(-r));
	w->started = true;
	return 0;
}

/*
 * The backstop's held images (backstop.h): without them it kills known prohibited images only, as
 * before, and execs fanotify cannot see run unclassified.
 */
static void held_start(struct fan *f)
{
	struct bpf_object *obj = bpf_object_of(f->d->bpf);
	struct bpf_map *held = obj ? bpf_object__find_map_by_name(obj, "held") : NULL,
		       *holder = obj ? bpf_object__find_map_by_name(obj, "holder") : NULL;
	int r;

	/*
	 * fanotify_paths names the file systems to police: the others are unpoliced by choice, and holding
	 * every exec there (and every memfd's, on the whole machine) is not what was asked for.
	 */
	if (f->d->cfg->n_fanotify_paths > 0)
		return;
	if (!held || !holder) {
		log_warning(
			"fanotify: the backstop has no held ring: execs on unmarked file systems and memfds "
			"run before they are classified");
		return;
	}
	f->held = ring_buffer__new(bpf_map__fd(held), on_held, f, NULL);
	if (!f->held) {
		log_warning("fanotify: cannot read the backstop's held ring: %m");
		return;
	}
	r = -pthread_create(&f->held_thread, NULL, held_reader, f);
	if (r < 0) {
		log_warning("fanotify: cannot start the held-process thread: %s", strerror(-r));
		ring_buffer__free(f->held);
		f->held = NULL;
		return;
	}
	f->held_started = true;
	/* Only now: a stamp makes the backstop stop processes, and someone must answer them. */
	f->holder_fd = bpf_map__fd(holder);
}

/* Nobody answers held images from now on: the backstop must stop holding, and whoever waits goes on. */
static void held_stop(struct fan *f)
{
	uint32_t zero = 0;
	uint64_t none = 0;

	if (f->holder_fd >= 0)
		(void)bpf_map_update_elem(f->holder_fd, &zero, &none, BPF_ANY);
	f->holder_fd = -1;
	if (f->held_started)
		pthread_join(f->held_thread, NULL);
	f->held_started = false;
	ring_buffer__free(f->held);
	f->held = NULL;
}

int fanotify_start(struct daemon *d, char *why, size_t whysize)
{
	struct fan *f = calloc(1, sizeof(*f));
	unsigned n;
	int r;

	if (!f)
		return fail(why, whysize, -ENOMEM, "out of memory");
	f->d = d;
	f->self = getpid();
	f->wake_fd = -1;
	f->wfd = -1;
	f->holder_fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->work, NULL);
	pthread_cond_init(&f->late_work, NULL);
	for (unsigned i = 0; i < SLOTS; i++)
		f->slots[i].fd = -1;
	d->fan = f;
	memfd_identity(f);

	f->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0) {
		r = -errno;
		snprintf(why, whysize, "fanotify_init: %s%s", strerror(-r),
			 r == -EINVAL ? " (no CONFIG_FANOTIFY_ACCESS_PERMISSIONS?)" : "");
		goto fail;
	}
	watch_start(f);
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
	n = n_hash_workers();
	for (unsigned i = 0; i < n; i++) {
		r = start_worker(f, &f->workers[i], worker, why, whysize);
		if (r < 0)
			goto fail;
		pthread_mutex_lock(&f->lock);
		f->n_workers++;
		pthread_mutex_unlock(&f->lock);
	}
	r = start_worker(f, &f->late, late_worker, why, whysize);
	if (r < 0)
		goto fail;
	f->st.workers = f->n_workers;
	held_start(f);
	r = 0;
	for (size_t i = 0; i < d->cfg->n_fanotify_paths && r == 0; i++)
		r = mark_fs(f, d->cfg->fanotify_paths[i], why, whysize);
	if (r == 0)
		r = watch_mounts(f, d->cfg->fanotify_paths, d->cfg->n_fanotify_paths, why, whysize);
	if (r < 0)
		goto fail;
	return 0;
fail:
	fanotify_stop(d);
	return r;
}

static void stop_worker(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	if (w->job.fd >= 0)
		close(w->job.fd);
	embargo_sha256_hasher_free(&w->h);
}

void fanotify_stop(struct daemon *d)
{
	struct fan *f = d->fan;
	uint64_t one = 1;

	if (!f)
		return;
	/* First: it marks through the group descriptor. */
	mounts_stop(f->mounts);
	f->mounts = NULL;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	for (unsigned i = 0; i < MAX_WORKERS; i++)
		__atomic_store_n(&f->workers[i].cancel, true, __ATOMIC_RELAXED);
	__atomic_store_n(&f->late.cancel, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&f->work);
	pthread_cond_broadcast(&f->late_work);
	pthread_mutex_unlock(&f->lock);
	if (f->reader_started) {
		if (write(f->wake_fd, &one, sizeof(one)) != sizeof(one))
			log_error("fanotify: cannot wake the reader: %m");
		pthread_join(f->reader, NULL);
	}
	held_stop(f);
	/* Held processes still waiting: enforcement ends with us, they go on (like closing the group). */
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < SLOTS; i++)
		if (f->slots[i].state != SLOT_FREE && f->slots[i].held)
			release_held(&f->slots[i], true);
	pthread_mutex_unlock(&f->lock);
	/* Closing the group lets every pending event through and removes every mark with it; the reader is
	 * gone, and workers check the descriptor under the lock. */
	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < MAX_WORKERS; i++)
		stop_worker(&f->workers[i]);
	stop_worker(&f->late);
	for (unsigned i = 0; i < SLOTS; i++)
		if (f->slots[i].state == SLOT_QUEUED && f->slots[i].fd >= 0)
			close(f->slots[i].fd);
	for (unsigned i = 0; i < f->late_len; i++)
		close(f->late_q[(f->late_head + i) % LATE_SLOTS].fd);
	if (f->wfd >= 0)
		close(f->wfd);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	embargo_fid_table_free(&f->cache);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->work);
	pthread_cond_destroy(&f->late_work);
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
	st->busy = f->busy;
	st->queued = f->n_queued;
	pthread_mutex_unlock(&f->lock);
	struct mounts_stats ms;

	mounts_stats(f->mounts, &ms);
	st->mount_namespaces = ms.namespaces;
	st->mounts_marked = ms.marked;
	st->mount_mark_failures = ms.failed;
	st->mark_latency_last_us = ms.last_latency_us;
	st->mark_latency_max_us = ms.max_latency_us;
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

bool fanotify_marked_fs(const struct daemon *d, size_t i, char *buf, size_t size)
{
	if (!d->fan)
		return false;
	if (i < d->fan->st.n_marked_fs) {
		snprintf(buf, size, "%s", d->fan->marked_fs[i]);
		return true;
	}
	return mounts_marked_name(d->fan->mounts, i - d->fan->st.n_marked_fs, buf, size);
}
