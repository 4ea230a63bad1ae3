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

/* ---- Building blocks for embargoctl doctor (and anyone else): each answers one question, prints nothing.
 * ---- */

/* A kernel build configuration (.config), decompressed, kept whole: a few lookups, no index needed. */
struct embargo_kconfig {
	char *text; /* NUL-terminated */
	size_t len;
	char path[256]; /* where it was read from */
};

/* Reads the configuration at path, plain or gzip-compressed (by its content, not its name). */
int embargo_kconfig_load(struct embargo_kconfig *k, const char *path);
/*
 * The running kernel's configuration: /boot/config-$(uname -r), else /proc/config.gz. -ENOENT when neither
 * exists, else the error of the last one tried (-EACCES when not root, typically).
 */
int embargo_kconfig_load_running(struct embargo_kconfig *k);
void embargo_kconfig_free(struct embargo_kconfig *k);
/*
 * The value of name ("CONFIG_BPF_LSM") as the configuration sets it: "y", "m", a number, or a string without
 * its quotes and escapes ("sha256"), into buf. NULL when the option is not set ("# ... is not set" or
 * absent).
 */
const char *embargo_kconfig_get(const struct embargo_kconfig *k, const char *name, char *buf, size_t size);

/* The kernel command line (/proc/cmdline) into buf, without its newline. */
int embargo_probe_read_cmdline(char *buf, size_t size);
/*
 * The value of the kernel parameter key ("ima_hash") in cmdline, as the kernel would take it: the last
 * occurrence wins, '-' and '_' in the name are the same, double quotes group, and what follows "--" is
 * init's, not the kernel's. Into buf; NULL when absent or given without '='.
 */
const char *embargo_cmdline_get(const char *cmdline, const char *key, char *buf, size_t size);

/*
 * Whether fanotify permission events work for this process: opens a FAN_CLASS_CONTENT group and puts a
 * FAN_OPEN_EXEC_PERM mark on a private memfd (never on a file anyone else can reach, so nothing can wait on
 * the group), then closes both. The group alone proves little: a kernel without
 * CONFIG_FANOTIFY_ACCESS_PERMISSIONS creates it and refuses only the mark. 0, or -errno and *step the call
 * that failed.
 */
int embargo_probe_fanotify_perm(const char **step);

/* 0 when a BPF filesystem is mounted at path; -ENOENT, or -ENODEV when something else is. */
int embargo_probe_bpffs(const char *path);
/* 0 when path is a socket (e.g. journald's /run/systemd/journal/socket); -ENOENT, -ENOTSOCK. */
int embargo_probe_socket(const char *path);

/* 1 when the kernel's BTF knows the BPF helper name ("ima_file_hash" for BPF_FUNC_ima_file_hash), 0 when
 * not, -errno when there is no readable vmlinux BTF. */
int embargo_probe_helper_known(const char *name);
/* Whether the running kernel's BTF has the function name (e.g. an LSM hook's bpf_lsm_*): 1, 0, -errno. */
int embargo_probe_func_known(const char *name);
/* Whether the running kernel's struct sname has member (BTF): 1, 0, or -errno without BTF. */
int embargo_probe_member_known(const char *sname, const char *member);

/*
 * Loads, never attaches, a minimal BPF LSM program on bprm_check_security: with hash, a sleepable one that
 * calls bpf_ima_file_hash on the file being executed (what the lsm-hash tier needs), else one that returns
 * 0 (the lsm tier). Not attached, it decides nothing and is gone when this returns. 0 when the kernel
 * accepts it; else -errno, and the verifier's last line in why when it said something.
 */
int embargo_probe_lsm_load(bool hash, char *why, size_t size);

#endif
