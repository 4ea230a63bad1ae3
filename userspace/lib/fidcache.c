// SPDX-License-Identifier: GPL-2.0
#include "fidcache.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int embargo_fid_table_init(struct embargo_fid_table *t, size_t cap)
{
	size_t c = 16;

	while (c < cap)
		c <<= 1;
	*t = (struct embargo_fid_table){ .cap = c };
	t->e = calloc(c, sizeof(*t->e));
	return t->e ? 0 : -ENOMEM;
}

void embargo_fid_table_free(struct embargo_fid_table *t)
{
	free(t->e);
	*t = (struct embargo_fid_table){};
}

static bool fid_equal(const struct embargo_fid *a, const struct embargo_fid *b)
{
	return a->dev == b->dev && a->type == b->type && a->len == b->len && memcmp(a->h, b->h, a->len) == 0;
}

static size_t fid_hash(const struct embargo_fid *id)
{
	/* FNV-1a: the handle's bytes are the inode's number and generation, not chosen to collide. */
	uint64_t h = 0xcbf29ce484222325ull;
	const uint8_t *p = (const uint8_t *)&id->dev;

	for (size_t i = 0; i < sizeof(id->dev); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	for (size_t i = 0; i < id->len && i < EMBARGO_FID_MAX; i++)
		h = (h ^ id->h[i]) * 0x100000001b3ull;
	return (size_t)h;
}

/* The slot of id, or the free slot where it would go (the table is never full: see _add). */
static struct embargo_fid_entry *slot_of(struct embargo_fid_table *t, const struct embargo_fid *id)
{
	size_t i = fid_hash(id) & (t->cap - 1);

	while (t->e[i].used && !fid_equal(&t->e[i].id, id))
		i = (i + 1) & (t->cap - 1);
	return &t->e[i];
}

struct embargo_fid_entry *embargo_fid_find(struct embargo_fid_table *t, const struct embargo_fid *id)
{
	struct embargo_fid_entry *e;

	if (!t->e || id->len > EMBARGO_FID_MAX)
		return NULL;
	e = slot_of(t, id);
	return e->used ? e : NULL;
}

struct embargo_fid_entry *embargo_fid_add(struct embargo_fid_table *t, const struct embargo_fid *id)
{
	struct embargo_fid_entry *e;

	if (!t->e || id->len > EMBARGO_FID_MAX)
		return NULL;
	e = slot_of(t, id);
	if (e->used)
		return e;
	if (t->n >= t->cap / 4 * 3)
		return NULL;
	*e = (struct embargo_fid_entry){ .id = *id, .used = true };
	t->n++;
	return e;
}

void embargo_fid_clear(struct embargo_fid_table *t)
{
	if (t->e)
		memset(t->e, 0, t->cap * sizeof(*t->e));
	t->n = 0;
}
