// SPDX-License-Identifier: GPL-2.0
/*
 * dpkg ownership, read from the database files rather than by running `dpkg -S` for each file: one
 * pass over <admindir>/info/<package>.list builds a hash index of every path (about 2,000 packages and
 * 200,000 paths on a server: tens of milliseconds, once), after which a lookup costs a hash probe.
 */
#include "pkg.h"

#include "policy-internal.h" /* the arena */
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>

struct dpkg_pkg {
	char *name; /* without ":arch" */
	char *version, *maintainer, *origin;
};

struct path_entry {
	const char *path; /* NULL: empty slot */
	uint32_t hash;
	uint32_t pkg;
};

struct embargo_pkg_db {
	struct arena *arena;
	struct dpkg_pkg *pkgs;
	size_t n_pkgs, pkgs_cap;
	struct path_entry *table; /* open addressing, at most half full */
	size_t cap, n;
};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int table_put(struct embargo_pkg_db *db, const char *path, uint32_t hash, uint32_t pkg)
{
	if (2 * (db->n + 1) > db->cap) {
		size_t cap = db->cap ? 2 * db->cap : 4096;
		struct path_entry *t = calloc(cap, sizeof(*t));

		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < db->cap; i++) {
			size_t j = db->table[i].hash & (cap - 1);

			if (!db->table[i].path)
				continue;
			while (t[j].path)
				j = (j + 1) & (cap - 1);
			t[j] = db->table[i];
		}
		free(db->table);
		db->table = t;
		db->cap = cap;
	}
	for (size_t j = hash & (db->cap - 1);; j = (j + 1) & (db->cap - 1))
		if (!db->table[j].path) {
			db->table[j] = (struct path_entry){ .path = path, .hash = hash, .pkg = pkg };
			db->n++;
			return 0;
		}
}

/* Value of "Field: value" when line is that field, else NULL. */
static const char *field(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	return line + strspn(line, " \t");
}

/* Version, Maintainer and Origin of a package named name (no ":arch") from the status file. */
struct status_entry {
	char *name, *version, *maintainer, *origin;
};

static void status_clear(struct status_entry *s)
{
	free(s->name);
	free(s->version);
	free(s->maintainer);
	free(s->origin);
	*s = (struct status_entry){ 0 };
}

static void status_free(struct status_entry *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		status_clear(&s[i]);
	free(s);
}

static int cmp_status(const void *a, const void *b)
{
	return strcmp(((const struct status_entry *)a)->name, ((const struct status_entry *)b)->name);
}

/* Paragraphs of <admindir>/status, sorted by package name. A missing file is an empty database. */
static int read_status(const char *admindir, struct status_entry **ret, size_t *ret_n)
{
	_cleanup_free_ char *path = NULL, *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	struct status_entry *v = NULL, cur = { 0 };
	size_t n = 0, cap = 0, size = 0;
	ssize_t len;
	int r = 0;

	if (asprintf(&path, "%s/status", admindir) < 0)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			return -errno;
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	/* One more round with an empty line ends the last paragraph. */
	for (bool end = false; !end && r == 0;) {
		const char *val;
		char **dst = NULL;

		len = getline(&line, &size, f);
		if (len < 0) {
			end = true;
			len = 0;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0) {
			if (!cur.name) {
				status_clear(&cur);
				continue;
			}
			if (n == cap) {
				size_t c = cap ? 2 * cap : 256;
				struct status_entry *g = reallocarray(v, c, sizeof(*v));

				if (!g) {
					r = -ENOMEM;
					break;
				}
				v = g;
				cap = c;
			}
			v[n++] = cur;
			cur = (struct status_entry){ 0 };
			continue;
		}
		if ((val = field(line, "Package")))
			dst = &cur.name;
		else if ((val = field(line, "Version")))
			dst = &cur.version;
		else if ((val = field(line, "Maintainer")))
			dst = &cur.maintainer;
		else if ((val = field(line, "Origin")))
			dst = &cur.origin;
		if (dst && !*dst) {
			*dst = strdup(val);
			if (!*dst)
				r = -ENOMEM;
		}
	}
	status_clear(&cur);
	if (r < 0) {
		status_free(v, n);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_status);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* One <name>.list file: its package, then every path it lists. */
static int read_list(struct embargo_pkg_db *db, int dirfd, const char *file, const struct status_entry *st,
		     size_t n_st)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t size = 0, base = strlen(file) - strlen(".list"), arch = strcspn(file, ":");
	struct status_entry key, *s;
	struct dpkg_pkg *p;
	ssize_t len;
	uint32_t idx;
	int fd, r;

	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	if (db->n_pkgs == db->pkgs_cap) {
		size_t c = db->pkgs_cap ? 2 * db->pkgs_cap : 256;

		p = reallocarray(db->pkgs, c, sizeof(*p));
		if (!p)
			return -ENOMEM;
		db->pkgs = p;
		db->pkgs_cap = c;
	}
	p = &db->pkgs[db->n_pkgs];
	*p = (struct dpkg_pkg){ .name = arena_strndup(db->arena, file, arch < base ? arch : base) };
	if (!p->name)
		return -ENOMEM;
	key.name = p->name;
	s = n_st ? bsearch(&key, st, n_st, sizeof(*st), cmp_status) : NULL;
	if (s) {
		/* Strings of the status entry live as long as the database: copied into the arena. */
		p->version = s->version ? arena_strndup(db->arena, s->version, strlen(s->version)) : NULL;
		p->maintainer =
			s->maintainer ? arena_strndup(db->arena, s->maintainer, strlen(s->maintainer)) : NULL;
		p->origin = s->origin ? arena_strndup(db->arena, s->origin, strlen(s->origin)) : NULL;
	}
	idx = (uint32_t)db->n_pkgs++;
	while ((len = getline(&line, &size, f)) > 0) {
		char *path;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		/* "/." is dpkg's name for the root of every package. */
		if (len == 0 || strcmp(line, "/.") == 0)
			continue;
		path = arena_strndup(db->arena, line, (size_t)len);
		if (!path)
			return -ENOMEM;
		r = table_put(db, path, hash_str(path), idx);
		if (r < 0)
			return r;
	}
	return ferror(f) ? -EIO : 0;
}

int embargo_pkg_db_open(const char *admindir, struct embargo_pkg_db **ret)
{
	_cleanup_(embargo_pkg_db_freep) struct embargo_pkg_db *db = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ char *info = NULL;
	struct status_entry *st = NULL;
	size_t n_st = 0;
	int fd, r;

	if (!ret)
		return -EINVAL;
	if (!admindir)
		admindir = EMBARGO_DPKG_ADMINDIR;
	if (asprintf(&info, "%s/info", admindir) < 0)
		return -ENOMEM;
	fd = open(info, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->arena = arena_new();
	if (!db->arena)
		return -ENOMEM;
	r = read_status(admindir, &st, &n_st);
	if (r < 0)
		return r;
	for (;;) {
		struct dirent *de;
		size_t len;

		errno = 0;
		de = readdir(d);
		if (!de) {
			r = -errno;
			break;
		}
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= strlen(".list") ||
		    strcmp(de->d_name + len - 5, ".list") != 0)
			continue;
		r = read_list(db, dirfd(d), de->d_name, st, n_st);
		/* A package removed while we read is simply not there. */
		if (r == -ENOENT)
			r = 0;
		if (r < 0)
			break;
	}
	status_free(st, n_st);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(db);
	return 0;
}

void embargo_pkg_db_free(struct embargo_pkg_db *db)
{
	if (!db)
		return;
	arena_free(db->arena);
	free(db->pkgs);
	free(db->table);
	free(db);
}

size_t embargo_pkg_db_size(const struct embargo_pkg_db *db)
{
	return db ? db->n : 0;
}

static char *sdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int add_pkg(const struct dpkg_pkg *p, struct embargo_package **pkgs, size_t *n)
{
	struct embargo_package *v, *e;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*pkgs)[i].manager, "dpkg") == 0 && strcmp((*pkgs)[i].name, p->name) == 0)
			return 0;
	v = reallocarray(*pkgs, *n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*pkgs = v;
	e = &v[*n];
	*e = (struct embargo_package){ .manager = strdup("dpkg"),
				       .name = strdup(p->name),
				       .version = sdup(p->version),
				       .maintainer = sdup(p->maintainer),
				       .vendor = sdup(p->origin) };
	if (!e->manager || !e->name || (p->version && !e->version) || (p->maintainer && !e->maintainer) ||
	    (p->origin && !e->vendor)) {
		embargo_package_free(e);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* Appends to idx (up to max, counting all in *n) the packages listing exactly path, each once. */
static void find_one(const struct embargo_pkg_db *db, const char *path, uint32_t *idx, size_t max, size_t *n)
{
	uint32_t h = hash_str(path);

	if (!db->cap)
		return;
	for (size_t j = h & (db->cap - 1); db->table[j].path; j = (j + 1) & (db->cap - 1)) {
		bool seen = false;

		if (db->table[j].hash != h || strcmp(db->table[j].path, path) != 0)
			continue;
		for (size_t k = 0; k < *n && k < max; k++)
			seen = seen || idx[k] == db->table[j].pkg;
		if (seen)
			continue;
		if (*n < max)
			idx[*n] = db->table[j].pkg;
		(*n)++;
	}
}

size_t embargo_pkg_db_find(const struct embargo_pkg_db *db, const char *path, uint32_t *idx, size_t max)
{
	static const char *const merged[] = { "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/" };
	char alt[4096];
	size_t n = 0;

	if (!db || !path)
		return 0;
	find_one(db, path, idx, max, &n);
	/* Merged /usr: /bin is /usr/bin, and a package may list either name. */
	for (size_t i = 0; i < ARRAY_SIZE(merged); i++) {
		size_t k = strlen(merged[i]);

		if (strncmp(path, merged[i], k) == 0)
			snprintf(alt, sizeof(alt), "/usr%s", path);
		else if (strncmp(path, "/usr", 4) == 0 && strncmp(path + 4, merged[i], k) == 0)
			snprintf(alt, sizeof(alt), "%s", path + 4);
		else
			continue;
		find_one(db, alt, idx, max, &n);
		break;
	}
	return n;
}

size_t embargo_pkg_db_n_packages(const struct embargo_pkg_db *db)
{
	return db ? db->n_pkgs : 0;
}

int embargo_pkg_db_package(const struct embargo_pkg_db *db, size_t i, struct embargo_package *out)
{
	static char dpkg[] = "dpkg";

	if (!db || i >= db->n_pkgs)
		return -ENOENT;
	*out = (struct embargo_package){ .manager = dpkg,
					 .name = db->pkgs[i].name,
					 .version = db->pkgs[i].version,
					 .maintainer = db->pkgs[i].maintainer,
					 .vendor = db->pkgs[i].origin };
	return 0;
}

int embargo_pkg_db_lookup(const struct embargo_pkg_db *db, const char *path, struct embargo_package **pkgs,
			  size_t *n)
{
	uint32_t idx[64];
	size_t k;

	if (!db || !path || !pkgs || !n)
		return -EINVAL;
	k = embargo_pkg_db_find(db, path, idx, ARRAY_SIZE(idx));
	/* More than 64 packages listing one path: a diverted or shared directory, not a file's owner. */
	for (size_t i = 0; i < k && i < ARRAY_SIZE(idx); i++) {
		int r = add_pkg(&db->pkgs[idx[i]], pkgs, n);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Whether one <package>.md5sums file (dirfd's file) lists a file with this MD5 (lowercase hex). */
static int md5sums_lists(int dirfd, const char *file, const char *hex)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t size = 0, n = strlen(hex);
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return -errno;
	}
	while (getline(&line, &size, f) > 0)
		if (strncmp(line, hex, n) == 0 && (line[n] == ' ' || line[n] == '\t'))
			return 1;
	return 0;
}

int embargo_dpkg_md5_owners(const char *admindir, const uint8_t md5[MD5_LEN], struct embargo_package **pkgs,
			    size_t *n)
{
	_cleanup_free_ char *info = NULL;
	struct status_entry *st = NULL;
	char hex[2 * MD5_LEN + 1];
	size_t n_st = 0;
	struct dirent *e;
	DIR *dir;
	int r;

	if (!admindir)
		admindir = EMBARGO_DPKG_ADMINDIR;
	if (asprintf(&info, "%s/info", admindir) < 0)
		return -ENOMEM;
	dir = opendir(info);
	if (!dir)
		return -errno;
	r = read_status(admindir, &st, &n_st);
	if (r < 0) {
		closedir(dir);
		return r;
	}
	hex_encode(md5, MD5_LEN, hex);
	while (r >= 0 && (e = readdir(dir))) {
		size_t len = strlen(e->d_name), suffix = strlen(".md5sums");
		char name[256];
		struct status_entry key = { .name = name }, *s;
		struct dpkg_pkg p = { .name = name };

		if (len <= suffix || strcmp(e->d_name + len - suffix, ".md5sums") != 0)
			continue;
		if (md5sums_lists(dirfd(dir), e->d_name, hex) <= 0)
			continue;
		/* "<package>[:<arch>].md5sums" */
		len -= suffix;
		if (strcspn(e->d_name, ":") < len)
			len = strcspn(e->d_name, ":");
		snprintf(name, sizeof(name), "%.*s", (int)len, e->d_name);
		s = n_st ? bsearch(&key, st, n_st, sizeof(*st), cmp_status) : NULL;
		if (s)
			p = (struct dpkg_pkg){ .name = name,
					       .version = s->version,
					       .maintainer = s->maintainer,
					       .origin = s->origin };
		r = add_pkg(&p, pkgs, n);
	}
	closedir(dir);
	status_free(st, n_st);
	return r < 0 ? r : 0;
}
