// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel layer (see bpf.h): embargo.bpf.c's skeleton, its maps and its pins in bpffs. Which tier to
 * load, and whether it works, is decided in tier.c.
 */
#include "bpf.h"
#include "probe.h"
#include "verdict.h"
#include "log.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/stat.h>

#include "embargo.skel.h"

#define VERDICT_CACHE_ENTRIES 65536

struct bpf_state {
	struct embargo_bpf *skel;
	size_t digest_capacity;
	bool digest_prealloc;
	bool pinned;	   /* links and maps are pinned in bpffs */
	char pins[16][64]; /* their names under EMBARGO_PIN_DIR */
	size_t n_pins;
	bool took_over;	       /* a previous run's programs were still attached: replaced without a gap */
	bool takeover_pending; /* ... and our pins still wait as "pending-NAME" (bpf_takeover) */
};

/* The last lines libbpf printed: why a load failed, for the tier reason. */
static char libbpf_last[3][256];
static unsigned libbpf_nlast;

bool bpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	va_list aq;
	size_t n;

	if (bpf_verbose) {
		/* Verifier logs are long and multi-line: raw to stderr, not through the journal. */
		va_copy(aq, ap);
		vfprintf(stderr, fmt, aq);
		va_end(aq);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (strncmp(line, "libbpf:", 7) == 0) {
		snprintf(libbpf_last[libbpf_nlast % 3], sizeof(libbpf_last[0]), "%s", line);
		libbpf_nlast++;
	}
	return 0;
}

void bpf_setup_logging(void)
{
	libbpf_set_print(libbpf_print);
}

static const char *libbpf_reason(char *buf, size_t size)
{
	/* The first "failed" line is the cause; the verifier log after it is for --verbose. */
	buf[0] = '\0';
	for (unsigned i = libbpf_nlast > 3 ? libbpf_nlast - 3 : 0; i < libbpf_nlast; i++) {
		const char *l = libbpf_last[i % 3];

		if (strstr(l, "failed") || strstr(l, "error")) {
			snprintf(buf, size, "%s", l);
			break;
		}
	}
	return buf;
}

static bool is_lsm(uint8_t tier)
{
	return tier == EMBARGO_TIER_LSM_HASH || tier == EMBARGO_TIER_LSM;
}

/* execveat(AT_EXECVE_CHECK) (6.14 and later): where the kernel has no such flag, nothing to attach. */
static bool have_execve_check(void)
{
	return embargo_probe_member_known("linux_binprm", "is_check") > 0;
}

/* file_post_open (6.9 and later): where an interpreter's read-open can be hashed in the kernel. */
static bool have_post_open(uint8_t tier)
{
	return tier == EMBARGO_TIER_LSM_HASH && embargo_probe_func_known("bpf_lsm_file_post_open") > 0;
}

static void set_programs(struct embargo_bpf *skel, uint8_t tier, bool post_open)
{
	bool check = is_lsm(tier) && have_execve_check();

	bpf_program__set_autoload(skel->progs.exec_hash, tier == EMBARGO_TIER_LSM_HASH);
	bpf_program__set_autoload(skel->progs.mmap_hash, tier == EMBARGO_TIER_LSM_HASH);
	bpf_program__set_autoload(skel->progs.exec_cache, tier == EMBARGO_TIER_LSM);
	bpf_program__set_autoload(skel->progs.mmap_cache, tier == EMBARGO_TIER_LSM);
	bpf_program__set_autoload(skel->progs.module_hash, tier == EMBARGO_TIER_LSM_HASH);
	bpf_program__set_autoload(skel->progs.module_cache, tier == EMBARGO_TIER_LSM);
	bpf_program__set_autoload(skel->progs.file_open, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.post_open_hash, post_open);
	skel->rodata->have_post_open = post_open;
	bpf_program__set_autoload(skel->progs.mprotect, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.exec_check_hash, check && tier == EMBARGO_TIER_LSM_HASH);
	bpf_program__set_autoload(skel->progs.exec_check_cache, check && tier == EMBARGO_TIER_LSM);
	bpf_program__set_autoload(skel->progs.interp_exec, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.interp_fork, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.interp_exit, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.path_truncate, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.module_memory, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.exec_detect, !is_lsm(tier));
}

static int open_load(const struct bpf_options *o, bool post_open, struct embargo_bpf **ret, char *why,
		     size_t whysize)
{
	struct embargo_bpf *skel;
	struct stat exe;
	char reason[256];
	int r;

	libbpf_nlast = 0;
	skel = embargo_bpf__open();
	if (!skel)
		return fail(why, whysize, -errno, "opening the BPF object failed: %m");
	set_programs(skel, o->tier, post_open);
	skel->rodata->tier = o->tier;
	skel->rodata->have_d_path = o->d_path;
	/* Constant once loaded: embargo.conf is read once, at start (a reload reads policies only). */
	skel->rodata->deny_init_module = o->deny_init_module;
	skel->rodata->max_hash_size = o->max_hash_size;
	skel->rodata->deny_remote = o->deny_remote;
	skel->rodata->daemon_tgid = (uint32_t)getpid();
	if (stat("/proc/self/exe", &exe) == 0) {
		skel->rodata->daemon_exe_dev = kernel_dev(exe.st_dev);
		skel->rodata->daemon_exe_ino = exe.st_ino;
	}
	skel->data->global_mode = o->mode;
	skel->data->policy_gen = o->gen;
	bpf_map__set_max_entries(skel->maps.verdicts, VERDICT_CACHE_ENTRIES);
	bpf_map__set_max_entries(skel->maps.digests_even, (__u32)o->digest_capacity);
	bpf_map__set_max_entries(skel->maps.digests_odd, (__u32)o->digest_capacity);
	bpf_map__set_map_flags(skel->maps.digests_even, o->prealloc ? 0 : BPF_F_NO_PREALLOC);
	bpf_map__set_map_flags(skel->maps.digests_odd, o->prealloc ? 0 : BPF_F_NO_PREALLOC);
	skel->bss->classify_misses = o->classify_misses;

	r = embargo_bpf__load(skel);
	if (r < 0) {
		snprintf(why, whysize, "loading the programs failed: %s%s%s%s", strerror(-r),
			 r == -EPERM && is_lsm(o->tier) ? " (the kernel, or a sandbox around it, refuses BPF "
							  "LSM programs even to root)"
							: "",
			 libbpf_reason(reason, sizeof(reason))[0] ? ": " : "", reason);
		embargo_bpf__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

int bpf_load(const struct bpf_options *o, struct bpf_state **ret, char *why, size_t whysize)
{
	bool post_open = have_post_open(o->tier);
	struct embargo_bpf *skel;
	struct bpf_state *b;
	int r;

	r = open_load(o, post_open, &skel, why, whysize);
	/* A kernel with the hook that does not let it sleep: interpreters' reads are reported instead. */
	if (r < 0 && post_open)
		r = open_load(o, false, &skel, why, whysize);
	if (r < 0)
		return r;
	b = calloc(1, sizeof(*b));
	if (!b) {
		embargo_bpf__destroy(skel);
		return fail(why, whysize, -ENOMEM, "out of memory");
	}
	b->skel = skel;
	b->digest_capacity = o->digest_capacity;
	b->digest_prealloc = o->prealloc;
	*ret = b;
	return 0;
}

int bpf_probe_load(uint8_t tier, char *why, size_t whysize)
{
	struct embargo_bpf *skel = embargo_bpf__open();
	char reason[256];
	int r;

	if (!skel)
		return errno > 0 ? -errno : -ENOMEM;
	libbpf_nlast = 0;
	set_programs(skel, tier, have_post_open(tier));
	skel->rodata->tier = tier;
	r = embargo_bpf__load(skel);
	embargo_bpf__destroy(skel);
	if (r < 0)
		snprintf(why, whysize, "loading the programs failed: %s: %s", strerror(-r),
			 libbpf_reason(reason, sizeof(reason)));
	return r;
}

int bpf_attach(struct bpf_state *b, char *why, size_t whysize)
{
	char reason[256];
	int r = embargo_bpf__attach(b->skel);

	if (r < 0)
		snprintf(why, whysize, "attaching the programs failed: %s%s%s", strerror(-r),
			 libbpf_reason(reason, sizeof(reason))[0] ? ": " : "", reason);
	return r;
}

void bpf_destroy(struct bpf_state *b)
{
	if (!b)
		return;
	embargo_bpf__destroy(b->skel);
	free(b);
}

/*
 * Enforcement must outlive the daemon: every link (and the maps, for inspection with bpftool) is pinned
 * in bpffs, so the programs keep deciding with the policy and mode they have after a crash, and with
 * keep_enforcement_on_exit after a clean stop. A new daemon takes over without a gap: its programs are
 * attached first (for that moment both decide: the stricter wins), then each of its pins is renamed
 * over the old one, which releases the old link, and pins the old run left that this one does not
 * have (another tier) are removed.
 */
static const char *pin_name(const char *prog)
{
	/* The fanotify tier's exec program is its backstop; the name is what the documentation shows. */
	return strcmp(prog, "exec_detect") == 0 ? "exec-backstop" : prog;
}

/* bpffs refuses dots in names (reserved): the temporary pin is "pending-NAME". */
static int pin_one(const char *name, bool is_map, void *obj, char *why, size_t whysize)
{
	char tmp[PATH_MAX];
	int r;

	snprintf(tmp, sizeof(tmp), "%s/pending-%s%s", EMBARGO_PIN_DIR, is_map ? "map-" : "", name);
	(void)unlink(tmp);
	r = is_map ? bpf_map__pin(obj, tmp) : bpf_link__pin(obj, tmp);
	if (r < 0)
		return fail(why, whysize, r, "cannot pin %s: %s", tmp, strerror(-r));
	return 0;
}

static bool pinned_by_us(const struct bpf_state *b, const char *name)
{
	for (size_t i = 0; i < b->n_pins; i++)
		if (strcmp(b->pins[i], name) == 0)
			return true;
	return false;
}

/* Our pending pins replace the previous run's (the rename releases the old link); stale ones go. */
bool bpf_takeover(struct bpf_state *b)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	struct dirent *de;
	unsigned stale = 0;

	if (!b || !b->takeover_pending)
		return false;
	for (size_t i = 0; i < b->n_pins; i++) {
		snprintf(tmp, sizeof(tmp), "%s/pending-%s", EMBARGO_PIN_DIR, b->pins[i]);
		snprintf(final, sizeof(final), "%s/%s", EMBARGO_PIN_DIR, b->pins[i]);
		if (rename(tmp, final) < 0)
			log_warning("Cannot rename the pin %s to %s: %m", tmp, final);
	}
	_cleanup_closedir_ DIR *dir = opendir(EMBARGO_PIN_DIR);

	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || pinned_by_us(b, de->d_name))
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) == 0)
			stale++;
	}
	b->took_over = b->took_over || stale > 0;
	b->takeover_pending = false;
	return true;
}

/* A bpf_pin that failed half way: none of its pins may outlive the process. */
static void unpin_pending(struct bpf_state *b)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < b->n_pins; i++) {
		snprintf(path, sizeof(path), "%s/pending-%s", EMBARGO_PIN_DIR, b->pins[i]);
		(void)unlink(path);
	}
	b->n_pins = 0;
}

int bpf_pin(struct bpf_state *b, char *why, size_t whysize)
{
	const struct bpf_object_skeleton *sk = b->skel->skeleton;
	struct bpf_map *maps[] = { b->skel->maps.verdicts, b->skel->maps.digests_even,
				   b->skel->maps.digests_odd };
	struct statfs sfs;
	int r = 0;

	if (statfs(EMBARGO_BPFFS, &sfs) < 0 || sfs.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", EMBARGO_BPFFS, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
			return fail(why, whysize, -errno, "cannot mount bpffs at %s: %m", EMBARGO_BPFFS);
	}
	if (mkdir(EMBARGO_PIN_DIR, 0700) < 0 && errno != EEXIST)
		return fail(why, whysize, -errno, "cannot create %s: %m", EMBARGO_PIN_DIR);
	b->n_pins = 0;
	for (int i = 0; i < sk->prog_cnt && r == 0; i++) {
		struct bpf_link *l = *sk->progs[i].link;
		const char *name = pin_name(sk->progs[i].name);

		if (!l || b->n_pins == ARRAY_SIZE(b->pins))
			continue;
		r = pin_one(name, false, l, why, whysize);
		if (r == 0)
			snprintf(b->pins[b->n_pins++], sizeof(b->pins[0]), "%s", name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(maps) && b->n_pins < ARRAY_SIZE(b->pins) && r == 0; i++) {
		const char *name = bpf_map__name(maps[i]);

		r = pin_one(name, true, maps[i], why, whysize);
		if (r == 0)
			snprintf(b->pins[b->n_pins++], sizeof(b->pins[0]), "map-%s", name);
	}
	if (r < 0) {
		unpin_pending(b);
		return r;
	}
	b->pinned = true;
	b->takeover_pending = true;
	return 0;
}

/* Unpin what bpf_pin pinned: with no other reference left, the links detach. */
void bpf_unpin(struct bpf_state *b)
{
	char path[PATH_MAX];

	if (!b || !b->pinned)
		return;
	for (size_t i = 0; i < b->n_pins; i++) {
		snprintf(path, sizeof(path), "%s/%s", EMBARGO_PIN_DIR, b->pins[i]);
		(void)unlink(path);
	}
	(void)rmdir(EMBARGO_PIN_DIR);
	b->n_pins = 0;
	b->pinned = false;
}

bool bpf_pinned(const struct bpf_state *b)
{
	return b && b->pinned;
}

bool bpf_took_over(const struct bpf_state *b)
{
	return b && b->took_over;
}

/* Did a previous run leave programs attached (a crash, or keep_enforcement_on_exit)? */
bool bpf_previous_pins(void)
{
	_cleanup_closedir_ DIR *dir = opendir(EMBARGO_PIN_DIR);
	struct dirent *de;

	while (dir && (de = readdir(dir)))
		if (de->d_name[0] != '.' && strncmp(de->d_name, "pending-", 8) != 0)
			return true;
	return false;
}

static int fill_digests(int fd, const struct embargo_policy *p)
{
	_cleanup_free_ uint8_t *keys = NULL;
	_cleanup_free_ struct embargo_rule_ref *vals = NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 count;

	if (p->n_rules == 0)
		return 0;
	keys = malloc(p->n_rules * EMBARGO_SHA256_LEN);
	vals = calloc(p->n_rules, sizeof(*vals));
	if (!keys || !vals)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct embargo_rule *r = &p->rules[i];

		memcpy(keys + i * EMBARGO_SHA256_LEN, r->sha256, EMBARGO_SHA256_LEN);
		vals[i].rule_id = (__u32)i;
		vals[i].vendor_id = (__u16)r->vendor;
		vals[i].vendor_mode = p->vendors[r->vendor].mode;
	}
	count = (__u32)p->n_rules;
	if (bpf_map_update_batch(fd, keys, vals, &count, &opts) == 0)
		return 0;
	/* Kernels without batch support for hash maps: one by one. */
	for (size_t i = 0; i < p->n_rules; i++)
		if (bpf_map_update_elem(fd, keys + i * EMBARGO_SHA256_LEN, &vals[i], BPF_ANY) < 0)
			return -errno;
	return 0;
}

int bpf_fill_digests(struct bpf_state *b, uint32_t gen, const struct embargo_policy *p)
{
	return fill_digests(bpf_digests_fd(b, gen), p);
}

/* Every key of the map, then one batch delete (deleting while walking restarts the walk). */
static int clear_map(int fd, size_t key_size)
{
	_cleanup_free_ uint8_t *keys = NULL;
	size_t n = 0, cap = 0;
	uint8_t *prev = NULL;

	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *nk = realloc(keys, ncap * key_size);

			if (!nk)
				return -ENOMEM;
			keys = nk;
			cap = ncap;
			prev = n ? keys + (n - 1) * key_size : NULL;
		}
		if (bpf_map_get_next_key(fd, prev, keys + n * key_size) < 0) {
			if (errno == ENOENT)
				break;
			return -errno;
		}
		prev = keys + n * key_size;
		n++;
	}
	if (n == 0)
		return 0;
	__u32 count = (__u32)n;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (bpf_map_delete_batch(fd, keys, &count, &opts) == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) < 0 && errno != ENOENT)
			return -errno;
	return 0;
}

int bpf_refill_digests(struct bpf_state *b, uint32_t gen, const struct embargo_policy *p, char *why,
		       size_t whysize)
{
	int fd = bpf_digests_fd(b, gen), r;

	r = clear_map(fd, EMBARGO_SHA256_LEN);
	if (r < 0)
		return fail(why, whysize, r, "cannot empty the spare digest set: %s", strerror(-r));
	r = fill_digests(fd, p);
	if (r < 0)
		return fail(why, whysize, r, "cannot fill the spare digest set: %s", strerror(-r));
	return 0;
}

void bpf_carry_matches(struct bpf_state *b, const struct embargo_policy *old, uint32_t old_gen,
		       const struct embargo_policy *new, uint32_t gen)
{
	struct embargo_inode_key key, *prev = NULL;
	struct embargo_verdict v;
	int fd;

	if (!b || !old)
		return;
	b->skel->bss->carry_gen = gen;
	fd = bpf_map__fd(b->skel->maps.verdicts);
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		const struct embargo_rule *r;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) < 0 || v.gen != old_gen ||
		    v.verdict != EMBARGO_VERDICT_MATCH)
			continue;
		if (v.rule_id & EMBARGO_RULE_IDENT) {
			/* An identity match stays while its rule does: no free run after a reload. */
			const struct embargo_ident_rule *oir = embargo_rule_id_ident(old, v.rule_id);
			const struct embargo_ident_rule *ir = embargo_policy_same_ident_rule(new, old, oir);

			if (!ir)
				continue;
			v.rule_id = EMBARGO_RULE_IDENT | (uint32_t)(ir - new->ident_rules);
			v.vendor_id = (uint16_t)ir->vendor;
			v.vendor_mode = new->vendors[ir->vendor].mode;
			v.gen = gen;
			(void)bpf_map_update_elem(fd, &key, &v, BPF_EXIST);
			continue;
		}
		if (v.rule_id >= old->n_rules)
			continue;
		r = embargo_policy_lookup(new, old->rules[v.rule_id].sha256);
		if (!r)
			continue;
		v.gen = gen;
		v.rule_id = (uint32_t)(r - new->rules);
		v.vendor_id = (uint16_t)r->vendor;
		v.vendor_mode = new->vendors[r->vendor].mode;
		/* BPF_EXIST: a write-open may have dropped it meanwhile; then it stays dropped. */
		(void)bpf_map_update_elem(fd, &key, &v, BPF_EXIST);
	}
}

int bpf_set_interpreters(struct bpf_state *b, const struct embargo_interp_set *set)
{
	int dfd, ifd, r;
	__u8 one = 1;

	if (!b || !is_lsm(b->skel->rodata->tier))
		return 0;
	dfd = bpf_map__fd(b->skel->maps.interp_digests);
	ifd = bpf_map__fd(b->skel->maps.interp_inodes);
	/* Inodes stay: those of copies the kernel found are valid while their digest is an interpreter's. */
	r = clear_map(dfd, EMBARGO_SHA256_LEN);
	if (r < 0)
		return r;
	for (size_t i = 0; i < set->n; i++) {
		const struct embargo_interp *e = &set->v[i];
		struct embargo_inode_key key = { .dev = kernel_dev(e->dev), .ino = e->ino };
		struct embargo_interp_stamp st = { .ctime_sec = e->ctime_sec, .ctime_nsec = e->ctime_nsec };

		if (bpf_map_update_elem(dfd, e->sha256, &one, BPF_ANY) < 0 ||
		    bpf_map_update_elem(ifd, &key, &st, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

int bpf_tag_interpreter_task(struct bpf_state *b, uint32_t tgid)
{
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.interp_tasks), &tgid, &one, BPF_ANY) < 0)
		return -errno;
	return 0;
}

void bpf_switch_gen(struct bpf_state *b, uint32_t gen, bool classify_misses)
{
	if (!b)
		return;
	b->skel->bss->classify_misses = classify_misses;
	/* The switch itself: from this store on, every new decision uses the new set. */
	__atomic_store_n(&b->skel->data->policy_gen, gen, __ATOMIC_RELEASE);
}

void bpf_set_mode(struct bpf_state *b, uint8_t mode)
{
	if (b)
		b->skel->data->global_mode = mode;
}

void bpf_read_stats(const struct bpf_state *b, uint64_t out[EMBARGO_STAT_MAX])
{
	memset(out, 0, sizeof(uint64_t) * EMBARGO_STAT_MAX);
	if (!b)
		return;
	for (unsigned s = 0; s < EMBARGO_STAT_SLOTS; s++)
		for (unsigned i = 0; i < EMBARGO_STAT_MAX; i++)
			out[i] += b->skel->bss->stats[s].v[i];
}

size_t bpf_digest_capacity(const struct bpf_state *b)
{
	return b ? b->digest_capacity : 0;
}

bool bpf_digest_prealloc(const struct bpf_state *b)
{
	return b && b->digest_prealloc;
}

struct bpf_object *bpf_object_of(const struct bpf_state *b)
{
	return b ? b->skel->obj : NULL;
}

int bpf_verdicts_fd(const struct bpf_state *b)
{
	return bpf_map__fd(b->skel->maps.verdicts);
}

int bpf_dedup_fd(const struct bpf_state *b)
{
	return bpf_map__fd(b->skel->maps.dedup);
}

int bpf_digests_fd(const struct bpf_state *b, uint32_t gen)
{
	return bpf_map__fd(gen & 1 ? b->skel->maps.digests_odd : b->skel->maps.digests_even);
}

int bpf_ringbuf_fd(const struct bpf_state *b)
{
	return bpf_map__fd(b->skel->maps.events);
}
