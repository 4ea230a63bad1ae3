// SPDX-License-Identifier: GPL-2.0
/*
 * The hybrid tier: BPF LSM decides every exec and executable mapping it has a verdict for, and a fanotify
 * group (FAN_OPEN_EXEC_PERM on the local file systems, fanotify.c's reader, workers and deadlines) holds
 * the execs it has not classified until embargod has hashed and identified the file.
 *
 * Where it is needed:
 *   lsm       (5.10, no bpf_ima_file_hash): always. Without it a never-seen file runs once while the
 *             kernel hands it to userspace (the first-run window).
 *   lsm-hash  only when a strict vendor (embargo.policy(5) `strict`) has identity rules. The kernel hashes
 *             every miss itself, so digest rules never need the hold; what it cannot do is identify a
 *             file by signer, package or path, which it hands over after letting the file run. Holding
 *             only "the files the kernel hashed as unknown" is not possible: fanotify's exec-open event
 *             comes before bprm_check_security, so at that moment nothing tells a file identity rules
 *             may name from any other. The hold therefore takes every exec the kernel's verdict map has
 *             no valid verdict for, which is what the kernel would have hashed anyway, once per inode
 *             and change: the same cost, paid in userspace instead of in the kernel.
 *
 * The fast path stays in the kernel. The first exec of a file through the hold stores its verdict in the
 * kernel's map (same key, ctime stamp and generation as bprm_check_security would), so that exec's own
 * bprm_check and every later exec and executable mapping hit in the kernel; a clean file also gets a
 * fanotify ignore mark for FAN_OPEN_EXEC_PERM, without FAN_MARK_IGNORED_SURV_MODIFY, so its later execs
 * raise no event at all and any write (FS_MODIFY, truncate) drops the mark. What moves content without
 * FS_MODIFY (a shared writable mapping) is caught when the writer closes: the same mark asks for
 * FAN_CLOSE_WRITE, and its event drops every ignore mark. A reload drops them all as well (verdicts name
 * their generation). At most HOLD_IGNORE_MAX marks at once: the next one flushes them.
 *
 * Never hanging the machine is fanotify.c's: every permission event has its deadline (on_timeout), and
 * the group dies with the process, which lets every waiting exec through and removes every mark; the BPF
 * programs then decide alone, as the plain lsm tier does.
 */
#include "bpf.h"
#include "daemon.h"
#include "event.h"
#include "fanotify.h"
#include "hybrid.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

struct hybrid {
	bool active;
	char mechanism[128];
	char why[768];
	/* under fanotify.c's lock */
	uint64_t marks; /* ignore marks in place (an upper bound: a re-marked inode is counted again) */
	uint64_t added, dropped, flushes, mark_errors;
	/* atomic */
	uint64_t kernel_hits;
};

/* The detail of the probe check name, or "". */
static const char *probe_detail(const struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->probe.n; i++)
		if (strcmp(d->probe.checks[i].name, name) == 0)
			return d->probe.checks[i].detail;
	return "";
}

void hybrid_start(struct daemon *d)
{
	struct hybrid *h;
	const char *tier = embargo_tier_name(d->tier);
	char err[512] = "";
	int r;

	if (d->tier != EMBARGO_TIER_LSM && d->tier != EMBARGO_TIER_LSM_HASH)
		return;
	h = calloc(1, sizeof(*h));
	if (!h) {
		log_error("Out of memory: no fanotify hold for unclassified files");
		return;
	}
	if (d->tier == EMBARGO_TIER_LSM)
		snprintf(h->why, sizeof(h->why),
			 "the kernel cannot hash (lsm-hash: %s): a never-seen file waits for embargod's hash "
			 "at its exec instead of running once",
			 probe_detail(d, embargo_tier_name(EMBARGO_TIER_LSM_HASH)));
	else if (embargo_policy_strict_identity(d->policy))
		snprintf(
			h->why, sizeof(h->why),
			"strict vendors have identity rules (signer, package, path), which the kernel cannot "
			"judge: a never-seen file waits to be identified at its exec instead of running once");
	else {
		snprintf(h->mechanism, sizeof(h->mechanism), "%s", tier);
		snprintf(
			h->why, sizeof(h->why),
			"no hold needed: the kernel hashes every unseen file and no strict vendor has identity "
			"rules");
		d->hold = h;
		return;
	}
	d->hold = h;
	r = fanotify_start(d, err, sizeof(err));
	if (r < 0) {
		char why[sizeof(h->why)];

		snprintf(why, sizeof(why), "%s", h->why);
		snprintf(h->mechanism, sizeof(h->mechanism), "%s alone (no fanotify hold)", tier);
		snprintf(h->why, sizeof(h->why), "the hold was wanted (%.300s) but fanotify failed: %.300s",
			 why, err);
		embargo_probe_add(&d->probe, "fanotify-hold", false, "%s", err);
		log_warning("No fanotify hold for unclassified files: %s; %s", err,
			    d->tier == EMBARGO_TIER_LSM
				    ? "a never-seen file runs once before it is classified"
				    : "a file only identity rules name runs once");
		return;
	}
	h->active = true;
	snprintf(h->mechanism, sizeof(h->mechanism), "%s + fanotify hold for unclassified files", tier);
	embargo_probe_add(&d->probe, "fanotify-hold", true,
			  "FAN_OPEN_EXEC_PERM on the local file systems, ignore marks for classified files");
	log_notice("Mechanism: %s. Why: %s.", h->mechanism, h->why);
}

void hybrid_stop(struct daemon *d)
{
	free(d->hold);
	d->hold = NULL;
}

bool hybrid_active(const struct daemon *d)
{
	return d->hold && d->hold->active;
}

bool hybrid_first_exec_window(const struct daemon *d)
{
	return (d->tier == EMBARGO_TIER_LSM && !hybrid_active(d)) || d->tier == EMBARGO_TIER_DETECT;
}

const char *hybrid_mechanism(const struct daemon *d)
{
	return d->hold ? d->hold->mechanism : embargo_tier_name(d->tier);
}

const char *hybrid_why(const struct daemon *d)
{
	return d->hold ? d->hold->why : "";
}

bool hybrid_kernel_verdict(const struct daemon *d, const struct stat *st, struct embargo_verdict *v)
{
	struct embargo_inode_key key = { .dev = kernel_dev(st->st_dev), .ino = st->st_ino };

	if (bpf_map_lookup_elem(bpf_verdicts_fd(d->bpf), &key, v) < 0)
		return false;
	/* The kernel's own rule (verdict_valid in embargo.bpf.c), PENDING aside: that one is still unknown.
	 */
	if (v->gen != __atomic_load_n(&d->gen, __ATOMIC_RELAXED) || v->ctime_sec != st->st_ctim.tv_sec ||
	    v->ctime_nsec != (uint32_t)st->st_ctim.tv_nsec || v->verdict == EMBARGO_VERDICT_PENDING)
		return false;
	__atomic_fetch_add(&d->hold->kernel_hits, 1, __ATOMIC_RELAXED);
	return true;
}

static void unmark(struct hybrid *h, int group_fd, int fd)
{
	(void)fanotify_mark(group_fd, FAN_MARK_REMOVE, FAN_CLOSE_WRITE, fd, NULL);
	if (fanotify_mark(group_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM, fd, NULL) ==
	    0) {
		if (h->marks)
			h->marks--;
		h->dropped++;
	}
}

void hybrid_ignore(struct daemon *d, int group_fd, int fd, const struct stat *st)
{
	struct hybrid *h = d->hold;
	struct embargo_verdict v;
	struct stat now;

	if (!h || !h->active || group_fd < 0)
		return;
	if (h->marks >= HOLD_IGNORE_MAX)
		hybrid_flush(d, group_fd, "the ignore marks reached their cap");
	/*
	 * The same inode mark also asks for FAN_CLOSE_WRITE, which survives the FS_MODIFY that clears the
	 * ignore mask: a writer through a shared mapping raises no FS_MODIFY, and its close drops every
	 * ignore mark (fanotify.c's reader calls hybrid_flush). No file handles needed (tmpfs on 5.10 has no
	 * fsid for a FAN_REPORT_FID group).
	 */
	if (fanotify_mark(group_fd, FAN_MARK_ADD, FAN_CLOSE_WRITE, fd, NULL) < 0 ||
	    fanotify_mark(group_fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM, fd, NULL) < 0) {
		h->mark_errors++;
		return;
	}
	h->marks++;
	h->added++;
	/*
	 * A write that came between the verdict and the mark raised its FS_MODIFY before the mark existed:
	 * it moved the ctime, or its write-open dropped the kernel's verdict. Either way the mark goes again.
	 * A reload switches the generation before it flushes under this same lock, so a mark made here
	 * under the old generation is either seen stale now or flushed then.
	 */
	if (fstat(fd, &now) < 0 || now.st_ctim.tv_sec != st->st_ctim.tv_sec ||
	    now.st_ctim.tv_nsec != st->st_ctim.tv_nsec || !hybrid_kernel_verdict(d, &now, &v) ||
	    v.verdict != EMBARGO_VERDICT_CLEAN)
		unmark(h, group_fd, fd);
}

void hybrid_flush(struct daemon *d, int group_fd, const char *why)
{
	struct hybrid *h = d->hold;

	if (!h || !h->active || group_fd < 0 || h->marks == 0)
		return;
	/* Inode marks only (no FAN_MARK_FILESYSTEM): the hold marks no inode for anything else. */
	if (fanotify_mark(group_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0) {
		log_error("fanotify hold: cannot drop the ignore marks (%s): %m", why);
		return;
	}
	log_debug("fanotify hold: %" PRIu64 " ignore marks dropped: %s", h->marks, why);
	h->marks = 0;
	h->flushes++;
}

void hybrid_status_json(const struct daemon *d, struct json_writer *w)
{
	const struct hybrid *h = d->hold;

	json_key_string(w, "mechanism", hybrid_mechanism(d));
	json_key_object(w, "hold");
	json_key_bool(w, "active", hybrid_active(d));
	json_key_string(w, "why", hybrid_why(d));
	if (h) {
		json_key_u64(w, "kernel_verdicts", __atomic_load_n(&h->kernel_hits, __ATOMIC_RELAXED));
		json_key_u64(w, "ignore_marks", h->marks);
		json_key_u64(w, "ignore_marks_max", HOLD_IGNORE_MAX);
		json_key_u64(w, "ignore_marks_added", h->added);
		json_key_u64(w, "ignore_marks_dropped", h->dropped);
		json_key_u64(w, "ignore_flushes", h->flushes);
		json_key_u64(w, "ignore_mark_errors", h->mark_errors);
	}
	json_end_object(w);
}
