// SPDX-License-Identifier: GPL-2.0
/* Interpreters: embargo.conf's patterns to the kernel's sets (see interpreters.h, interp.h and
 * bpf/embargo.h). */
#include "interpreters.h"
#include "bpf.h"
#include "interp.h"
#include "daemon.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool in_set(const struct embargo_interp_set *set, const struct stat *st)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].dev == st->st_dev && set->v[i].ino == st->st_ino)
			return true;
	return false;
}

/* Processes that started before us: the kernel tags only at exec. Returns how many were tagged. */
static unsigned tag_running(struct bpf_state *b, const struct embargo_interp_set *set)
{
	_cleanup_closedir_ DIR *dir = opendir("/proc");
	struct dirent *de;
	unsigned n = 0;

	while (dir && (de = readdir(dir))) {
		char exe[64];
		struct stat st;
		uint32_t pid;

		if (parse_u32(de->d_name, &pid) < 0 || pid == 0)
			continue;
		snprintf(exe, sizeof(exe), "/proc/%u/exe", pid);
		if (stat(exe, &st) < 0 || !in_set(set, &st))
			continue;
		if (bpf_tag_interpreter_task(b, pid) == 0)
			n++;
	}
	return n;
}

void interp_apply(struct daemon *d)
{
	_cleanup_(embargo_interp_set_free) struct embargo_interp_set set = { 0 };
	_cleanup_free_ char *bad = NULL;
	int r;

	if (!d->bpf || (d->tier != EMBARGO_TIER_LSM && d->tier != EMBARGO_TIER_LSM_HASH))
		return;
	r = embargo_interp_resolve(d->cfg->interpreters, d->cfg->n_interpreters, &set, &bad);
	if (r < 0) {
		log_error("Cannot resolve the interpreters%s%s: %s; the kernel keeps the set it had",
			  bad ? " at " : "", bad ? bad : "", strerror(-r));
		return;
	}
	r = bpf_set_interpreters(d->bpf, &set);
	if (r < 0) {
		log_error("Cannot give the kernel the interpreters: %s", strerror(-r));
		return;
	}
	log_info("Interpreters: %zu files (%zu of %zu names found nothing), %u running processes tagged",
		 set.n, set.n_missing, d->cfg->n_interpreters, tag_running(d->bpf, &set));
}
