// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the kernel module signature trailer and its PKCS#7. */
#include "fuzz_common.h"

FUZZ_FILE_PARSER(ident_kmod)
