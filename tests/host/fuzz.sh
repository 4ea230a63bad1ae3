#!/usr/bin/env bash
# A short libFuzzer run of each signature parser (fuzz/run: ASan, UBSan) on seeds cut from real signed
# files, and of the policy, digest-list and embargo.conf parsers on tests/fuzz/: FUZZ_SECONDS per target
# (default 20). Longer runs: fuzz/run 600.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

secs=${FUZZ_SECONDS:-20}
if ! clang -fsanitize=fuzzer -x c -o /dev/null - <<<'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' 2>/dev/null; then
	echo "SKIP: fuzz: clang has no libFuzzer (libclang-rt-14-dev)"
	exit 0
fi
for t in pe kmod ima policy list config; do
	if out=$(fuzz/run "$secs" "$t" 2>&1); then
		pass "fuzz: $t: $(tail -1 <<<"$out" | sed 's/^fuzz\/run: [a-z]*: //')"
	else
		fail "fuzz: $t" "$(tail -3 <<<"$out" | tr '\n' ' ')"
	fi
done
[ $failures -eq 0 ]
