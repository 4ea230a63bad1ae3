// SPDX-License-Identifier: GPL-2.0
/*
 * embargo_scan_processes(): running code. Each process's executable is opened through /proc/PID/exe and
 * each file-backed executable mapping through /proc/PID/map_files/START-END: both reach the very inode the
 * process runs, also when its file was deleted or replaced, or lives in another mount namespace. Every
 * distinct file is hashed once (libc is mapped by nearly every process).
 */
#include "scan.h"
#include "scan-internal.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#define CMDLINE_MAX (32 * 1024)
#define DELETED_SUFFIX " (deleted)"

/* A file already hashed in this run, keyed by (dev, ino) and valid for the size, mtime, ctime it had. */
struct memo_entry {
	bool used;
	struct scan_cache_entry e;
};

struct memo {
	struct memo_entry *t;
	size_t cap, n;
};

/* What is read of a process, only when one of its files matches. */
struct proc_info {
	bool loaded;
	uid_t uid;
	char comm[64];
	char cmdline[CMDLINE_MAX];
	char cgroup[4096];
	char unit[256];
};

struct proc_scan {
	const struct embargo_decider *d;
	const struct embargo_scan_opts *o;
	struct embargo_scan_stats *stats;
	struct scan_hasher h;
	struct memo memo;
	struct proc_info info;
	/* The current process */
	pid_t pid;
	int pidfd, dirfd;
	struct {
		uint64_t dev, ino;
	} done[64]; /* files of this process already checked (the first 64; more are merely checked again) */
	size_t n_done;
};

static size_t memo_slot(const struct memo *m, uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ULL) ^ (ino * 0xc2b2ae3d27d4eb4fULL);

	return (size_t)(h ^ (h >> 29)) & (m->cap - 1);
}

static struct memo_entry *memo_find(struct memo *m, uint64_t dev, uint64_t ino)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = memo_slot(m, dev, ino); m->t[i].used; i = (i + 1) & (m->cap - 1)) {
		if (m->t[i].e.dev == dev && m->t[i].e.ino == ino)
			return &m->t[i];
	}
	return NULL;
}

static int memo_put(struct memo *m, const struct scan_cache_entry *e)
{
	struct memo_entry *slot = memo_find(m, e->dev, e->ino);
	size_t i;

	if (slot) {
		slot->e = *e;
		return 0;
	}
	if ((m->n + 1) * 2 > m->cap) {
		struct memo bigger = { .cap = m->cap ? m->cap * 2 : 256 };

		bigger.t = calloc(bigger.cap, sizeof(*bigger.t));
		if (!bigger.t)
			return -ENOMEM;
		for (size_t j = 0; j < m->cap; j++) {
			if (!m->t[j].used)
				continue;
			for (i = memo_slot(&bigger, m->t[j].e.dev, m->t[j].e.ino); bigger.t[i].used;
			     i = (i + 1) & (bigger.cap - 1))
				;
			bigger.t[i] = m->t[j];
		}
		bigger.n = m->n;
		free(m->t);
		*m = bigger;
	}
	for (i = memo_slot(m, e->dev, e->ino); m->t[i].used; i = (i + 1) & (m->cap - 1))
		;
	m->t[i] = (struct memo_entry){ .used = true, .e = *e };
	m->n++;
	return 0;
}

static void report(struct proc_scan *ps, const char *path, int err, const char *detail)
{
	struct embargo_scan_error e = {
		.kind = EMBARGO_SCAN_ERROR_PROCESS, .path = path, .err = err, .detail = detail
	};

	ps->stats->process_errors++;
	if (ps->o->on_error)
		ps->o->on_error(ps->o->userdata, &e);
}

/* A small /proc file of the current process into buf (NUL-terminated); its length or -errno. */
static ssize_t read_small(struct proc_scan *ps, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(ps->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	ssize_t n = read_all(fd, buf, size - 1);
	if (n < 0)
		return (int)n;
	len = (size_t)n;
	buf[len] = '\0';
	return (ssize_t)len;
}

/* The unit systemd runs the process in: the deepest cgroup path component naming a unit (not a slice). */
static void unit_of(const char *cgroup, char *unit, size_t size)
{
	static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap" };
	const char *c = cgroup;

	unit[0] = '\0';
	while (*c) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);

		for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
			size_t k = strlen(suffixes[i]);

			if (n > k && n < size && memcmp(end - k, suffixes[i], k) == 0) {
				memcpy(unit, c, n);
				unit[n] = '\0';
			}
		}
		c = *end ? end + 1 : end;
	}
}

/* cgroup v2 ("0::/path"), else v1's name=systemd hierarchy. */
static void cgroup_of(char *text, char *out, size_t size)
{
	char *save = NULL, *v1 = NULL;

	out[0] = '\0';
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "0::", 3) == 0) {
			snprintf(out, size, "%s", line + 3);
			return;
		}
		char *colon = strchr(line, ':');

		if (colon && strncmp(colon + 1, "name=systemd:", 13) == 0)
			v1 = colon + 14;
	}
	if (v1)
		snprintf(out, size, "%s", v1);
}

static void load_info(struct proc_scan *ps)
{
	struct proc_info *in = &ps->info;
	char status[4096], *uid;
	ssize_t n;

	if (in->loaded)
		return;
	in->loaded = true;
	in->uid = (uid_t)-1;
	if (read_small(ps, "status", status, sizeof(status)) > 0 && (uid = strstr(status, "\nUid:"))) {
		/* Uid: real effective saved fs */
		char *save = NULL, *real = strtok_r(uid + 5, " \t\n", &save),
		     *eff = strtok_r(NULL, " \t\n", &save);
		uint32_t v;

		if (real && eff && parse_u32(eff, &v) == 0)
			in->uid = v;
	}
	n = read_small(ps, "comm", in->comm, sizeof(in->comm));
	if (n > 0 && in->comm[n - 1] == '\n')
		in->comm[n - 1] = '\0';
	n = read_small(ps, "cmdline", in->cmdline, sizeof(in->cmdline));
	if (n < 0)
		n = 0;
	while (n > 0 && in->cmdline[n - 1] == '\0')
		n--;
	in->cmdline[n] = '\0';
	for (ssize_t i = 0; i < n; i++) {
		if (in->cmdline[i] == '\0')
			in->cmdline[i] = ' ';
	}
	if (read_small(ps, "cgroup", status, sizeof(status)) > 0)
		cgroup_of(status, in->cgroup, sizeof(in->cgroup));
	unit_of(in->cgroup, in->unit, sizeof(in->unit));
}

static bool process_alive(struct proc_scan *ps)
{
	if (ps->pidfd < 0)
		return true;
	/* EPERM: alive, only not ours to signal. */
	return syscall(SYS_pidfd_send_signal, ps->pidfd, 0, NULL, 0) == 0 || errno == EPERM;
}

static bool already_checked(struct proc_scan *ps, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < ps->n_done; i++) {
		if (ps->done[i].dev == dev && ps->done[i].ino == ino)
			return true;
	}
	if (ps->n_done < ARRAY_SIZE(ps->done)) {
		ps->done[ps->n_done].dev = dev;
		ps->done[ps->n_done].ino = ino;
		ps->n_done++;
	}
	return false;
}

/* One open file of the current process (path as the process names it, maybe with " (deleted)"). */
static int check_file(struct proc_scan *ps, int fd, const char *path, bool exe, const char *where)
{
	struct embargo_process_match m = { .pid = ps->pid, .pidfd = ps->pidfd, .exe = exe };
	struct embargo_subject subject = { .fd = fd };
	struct embargo_decision dec;
	char clean[4096];
	struct memo_entry *known;
	struct scan_cache_entry e;
	struct stat st;
	size_t len = strlen(path), sl = strlen(DELETED_SUFFIX);
	uint64_t bytes;
	int r;

	if (fstat(fd, &st) < 0) {
		report(ps, where, -errno, NULL);
		return 0;
	}
	if (!S_ISREG(st.st_mode) || already_checked(ps, st.st_dev, st.st_ino))
		return 0;
	ps->stats->process_files++;
	if (ps->o->want_size && !ps->o->want_size(ps->o->userdata, (uint64_t)st.st_size))
		return 0;
	known = memo_find(&ps->memo, st.st_dev, st.st_ino);
	if (known && scan_cache_entry_current(&known->e, &st)) {
		e = known->e;
		/* Facts of this content from an earlier process: the signatures are not read twice. */
		subject.unsigned_known = e.flags & SCAN_CACHE_UNSIGNED;
		subject.sigs_clean = e.flags & SCAN_CACHE_SIGS_CLEAN;
	} else {
		scan_cache_entry_init(&e, &st);
		r = scan_hash_fd(&ps->h, fd, e.size, e.sha256, &bytes, ps->o->cancel);
		if (r == -ECANCELED)
			return r;
		if (r < 0) {
			report(ps, where, r, NULL);
			return 0;
		}
		ps->stats->process_hashed++;
	}
	m.deleted = st.st_nlink == 0;
	if (len >= sl && strcmp(path + len - sl, DELETED_SUFFIX) == 0) {
		m.deleted = true;
		len -= sl;
	}
	snprintf(clean, sizeof(clean), "%.*s", (int)len, path);
	memcpy(subject.sha256, e.sha256, SHA256_LEN);
	subject.size = e.size;
	/* A deleted file is still judged by the name it had: where it was installed says whose it is. */
	subject.path = clean;
	dec = (struct embargo_decision){};
	dec.match = ps->o->match_file && ps->o->match_file(ps->o->userdata, &st, e.sha256, &dec.m);
	if (!dec.match && ps->d) {
		r = embargo_decide(ps->d, &subject, 0, NULL, &dec);
		if (r < 0) {
			report(ps, where, r, "cannot be matched against the policy");
			return 0;
		}
		if (dec.sig_error)
			report(ps, where, dec.sig_error,
			       "its signatures could not be read: decided without them");
		e.flags = (e.flags & ~(SCAN_CACHE_UNSIGNED | SCAN_CACHE_SIGS_CLEAN)) |
			  (dec.unsigned_content ? SCAN_CACHE_UNSIGNED : 0) |
			  (dec.sigs_clean ? SCAN_CACHE_SIGS_CLEAN : 0);
	}
	r = memo_put(&ps->memo, &e);
	if (r < 0)
		return r;
	if (!dec.match)
		return 0;
	m.match = &dec.m;
	load_info(ps);
	/* Read after the pidfd was opened: if it is still alive, all of it was this process. */
	if (!process_alive(ps))
		return 0;
	m.path = clean;
	m.uid = ps->info.uid;
	m.comm = ps->info.comm;
	m.cmdline = ps->info.cmdline;
	m.cgroup = ps->info.cgroup[0] ? ps->info.cgroup : NULL;
	m.unit = ps->info.unit[0] ? ps->info.unit : NULL;
	m.st = &st;
	memcpy(m.sha256, e.sha256, SHA256_LEN);
	ps->stats->process_matches++;
	if (ps->o->on_process)
		ps->o->on_process(ps->o->userdata, &m);
	return 0;
}

/* Opens a mapping's file: map_files reaches it even deleted; else its path inside the process's root. */
static int open_mapping(struct proc_scan *ps, const char *range, const char *path, uint64_t ino)
{
	char name[128], rooted[4200];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "map_files/%s", range);
	fd = openat(ps->dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0 || errno == ENOENT)
		return fd < 0 ? -errno : fd;
	snprintf(rooted, sizeof(rooted), "root%s", path);
	fd = openat(ps->dirfd, rooted, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* The name may now be another file: only the inode the process maps counts. */
	if (fstat(fd, &st) < 0 || st.st_ino != ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* "start-end perms offset dev inode   path" */
static int check_maps(struct proc_scan *ps, const char *where)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int fd, r = 0;

	fd = openat(ps->dirfd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT && errno != ESRCH)
			report(ps, where, -errno, NULL);
		return 0;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (r >= 0 && getline(&line, &cap, f) > 0) {
		char *save = NULL, *range, *perms, *path, *nl;
		char err_path[4200];
		uint64_t ino;

		range = strtok_r(line, " ", &save);
		perms = strtok_r(NULL, " ", &save);
		strtok_r(NULL, " ", &save); /* offset */
		strtok_r(NULL, " ", &save); /* dev */
		char *inode = strtok_r(NULL, " ", &save);

		path = save ? save + strspn(save, " ") : NULL;
		if (!range || !perms || !inode || !path || strlen(perms) < 3 || perms[2] != 'x' ||
		    path[0] != '/')
			continue;
		nl = strchr(path, '\n');
		if (nl)
			*nl = '\0';
		if (parse_u64(inode, UINT64_MAX, &ino) < 0 || ino == 0)
			continue;
		fd = open_mapping(ps, range, path, ino);
		if (fd < 0) {
			if (fd != -ENOENT && fd != -ESRCH) {
				snprintf(err_path, sizeof(err_path), "/proc/%d/map_files/%s (%s)", ps->pid,
					 range, path);
				report(ps, err_path, fd, NULL);
			}
			continue;
		}
		r = check_file(ps, fd, path, false, where);
		close(fd);
	}
	return r;
}

static int check_process(struct proc_scan *ps, int procfd, const char *name, pid_t pid)
{
	char where[64], exe[4096];
	ssize_t n;
	int fd, r = 0;

	ps->pid = pid;
	ps->n_done = 0;
	ps->info.loaded = false;
	ps->info.cgroup[0] = ps->info.unit[0] = ps->info.comm[0] = ps->info.cmdline[0] = '\0';
	/* First the pidfd: whatever is read after it, if it is still alive at the end, was this process. */
	ps->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ps->dirfd = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ps->dirfd < 0)
		goto out;
	ps->stats->processes++;
	snprintf(where, sizeof(where), "/proc/%d/exe", (int)pid);
	fd = openat(ps->dirfd, "exe", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		/* Kernel threads have no executable; a process that exited has nothing left. */
		if (errno != ENOENT && errno != ESRCH) {
			report(ps, where, -errno, NULL);
			goto out;
		}
	} else {
		n = readlinkat(ps->dirfd, "exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		r = check_file(ps, fd, n > 0 ? exe : where, true, where);
		close(fd);
		if (r < 0)
			goto out;
	}
	snprintf(where, sizeof(where), "/proc/%d/maps", (int)pid);
	r = check_maps(ps, where);
out:
	if (ps->dirfd >= 0)
		close(ps->dirfd);
	if (ps->pidfd >= 0)
		close(ps->pidfd);
	ps->dirfd = ps->pidfd = -1;
	return r;
}

int embargo_scan_processes(const struct embargo_decider *d, const struct embargo_scan_opts *o,
			   struct embargo_scan_stats *stats)
{
	struct embargo_scan_stats local = {};
	struct proc_scan *ps = NULL;
	DIR *proc = NULL;
	struct dirent *de;
	uint64_t start = now_ns();
	int r;

	if (!o || (!d && !o->match_file))
		return -EINVAL;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	*ps = (struct proc_scan){ .d = d, .o = o, .stats = &local, .pidfd = -1, .dirfd = -1 };
	r = scan_hasher_init(&ps->h);
	if (r < 0)
		goto out;
	proc = opendir("/proc");
	if (!proc) {
		r = -errno;
		goto out;
	}
	while (r >= 0) {
		uint32_t pid;

		errno = 0;
		de = readdir(proc);
		if (!de) {
			r = errno ? -errno : 0;
			break;
		}
		if (scan_cancelled(o->cancel)) {
			r = -ECANCELED;
			break;
		}
		if (parse_u32(de->d_name, &pid) < 0 || pid == 0)
			continue;
		r = check_process(ps, dirfd(proc), de->d_name, (pid_t)pid);
	}
out:
	if (proc)
		closedir(proc);
	scan_hasher_free(&ps->h);
	free(ps->memo.t);
	free(ps);
	local.process_elapsed_ns = now_ns() - start;
	if (stats) {
		stats->processes = local.processes;
		stats->process_files = local.process_files;
		stats->process_hashed = local.process_hashed;
		stats->process_errors = local.process_errors;
		stats->process_matches = local.process_matches;
		stats->process_elapsed_ns = local.process_elapsed_ns;
	}
	return r;
}
