// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a digest list (sha256sum output, plain or gzip: the reader decides by the bytes),
 * named by a fixed policy file; the input is the list.
 */
#include "fuzz_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char policy[] = "vendor \"Fuzz\"\nsha256-list l.sha256\n";

	fuzz_write("l.policy", policy, sizeof(policy) - 1);
	fuzz_write("l.sha256", data, size);
	fuzz_load_policy("l.policy");
	return 0;
}
