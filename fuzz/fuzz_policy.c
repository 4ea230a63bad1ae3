// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a policy file. The loader reads files by name (through open_trusted()), so the input
 * is written to a.policy in a private directory and loaded from there; lists and trust anchors it names
 * relative to it resolve in that directory too (b.sha256 and an empty ca.pem are there).
 */
#include "fuzz_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write("a.policy", data, size);
	fuzz_load_policy("a.policy");
	return 0;
}
