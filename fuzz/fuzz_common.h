/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the libFuzzer targets: one parsing context for the whole run, with the trust anchor and
 * keyring fuzz/make-seeds made (FUZZ_ANCHOR, FUZZ_KEYRING), so the chain and key look-up paths run too.
 */
#ifndef EMBARGO_FUZZ_COMMON_H
#define EMBARGO_FUZZ_COMMON_H

#include "identify.h"

#include <stdlib.h>

static const struct ident_ctx *fuzz_ctx(void)
{
	static struct ident_ctx c;
	static int ready;
	static const char *anchor[1], *keyring[1];

	if (!ready) {
		struct embargo_identify_opts o = { .trust_anchors = anchor, .ima_keyring = keyring };

		anchor[0] = getenv("FUZZ_ANCHOR");
		keyring[0] = getenv("FUZZ_KEYRING");
		o.n_trust_anchors = anchor[0] ? 1 : 0;
		o.n_ima_keyring = keyring[0] ? 1 : 0;
		if (ident_ctx_init(&c, &o) < 0)
			abort();
		ready = 1;
	}
	return &c;
}

/* A target that runs one whole-file parser (ident_pe, ident_kmod) on the input. */
#define FUZZ_FILE_PARSER(parser)                                                                             \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                        \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                         \
	{                                                                                                    \
		struct embargo_identity id = { 0 };                                                          \
		/* Only -ENOMEM may come back, and the sanitizer's limits keep it away. */                   \
		if (parser(fuzz_ctx(), data, size, &id) < 0)                                                 \
			abort();                                                                             \
		embargo_identity_free(&id);                                                                  \
		return 0;                                                                                    \
	}

#endif
