/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A structured log record: journald fields ("NAME=value") in one growable buffer. The daemon's logger
 * sends it with sd_journal_sendv, or renders it as one stderr line: MESSAGE, then NAME="value" pairs.
 */
#ifndef EMBARGO_RECORD_H
#define EMBARGO_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define EMBARGO_RECORD_MAX_FIELDS 40

/* Stable MESSAGE_IDs, one per kind of record (journalctl MESSAGE_ID=...). */
#define EMBARGO_MSGID_DENIED "4f648184bc9946ebb2b0cfb190878f08"
#define EMBARGO_MSGID_AUDITED "8b8c31b7c4c9403eaea5fda39f71ee5d"
#define EMBARGO_MSGID_UNCLASSIFIED "2c1eae5c88d24976a31152d488b3fc93" /* ran before it was classified */
#define EMBARGO_MSGID_REPEATED "b6ac0f5f14f14ed5bbf870d8c8d34883"
#define EMBARGO_MSGID_UNCHECKED "43c9349f0956485fb9833b39c0d20f96" /* the kernel could not hash a file */
#define EMBARGO_MSGID_LOST "d3b780ec56554cb0a05643c66983b6c7"	   /* events lost to a full ring buffer */
#define EMBARGO_MSGID_STARTED "1e6f8b1a789f4ff4b983f0f68f7d5f13"   /* tier banner */
#define EMBARGO_MSGID_MODE "33d3187e252a4c88854046be31af6f99"
#define EMBARGO_MSGID_FOUND "b6cc30b3ede346eb91e1a3f82a1abbeb"	 /* a prohibited file found by a scan */
#define EMBARGO_MSGID_RUNNING "8e01560f676b4824ba77fef35a417f74" /* a process running prohibited code */
#define EMBARGO_MSGID_SCANNED "060a6617802644ae8a4724574e7ada08" /* the start-up scan's summary */
#define EMBARGO_MSGID_RELOAD "5f501ec1524947d39b128b341f2f6504"
/* The configured policy did not load at start: embargod runs on its last good copy. */
#define EMBARGO_MSGID_POLICY_FALLBACK                                                                        \
	"250ff761a9de46d29d9dc9554db9700a" /* a policy reload, done or refused */
/* Events not logged one by one (log_rate_limit, a full log queue): counts by vendor, action and file. */
#define EMBARGO_MSGID_SUPPRESSED "efc06f4d0bf84f1fbb4acc9da2045887"
/* After a summary that counted more files than it names: every file, in groups. */
#define EMBARGO_MSGID_SUPPRESSED_FILES "6623274f61704ead8ec1ce5653b714da"
#define EMBARGO_MSGID_TAMPER "52c661a2cdb940699e7cfe9f0fec4c25"	 /* self-protection refused an attempt */
/* An identity match that did not teach its digest: a possible attack (4), or a learn not safe to make (5). */
#define EMBARGO_MSGID_LEARN_REFUSED "5e9069df87fb4a1cbf0bf55ada4a5354"
#define EMBARGO_MSGID_SYSCALL "491134c031fb4788abd2de2c6b49bd83" /* embargod's seccomp filter refused */

struct embargo_record {
	int priority; /* syslog priority */
	size_t n;
	size_t len, cap;
	char *buf;
	size_t off[EMBARGO_RECORD_MAX_FIELDS]; /* start of field i in buf; fields are NUL-terminated */
};

/* Adds NAME=value; -E2BIG past EMBARGO_RECORD_MAX_FIELDS, -ENOMEM. Values may hold any byte but NUL. */
int record_add(struct embargo_record *r, const char *name, const char *value);
int record_addf(struct embargo_record *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The value of field name, or NULL. */
const char *record_get(const struct embargo_record *r, const char *name);
/* iovecs for sd_journal_sendv; iov must hold r->n entries. */
void record_iovec(const struct embargo_record *r, struct iovec *iov);
/* One line: "MESSAGE NAME=\"value\" ..." with ", \, and control bytes escaped; malloc'ed. */
char *record_format_line(const struct embargo_record *r);
void record_free(struct embargo_record *r);

#endif
