/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bounded queue of fixed-size items between one producer that must never wait (an event loop) and
 * worker threads that may (they open files, and a file system can hang). A full queue refuses at once.
 */
#ifndef EMBARGO_WORKQ_H
#define EMBARGO_WORKQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct embargo_workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned char *items;
	size_t item_size, cap, head, n;
	bool stopped;
};

/* 0, -EINVAL (a zero size or capacity), -ENOMEM. */
int embargo_workq_init(struct embargo_workq *q, size_t item_size, size_t cap);
/* After every worker returned from embargo_workq_pop() for good. */
void embargo_workq_free(struct embargo_workq *q);
/* Copies item in: 0, -EAGAIN when full, -ESHUTDOWN once stopped. Waits only for the lock. */
int embargo_workq_push(struct embargo_workq *q, const void *item);
/* Waits for an item and copies it out: 0, or -ESHUTDOWN once stopped (what was queued is dropped). */
int embargo_workq_pop(struct embargo_workq *q, void *item);
/* Wakes every waiting worker; pushes are refused from now on. */
void embargo_workq_stop(struct embargo_workq *q);
/* Items queued now. */
size_t embargo_workq_len(struct embargo_workq *q);

#endif
