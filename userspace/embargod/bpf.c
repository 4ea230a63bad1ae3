// SPDX-License-Identifier: GPL-2.0
/*
 * Loading the kernel side: choose the best tier the kernel really offers by trying it (probe results
 * only order the attempts), fill the deny-digest map, and prove in-kernel hashing works before relying
 * on it.
 */
#include "daemon.h"
#include "event.h"
#include "log.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/fanotify.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "embargo.skel.h"

#define VERDICT_CACHE_ENTRIES 65536
#define LEARNED_DIGESTS 65536
#define DIGEST_SET_MIN 65536
#define DIGEST_SET_MAX (64u << 20)
#define EMBARGO_BPFFS "/sys/fs/bpf"
#define EMBARGO_PIN_DIR EMBARGO_BPFFS "/embargo"

static int pin_all(struct daemon *d, struct embargo_bpf *skel, uint8_t tier, char *why, size_t whysize);

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

static void set_programs(struct embargo_bpf *skel, uint8_t tier)
{
	bpf_program__set_autoload(skel->progs.exec_hash, tier == EMBARGO_TIER_LSM_HASH);
	bpf_program__set_autoload(skel->progs.mmap_hash, tier == EMBARGO_TIER_LSM_HASH);
	bpf_program__set_autoload(skel->progs.exec_cache, tier == EMBARGO_TIER_LSM);
	bpf_program__set_autoload(skel->progs.mmap_cache, tier == EMBARGO_TIER_LSM);
	bpf_program__set_autoload(skel->progs.module_hash, tier == EMBARGO_TIER_LSM_HASH);
	bpf_program__set_autoload(skel->progs.module_cache, tier == EMBARGO_TIER_LSM);
	bpf_program__set_autoload(skel->progs.file_open, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.module_memory, is_lsm(tier));
	bpf_program__set_autoload(skel->progs.exec_detect, !is_lsm(tier));
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

static void sum_stats(const struct embargo_bpf *skel, uint64_t out[EMBARGO_STAT_MAX])
{
	memset(out, 0, sizeof(uint64_t) * EMBARGO_STAT_MAX);
	for (unsigned s = 0; s < EMBARGO_STAT_SLOTS; s++)
		for (unsigned i = 0; i < EMBARGO_STAT_MAX; i++)
			out[i] += skel->bss->stats[s].v[i];
}

/*
 * Map a small file for execution and check that the kernel hashed it and cached it as clean: proof that
 * bpf_ima_file_hash works here and answers SHA-256, not merely that the program loaded.
 */
static int selftest_hash(struct daemon *d, struct embargo_bpf *skel, char *why, size_t whysize)
{
	static const char content[] = "embargo in-kernel hashing self-test\n";
	uint64_t before[EMBARGO_STAT_MAX], after[EMBARGO_STAT_MAX];
	struct embargo_inode_key key = {};
	struct embargo_verdict v = {};
	char path[4096];
	struct stat st;
	void *m;
	int r;

	snprintf(path, sizeof(path), "%s/.selftest", d->runtime_dir);
	if (mkdir(d->runtime_dir, 0755) < 0 && errno != EEXIST)
		return snprintf(why, whysize, "cannot create %s: %m", d->runtime_dir), -errno;
	(void)unlink(path);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return snprintf(why, whysize, "cannot create %s: %m", path), -errno;
	r = write_all(fd, content, sizeof(content) - 1);
	/* Map through a read-only descriptor with the writer closed: an open writer keeps verdicts out of
	 * the cache. */
	_cleanup_close_ int ro = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	(void)unlink(path);
	closep(&fd);
	if (r < 0)
		return snprintf(why, whysize, "cannot write %s: %s", path, strerror(-r)), r;
	if (ro < 0)
		return snprintf(why, whysize, "cannot reopen %s: %m", path), -errno;
	if (fstat(ro, &st) < 0)
		return snprintf(why, whysize, "fstat: %m"), -errno;

	sum_stats(skel, before);
	m = mmap(NULL, sizeof(content) - 1, PROT_READ | PROT_EXEC, MAP_PRIVATE, ro, 0);
	if (m == MAP_FAILED && errno != EPERM)
		return snprintf(why, whysize, "self-test mmap failed: %m"), -errno;
	if (m != MAP_FAILED)
		munmap(m, sizeof(content) - 1);
	sum_stats(skel, after);

	key.dev = kernel_dev(st.st_dev);
	key.ino = st.st_ino;
	if (after[EMBARGO_STAT_HASH_ERRORS] > before[EMBARGO_STAT_HASH_ERRORS])
		return snprintf(why, whysize,
				"bpf_ima_file_hash did not return a SHA-256 digest (is ima_hash= set to "
				"another "
				"algorithm?)"),
		       -EOPNOTSUPP;
	if (after[EMBARGO_STAT_KERNEL_HASHES] == before[EMBARGO_STAT_KERNEL_HASHES])
		return snprintf(why, whysize, "the mmap_file program did not run on an executable mapping"),
		       -EOPNOTSUPP;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.verdicts), &key, &v) < 0 ||
	    v.verdict != EMBARGO_VERDICT_CLEAN)
		return snprintf(why, whysize, "the kernel hashed the self-test file but cached no verdict"),
		       -EOPNOTSUPP;
	(void)bpf_map_delete_elem(bpf_map__fd(skel->maps.verdicts), &key);
	return 0;
}

/* Digests one set must hold for policy p: its rules and room for what identity rules teach. */
static size_t digests_needed(const struct embargo_policy *p)
{
	return p->n_rules + (p->n_ident_rules ? LEARNED_DIGESTS : 0);
}

/*
 * Each of the two digest sets has room for twice what the policy needs (at least DIGEST_SET_MIN), so a
 * reload can grow the policy without reloading the programs. Not preallocated where the kernel allows it
 * (6.1 and later for sleepable programs): only the bucket array is paid for up front, entries as used.
 */
static void size_digest_sets(struct daemon *d, struct embargo_bpf *skel, uint8_t tier, bool prealloc)
{
	size_t cap = 1;

	if (tier == EMBARGO_TIER_LSM_HASH) {
		cap = prealloc ? digests_needed(d->policy) + digests_needed(d->policy) / 4 + 1024
			       : MAX(2 * digests_needed(d->policy), (size_t)DIGEST_SET_MIN);
		cap = MIN(cap, (size_t)DIGEST_SET_MAX);
	}
	d->digest_capacity = cap;
	bpf_map__set_max_entries(skel->maps.digests_even, (__u32)cap);
	bpf_map__set_max_entries(skel->maps.digests_odd, (__u32)cap);
	bpf_map__set_map_flags(skel->maps.digests_even, prealloc ? 0 : BPF_F_NO_PREALLOC);
	bpf_map__set_map_flags(skel->maps.digests_odd, prealloc ? 0 : BPF_F_NO_PREALLOC);
}

static int try_tier(struct daemon *d, uint8_t tier, bool d_path, bool prealloc, char *why, size_t whysize)
{
	struct embargo_bpf *skel;
	char reason[256];
	int r;

	libbpf_nlast = 0;
	skel = embargo_bpf__open();
	if (!skel)
		return snprintf(why, whysize, "opening the BPF object failed: %m"), -errno;
	set_programs(skel, tier);
	skel->rodata->tier = tier;
	skel->rodata->have_d_path = d_path;
	skel->data->global_mode = d->mode;
	skel->data->policy_gen = d->gen;
	bpf_map__set_max_entries(skel->maps.verdicts, VERDICT_CACHE_ENTRIES);
	/* Only the hashing tier looks digests up in the kernel. */
	size_digest_sets(d, skel, tier, prealloc);
	skel->bss->classify_misses = d->policy->n_ident_rules > 0;
	skel->bss->deny_init_module = d->deny_init_module;

	r = embargo_bpf__load(skel);
	if (r < 0) {
		snprintf(why, whysize, "loading the programs failed: %s%s%s%s", strerror(-r),
			 r == -EPERM && is_lsm(tier) ? " (the kernel, or a sandbox around it, refuses BPF "
						       "LSM programs even to root)"
						     : "",
			 libbpf_reason(reason, sizeof(reason))[0] ? ": " : "", reason);
		/* Before 6.1 sleepable programs may use preallocated hash maps only. */
		if (tier == EMBARGO_TIER_LSM_HASH && !prealloc && r != -EPERM) {
			embargo_bpf__destroy(skel);
			return try_tier(d, tier, d_path, true, why, whysize);
		}
		goto fail;
	}
	d->digest_prealloc = prealloc;
	if (tier == EMBARGO_TIER_LSM_HASH) {
		uint64_t t0 = now_ns();

		r = fill_digests(bpf_map__fd(d->gen & 1 ? skel->maps.digests_odd : skel->maps.digests_even),
				 d->policy);
		if (r < 0) {
			snprintf(why, whysize, "filling the digest map failed: %s", strerror(-r));
			goto fail;
		}
		log_info("Kernel digest map filled in %.3f s (%zu digests)", (double)(now_ns() - t0) / 1e9,
			 d->policy->n_rules);
	}
	r = embargo_bpf__attach(skel);
	if (r < 0) {
		snprintf(why, whysize, "attaching the programs failed: %s%s%s", strerror(-r),
			 libbpf_reason(reason, sizeof(reason))[0] ? ": " : "", reason);
		goto fail;
	}
	if (tier == EMBARGO_TIER_LSM_HASH) {
		r = selftest_hash(d, skel, why, whysize);
		if (r < 0)
			goto fail;
	}
	d->skel = skel;
	if (tier == EMBARGO_TIER_FANOTIFY) {
		r = fanotify_start(d, why, whysize);
		if (r < 0) {
			d->skel = NULL;
			goto fail;
		}
	}
	/* Enforcing without persistence beats not enforcing: say so and go on. */
	if (tier != EMBARGO_TIER_DETECT && pin_all(d, skel, tier, why, whysize) < 0)
		log_warning("Nothing pinned, so enforcement will end with this process: %s", why);
	return 0;
fail:
	embargo_bpf__destroy(skel);
	return r;
}

/*
 * A better tier than the one asked for with --tier: say whether it would work, by loading its programs
 * (never attaching them) or opening a fanotify group, so status and doctor can tell the administrator.
 */
static void probe_only(struct daemon *d, uint8_t tier)
{
	char reason[256];
	int r, fd;

	if (tier == EMBARGO_TIER_FANOTIFY) {
		fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		embargo_probe_add(&d->probe, embargo_tier_name(tier), fd >= 0, "%s (not used: --tier %s)",
				  fd >= 0 ? "fanotify permission events available" : strerror(errno),
				  embargo_tier_name(d->tier_request));
		return;
	}
	struct embargo_bpf *skel = embargo_bpf__open();

	if (!skel)
		return;
	libbpf_nlast = 0;
	set_programs(skel, tier);
	skel->rodata->tier = tier;
	r = embargo_bpf__load(skel);
	embargo_bpf__destroy(skel);
	if (r == 0)
		embargo_probe_add(&d->probe, embargo_tier_name(tier), true,
				  "its programs load (not used: --tier %s)",
				  embargo_tier_name(d->tier_request));
	else
		embargo_probe_add(&d->probe, embargo_tier_name(tier), false,
				  "loading the programs failed: %s: %s (not used: --tier %s)", strerror(-r),
				  libbpf_reason(reason, sizeof(reason)), embargo_tier_name(d->tier_request));
}

int bpf_start(struct daemon *d)
{
	static const uint8_t order[] = { EMBARGO_TIER_LSM_HASH, EMBARGO_TIER_LSM, EMBARGO_TIER_FANOTIFY,
					 EMBARGO_TIER_DETECT };
	bool requested_seen = false;
	char why[768];
	size_t off = 0;
	int r = -ENODEV;

	libbpf_set_print(libbpf_print);
	d->tier_reason[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		uint8_t tier = order[i];

		if (d->tier_request != TIER_AUTO && tier != d->tier_request) {
			if (!requested_seen)
				probe_only(d, tier);
			continue;
		}
		requested_seen = true;
		if (is_lsm(tier) && !d->probe.bpf_lsm_active && d->tier_request == TIER_AUTO) {
			embargo_probe_add(&d->probe, embargo_tier_name(tier), false,
					  "skipped: BPF LSM is not active");
			continue;
		}
		why[0] = '\0';
		r = try_tier(d, tier, true, false, why, sizeof(why));
		if (r < 0 && is_lsm(tier)) {
			/* Before 5.11 LSM programs may not call bpf_d_path: enforce without it. */
			char why2[768];

			if (try_tier(d, tier, false, false, why2, sizeof(why2)) == 0) {
				r = 0;
				d->no_d_path = true;
				snprintf(why2, sizeof(why2),
					 "loaded without bpf_d_path (%s): paths come from /proc", why);
				snprintf(why, sizeof(why), "%s", why2);
			}
		}
		embargo_probe_add(&d->probe, embargo_tier_name(tier), r == 0, "%s",
				  r == 0 && !d->no_d_path ? "loaded and attached" : why);
		if (r == 0) {
			d->tier = tier;
			break;
		}
		log_warning("Tier %s unavailable: %s", embargo_tier_name(tier), why);
		off += (size_t)snprintf(d->tier_reason + off,
					off < sizeof(d->tier_reason) ? sizeof(d->tier_reason) - off : 0,
					"%s%s: %s", off ? "; " : "", embargo_tier_name(tier), why);
		if (off >= sizeof(d->tier_reason))
			off = sizeof(d->tier_reason) - 1;
	}
	if (r < 0)
		return r;

	/* Why this tier and not a better one, in one sentence for status and the journal. */
	char sugg[300], failed[sizeof(d->tier_reason)];

	snprintf(failed, sizeof(failed), "%s", d->tier_reason);
	embargo_probe_lsm_suggestion(&d->probe, sugg, sizeof(sugg));
	if (d->tier == EMBARGO_TIER_LSM_HASH)
		snprintf(d->tier_reason, sizeof(d->tier_reason),
			 "BPF LSM with in-kernel SHA-256 (bpf_ima_file_hash): every exec and executable "
			 "mapping is "
			 "decided in the kernel before it runs, also for a copy made a moment before");
	else if (d->tier_request != TIER_AUTO)
		snprintf(d->tier_reason, sizeof(d->tier_reason), "tier %s requested with --tier",
			 embargo_tier_name(d->tier));
	else if (!d->probe.bpf_lsm_active)
		snprintf(d->tier_reason, sizeof(d->tier_reason),
			 "bpf is not in the active LSM list (%s); boot with %s to enforce in the kernel%s%s",
			 d->probe.lsm_list[0] ? d->probe.lsm_list : "unknown", sugg, failed[0] ? "; " : "",
			 failed);
	else
		snprintf(d->tier_reason, sizeof(d->tier_reason), "the better tiers did not load: %s", failed);
	return 0;
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
		return snprintf(why, whysize, "cannot pin %s: %s", tmp, strerror(-r)), r;
	return 0;
}

static bool pinned_by_us(const struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->n_pins; i++)
		if (strcmp(d->pins[i], name) == 0)
			return true;
	return false;
}

/* Our pending pins replace the previous run's (the rename releases the old link); stale ones go. */
static void takeover(struct daemon *d)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	struct dirent *de;
	unsigned stale = 0;

	for (size_t i = 0; i < d->n_pins; i++) {
		snprintf(tmp, sizeof(tmp), "%s/pending-%s", EMBARGO_PIN_DIR, d->pins[i]);
		snprintf(final, sizeof(final), "%s/%s", EMBARGO_PIN_DIR, d->pins[i]);
		if (rename(tmp, final) < 0)
			log_warning("Cannot rename the pin %s to %s: %m", tmp, final);
	}
	_cleanup_closedir_ DIR *dir = opendir(EMBARGO_PIN_DIR);

	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || pinned_by_us(d, de->d_name))
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) == 0)
			stale++;
	}
	d->took_over = d->took_over || stale > 0;
	d->takeover_pending = false;
}

void bpf_complete_takeover(struct daemon *d)
{
	if (!d->takeover_pending)
		return;
	takeover(d);
	log_notice("The previous embargod's kernel programs are released: this one's verdict cache is warm");
}

/* A pin_all that failed half way: none of its pins may outlive the process. */
static void unpin_pending(struct daemon *d)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < d->n_pins; i++) {
		snprintf(path, sizeof(path), "%s/pending-%s", EMBARGO_PIN_DIR, d->pins[i]);
		(void)unlink(path);
	}
	d->n_pins = 0;
}

static int pin_all(struct daemon *d, struct embargo_bpf *skel, uint8_t tier, char *why, size_t whysize)
{
	const struct bpf_object_skeleton *sk = skel->skeleton;
	struct bpf_map *maps[] = { skel->maps.verdicts, skel->maps.digests_even, skel->maps.digests_odd };
	struct statfs sfs;
	int r = 0;

	if (statfs(EMBARGO_BPFFS, &sfs) < 0 || sfs.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", EMBARGO_BPFFS, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
			return snprintf(why, whysize, "cannot mount bpffs at %s: %m", EMBARGO_BPFFS), -errno;
	}
	if (mkdir(EMBARGO_PIN_DIR, 0700) < 0 && errno != EEXIST)
		return snprintf(why, whysize, "cannot create %s: %m", EMBARGO_PIN_DIR), -errno;
	d->n_pins = 0;
	for (int i = 0; i < sk->prog_cnt && r == 0; i++) {
		struct bpf_link *l = *sk->progs[i].link;
		const char *name = pin_name(sk->progs[i].name);

		if (!l || d->n_pins == ARRAY_SIZE(d->pins))
			continue;
		r = pin_one(name, false, l, why, whysize);
		if (r == 0)
			snprintf(d->pins[d->n_pins++], sizeof(d->pins[0]), "%s", name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(maps) && d->n_pins < ARRAY_SIZE(d->pins) && r == 0; i++) {
		const char *name = bpf_map__name(maps[i]);

		r = pin_one(name, true, maps[i], why, whysize);
		if (r == 0)
			snprintf(d->pins[d->n_pins++], sizeof(d->pins[0]), "map-%s", name);
	}
	if (r < 0) {
		unpin_pending(d);
		return r;
	}
	d->pinned = true;
	/*
	 * Without in-kernel hashing (lsm tier) our cache starts cold, and a file it has not classified yet
	 * would run once: the previous run's programs, whose cache is warm, stay attached beside ours until
	 * the start-up scan has warmed this one (bpf_complete_takeover). Both deciding, the stricter wins.
	 */
	d->takeover_pending = true;
	if (!(tier == EMBARGO_TIER_LSM && d->scan_at_start && bpf_previous_pins()))
		takeover(d);
	return 0;
}

/* Unpin what pin_all pinned: with no other reference left, the links detach. */
static void unpin_all(struct daemon *d)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < d->n_pins; i++) {
		snprintf(path, sizeof(path), "%s/%s", EMBARGO_PIN_DIR, d->pins[i]);
		(void)unlink(path);
	}
	(void)rmdir(EMBARGO_PIN_DIR);
	d->n_pins = 0;
	d->pinned = false;
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

void bpf_stop(struct daemon *d)
{
	/* First the threads that use the maps. */
	fanotify_stop(d);
	/* The previous run's programs go in any case: what stays, if anything, is ours. */
	bpf_complete_takeover(d);
	if (d->pinned && !d->keep_enforcement_on_exit)
		unpin_all(d);
	/* Pinned links stay attached when their descriptors close: that is keep_enforcement_on_exit. */
	embargo_bpf__destroy(d->skel);
	d->skel = NULL;
}

void bpf_set_mode(struct daemon *d, uint8_t mode)
{
	d->mode = mode;
	if (d->skel)
		d->skel->data->global_mode = mode;
	protect_set_mode(d, mode);
}

void bpf_read_stats(const struct daemon *d, uint64_t out[EMBARGO_STAT_MAX])
{
	if (d->skel)
		sum_stats(d->skel, out);
	else
		memset(out, 0, sizeof(uint64_t) * EMBARGO_STAT_MAX);
}

int bpf_verdicts_fd(const struct daemon *d)
{
	return bpf_map__fd(d->skel->maps.verdicts);
}

int bpf_digests_fd(const struct daemon *d, uint32_t gen)
{
	return bpf_map__fd(gen & 1 ? d->skel->maps.digests_odd : d->skel->maps.digests_even);
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

int bpf_prepare_gen(struct daemon *d, const struct embargo_policy *p, uint32_t gen, char *why, size_t whysize)
{
	int fd, r;

	if (!d->skel || d->tier != EMBARGO_TIER_LSM_HASH)
		return 0;
	if (digests_needed(p) > d->digest_capacity)
		return snprintf(
			       why, whysize,
			       "the new policy needs room for %zu digests, the kernel's digest sets hold %zu "
			       "(sized at start to twice the policy then loaded%s): restart embargod to load "
			       "it",
			       digests_needed(p), d->digest_capacity,
			       d->digest_prealloc ? ", preallocated: this kernel needs that" : ""),
		       -ENOSPC;
	fd = bpf_digests_fd(d, gen);
	r = clear_map(fd, EMBARGO_SHA256_LEN);
	if (r < 0)
		return snprintf(why, whysize, "cannot empty the spare digest set: %s", strerror(-r)), r;
	r = fill_digests(fd, p);
	if (r < 0)
		return snprintf(why, whysize, "cannot fill the spare digest set: %s", strerror(-r)), r;
	return 0;
}

void bpf_carry_matches(struct daemon *d, uint32_t gen)
{
	const struct embargo_policy *old = d->prev_policy, *new = d->policy;
	struct embargo_inode_key key, *prev = NULL;
	struct embargo_verdict v;
	int fd;

	if (!d->skel || !old)
		return;
	d->skel->bss->carry_gen = gen;
	fd = bpf_map__fd(d->skel->maps.verdicts);
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		const struct embargo_rule *r;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) < 0 || v.gen != d->prev_gen ||
		    v.verdict != EMBARGO_VERDICT_MATCH || v.rule_id >= old->n_rules)
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

void bpf_switch_gen(struct daemon *d, uint32_t gen, bool classify_misses)
{
	if (!d->skel)
		return;
	d->skel->bss->classify_misses = classify_misses;
	/* The switch itself: from this store on, every new decision uses the new set. */
	__atomic_store_n(&d->skel->data->policy_gen, gen, __ATOMIC_RELEASE);
}

int bpf_dedup_fd(const struct daemon *d)
{
	return bpf_map__fd(d->skel->maps.dedup);
}

int bpf_ringbuf_fd(const struct daemon *d)
{
	return bpf_map__fd(d->skel->maps.events);
}
