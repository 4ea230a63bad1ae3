/* SPDX-License-Identifier: GPL-2.0 */
/*
 * embargod's configuration file, /etc/embargo/embargo.conf: one "key value..." per line, '#' comments,
 * values bare or double-quoted with the policy language's escapes. Documented in embargo.conf(5).
 * A file loads whole or not at all: the first error is reported as file:line:column and what was
 * expected, and the configuration the caller had is kept.
 */
#ifndef EMBARGO_CONFIG_H
#define EMBARGO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMBARGO_CONFIG_PATH "/etc/embargo/embargo.conf"
#define EMBARGO_CONFIG_POLICY "/etc/embargo/policy.d"
#define EMBARGO_CONFIG_STATE_DIR "/var/lib/embargo"
/* EMBARGO_RUNTIME_DIR (control.h) is the runtime_dir default. */

#define EMBARGO_CONFIG_TIMEOUT_MS_DEFAULT 1000
#define EMBARGO_CONFIG_TIMEOUT_MS_MIN 10
#define EMBARGO_CONFIG_TIMEOUT_MS_MAX 60000
#define EMBARGO_CONFIG_RATE_LIMIT_DEFAULT 1000
#define EMBARGO_CONFIG_RATE_LIMIT_MAX 1000000
#define EMBARGO_CONFIG_RATE_INTERVAL_DEFAULT 10
#define EMBARGO_CONFIG_RATE_INTERVAL_MAX 3600
/* Hashing is bounded: a file larger than this is never hashed (refused in enforce mode). */
#define EMBARGO_CONFIG_MAX_HASH_MIB_DEFAULT 2048
#define EMBARGO_CONFIG_MAX_HASH_MIB_MAX (1024 * 1024)
#define EMBARGO_CONFIG_MAX_LEARNED_DEFAULT 10000
#define EMBARGO_CONFIG_MAX_LEARNED_MAX 1000000

/* Independent of enum embargo_tier: "auto" is no kernel tier, and the order here is the file's. */
enum embargo_config_tier {
	EMBARGO_CONFIG_TIER_AUTO,
	EMBARGO_CONFIG_TIER_LSM_HASH,
	EMBARGO_CONFIG_TIER_LSM,
	EMBARGO_CONFIG_TIER_FANOTIFY,
	EMBARGO_CONFIG_TIER_DETECT,
};

enum embargo_config_on_timeout {
	EMBARGO_CONFIG_ON_TIMEOUT_AUTO, /* allow; a late match is refused from then on and killed if enforced
					 */
	EMBARGO_CONFIG_ON_TIMEOUT_ALLOW,
	EMBARGO_CONFIG_ON_TIMEOUT_DENY,
};

/* init_module(2): a module passed as a buffer, with no file the kernel programs could hash or identify. */
enum embargo_config_init_module {
	EMBARGO_CONFIG_INIT_MODULE_AUTO,  /* deny, unless this system's module loader needs init_module */
	EMBARGO_CONFIG_INIT_MODULE_DENY,  /* refused in enforce mode, reported in audit mode */
	EMBARGO_CONFIG_INIT_MODULE_ALLOW, /* allowed and reported */
};

/* Files on file systems whose content embargo cannot pin (FUSE, NFS, CIFS/SMB, 9p, Ceph, ...). */
enum embargo_config_remote_fs {
	EMBARGO_CONFIG_REMOTE_FS_CHECK, /* never cached: decided again at every use */
	EMBARGO_CONFIG_REMOTE_FS_DENY,	/* enforce mode: refused whenever they are not decided at once */
};

enum embargo_config_log {
	EMBARGO_CONFIG_LOG_AUTO, /* the journal if its socket exists, stderr otherwise */
	EMBARGO_CONFIG_LOG_JOURNAL,
	EMBARGO_CONFIG_LOG_STDERR,
};

/* Every string and list is malloc'ed and owned by the struct: release with embargo_config_free(). */
struct embargo_config {
	char *path; /* the file loaded; NULL for the defaults (no file, or the default one is absent) */

	uint8_t mode;	   /* EMBARGO_MODE_AUDIT or EMBARGO_MODE_ENFORCE (embargo.h) */
	char *policy;	   /* absolute: a policy file or a directory of *.policy files */
	uint8_t tier;	   /* enum embargo_config_tier */
	char **scan_paths; /* absolute, NULL-terminated, at least one */
	size_t n_scan_paths;
	bool scan_at_start;
	uint8_t on_timeout; /* enum embargo_config_on_timeout */
	uint32_t decision_timeout_ms;
	bool kill_running;
	bool keep_enforcement_on_exit;
	uint8_t init_module;	    /* enum embargo_config_init_module */
	uint32_t max_hash_size_mib; /* larger files are not hashed: refused in enforce mode, reported */
	uint8_t remote_fs;	    /* enum embargo_config_remote_fs */
	uint32_t max_learned;	    /* digests identity rules may teach; more are refused and reported */
	bool never_deny_packaged;   /* files of installed packages no rule names are never learned */
	bool self_protection; /* BPF LSM tiers, enforce mode: others may not signal, trace or unload embargod
			       */
	bool syscall_filter;  /* the seccomp allow-list embargod puts on itself once started */
	/* absolute paths or globs, NULL-terminated, at least one: their processes' reads are decided as execs
	 */
	char **interpreters;
	size_t n_interpreters;
	char **fanotify_paths; /* absolute, NULL-terminated; NULL (n 0) is "auto": every local filesystem */
	size_t n_fanotify_paths;
	uint8_t log;		 /* enum embargo_config_log */
	uint32_t log_rate_limit; /* events per log_rate_interval_s; 0 is no limit */
	uint32_t log_rate_interval_s;
	char *runtime_dir; /* absolute */
	char *state_dir;   /* absolute */
};

struct embargo_config_error {
	char file[4096];
	uint32_t line;	   /* 1-based; 0 when the error is not about a place in the file */
	uint32_t column;   /* 1-based; 0 when it is about a whole line */
	char message[512]; /* what was found and what was expected, without the file:line:column prefix */
};

/*
 * The defaults into *c (which is overwritten, not freed): 0, or -ENOMEM with *c zeroed.
 */
int embargo_config_defaults(struct embargo_config *c);

/*
 * The defaults, then what the file at path sets, into *c. path NULL is EMBARGO_CONFIG_PATH. The absence
 * of EMBARGO_CONFIG_PATH is no error (c gets the defaults, c->path NULL); that of any other file is.
 * *c must be zeroed or hold a configuration (from embargo_config_defaults() or an earlier load), which
 * is freed and replaced on success. Returns 0, or -errno with *err filled (if err) and *c untouched.
 */
int embargo_config_load(const char *path, struct embargo_config *c, struct embargo_config_error *err);

/* Frees what *c owns and zeroes it. */
void embargo_config_free(struct embargo_config *c);

/* The interpreters key's default patterns, NULL-terminated. */
extern const char *const embargo_interp_defaults[];

/*
 * *c as a configuration file that loads back into the same values, every key written: *text is
 * malloc'ed. -EINVAL if a string cannot be written in the file's syntax (a control character other than
 * a tab, or a relative path: values the command line may have given), -ENOMEM.
 */
int embargo_config_format(const struct embargo_config *c, char **text);

/* "file:line:column: message" into buf; returns buf. */
const char *embargo_config_error_format(const struct embargo_config_error *err, char *buf, size_t size);

/* Names as written in the file ("auto", "lsm-hash", ...; "?" for an unknown value) and back (-EINVAL). */
const char *embargo_config_tier_name(uint8_t tier);
int embargo_config_tier_from_string(const char *s, uint8_t *tier);
const char *embargo_config_on_timeout_name(uint8_t v);
const char *embargo_config_log_name(uint8_t v);
const char *embargo_config_remote_fs_name(uint8_t v);

/* The kernel tier (enum embargo_tier, embargo.h) a tier setting asks for; -1 for auto (or unknown). */
int embargo_config_kernel_tier(uint8_t tier);
/* Whether the fanotify tier allows an exec whose verdict is late (on_timeout auto and allow). */
bool embargo_config_on_timeout_allows(uint8_t on_timeout);

#endif
