// SPDX-License-Identifier: GPL-2.0
#include "fidcache.h"
#include "test.h"

#include <string.h>

static struct embargo_fid fid(uint64_t dev, uint32_t ino, uint32_t gen)
{
	struct embargo_fid id = { .dev = dev, .type = 1, .len = 8 };

	memcpy(id.h, &ino, 4);
	memcpy(id.h + 4, &gen, 4);
	return id;
}

TEST(fidcache_finds_what_was_added_and_nothing_else)
{
	struct embargo_fid_table t;
	struct embargo_fid a = fid(1, 42, 7), same = fid(1, 42, 7), other_dev = fid(2, 42, 7);
	struct embargo_fid_entry *e;

	CHECK(embargo_fid_table_init(&t, 100) == 0);
	CHECK(t.cap == 128);
	CHECK(embargo_fid_find(&t, &a) == NULL);
	e = embargo_fid_add(&t, &a);
	CHECK(e != NULL && e->used && !e->watched && !e->cached);
	e->watched = true;
	CHECK(embargo_fid_add(&t, &same) == e); /* found, not added again */
	CHECK(t.n == 1);
	CHECK(embargo_fid_find(&t, &same) == e && e->watched);
	CHECK(embargo_fid_find(&t, &other_dev) == NULL);
	embargo_fid_clear(&t);
	CHECK(t.n == 0 && embargo_fid_find(&t, &a) == NULL);
	embargo_fid_table_free(&t);
}

/* A reused inode number with a new generation is another file: never the old file's verdict. */
TEST(fidcache_reused_inode_number_is_another_file)
{
	struct embargo_fid_table t;
	struct embargo_fid old = fid(1, 42, 7), reused = fid(1, 42, 8);
	struct embargo_fid_entry *e;

	CHECK(embargo_fid_table_init(&t, 16) == 0);
	e = embargo_fid_add(&t, &old);
	CHECK(e != NULL);
	e->cached = true;
	CHECK(embargo_fid_find(&t, &reused) == NULL);
	embargo_fid_table_free(&t);
}

TEST(fidcache_full_at_three_quarters_and_long_handles_refused)
{
	struct embargo_fid_table t;
	struct embargo_fid id, big = fid(1, 1, 1);
	unsigned added = 0;

	CHECK(embargo_fid_table_init(&t, 16) == 0);
	for (uint32_t i = 0; i < 16; i++) {
		id = fid(1, i, 0);
		if (embargo_fid_add(&t, &id))
			added++;
	}
	CHECK(added == 12);
	/* Every one added is still found (the probe sequence never loops over a full table). */
	for (uint32_t i = 0; i < 12; i++) {
		id = fid(1, i, 0);
		CHECK(embargo_fid_find(&t, &id) != NULL);
	}
	big.len = EMBARGO_FID_MAX + 1;
	CHECK(embargo_fid_add(&t, &big) == NULL);
	CHECK(embargo_fid_find(&t, &big) == NULL);
	embargo_fid_table_free(&t);
}
