/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EMBARGOD_DAEMON_H
#define EMBARGOD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "embargo.h"
#include "policy.h"
#include "probe.h"

struct embargo_bpf;
struct ring_buffer;

#define TIER_AUTO 0xff

struct daemon {
	/* configuration */
	const char *policy_path;
	const char *runtime_dir;
	uint8_t mode;	      /* global enum embargo_mode */
	uint8_t tier_request; /* TIER_AUTO or an enum embargo_tier */

	/* state */
	struct embargo_policy *policy;
	uint32_t gen;
	time_t loaded_at;
	struct embargo_probe probe;
	uint8_t tier;
	char tier_reason[1024];
	bool no_d_path; /* the kernel refused bpf_d_path in LSM hooks: events may carry no path */
	struct embargo_bpf *skel;
	struct ring_buffer *rb;
	uint64_t events_bad; /* ring buffer records we could not parse */
	uint64_t classified; /* files userspace hashed for the kernel */
	int ctl_fd;
	bool stop;
};

/* bpf.c */
extern bool bpf_verbose; /* libbpf's and the verifier's messages to stderr */
int bpf_start(struct daemon *d);
void bpf_stop(struct daemon *d);
void bpf_set_mode(struct daemon *d, uint8_t mode);
void bpf_read_stats(const struct daemon *d, uint64_t out[EMBARGO_STAT_MAX]);
int bpf_verdicts_fd(const struct daemon *d);
int bpf_dedup_fd(const struct daemon *d);
int bpf_ringbuf_fd(const struct daemon *d);

/* events.c */
int events_start(struct daemon *d);
void events_stop(struct daemon *d);
/* Consume what the kernel reported; -errno on a ring buffer failure. */
int events_poll(struct daemon *d);
/* Report repeated matches that no later event carried (called on a timer). */
void events_sweep_dedup(struct daemon *d);
/* "file:line" of rule_id into buf under the running policy. */
const char *rule_location(const struct daemon *d, uint32_t rule_id, char *buf, size_t size);

/* control.c */
int control_start(struct daemon *d);
void control_stop(struct daemon *d);
void control_handle(struct daemon *d);

#endif
