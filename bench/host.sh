#!/usr/bin/env bash
# The host half of `make bench`: the detection tier on this machine's kernel (BPF LSM programs cannot be
# loaded here). Prints result lines (see bench/common.sh) on stdout; run by bench/run.
#
# Timed loops, each without embargod (twice: first and last, the difference is the drift of the machine),
# with embargod --mode audit and with --mode enforce, on a policy of BENCH_DIGESTS random digests, cache
# warm. Then, with embargod (enforce) and an empty tp_btf/sched_process_exec program attached and BPF
# statistics on: the in-kernel cost per run of each program on cache hits and on misses.
#
# Runs in a private mount namespace on a private tmpfs; embargod runs in the detection tier, which
# watches and reports, never blocks: no permission mark, no kill rule, nothing on the host's filesystems.
#
# Environment: BENCH_HOST_EXEC (execs per loop, default 10000), BENCH_HOST_OPEN (open+close per loop,
# default 300000), BENCH_HOST_MISS (fresh files for the miss phase, default 1000), BENCH_DIGESTS (100000).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${EMBARGO_IN_NS:-}" != 1 ]; then
	exec timeout --kill-after=10 600 unshare --mount --propagation private env EMBARGO_IN_NS=1 "$0" "$@"
fi

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bench
EMBARGOD=$PWD/$BUILD/embargod
EMBARGOCTL=$PWD/$BUILD/embargoctl
TIER=host
BENCH_PREFIX=
LOOP_TIMEOUT=120
N_EXEC=${BENCH_HOST_EXEC:-10000}
N_OPEN=${BENCH_HOST_OPEN:-300000}
N_MISS=${BENCH_HOST_MISS:-1000}
N_DIGESTS=${BENCH_DIGESTS:-100000}
. bench/common.sh

WORK=$(mktemp -d /tmp/embargo-bench.XXXXXX) || exit 1
RUNDIR=$WORK/run
cleanup() {
	stop_empty
	stop_embargod
	umount "$WORK" 2>/dev/null
	rmdir "$WORK" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mount -t tmpfs -o mode=0755 embargo-bench "$WORK" || {
	echo "bench: cannot mount a private tmpfs on $WORK" >&2
	exit 1
}

fail() {
	echo "bench: host: $*" >&2
	exit 1
}

write_policy "$N_DIGESTS" || fail "cannot write the policy"
cp "$BIN/tiny" "$WORK/tiny" && printf 'small\n' >"$WORK/small" || fail "cannot write test files"
"$BIN/loop" copies "$N_MISS" "$WORK/tiny" "$WORK/c" || fail "cannot write the miss copies"
emit "info tier=$TIER kernel=$(uname -r) cpus=$(nproc) digests=$N_DIGESTS"

loops() { # CONFIG
	run_loop "$1" exec "$N_EXEC" "$WORK/tiny" && run_loop "$1" open "$N_OPEN" "$WORK/small"
}

loops none || fail "loops without embargod failed"
for mode in audit enforce; do
	start_embargod "$mode" 60 || fail "embargod --mode $mode did not start"
	st=$(ctl status --json | tr -d ' \n')
	emit "info tier=$TIER mode=$mode embargod_tier=$(echo "$st" | sed -nE 's/.*"tier":"([a-z-]+)".*/\1/p')" \
		"rules=$(echo "$st" | sed -nE 's/.*"rules":([0-9]+).*/\1/p')"
	# Warm the cache: the first exec is classified by the daemon, the next ones are cache hits.
	timeout "$LOOP_TIMEOUT" "$BIN/loop" exec 20 "$WORK/tiny" >/dev/null || fail "warm-up failed"
	loops "$mode" || fail "loops with embargod --mode $mode failed"
	[ "$mode" = enforce ] || stop_embargod
done

start_empty --tp || fail "empty-loader --tp failed"
stats_phase exec-hit exec "$N_EXEC" "$WORK/tiny" || fail "stats phase exec-hit failed"
stats_phase exec-miss exec-each "$N_MISS" "$WORK/c" || fail "stats phase exec-miss failed"
stop_empty
stop_embargod

loops none2 || fail "loops without embargod (again) failed"
exit 0
