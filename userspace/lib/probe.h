/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers embargo, read from /sys (no kernel-version guesses). Loading the
 * programs is the last word on each tier: embargod records here why a tier was not taken.
 */
#ifndef EMBARGO_PROBE_H
#define EMBARGO_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#define EMBARGO_PROBE_MAX 16

struct embargo_probe_check {
	const char *name; /* static: "btf", "lsm_bpf", ... */
	bool ok;
	char detail[512]; /* what was found, and what the administrator can change when !ok */
};

struct embargo_probe {
	size_t n;
	struct embargo_probe_check checks[EMBARGO_PROBE_MAX];
	bool btf;
	bool bpf_lsm_active; /* "bpf" in the active LSM list */
	char lsm_list[256];  /* as read from securityfs */
};

/*
 * Reads BTF presence and the active LSM list (mounting securityfs at /sys/kernel/security when it is
 * not mounted and may be). Never fails: every finding is a check with its detail.
 */
void embargo_probe_kernel(struct embargo_probe *p);

/* Adds a check (e.g. a load attempt's outcome); silently ignored past EMBARGO_PROBE_MAX. */
void embargo_probe_add(struct embargo_probe *p, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The lsm= boot parameter that would activate BPF LSM with the LSMs active now, into buf. */
const char *embargo_probe_lsm_suggestion(const struct embargo_probe *p, char *buf, size_t size);

#endif
