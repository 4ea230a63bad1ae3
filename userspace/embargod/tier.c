// SPDX-License-Identifier: GPL-2.0
/*
 * The enforcement tier: choose the best one the kernel really offers by trying it (probe results only
 * order the attempts), fill the deny-digest set, prove in-kernel hashing works before relying on it,
 * start the fanotify tier's reader, and stop it all again. The kernel itself is reached through bpf.c.
 */
#include "bpf.h"
#include "daemon.h"
#include "event.h"
#include "fanotify.h"
#include "hybrid.h"
#include "log.h"
#include "protection.h"
#include "tier.h"
#include "interpreters.h"
#include "util.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/param.h>
#include <sys/stat.h>

#define LEARNED_DIGESTS 65536
#define DIGEST_SET_MIN 65536
#define DIGEST_SET_MAX (64u << 20)

static bool is_lsm(uint8_t tier)
{
	return tier == EMBARGO_TIER_LSM_HASH || tier == EMBARGO_TIER_LSM;
}

/*
 * Map a small file for execution and check that the kernel hashed it and cached it as clean: proof that
 * bpf_ima_file_hash works here and answers SHA-256, not merely that the program loaded.
 */
static int selftest_hash(struct daemon *d, struct bpf_state *b, char *why, size_t whysize)
{
	static const char content[] = "embargo in-kernel hashing self-test\n";
	uint64_t before[EMBARGO_STAT_MAX], after[EMBARGO_STAT_MAX];
	struct embargo_inode_key key = {};
	struct embargo_verdict v = {};
	char path[4096];
	struct stat st;
	void *m;
	int r;

	snprintf(path, sizeof(path), "%s/.selftest", d->cfg->runtime_dir);
	if (mkdir(d->cfg->runtime_dir, 0755) < 0 && errno != EEXIST)
		return fail(why, whysize, -errno, "cannot create %s: %m", d->cfg->runtime_dir);
	(void)unlink(path);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(why, whysize, -errno, "cannot create %s: %m", path);
	r = write_all(fd, content, sizeof(content) - 1);
	/* Map through a read-only descriptor with the writer closed: an open writer keeps verdicts out of
	 * the cache. */
	_cleanup_close_ int ro = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	(void)unlink(path);
	closep(&fd);
	if (r < 0)
		return fail(why, whysize, r, "cannot write %s: %s", path, strerror(-r));
	if (ro < 0)
		return fail(why, whysize, -errno, "cannot reopen %s: %m", path);
	if (fstat(ro, &st) < 0)
		return fail(why, whysize, -errno, "fstat: %m");

	bpf_read_stats(b, before);
	m = mmap(NULL, sizeof(content) - 1, PROT_READ | PROT_EXEC, MAP_PRIVATE, ro, 0);
	if (m == MAP_FAILED && errno != EPERM)
		return fail(why, whysize, -errno, "self-test mmap failed: %m");
	if (m != MAP_FAILED)
		munmap(m, sizeof(content) - 1);
	bpf_read_stats(b, after);

	key.dev = kernel_dev(st.st_dev);
	key.ino = st.st_ino;
	if (after[EMBARGO_STAT_HASH_ERRORS] > before[EMBARGO_STAT_HASH_ERRORS])
		return fail(why, whysize, -EOPNOTSUPP,
			    "bpf_ima_file_hash did not return a SHA-256 digest (is ima_hash= set to "
			    "another "
			    "algorithm?)");
	if (after[EMBARGO_STAT_KERNEL_HASHES] == before[EMBARGO_STAT_KERNEL_HASHES])
		return fail(why, whysize, -EOPNOTSUPP,
			    "the mmap_file program did not run on an executable mapping");
	if (bpf_map_lookup_elem(bpf_verdicts_fd(b), &key, &v) < 0 || v.verdict != EMBARGO_VERDICT_CLEAN)
		return fail(why, whysize, -EOPNOTSUPP,
			    "the kernel hashed the self-test file but cached no verdict");
	(void)bpf_map_delete_elem(bpf_verdicts_fd(b), &key);
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
 * Only the hashing tier looks digests up in the kernel.
 */
static size_t digest_capacity(const struct embargo_policy *p, uint8_t tier, bool prealloc)
{
	size_t cap = 1;

	if (tier == EMBARGO_TIER_LSM_HASH) {
		cap = prealloc ? digests_needed(p) + digests_needed(p) / 4 + 1024
			       : MAX(2 * digests_needed(p), (size_t)DIGEST_SET_MIN);
		cap = MIN(cap, (size_t)DIGEST_SET_MAX);
	}
	return cap;
}

/* Pin, and replace a previous run's pins now or, in the lsm tier, once our cache is warm. */
static int pin(struct daemon *d, struct bpf_state *b, uint8_t tier, char *why, size_t whysize)
{
	int r = bpf_pin(b, why, whysize);

	if (r < 0)
		return r;
	/*
	 * Without in-kernel hashing (lsm tier) our cache starts cold, and a file it has not classified yet
	 * would run once: the previous run's programs, whose cache is warm, stay attached beside ours until
	 * the start-up scan has warmed this one (tier_complete_takeover). Both deciding, the stricter wins.
	 */
	if (!(tier == EMBARGO_TIER_LSM && d->cfg->scan_at_start && bpf_previous_pins()))
		(void)bpf_takeover(b);
	return 0;
}

static int try_tier(struct daemon *d, uint8_t tier, bool d_path, bool prealloc, char *why, size_t whysize)
{
	struct bpf_options o = {
		.tier = tier,
		.d_path = d_path,
		.prealloc = prealloc,
		.digest_capacity = digest_capacity(d->policy, tier, prealloc),
		.mode = d->mode,
		.gen = d->gen,
		.classify_misses = d->policy->n_ident_rules > 0,
		.deny_init_module = d->deny_init_module,
		.max_hash_size = (uint64_t)d->cfg->max_hash_size_mib << 20,
		.deny_remote = d->cfg->remote_fs == EMBARGO_CONFIG_REMOTE_FS_DENY,
	};
	struct bpf_state *b = NULL;
	int r;

	r = bpf_load(&o, &b, why, whysize);
	if (r < 0) {
		/* Before 6.1 sleepable programs may use preallocated hash maps only. */
		if (tier == EMBARGO_TIER_LSM_HASH && !prealloc && r != -EPERM)
			return try_tier(d, tier, d_path, true, why, whysize);
		return r;
	}
	if (tier == EMBARGO_TIER_LSM_HASH) {
		uint64_t t0 = now_ns();

		r = bpf_fill_digests(b, d->gen, d->policy);
		if (r < 0) {
			snprintf(why, whysize, "filling the digest map failed: %s", strerror(-r));
			goto fail;
		}
		log_info("Kernel digest map filled in %.3f s (%zu digests)", (double)(now_ns() - t0) / 1e9,
			 d->policy->n_rules);
	}
	r = bpf_attach(b, why, whysize);
	if (r < 0)
		goto fail;
	if (tier == EMBARGO_TIER_LSM_HASH) {
		r = selftest_hash(d, b, why, whysize);
		if (r < 0)
			goto fail;
	}
	d->bpf = b;
	if (tier == EMBARGO_TIER_FANOTIFY) {
		r = fanotify_start(d, why, whysize);
		if (r < 0) {
			d->bpf = NULL;
			goto fail;
		}
	}
	/* Enforcing without persistence beats not enforcing: say so and go on. */
	if (tier != EMBARGO_TIER_DETECT && pin(d, b, tier, why, whysize) < 0)
		log_warning("Nothing pinned, so enforcement will end with this process: %s", why);
	return 0;
fail:
	bpf_destroy(b);
	return r;
}

/*
 * A better tier than the one asked for with --tier: say whether it would work, by loading its programs
 * (never attaching them) or opening a fanotify group, so status and doctor can tell the administrator.
 */
static void probe_only(struct daemon *d, uint8_t tier)
{
	char why[512] = "";
	int r, fd;

	if (tier == EMBARGO_TIER_FANOTIFY) {
		fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		embargo_probe_add(&d->probe, embargo_tier_name(tier), fd >= 0, "%s (not used: --tier %s)",
				  fd >= 0 ? "fanotify permission events available" : strerror(errno),
				  embargo_config_tier_name(d->cfg->tier));
		return;
	}
	r = bpf_probe_load(tier, why, sizeof(why));
	if (r < 0 && !why[0])
		return; /* not even opened: nothing to say about this tier */
	if (r == 0)
		embargo_probe_add(&d->probe, embargo_tier_name(tier), true,
				  "its programs load (not used: --tier %s)",
				  embargo_config_tier_name(d->cfg->tier));
	else
		embargo_probe_add(&d->probe, embargo_tier_name(tier), false, "%s (not used: --tier %s)", why,
				  embargo_config_tier_name(d->cfg->tier));
}

int tier_start(struct daemon *d)
{
	static const uint8_t order[] = { EMBARGO_TIER_LSM_HASH, EMBARGO_TIER_LSM, EMBARGO_TIER_FANOTIFY,
					 EMBARGO_TIER_DETECT };
	int requested = embargo_config_kernel_tier(d->cfg->tier); /* -1: auto */
	bool requested_seen = false, no_d_path = false;
	char why[768];
	size_t off = 0;
	int r = -ENODEV;

	bpf_setup_logging();
	d->tier_reason[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		uint8_t tier = order[i];

		if (requested >= 0 && tier != requested) {
			if (!requested_seen)
				probe_only(d, tier);
			continue;
		}
		requested_seen = true;
		if (is_lsm(tier) && !d->probe.bpf_lsm_active && requested < 0) {
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
				no_d_path = true;
				snprintf(why2, sizeof(why2),
					 "loaded without bpf_d_path (%s): paths come from /proc", why);
				snprintf(why, sizeof(why), "%s", why2);
			}
		}
		embargo_probe_add(&d->probe, embargo_tier_name(tier), r == 0, "%s",
				  r == 0 && !no_d_path ? "loaded and attached" : why);
		if (r == 0) {
			d->tier = tier;
			interp_apply(d);
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
	else if (requested >= 0)
		snprintf(d->tier_reason, sizeof(d->tier_reason), "tier %s requested with --tier",
			 embargo_tier_name(d->tier));
	else if (!d->probe.bpf_lsm_active)
		snprintf(d->tier_reason, sizeof(d->tier_reason),
			 "bpf is not in the active LSM list (%s); boot with %s to enforce in the kernel%s%s",
			 d->probe.lsm_list[0] ? d->probe.lsm_list : "unknown", sugg, failed[0] ? "; " : "",
			 failed);
	else
		snprintf(d->tier_reason, sizeof(d->tier_reason), "the better tiers did not load: %s", failed);
	/* The LSM tiers' first-run window: a fanotify hold for what the kernel has not classified. */
	hybrid_start(d);
	if (d->hold) {
		size_t n = strlen(d->tier_reason);

		snprintf(d->tier_reason + n, sizeof(d->tier_reason) - n, "; mechanism: %s (%s)",
			 hybrid_mechanism(d), hybrid_why(d));
	}
	return 0;
}

void tier_complete_takeover(struct daemon *d)
{
	if (bpf_takeover(d->bpf))
		log_notice(
			"The previous embargod's kernel programs are released: this one's verdict cache is "
			"warm");
}

void tier_stop(struct daemon *d)
{
	/* First the threads that use the maps. */
	fanotify_stop(d);
	hybrid_stop(d);
	/* The previous run's programs go in any case: what stays, if anything, is ours. */
	tier_complete_takeover(d);
	if (!d->cfg->keep_enforcement_on_exit)
		bpf_unpin(d->bpf);
	/* Pinned links stay attached when their descriptors close: that is keep_enforcement_on_exit. */
	bpf_destroy(d->bpf);
	d->bpf = NULL;
}

void tier_set_mode(struct daemon *d, uint8_t mode)
{
	d->mode = mode;
	bpf_set_mode(d->bpf, mode);
	protect_set_mode(d, mode);
}

int tier_prepare_gen(struct daemon *d, const struct embargo_policy *p, uint32_t gen, char *why,
		     size_t whysize)
{
	if (!d->bpf || d->tier != EMBARGO_TIER_LSM_HASH)
		return 0;
	if (digests_needed(p) > bpf_digest_capacity(d->bpf))
		return fail(why, whysize, -ENOSPC,
			    "the new policy needs room for %zu digests, the kernel's digest sets hold %zu "
			    "(sized at start to twice the policy then loaded%s): restart embargod to load "
			    "it",
			    digests_needed(p), bpf_digest_capacity(d->bpf),
			    bpf_digest_prealloc(d->bpf) ? ", preallocated: this kernel needs that" : "");
	return bpf_refill_digests(d->bpf, gen, p, why, whysize);
}
