// SPDX-License-Identifier: GPL-2.0
/* The bounded queue between the event loop and the classifier (workq.h). */
#include "test.h"

#include "workq.h"

#include <errno.h>
#include <pthread.h>

TEST(workq_bounded_fifo)
{
	struct embargo_workq q;
	int v;

	CHECK_EQ_INT(embargo_workq_init(&q, sizeof(int), 0), -EINVAL);
	REQUIRE(embargo_workq_init(&q, sizeof(int), 3) == 0);
	for (int i = 1; i <= 3; i++)
		CHECK_EQ_INT(embargo_workq_push(&q, &i), 0);
	/* Full: refused at once, nothing overwritten. */
	v = 99;
	CHECK_EQ_INT(embargo_workq_push(&q, &v), -EAGAIN);
	CHECK_EQ_INT(embargo_workq_len(&q), 3);
	CHECK_EQ_INT(embargo_workq_pop(&q, &v), 0);
	CHECK_EQ_INT(v, 1);
	/* Wraps round. */
	v = 4;
	CHECK_EQ_INT(embargo_workq_push(&q, &v), 0);
	for (int want = 2; want <= 4; want++) {
		CHECK_EQ_INT(embargo_workq_pop(&q, &v), 0);
		CHECK_EQ_INT(v, want);
	}
	CHECK_EQ_INT(embargo_workq_len(&q), 0);
	embargo_workq_stop(&q);
	CHECK_EQ_INT(embargo_workq_push(&q, &v), -ESHUTDOWN);
	CHECK_EQ_INT(embargo_workq_pop(&q, &v), -ESHUTDOWN);
	embargo_workq_free(&q);
}

static void *waiter(void *arg)
{
	int v;

	return (void *)(long)embargo_workq_pop(arg, &v);
}

/* A worker waiting on an empty queue is woken by stop. */
TEST(workq_stop_wakes)
{
	struct embargo_workq q;
	pthread_t t;
	void *ret;

	REQUIRE(embargo_workq_init(&q, sizeof(int), 1) == 0);
	REQUIRE(pthread_create(&t, NULL, waiter, &q) == 0);
	embargo_workq_stop(&q);
	pthread_join(t, &ret);
	CHECK_EQ_INT((long)ret, -ESHUTDOWN);
	embargo_workq_free(&q);
}
