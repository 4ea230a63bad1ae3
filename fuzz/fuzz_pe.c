// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the PE attribute certificate table and the Authenticode PKCS#7 in it (nested too). */
#include "fuzz_common.h"

FUZZ_FILE_PARSER(ident_pe)
