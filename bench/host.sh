#!/usr/bin/env bash
# The host half of `make bench`: the detection tier on this machine's kernel (BPF LSM programs cannot be
# loaded here). Prints result lines (see bench/common.sh) on stdout; run by bench/run.
#
# Timed loops without embargod, with embargod --mode audit and with --mode enforce, on a policy of
# BENCH_DIGESTS random digests, cache warm, in BENCH_ROUNDS interleaved rounds (see rounds in
# bench/common.sh). Then, with embargod (enforce) and an empty tp_btf/sched_process_exec program attached
# and BPF statistics on: the in-kernel cost per run of each program on cache hits and on misses.
#
# Runs in a private mount namespace on a private tmpfs; embargod runs in the detection tier, which
# watches and reports, never blocks: no permission mark, no kill rule, nothing on the host's filesystems.
#
# Environment: BENCH_HOST_EXEC (execs per loop, default 5000), BENCH_HOST_OPEN (open+close per loop,
# default 200000), BENCH_HOST_MISS (fresh files for the miss phase, default 1000), BENCH_HOST_CC,
# BENCH_HOST_SH, BENCH_HOST_PY, BENCH_HOST_PKG (the work loops: compile-and-run, sh and python3 start-up,
# 1,000-file package installs; 50, 1000, 100, 3), BENCH_ROUNDS (7), BENCH_DIGESTS (100000).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

if [ "${EMBARGO_IN_NS:-}" != 1 ]; then
	exec timeout --kill-after=10 1200 unshare --mount --propagation private env EMBARGO_IN_NS=1 "$0" "$@"
fi

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bench
EMBARGOD=$PWD/$BUILD/embargod
EMBARGOCTL=$PWD/$BUILD/embargoctl
TIER=host
BENCH_PREFIX=
DAEMON_TIMEOUT=600
LOOP_TIMEOUT=120
EXPECT_TIER=detect
ROUNDS=${BENCH_ROUNDS:-7}
N_EXEC=${BENCH_HOST_EXEC:-5000}
N_OPEN=${BENCH_HOST_OPEN:-200000}
N_MISS=${BENCH_HOST_MISS:-1000}
N_DIGESTS=${BENCH_DIGESTS:-100000}
# The work loops: 1,000 of each is the target on real hardware; these keep the host half near 4 minutes.
N_CC=${BENCH_HOST_CC:-50}
N_SH=${BENCH_HOST_SH:-1000}
N_PY=${BENCH_HOST_PY:-100}
N_PKG=${BENCH_HOST_PKG:-3}
CC_PREF=cc
PKG_DIR=$PWD/$BUILD/bench/pkg
DPKG_PATH=
# shellcheck source=bench/common.sh
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

work_material || fail "cannot make the work loops' material"

loops() { # CONFIG
	run_loop "$1" exec "$N_EXEC" "$WORK/tiny" && run_loop "$1" open "$N_OPEN" "$WORK/small" && work_loops "$1"
}

rounds "$ROUNDS" 60 || fail "the timed loops failed"

start_embargod enforce 60 || fail "embargod did not start"
warm || fail "warm-up failed"
start_empty --tp || fail "empty-loader --tp failed"
stats_phase exec-hit exec "$N_EXEC" "$WORK/tiny" || fail "stats phase exec-hit failed"
stats_phase exec-miss exec-each "$N_MISS" "$WORK/c" || fail "stats phase exec-miss failed"
stop_empty
stop_embargod
exit 0
