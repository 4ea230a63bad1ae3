// SPDX-License-Identifier: GPL-2.0
#include "workq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int embargo_workq_init(struct embargo_workq *q, size_t item_size, size_t cap)
{
	*q = (struct embargo_workq){ .item_size = item_size, .cap = cap };
	if (!item_size || !cap)
		return -EINVAL;
	q->items = calloc(cap, item_size);
	if (!q->items)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	return 0;
}

void embargo_workq_free(struct embargo_workq *q)
{
	if (!q->items)
		return;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->items);
	*q = (struct embargo_workq){ 0 };
}

int embargo_workq_push(struct embargo_workq *q, const void *item)
{
	int r = 0;

	pthread_mutex_lock(&q->lock);
	if (q->stopped)
		r = -ESHUTDOWN;
	else if (q->n == q->cap)
		r = -EAGAIN;
	else {
		memcpy(q->items + ((q->head + q->n) % q->cap) * q->item_size, item, q->item_size);
		q->n++;
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

int embargo_workq_pop(struct embargo_workq *q, void *item)
{
	int r = 0;

	pthread_mutex_lock(&q->lock);
	while (!q->stopped && q->n == 0)
		pthread_cond_wait(&q->cond, &q->lock);
	if (q->stopped) {
		r = -ESHUTDOWN;
	} else {
		memcpy(item, q->items + q->head * q->item_size, q->item_size);
		q->head = (q->head + 1) % q->cap;
		q->n--;
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

void embargo_workq_stop(struct embargo_workq *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopped = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

size_t embargo_workq_len(struct embargo_workq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->n;
	pthread_mutex_unlock(&q->lock);
	return n;
}
