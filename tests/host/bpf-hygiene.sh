#!/usr/bin/env bash
# The kernel programs keep the rules no verifier checks on this host (LSM programs cannot load here):
# every LSM hook first passes on an earlier refusal (`if (ret) return earlier(ret);`), the verdict
# helpers have one definition (bpf/common.bpf.h), and nothing prints to the trace pipe. Reads files only.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/bpf-hygiene

# For each SEC("lsm/...") or SEC("lsm.s/...") program: the first return in its body is the pass-on of
# an earlier verdict, right under the test of ret.
bad=$(awk '
	/^SEC\("lsm(\.s)?\// { lsm = 1; name = ""; next }
	lsm && name == "" && /BPF_PROG\(/ { name = $0; sub(/.*BPF_PROG\(/, "", name); sub(/,.*/, "", name); next }
	lsm && /^}/ { if (!seen) print FILENAME ":" name ": no return"; lsm = 0; seen = 0; prev = ""; next }
	lsm && name != "" && !seen && /return/ {
		seen = 1
		if ($0 !~ /return earlier\(\(?(int\))?ret\);/ || prev !~ /^[ \t]*if \(\(?(int\))?ret\)$/)
			print FILENAME ":" name ": first statement is not `if (ret) return earlier(ret);`"
	}
	lsm && NF { prev = $0 }
' bpf/*.bpf.c)
n=$(grep -c '^SEC("lsm' bpf/*.bpf.c | awk -F: '{ s += $2 } END { print s }')
check "$T/lsm-hooks-pass-on-earlier-verdicts" test -z "$bad" -a "$n" -gt 0
[ -z "$bad" ] || echo "# $bad"

defs=$(grep -lE '^static __always_inline int (earlier|verdict_errno)\(' bpf/*.c bpf/*.h)
check "$T/verdict-helpers-defined-once" test "$defs" = bpf/common.bpf.h
[ "$defs" = bpf/common.bpf.h ] || echo "# defined in: $(echo $defs)"
check "$T/eperm-defined-once" test "$(grep -l '^#define EPERM' bpf/*.c bpf/*.h)" = bpf/common.bpf.h

printk=$(grep -nE 'bpf_(trace_)?printk' bpf/*.c bpf/*.h)
check "$T/no-bpf-printk" test -z "$printk"
[ -z "$printk" ] || echo "# $printk"

# The dedup window is one constant both sides use, not a variable either side could drift from.
check "$T/dedup-window-one-constant" test -z "$(grep -rn dedup_window_ns bpf userspace)"

[ $failures -eq 0 ]
