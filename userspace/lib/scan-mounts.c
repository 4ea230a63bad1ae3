// SPDX-License-Identifier: GPL-2.0
/*
 * Which mounts the scanner enters: /proc/self/mountinfo gives each mount's device and filesystem type, the
 * walker sees a mount boundary as a change of st_dev, and enters only local filesystems.
 */
#include "scan-internal.h"
#include "util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

static const char *const pseudo_fs[] = {
	"proc",	       "sysfs",	  "devtmpfs",	"devpts",	"cgroup",     "cgroup2",   "securityfs",
	"debugfs",     "tracefs", "bpf",	"pstore",	"configfs",   "hugetlbfs", "mqueue",
	"binfmt_misc", "autofs",  "efivarfs",	"fusectl",	"rpc_pipefs", "nsfs",	   "selinuxfs",
	"nfsd",	       "sockfs",  "pipefs",	"anon_inodefs", "devfs",      "usbfs",	   "xenfs",
	"resctrl",     "smackfs", "apparmorfs", "ipathfs",	"qibfs",
};

static const char *const network_fs[] = {
	"nfs", "nfs4",	 "cifs", "smb3",  "smbfs", "ncpfs",    "afs",	 "coda",     "ceph",  "glusterfs",
	"9p",  "lustre", "gpfs", "ocfs2", "gfs2",  "virtiofs", "beegfs", "orangefs", "pvfs2", "davfs",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return true;
	}
	return false;
}

enum scan_fs_kind scan_fs_kind(const char *fstype)
{
	if (strcmp(fstype, "fuse") == 0 || strcmp(fstype, "fuseblk") == 0 || strncmp(fstype, "fuse.", 5) == 0)
		return SCAN_FS_FUSE;
	if (in_list(fstype, network_fs, ARRAY_SIZE(network_fs)))
		return SCAN_FS_NETWORK;
	if (in_list(fstype, pseudo_fs, ARRAY_SIZE(pseudo_fs)))
		return SCAN_FS_PSEUDO;
	return SCAN_FS_LOCAL;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo; in place. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* "36 35 98:0 /root /mount/point opts [optional...] - fstype source superopts" */
static int parse_line(char *line, struct scan_mount *m)
{
	char *field[6], *save = NULL, *t, *dash, *colon;
	uint32_t id, parent, maj, min;
	size_t n = 0;

	dash = strstr(line, " - ");
	if (!dash)
		return -EINVAL;
	*dash = '\0';
	for (t = strtok_r(line, " ", &save); t && n < ARRAY_SIZE(field); t = strtok_r(NULL, " ", &save))
		field[n++] = t;
	if (n < 5 || !(colon = strchr(field[2], ':')))
		return -EINVAL;
	*colon = '\0';
	if (parse_u32(field[0], &id) < 0 || parse_u32(field[1], &parent) < 0 ||
	    parse_u32(field[2], &maj) < 0 || parse_u32(colon + 1, &min) < 0)
		return -EINVAL;
	t = strtok_r(dash + 3, " \n", &save);
	if (!t)
		return -EINVAL;
	unescape(field[4]);
	m->id = (int)id;
	m->parent = (int)parent;
	m->dev = makedev(maj, min);
	m->mountpoint = strdup(field[4]);
	m->fstype = strdup(t);
	return m->mountpoint && m->fstype ? 0 : -ENOMEM;
}

int scan_mounts_read(const char *mountinfo, struct scan_mounts *ret)
{
	_cleanup_close_ int fd = open(mountinfo, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return scan_mounts_read_fd(fd, ret);
}

int scan_mounts_read_fd(int fd, struct scan_mounts *ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	struct scan_mounts m = {};
	size_t cap = 0, alloc = 0;
	int r = 0, dfd;

	/* A held mountinfo descriptor is read again from its start at every change. */
	if (lseek(fd, 0, SEEK_SET) < 0 || (dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	f = fdopen(dfd, "re");
	if (!f) {
		r = -errno;
		close(dfd);
		return r;
	}
	while (r >= 0 && getline(&line, &cap, f) > 0) {
		struct scan_mount one = {};

		r = parse_line(line, &one);
		if (r == 0 && m.n == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			struct scan_mount *nm = realloc(m.m, na * sizeof(*nm));

			if (nm) {
				m.m = nm;
				alloc = na;
			} else {
				r = -ENOMEM;
			}
		}
		if (r == 0) {
			m.m[m.n++] = one;
			continue;
		}
		free(one.mountpoint);
		free(one.fstype);
		/* A line this parser does not understand costs that mount, not the scan. */
		if (r == -EINVAL)
			r = 0;
	}
	if (r < 0) {
		scan_mounts_free(&m);
		return r;
	}
	*ret = m;
	return 0;
}

void scan_mounts_free(struct scan_mounts *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->m[i].mountpoint);
		free(m->m[i].fstype);
	}
	free(m->m);
	*m = (struct scan_mounts){};
}

const struct scan_mount *scan_mounts_by_dev(const struct scan_mounts *m, dev_t dev)
{
	/* The last one: mounts stacked on one point are listed in mount order, the top one last. */
	for (size_t i = m->n; i-- > 0;) {
		if (m->m[i].dev == dev)
			return &m->m[i];
	}
	return NULL;
}

static const struct scan_mount *by_id(const struct scan_mounts *m, int id)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->m[i].id == id)
			return &m->m[i];
	}
	return NULL;
}

/* mnt is root, or below it through local filesystems only (the ones the walker enters). */
static bool walked_below(const struct scan_mounts *m, const struct scan_mount *mnt, int root)
{
	for (size_t steps = 0; mnt && steps <= m->n; steps++) {
		if (mnt->id == root)
			return true;
		if (scan_fs_kind(mnt->fstype) != SCAN_FS_LOCAL)
			return false;
		mnt = mnt->parent == mnt->id ? NULL : by_id(m, mnt->parent);
	}
	return false;
}

uint64_t scan_mounts_inodes_below(const struct scan_mounts *m, const char *dir)
{
	const struct scan_mount *root = NULL;
	uint64_t total = 0;

	for (size_t i = m->n; i-- > 0 && !root;) {
		if (strcmp(m->m[i].mountpoint, dir) == 0)
			root = &m->m[i];
	}
	if (!root)
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		struct statfs sf;
		bool counted = false;

		if (!walked_below(m, &m->m[i], root->id))
			continue;
		/* A filesystem mounted twice is walked twice, but counted once is the better guess. */
		for (size_t j = 0; j < i && !counted; j++)
			counted = m->m[j].dev == m->m[i].dev && walked_below(m, &m->m[j], root->id);
		if (counted || statfs(m->m[i].mountpoint, &sf) < 0 || sf.f_files < sf.f_ffree)
			continue;
		total += (uint64_t)(sf.f_files - sf.f_ffree);
	}
	return total;
}
