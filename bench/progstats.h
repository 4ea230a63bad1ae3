/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run-time statistics of the BPF programs some processes hold, read by `loop --stats` right before and
 * right after its timed part, so that the difference covers the timed operations and nothing else: the
 * programs are found and opened once, beforehand; a sample is one BPF_OBJ_GET_INFO_BY_FD per program and
 * opens no file (an open would run file_open programs inside the measurement).
 */
#ifndef EMBARGO_BENCH_PROGSTATS_H
#define EMBARGO_BENCH_PROGSTATS_H

#include <stddef.h>
#include <stdint.h>

#define PROGSTATS_MAX 64

struct progstats {
	size_t n;
	struct {
		int fd;
		uint32_t pid;
		uint32_t id;
		char name[16];
	} progs[PROGSTATS_MAX];
};

struct progstats_sample {
	uint64_t run_time_ns[PROGSTATS_MAX];
	uint64_t run_cnt[PROGSTATS_MAX];
};

/*
 * Every program held by the processes in pids (through a program or link descriptor), by process, not
 * by name: other embargod instances (a test running at the same time) have programs of the same names.
 */
int progstats_open(const uint32_t *pids, size_t n_pids, struct progstats *s);
int progstats_sample(const struct progstats *s, struct progstats_sample *out);
/* One line per program: "prog name=N pid=P runs=R ns_per_run=X", the difference from before to after. */
void progstats_print_delta(const struct progstats *s, const struct progstats_sample *before,
			   const struct progstats_sample *after);
void progstats_close(struct progstats *s);

#endif
