// SPDX-License-Identifier: GPL-2.0
/*
 * embargo_scan(): one walker (the calling thread) and N hashers.
 *
 * The walker reads directories with getdents64 and fstatat(AT_SYMLINK_NOFOLLOW), answers what it can from
 * the cache (no open, no read), opens the rest itself (O_NOFOLLOW, fstat-verified) and hands the open file to
 * the hashers through a bounded queue: memory and descriptors stay bounded whatever the tree holds. It keeps
 * a descriptor for each directory level up to a budget; below that a level's remaining entries are read
 * into memory and its descriptor closed, and the walker climbs back through ".." checked by device and inode,
 * so that a tree of any depth needs no more descriptors and no path longer than PATH_MAX.
 */
#include "scan.h"
#include "scan-internal.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define DIRENT_BUF (32 * 1024)
#define PROGRESS_INTERVAL_NS (250 * 1000 * 1000ULL) /* at most 4 reports a second */
#define WAIT_NS (100 * 1000 * 1000L)		    /* how often a waiting walker reports and checks cancel */
#define MAX_JOBS 256
/*
 * Idle hashers are woken once this many files wait (or at once for a big file to hash): probing or hashing
 * a small file takes less than waking a thread, which a wake-up per file would otherwise cost each time.
 */
#define WAKE_BATCH 16
#define WAKE_SIZE (256 * 1024) /* a file this big wakes a hasher at once */
#define MOUNT_REREADS 8 /* a device not in mountinfo: read it again (a new mount) this many times at most */

struct item {
	int fd;
	bool probe;    /* its first bytes decide whether it is hashed */
	bool code;     /* known to be able to carry code */
	unsigned root; /* index into scan.roots */
	struct stat st;
	char *path; /* owned; buffers move between the queue's slots and the workers */
	size_t path_cap;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full, idle;
	struct item *slots;
	size_t cap, head, count;
	bool closed;
	bool walker_waiting; /* for room: woken when the queue is half empty */
	unsigned n_idle;     /* workers waiting for files */
	unsigned running;    /* workers that have not exited */
};

struct level {
	int fd; /* -1: closed for the descriptor budget, every remaining entry is in buf */
	dev_t dev;
	ino_t ino;
	size_t path_len;
	uint8_t *buf; /* getdents64 records; [pos, len) not handled yet */
	size_t cap, len, pos;
	bool eof;
};

struct worker {
	struct scan *s;
	struct scan_hasher h;
	struct item it;
	pthread_t thread;
};

/* A path given: how the walker's names under it become canonical paths for path and package rules. */
struct root {
	char *canonical; /* what replaces the first given_len bytes of a name; NULL: the names are canonical
			  */
	size_t given_len;
};

struct scan {
	const struct embargo_decider *decider;
	const struct embargo_scan_opts *o;
	struct root *roots;
	size_t n_roots;
	unsigned root; /* the walker's */
	bool identity; /* the policy has rules beyond digests: the canonical path matters */
	/* The loaded cache's "matched no signer rule" holds for this policy (same signer key). */
	bool signer_key_same;
	bool cache_changed; /* an entry was written with other facts than the loaded cache had */
	/* Counters the workers change are changed under lock; the walker's own only by the walker. */
	struct embargo_scan_stats stats;
	pthread_mutex_t lock; /* the callbacks, the cache writer, the workers' counters */
	struct scan_cache cache;
	uint8_t *confirmed; /* bit i: cache entry i found current by this scan (the walker's only) */
	size_t n_confirmed;
	struct scan_cache_writer writer;
	struct queue q;
	struct scan_mounts mounts;
	unsigned mount_rereads;
	uint64_t start_ns, last_progress_ns, entries_seen, entries_estimate;
	size_t dir_budget;
	uid_t euid;
	char *path; /* the walker's current path */
	size_t path_cap;
	struct level *levels;
	size_t levels_cap;
};

/* ---- reporting ---- */

static void report_error(struct scan *s, enum embargo_scan_error_kind kind, const char *path, int err,
			 const char *detail)
{
	struct embargo_scan_error e = { .kind = kind, .path = path, .err = err, .detail = detail };

	pthread_mutex_lock(&s->lock);
	if (kind == EMBARGO_SCAN_ERROR_FILE)
		s->stats.unreadable++;
	else if (kind == EMBARGO_SCAN_ERROR_ROOT)
		s->stats.roots_failed++;
	else if (kind == EMBARGO_SCAN_ERROR_DECISION)
		s->stats.incomplete++;
	if (s->o->on_error)
		s->o->on_error(s->o->userdata, &e);
	pthread_mutex_unlock(&s->lock);
}

/*
 * The decision core's verdict on a file whose digest is known (*e: its cache entry, whose facts are used and
 * updated). fd: the open file, or -1 when the cache's facts make reading it needless.
 */
static int decide(struct scan *s, unsigned root, const char *path, int fd, struct scan_cache_entry *e,
		  struct embargo_decision *dec)
{
	_cleanup_free_ char *canonical = NULL;
	struct embargo_subject subject = {
		.fd = fd,
		.path = path,
		.size = e->size,
		.unsigned_known = e->flags & SCAN_CACHE_UNSIGNED,
		.sigs_clean = (e->flags & SCAN_CACHE_SIGS_CLEAN) && s->signer_key_same,
	};
	const struct root *rt = &s->roots[root];
	int r;

	memcpy(subject.sha256, e->sha256, SHA256_LEN);
	if (s->identity && rt->canonical) {
		if (asprintf(&canonical, "%s%s", rt->canonical, path + rt->given_len) < 0)
			return -ENOMEM;
		subject.path = canonical;
	}
	r = embargo_decide(s->decider, &subject, 0, NULL, dec);
	if (r < 0)
		return r;
	e->flags &= ~(SCAN_CACHE_UNSIGNED | SCAN_CACHE_SIGS_CLEAN);
	e->flags |= (dec->unsigned_content ? SCAN_CACHE_UNSIGNED : 0) |
		    (dec->sigs_clean ? SCAN_CACHE_SIGS_CLEAN : 0);
	return 0;
}

/* What could not be read for a decision, as an error of the file (counted in stats.incomplete). */
static void report_incomplete(struct scan *s, const char *path, const struct embargo_decision *dec)
{
	if (dec->sig_error)
		report_error(s, EMBARGO_SCAN_ERROR_DECISION, path, dec->sig_error,
			     "its signatures could not be read: decided without them");
	else if (dec->pkg_error)
		report_error(s, EMBARGO_SCAN_ERROR_DECISION, path, dec->pkg_error,
			     "the packages owning it could not be looked up: decided without them");
}

/*
 * A digest known for a file: decided, to the caller, and into the new cache (cacheable false: not to be
 * cached, e.g. written to while it was read). old: the loaded cache's entry, for the cache's "unchanged".
 */
static void report_file(struct scan *s, unsigned root, const char *path, int fd, const struct stat *st,
			struct scan_cache_entry *e, uint64_t bytes, const struct scan_cache_entry *old,
			bool cacheable)
{
	struct embargo_scan_file f = { .path = path, .st = st, .from_cache = old != NULL };
	struct embargo_decision dec;
	int r;

	memcpy(f.sha256, e->sha256, SHA256_LEN);
	r = decide(s, root, path, fd, e, &dec);
	if (r < 0) {
		report_error(s, EMBARGO_SCAN_ERROR_FILE, path, r, "cannot be matched against the policy");
		return;
	}
	if (dec.sig_error || dec.pkg_error)
		report_incomplete(s, path, &dec);
	f.match = dec.match ? &dec.m : NULL;
	pthread_mutex_lock(&s->lock);
	if (old) {
		s->stats.files_cached++;
		if (old->flags != e->flags)
			s->cache_changed = true;
	} else {
		s->stats.files_hashed++;
		s->stats.bytes_hashed += bytes;
	}
	if (f.match)
		s->stats.matches++;
	if (s->o->on_file)
		s->o->on_file(s->o->userdata, &f);
	/* A verdict made without all its facts is not kept: the next scan tries again. */
	if (cacheable && !dec.sig_error)
		scan_cache_writer_add(&s->writer, e);
	pthread_mutex_unlock(&s->lock);
}

/* A file whose first bytes showed it carries no code: only the cache hears of it. */
static void report_probed(struct scan *s, const struct scan_cache_entry *entry, bool from_cache)
{
	pthread_mutex_lock(&s->lock);
	if (from_cache)
		s->stats.files_cached++;
	else
		s->stats.files_probed++;
	scan_cache_writer_add(&s->writer, entry);
	pthread_mutex_unlock(&s->lock);
}

/* Called by the walker only. */
static void progress(struct scan *s)
{
	struct embargo_scan_progress p;
	uint64_t now;

	if (!s->o->on_progress)
		return;
	now = now_ns();
	if (now - s->last_progress_ns < PROGRESS_INTERVAL_NS)
		return;
	s->last_progress_ns = now;
	pthread_mutex_lock(&s->lock);
	p = (struct embargo_scan_progress){
		.entries_seen = s->entries_seen,
		.files_seen = s->stats.files_seen,
		.files_hashed = s->stats.files_hashed,
		.files_cached = s->stats.files_cached,
		.bytes_hashed = s->stats.bytes_hashed,
		.matches = s->stats.matches,
		.unreadable = s->stats.unreadable,
		.elapsed_ns = now - s->start_ns,
		.entries_estimate = s->entries_estimate,
	};
	s->o->on_progress(s->o->userdata, &p);
	pthread_mutex_unlock(&s->lock);
}

/* ---- the queue between the walker and the hashers ---- */

static void deadline_in(struct timespec *ts, long ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += ns;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec += ts->tv_nsec / 1000000000L;
		ts->tv_nsec %= 1000000000L;
	}
}

/* Waits on cond for a while with q->lock held, reporting progress (without the lock) meanwhile. */
static void queue_wait(struct scan *s, pthread_cond_t *cond)
{
	struct timespec ts;

	deadline_in(&ts, WAIT_NS);
	pthread_cond_timedwait(cond, &s->q.lock, &ts);
	pthread_mutex_unlock(&s->q.lock);
	progress(s);
	pthread_mutex_lock(&s->q.lock);
}

static int cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int r;

	r = pthread_condattr_init(&a);
	if (r)
		return -r;
	r = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (!r)
		r = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return -r;
}

/* Takes fd; -ECANCELED or -ENOMEM (fd closed) when it could not be queued. */
static int queue_push(struct scan *s, int fd, const struct stat *st, const char *path, bool probe, bool code)
{
	struct queue *q = &s->q;
	size_t len = strlen(path);
	struct item *slot;

	pthread_mutex_lock(&q->lock);
	while (q->count == q->cap && !scan_cancelled(s->o->cancel)) {
		q->walker_waiting = true;
		queue_wait(s, &q->not_full);
		q->walker_waiting = false;
	}
	if (scan_cancelled(s->o->cancel)) {
		pthread_mutex_unlock(&q->lock);
		close(fd);
		return -ECANCELED;
	}
	slot = &q->slots[(q->head + q->count) % q->cap];
	if (slot->path_cap < len + 1) {
		size_t cap = len + 1 > 256 ? len + 1 : 256;
		char *p = realloc(slot->path, cap);

		if (!p) {
			pthread_mutex_unlock(&q->lock);
			close(fd);
			return -ENOMEM;
		}
		slot->path = p;
		slot->path_cap = cap;
	}
	memcpy(slot->path, path, len + 1);
	slot->fd = fd;
	slot->st = *st;
	slot->probe = probe;
	slot->code = code;
	slot->root = s->root;
	q->count++;
	if (q->n_idle && ((!probe && (uint64_t)st->st_size >= WAKE_SIZE) || q->count >= WAKE_BATCH))
		pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* Wakes the idle hashers for what is queued: the walker is about to be busy elsewhere for a while. */
static void queue_flush(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->n_idle && q->count)
		pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

/* The next file into *out (whose path buffer goes back to the slot); false once closed and empty. */
static bool queue_pop(struct queue *q, struct item *out)
{
	struct item *slot, t;

	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->closed) {
		q->n_idle++;
		pthread_cond_wait(&q->not_empty, &q->lock);
		q->n_idle--;
	}
	if (q->count == 0) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	slot = &q->slots[q->head];
	t = *slot;
	*slot = *out;
	slot->fd = -1;
	*out = t;
	q->head = (q->head + 1) % q->cap;
	q->count--;
	if (q->walker_waiting && q->count <= q->cap / 2)
		pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return true;
}

/* ---- the hashers ---- */

static int probe_file(struct scan *s, int fd, const struct stat *st, const char *path);

static void hash_item(struct scan *s, struct scan_hasher *h, const struct item *it)
{
	uint8_t digest[SHA256_LEN];
	struct scan_cache_entry e;
	struct stat after;
	uint64_t bytes = 0;
	bool code = it->code, stable;
	int r;

	if (it->probe) {
		if (probe_file(s, it->fd, &it->st, it->path) <= 0)
			return;
		code = true;
	}
	scan_cache_entry_init(&e, &it->st);
	r = scan_hash_fd(h, it->fd, e.size, digest, &bytes, s->o->cancel);
	if (r == -ECANCELED)
		return;
	if (r < 0) {
		report_error(s, EMBARGO_SCAN_ERROR_FILE, it->path, r, NULL);
		return;
	}
	/* Written to while read: the digest is of no one version of it. Reported, not cached. */
	stable = bytes == e.size && fstat(it->fd, &after) == 0 && scan_cache_entry_current(&e, &after);
	e.flags = SCAN_CACHE_HASHED | (code ? SCAN_CACHE_CODE : 0);
	memcpy(e.sha256, digest, SHA256_LEN);
	report_file(s, it->root, it->path, it->fd, &it->st, &e, bytes, NULL, stable);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct scan *s = w->s;

	while (queue_pop(&s->q, &w->it)) {
		if (!scan_cancelled(s->o->cancel))
			hash_item(s, &w->h, &w->it);
		close(w->it.fd);
		w->it.fd = -1;
	}
	pthread_mutex_lock(&s->q.lock);
	s->q.running--;
	pthread_cond_broadcast(&s->q.idle);
	pthread_mutex_unlock(&s->q.lock);
	return NULL;
}

/* ---- the walker ---- */

/* s->path[0, base) + "/" + name; the new length, or -ENOMEM. */
static ssize_t path_push(struct scan *s, size_t base, const char *name)
{
	size_t n = strlen(name), need = base + 1 + n + 1;

	if (need > s->path_cap) {
		size_t cap = need * 2;
		char *p = realloc(s->path, cap);

		if (!p)
			return -ENOMEM;
		s->path = p;
		s->path_cap = cap;
	}
	s->path[base] = '/';
	memcpy(s->path + base + 1, name, n + 1);
	return (ssize_t)(base + 1 + n);
}

/* An error about a directory level: its path is a prefix of the walker's ("/" when it is ""). */
static void report_dir_error(struct scan *s, const struct level *l, int err, const char *detail)
{
	char c = s->path[l->path_len];

	s->path[l->path_len] = '\0';
	report_error(s, EMBARGO_SCAN_ERROR_FILE, l->path_len ? s->path : "/", err, detail);
	s->path[l->path_len] = c;
}

/* Whether the walker stays out of the filesystem on dev (met below a directory on another device). */
static bool mount_skipped(struct scan *s, dev_t dev)
{
	const struct scan_mount *m = scan_mounts_by_dev(&s->mounts, dev);

	if (!m && s->mount_rereads < MOUNT_REREADS) {
		struct scan_mounts fresh;

		s->mount_rereads++;
		if (scan_mounts_read("/proc/self/mountinfo", &fresh) == 0) {
			scan_mounts_free(&s->mounts);
			s->mounts = fresh;
			m = scan_mounts_by_dev(&s->mounts, dev);
		}
	}
	/* Not a mount at all: a btrfs subvolume has a device of its own. It is part of the parent's fs. */
	return m && scan_fs_kind(m->fstype) != SCAN_FS_LOCAL;
}

static int open_file(struct scan *s, int dirfd, const char *name, const struct stat *st, bool named)
{
	int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (named ? 0 : O_NOFOLLOW);
	int fd;

	/*
	 * O_NOATIME: a scan should not make every file look used. Permitted to root and to the owner (whom
	 * only a stat tells; without one, non-root goes without rather than pay a failed open per file).
	 */
	if (s->euid == 0 || (st && st->st_uid == s->euid))
		flags |= O_NOATIME;
	fd = openat(dirfd, name, flags);
	if (fd < 0 && errno == EPERM && (flags & O_NOATIME))
		fd = openat(dirfd, name, flags & ~O_NOATIME);
	return fd < 0 ? -errno : fd;
}

/* The file's digest (or "not code") from the cache, if the cache knows it as st shows it: true. */
static bool from_cache(struct scan *s, const struct stat *st, enum embargo_scan_class cls)
{
	const struct scan_cache_entry *e;

	if (!s->cache.n)
		return false;
	e = scan_cache_lookup(&s->cache, st->st_dev, st->st_ino);
	if (!e || !scan_cache_entry_current(e, st))
		return false;
	if (e->flags & SCAN_CACHE_HASHED) {
		struct scan_cache_entry now = *e;

		/* Signer rules to check, and the cache cannot say they do not match: read it again. */
		if (embargo_decider_reads_signatures(s->decider) && !(e->flags & SCAN_CACHE_UNSIGNED) &&
		    !((e->flags & SCAN_CACHE_SIGS_CLEAN) && s->signer_key_same))
			return false;
		report_file(s, s->root, s->path, -1, st, &now, 0, e, true);
	} else if (cls == EMBARGO_SCAN_NEEDS_MAGIC)
		/* Probed last time and found no code: still true if still decided by its first bytes. */
		report_probed(s, e, true);
	else
		return false;
	if (s->confirmed) {
		size_t i = (size_t)(e - s->cache.entries);

		if (!(s->confirmed[i / 8] & (1u << (i % 8)))) {
			s->confirmed[i / 8] |= (uint8_t)(1u << (i % 8));
			s->n_confirmed++;
		}
	}
	return true;
}

/* Reads the first bytes: 1 when they say code, 0 when not (reported, cached), or -errno (reported). */
static int probe_file(struct scan *s, int fd, const struct stat *st, const char *path)
{
	uint8_t magic[EMBARGO_SCAN_MAGIC_LEN];
	struct scan_cache_entry e;
	ssize_t n = 0;

	/* Every magic is at least 2 bytes: an empty file needs no read. */
	if (st->st_size >= 2) {
		do {
			n = pread(fd, magic, sizeof(magic), 0);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			n = -errno;
			report_error(s, EMBARGO_SCAN_ERROR_FILE, path, (int)n, NULL);
			return (int)n;
		}
		if (embargo_scan_magic_is_code(magic, (size_t)n))
			return 1;
	}
	scan_cache_entry_init(&e, st);
	report_probed(s, &e, false);
	return 0;
}

/*
 * A regular file at s->path (name in dirfd): from the cache, or opened, probed and queued. st: its lstat,
 * or NULL when the directory entry said DT_REG and the cache has nothing for its inode (no stat needed
 * before the open: the fstat after it checks it). dir_dev: the device of its directory.
 */
static int walk_file(struct scan *s, int dirfd, const char *name, const struct stat *st, dev_t dir_dev,
		     bool named)
{
	enum embargo_scan_error_kind kind = named ? EMBARGO_SCAN_ERROR_ROOT : EMBARGO_SCAN_ERROR_FILE;
	enum embargo_scan_class cls;
	struct stat now;
	int fd, r;

	if (st) {
		s->stats.files_seen++;
		cls = s->o->all || named ? EMBARGO_SCAN_CODE : embargo_scan_classify(name, st->st_mode);
		if (from_cache(s, st, cls))
			return 0;
	}
	fd = open_file(s, dirfd, name, st, named);
	if (fd < 0) {
		/* Removed since it was listed: not a file of this scan. */
		if (fd == -ENOENT && !named)
			return 0;
		if (!st)
			s->stats.files_seen++;
		report_error(s, kind, s->path, fd, NULL);
		return 0;
	}
	if (fstat(fd, &now) < 0) {
		r = -errno;
		close(fd);
		report_error(s, kind, s->path, r, NULL);
		return 0;
	}
	if (st && (!S_ISREG(now.st_mode) || now.st_dev != st->st_dev || now.st_ino != st->st_ino)) {
		close(fd);
		report_error(s, kind, s->path, -ESTALE, "replaced while it was scanned");
		return 0;
	}
	if (!st) {
		/* Replaced since the directory was read (O_NONBLOCK: a FIFO did not block the open). */
		if (!S_ISREG(now.st_mode)) {
			close(fd);
			s->stats.other_skipped++;
			return 0;
		}
		/* A file bind-mounted from a filesystem the walker stays out of. */
		if (now.st_dev != dir_dev && mount_skipped(s, now.st_dev)) {
			close(fd);
			s->stats.mounts_skipped++;
			return 0;
		}
		s->stats.files_seen++;
		cls = s->o->all ? EMBARGO_SCAN_CODE : embargo_scan_classify(name, now.st_mode);
		/* The directory entry's inode number is not always the file's (overlayfs). */
		if (from_cache(s, &now, cls)) {
			close(fd);
			return 0;
		}
	}
	/*
	 * The first bytes are read here unless a hasher has nothing to do: waking one costs more than the
	 * read, and the walker would otherwise sleep on a queue full of files waiting behind big ones.
	 */
	if (cls == EMBARGO_SCAN_NEEDS_MAGIC && !__atomic_load_n(&s->q.n_idle, __ATOMIC_RELAXED)) {
		r = probe_file(s, fd, &now, s->path);
		if (r <= 0) {
			close(fd);
			return 0;
		}
		cls = EMBARGO_SCAN_CODE;
	}
	return queue_push(s, fd, &now, s->path, cls == EMBARGO_SCAN_NEEDS_MAGIC, cls == EMBARGO_SCAN_CODE);
}

static int level_alloc(struct scan *s, size_t depth)
{
	struct level *l;

	if (depth >= s->levels_cap) {
		size_t cap = s->levels_cap ? s->levels_cap * 2 : 16;
		struct level *n = realloc(s->levels, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		memset(n + s->levels_cap, 0, (cap - s->levels_cap) * sizeof(*n));
		s->levels = n;
		s->levels_cap = cap;
	}
	l = &s->levels[depth];
	if (!l->buf) {
		l->buf = malloc(DIRENT_BUF);
		if (!l->buf)
			return -ENOMEM;
		l->cap = DIRENT_BUF;
	}
	return 0;
}

/* Only the levels within the budget keep their buffer for the next directory at that depth. */
static void level_release(struct scan *s, size_t depth)
{
	struct level *l = &s->levels[depth];

	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (depth >= s->dir_budget || l->cap != DIRENT_BUF) {
		free(l->buf);
		l->buf = NULL;
		l->cap = 0;
	}
}

/* Reads every remaining entry of l into memory and closes its descriptor. */
static int level_detach(struct level *l)
{
	size_t rest = l->len - l->pos;
	int r = 0;

	memmove(l->buf, l->buf + l->pos, rest);
	l->len = rest;
	l->pos = 0;
	while (!l->eof) {
		ssize_t n;

		if (l->cap - l->len < DIRENT_BUF / 2) {
			uint8_t *b = realloc(l->buf, l->cap * 2);

			if (!b) {
				r = -ENOMEM;
				break;
			}
			l->buf = b;
			l->cap *= 2;
		}
		n = getdents64(l->fd, l->buf + l->len, l->cap - l->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			l->eof = true;
		l->len += (size_t)n;
	}
	/* Whatever could not be read is lost to this scan either way (the caller reports it). */
	l->eof = true;
	close(l->fd);
	l->fd = -1;
	return r;
}

static struct dirent64 *level_next(struct level *l, int *err)
{
	for (;;) {
		if (l->pos < l->len) {
			struct dirent64 *d = (struct dirent64 *)(l->buf + l->pos);

			l->pos += d->d_reclen;
			return d;
		}
		if (l->eof || l->fd < 0)
			return NULL;
		ssize_t n = getdents64(l->fd, l->buf, l->cap);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = n < 0 ? -errno : 0;
			l->eof = true;
			return NULL;
		}
		l->len = (size_t)n;
		l->pos = 0;
	}
}

/*
 * Leaves the deepest level. A parent closed for the budget is reopened through ".." and must be the same
 * directory (device, inode): else the tree moved under the walker, and the closed levels are given up up to
 * the nearest one still open.
 */
static void level_pop(struct scan *s, size_t *depth)
{
	struct level *l = &s->levels[*depth - 1], *parent;
	struct stat st;
	int fd;

	if (*depth >= 2 && s->levels[*depth - 2].fd < 0) {
		parent = &s->levels[*depth - 2];
		fd = openat(l->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == parent->dev && st.st_ino == parent->ino) {
			parent->fd = fd;
		} else {
			if (fd >= 0)
				close(fd);
			level_release(s, --*depth);
			while (*depth > 0 && s->levels[*depth - 1].fd < 0) {
				report_dir_error(s, &s->levels[*depth - 1], -ESTALE,
						 "moved while it was scanned");
				level_release(s, --*depth);
			}
			return;
		}
	}
	level_release(s, --*depth);
}

/* A subdirectory of the deepest level: entered, unless on a filesystem the walker stays out of. */
static int enter_dir(struct scan *s, size_t *depth, const char *name, const struct stat *st, size_t path_len)
{
	struct level *parent = &s->levels[*depth - 1], *l;
	struct stat now;
	int fd, r;

	if (st->st_dev != parent->dev && mount_skipped(s, st->st_dev)) {
		s->stats.mounts_skipped++;
		return 0;
	}
	fd = openat(parent->fd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno != ENOENT)
			report_error(s, EMBARGO_SCAN_ERROR_FILE, s->path, -errno, NULL);
		return 0;
	}
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		report_error(s, EMBARGO_SCAN_ERROR_FILE, s->path, -ESTALE, "replaced while it was scanned");
		return 0;
	}
	r = level_alloc(s, *depth);
	if (r < 0) {
		close(fd);
		return r;
	}
	parent = &s->levels[*depth - 1];
	if (*depth >= s->dir_budget && parent->fd >= 0) {
		r = level_detach(parent);
		if (r < 0)
			report_dir_error(s, parent, r, "not read to the end");
	}
	l = &s->levels[*depth];
	l->fd = fd;
	l->dev = now.st_dev;
	l->ino = now.st_ino;
	l->path_len = path_len;
	l->len = l->pos = 0;
	l->eof = false;
	++*depth;
	s->stats.dirs++;
	return 0;
}

static int walk_tree(struct scan *s, int fd, const struct stat *st, size_t path_len)
{
	size_t depth = 0;
	int r;

	r = level_alloc(s, 0);
	if (r < 0) {
		close(fd);
		return r;
	}
	s->levels[0] = (struct level){ .fd = fd,
				       .dev = st->st_dev,
				       .ino = st->st_ino,
				       .path_len = path_len,
				       .buf = s->levels[0].buf,
				       .cap = s->levels[0].cap };
	depth = 1;
	s->stats.dirs++;
	while (depth > 0 && r >= 0) {
		struct level *l = &s->levels[depth - 1];
		struct dirent64 *d;
		struct stat est;
		ssize_t len;
		int err = 0;

		if (scan_cancelled(s->o->cancel)) {
			r = -ECANCELED;
			break;
		}
		d = level_next(l, &err);
		if (!d) {
			queue_flush(&s->q);
			if (err)
				report_dir_error(s, l, err, "not read to the end");
			level_pop(s, &depth);
			continue;
		}
		if (d->d_name[0] == '.' &&
		    (d->d_name[1] == '\0' || (d->d_name[1] == '.' && d->d_name[2] == '\0')))
			continue;
		if ((++s->entries_seen & 63) == 0) {
			queue_flush(&s->q);
			progress(s);
		}
		/* Symbolic links, FIFOs, sockets and devices: never followed, never opened. */
		if (d->d_type != DT_DIR && d->d_type != DT_REG && d->d_type != DT_UNKNOWN) {
			s->stats.other_skipped++;
			continue;
		}
		len = path_push(s, l->path_len, d->d_name);
		if (len < 0) {
			r = (int)len;
			break;
		}
		/* Opened without a stat first: the cache cannot know it, and the fstat after the open checks
		 * it. */
		if (d->d_type == DT_REG && !(s->cache.n && scan_cache_lookup(&s->cache, l->dev, d->d_ino))) {
			r = walk_file(s, l->fd, d->d_name, NULL, l->dev, false);
			continue;
		}
		/* AT_NO_AUTOMOUNT: an automount point (a network share, perhaps) is not mounted by looking.
		 */
		if (fstatat(l->fd, d->d_name, &est, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) < 0) {
			if (errno != ENOENT)
				report_error(s, EMBARGO_SCAN_ERROR_FILE, s->path, -errno, NULL);
			continue;
		}
		if (S_ISDIR(est.st_mode)) {
			r = enter_dir(s, &depth, d->d_name, &est, (size_t)len);
		} else if (S_ISREG(est.st_mode)) {
			/* A file bind-mounted from a filesystem the walker stays out of. */
			if (est.st_dev != l->dev && mount_skipped(s, est.st_dev))
				s->stats.mounts_skipped++;
			else
				r = walk_file(s, l->fd, d->d_name, &est, l->dev, false);
		} else {
			s->stats.other_skipped++;
		}
	}
	while (depth > 0)
		level_release(s, --depth);
	return r;
}

/*
 * How names under root become canonical paths: the walker follows no symbolic link below a root, so only
 * the root's own name can differ from its canonical path (relative, through a symbolic link, "..").
 */
static int root_init(struct root *rt, const char *root, size_t trimmed)
{
	char *real = realpath(root, NULL);
	size_t n;

	*rt = (struct root){ .given_len = trimmed };
	/* Not there: scan_root() reports it. */
	if (!real)
		return errno == ENOMEM ? -ENOMEM : 0;
	n = strlen(real);
	/* "/" is "" to the walker, whose names then start with "/". */
	if (n == 1)
		real[0] = '\0', n = 0;
	if (n == trimmed && strncmp(real, root, n) == 0)
		free(real);
	else
		rt->canonical = real;
	return 0;
}

/* One path of opts.paths: a tree, or a file (hashed whatever it is, having been named). */
static int scan_root(struct scan *s, const char *root)
{
	size_t len = strlen(root);
	struct stat st, now;
	int fd;

	if (len + 1 > s->path_cap) {
		char *p = realloc(s->path, len + 256);

		if (!p)
			return -ENOMEM;
		s->path = p;
		s->path_cap = len + 256;
	}
	memcpy(s->path, root, len + 1);
	/* "/usr/" walks as "/usr", and "/" as "", whose entries are "/name". */
	while (len > 0 && root[len - 1] == '/')
		len--;
	/* A path given is resolved as named, symbolic links included: it is the only place they are. */
	if (stat(root, &st) < 0) {
		report_error(s, EMBARGO_SCAN_ERROR_ROOT, root, -errno, NULL);
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return walk_file(s, AT_FDCWD, root, &st, st.st_dev, true);
	s->path[len] = '\0';
	if (!S_ISDIR(st.st_mode)) {
		report_error(s, EMBARGO_SCAN_ERROR_ROOT, root, -EBADFD, "not a regular file or a directory");
		return 0;
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &now) < 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
		int r = fd < 0 || errno ? -errno : -ESTALE;

		if (fd >= 0)
			close(fd);
		report_error(s, EMBARGO_SCAN_ERROR_ROOT, root, r, NULL);
		return 0;
	}
	return walk_tree(s, fd, &now, len);
}

/* Inodes to walk, for the ETA: known only when every root is a whole mount. */
static uint64_t estimate(struct scan *s, const char *const *roots, size_t n)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		char real[PATH_MAX];
		uint64_t k;

		if (!realpath(roots[i], real))
			return 0;
		k = scan_mounts_inodes_below(&s->mounts, real);
		if (k == 0)
			return 0;
		total += k;
	}
	return total;
}

static unsigned default_jobs(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

/* ---- setup and the whole scan ---- */

static void cache_open(struct scan *s)
{
	const char *detail = NULL;
	int r;

	if (!s->o->cache_path)
		return;
	r = scan_cache_load(s->o->cache_path, &s->cache, &detail);
	if (r == 0) {
		s->signer_key_same =
			memcmp(s->cache.signer_key, embargo_decider_signer_key(s->decider), SHA256_LEN) == 0;
		s->stats.cache_loaded = true;
		s->stats.cache_entries = s->cache.n;
		/* Without it, an unchanged tree costs a rewrite of the whole cache: no harm. */
		s->confirmed = calloc(s->cache.n / 8 + 1, 1);
	} else if (r != -ENOENT) {
		s->stats.cache_rejected = true;
		report_error(s, EMBARGO_SCAN_ERROR_CACHE, s->o->cache_path, r,
			     detail ? detail : "cannot be read: rebuilt");
	}
	r = scan_cache_writer_open(&s->writer, s->o->cache_path, &detail);
	memcpy(s->writer.signer_key, embargo_decider_signer_key(s->decider), SHA256_LEN);
	if (r < 0)
		report_error(s, EMBARGO_SCAN_ERROR_CACHE, s->o->cache_path, r,
			     detail ? detail : "cannot be written: this scan's results will not be kept");
}

static void cache_close(struct scan *s, bool commit)
{
	const char *detail = NULL;
	int r;

	/*
	 * Every entry found current and nothing new: the new cache would be the old one again. Keeping it
	 * spares sorting, checksumming and syncing it (80 MB for a million files).
	 */
	if (commit && s->confirmed && s->n_confirmed == s->cache.n && !s->stats.files_hashed &&
	    !s->stats.files_probed && !s->cache_changed && s->signer_key_same) {
		s->stats.cache_unchanged = true;
		commit = false;
	}
	if (commit && s->writer.fd >= 0) {
		r = scan_cache_writer_commit(&s->writer, &detail);
		if (r < 0)
			report_error(s, EMBARGO_SCAN_ERROR_CACHE, s->o->cache_path, r,
				     detail ? detail
					    : "cannot be written: this scan's results will not be kept");
		else
			s->stats.cache_written = true;
	}
	scan_cache_writer_abort(&s->writer);
	scan_cache_unload(&s->cache);
	free(s->confirmed);
	s->confirmed = NULL;
}

static void scan_free(struct scan *s, struct worker *w, unsigned jobs)
{
	for (unsigned i = 0; i < jobs; i++) {
		scan_hasher_free(&w[i].h);
		free(w[i].it.path);
	}
	for (size_t i = 0; s->q.slots && i < s->q.cap; i++)
		free(s->q.slots[i].path);
	free(s->q.slots);
	for (size_t i = 0; i < s->levels_cap; i++)
		free(s->levels[i].buf);
	free(s->levels);
	free(s->path);
	for (size_t i = 0; s->roots && i < s->n_roots; i++)
		free(s->roots[i].canonical);
	free(s->roots);
	scan_mounts_free(&s->mounts);
	pthread_cond_destroy(&s->q.not_empty);
	pthread_cond_destroy(&s->q.not_full);
	pthread_cond_destroy(&s->q.idle);
	pthread_mutex_destroy(&s->q.lock);
	pthread_mutex_destroy(&s->lock);
	free(w);
}

/* Descriptors: the walker's directories plus the queued files must fit well within the limit. */
static void size_budgets(struct scan *s, unsigned jobs)
{
	struct rlimit rl;
	size_t limit = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1u << 20)
		limit = (size_t)rl.rlim_cur;
	s->dir_budget = limit / 16 < 2 ? 2 : limit / 16 > 64 ? 64 : limit / 16;
	/* Enough queued files to keep every hasher busy while the walker reads a directory. */
	s->q.cap = (size_t)jobs * 64 < 64 ? 64 : (size_t)jobs * 64 > 256 ? 256 : (size_t)jobs * 64;
	if (s->q.cap > limit / 4)
		s->q.cap = limit / 4 < 4 ? 4 : limit / 4;
}

int embargo_scan(const struct embargo_decider *d, const struct embargo_scan_opts *o,
		 struct embargo_scan_stats *stats)
{
	static const char *const default_roots[] = { "/" };
	const char *const *roots = o && o->n_paths ? o->paths : default_roots;
	size_t n_roots = o && o->n_paths ? o->n_paths : 1;
	unsigned jobs, started = 0;
	struct worker *w = NULL;
	struct scan *s = NULL;
	int r = 0;

	if (!d || !o || (o->n_paths && !o->paths) || o->jobs > MAX_JOBS)
		return -EINVAL;
	jobs = o->jobs ? o->jobs : default_jobs();
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	s = calloc(1, sizeof(*s));
	w = calloc(jobs, sizeof(*w));
	if (!s || !w) {
		free(s);
		free(w);
		return -ENOMEM;
	}
	s->decider = d;
	s->identity = embargo_decider_has_identity_rules(d);
	s->o = o;
	s->euid = geteuid();
	s->writer.fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->q.lock, NULL);
	pthread_cond_init(&s->q.not_empty, NULL);
	if (cond_init_monotonic(&s->q.not_full) < 0 || cond_init_monotonic(&s->q.idle) < 0) {
		r = -ENOMEM;
		goto out;
	}
	size_budgets(s, jobs);
	s->roots = calloc(n_roots, sizeof(*s->roots));
	if (!s->roots) {
		r = -ENOMEM;
		goto out;
	}
	s->n_roots = n_roots;
	for (size_t i = 0; i < n_roots && r >= 0; i++) {
		size_t len = strlen(roots[i]);

		while (len > 0 && roots[i][len - 1] == '/')
			len--;
		r = root_init(&s->roots[i], roots[i], len);
	}
	if (r < 0)
		goto out;
	s->q.slots = calloc(s->q.cap, sizeof(*s->q.slots));
	if (!s->q.slots) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->q.cap; i++)
		s->q.slots[i].fd = -1;
	for (unsigned i = 0; i < jobs; i++) {
		w[i].s = s;
		w[i].it.fd = -1;
		r = scan_hasher_init(&w[i].h);
		if (r < 0)
			goto out;
	}
	/* Without mountinfo every filesystem looks local: the walk still never leaves what it can read. */
	if (scan_mounts_read("/proc/self/mountinfo", &s->mounts) < 0)
		s->mounts = (struct scan_mounts){};
	s->start_ns = s->last_progress_ns = now_ns();
	s->entries_estimate = estimate(s, roots, n_roots);
	cache_open(s);

	s->q.running = jobs;
	for (; started < jobs; started++) {
		r = -pthread_create(&w[started].thread, NULL, worker_main, &w[started]);
		if (r < 0)
			break;
	}
	if (started == 0)
		goto out;
	if (started < jobs) {
		pthread_mutex_lock(&s->q.lock);
		s->q.running = started;
		pthread_mutex_unlock(&s->q.lock);
	}
	r = 0;
	for (size_t i = 0; i < n_roots && r >= 0; i++) {
		s->root = (unsigned)i;
		r = scan_root(s, roots[i]);
	}

	/* Drain: the workers finish what is queued (or, cancelled, close it unread). */
	pthread_mutex_lock(&s->q.lock);
	s->q.closed = true;
	pthread_cond_broadcast(&s->q.not_empty);
	while (s->q.running > 0)
		queue_wait(s, &s->q.idle);
	pthread_mutex_unlock(&s->q.lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	if (r >= 0 && scan_cancelled(o->cancel))
		r = -ECANCELED;
out:
	/* A cancelled or failed scan saw only part of the tree: the old cache stays. */
	cache_close(s, r >= 0);
	s->stats.elapsed_ns = s->start_ns ? now_ns() - s->start_ns : 0;
	if (stats) {
		struct embargo_scan_stats *f = &s->stats;

		/* The process fields belong to embargo_scan_processes(). */
		f->processes = stats->processes;
		f->process_files = stats->process_files;
		f->process_hashed = stats->process_hashed;
		f->process_errors = stats->process_errors;
		f->process_matches = stats->process_matches;
		f->process_elapsed_ns = stats->process_elapsed_ns;
		*stats = *f;
	}
	scan_free(s, w, jobs);
	free(s);
	return r;
}
