#!/bin/sh
# The guest half of `make bench` (busybox sh, run by /init in the qemu guest instead of the test suite:
# bench/run starts tools/vmtest with GUEST_SCRIPT=bench/guest.sh). The BPF LSM tier lsm-hash.
#
# Timed loops (exec, open+close, executable mmap; compile-and-run, sh and python3 start-up, a 1,000-file
# package install and removal) without embargod, with embargod --mode audit and with
# --mode enforce on a policy of random digests, cache warm, in interleaved rounds (see rounds in
# bench/common.sh). Then, with embargod (enforce) and the empty reference LSM programs attached and
# BPF statistics on, the in-kernel cost per run of every program, phase by phase:
#   exec-hit   the same binary exec'ed again and again (verdict cached)
#   exec-miss  fresh copies, each exec'ed once: each is hashed in the kernel
#   mmap-hit   the same file mapped PROT_EXEC again and again
#   mmap-miss  fresh files, each mapped PROT_EXEC once: each is hashed in the kernel
#   open       open+close of a data file: file_open's return for opens that neither write nor exec
#
# Result lines are printed as "@@ # bench ..." (see bench/common.sh); tools/vmtest passes them on as
# "    # bench ...". Ends with "@@ PASS: bench" or "@@ FAIL: bench: why".
#
# Kernel command line (VM_APPEND) may set: bench_rounds, bench_exec, bench_open, bench_mmap (operations
# per loop), bench_stats_exec (execs in the exec-hit phase), bench_miss (fresh files per miss phase),
# bench_digests, bench_cc, bench_sh, bench_py, bench_pkg.

G=/opt/embargo-test
BIN=$G
EMBARGOD=embargod
EMBARGOCTL=embargoctl
TIER=guest
BENCH_PREFIX='@@ # bench '
DAEMON_TIMEOUT=1200
LOOP_TIMEOUT=300
WORK=/tmp/bench
RUNDIR=/run/embargo-bench
ROUNDS=${bench_rounds:-7}
N_EXEC=${bench_exec:-600}
N_OPEN=${bench_open:-20000}
N_MMAP=${bench_mmap:-5000}
N_STATS_EXEC=${bench_stats_exec:-1000}
N_MISS=${bench_miss:-300}
N_DIGESTS=${bench_digests:-100000}
N_RELOAD_EXEC=${bench_reload_exec:-3000}
# The work loops (issue 12): on real hardware 1,000 of each; under TCG a compile costs ~0.1-0.2 s, a
# python3 start-up ~0.2 s and a 1,000-file install seconds, so fewer, to keep make bench near 15 min.
N_CC=${bench_cc:-50}
N_SH=${bench_sh:-500}
N_PY=${bench_py:-30}
N_PKG=${bench_pkg:-3}
# tcc: bench/run copies it in (gcc's toolchain would not fit the initramfs, and takes seconds per compile
# under TCG). dpkg, dpkg-deb, dpkg-split and GNU tar in $G: the guest's /usr/bin has busybox's.
CC_PREF="tcc cc"
PKG_DIR=$G
DPKG_PATH=$G
EXPECT_TIER=${embargo_tier:-lsm-hash}
# shellcheck source=bench/common.sh
. "$G/common.sh"

# Reports, stops what runs, and ends the script (the harness powers off after it).
finish() {
	stop_empty
	if [ -n "$DPID" ]; then
		stop_embargod
	fi
	# The daemons' output, for tools/vmtest's embargod-<release>.log.
	for f in "$WORK"/embargod-*.log; do
		[ -s "$f" ] && sed 's/^/@@ embargod| /' "$f"
	done
	if [ -z "$1" ]; then
		echo "@@ PASS: bench"
		exit 0
	fi
	echo "@@ FAIL: bench: $1"
	for f in "$WORK"/embargod-*.log "$WORK/empty-loader.log"; do
		[ -s "$f" ] && tail -n 15 "$f" | sed "s|^|@@ # $(basename "$f"): |"
	done
	exit 1
}

mkdir -p "$WORK" || finish "cannot create $WORK"
write_policy "$N_DIGESTS" || finish "cannot write the policy"
cp "$BIN/tiny" "$WORK/tiny" && cp "$BIN/tiny" "$WORK/lib" && echo small >"$WORK/small" ||
	finish "cannot write the test files"
# Made before embargod starts: none of them has been seen when its phase begins.
"$BIN/loop" copies "$N_MISS" "$WORK/tiny" "$WORK/c" && "$BIN/loop" copies "$N_MISS" "$WORK/tiny" "$WORK/m" ||
	finish "cannot write the fresh copies"
emit "info tier=$TIER kernel=$(uname -r) cpus=$(nproc) digests=$N_DIGESTS"

# Policy reload of 1,000,000 digests while a program is exec'ed in a loop (issue: a reload must not stall
# execs). The same exec loop runs once with no reload and once while `embargoctl reload` builds and
# switches the new generation; result lines give the median and the worst batch of each, and a
# "reload" line the reload's own time.
reload_phase() {
	# The daemon loads a million digests, then reloads another million (random, so all new).
	[ -z "$DPID" ] || stop_embargod
	write_policy 1000000 && start_embargod enforce 600 && warm || return 1
	"$BIN/loop" digests 1000000 "$WORK/digests.sha256" || return 1
	run_loop reload-none exec "$N_RELOAD_EXEC" "$WORK/tiny" || return 1
	ctl_reload() { timeout 600 "$EMBARGOCTL" --runtime-dir "$RUNDIR" reload >"$WORK/reload.out" 2>&1; }
	ctl_reload &
	rpid=$!
	run_loop reload-during exec "$N_RELOAD_EXEC" "$WORK/tiny" || return 1
	wait $rpid
	rc=$?
	st=$(ctl status --json | tr -d ' \n')
	emit "reload tier=$TIER digests=1000000 rc=$rc ms=$(echo "$st" | sed -nE 's/.*"last_ms":([0-9]+).*/\1/p') generation=$(echo "$st" | sed -nE 's/.*"generation":([0-9]+).*/\1/p') still_running=$(gone "$TPID" && echo no || echo yes)"
	[ $rc -eq 0 ]
}

loops() { # CONFIG
	run_loop "$1" exec "$N_EXEC" "$WORK/tiny" && run_loop "$1" open "$N_OPEN" "$WORK/small" &&
		run_loop "$1" mmap "$N_MMAP" "$WORK/lib" && work_loops "$1"
}

work_material || finish "cannot make the work loops' material"

if [ "${bench_only:-}" = reload ]; then
	reload_phase || finish "the reload phase failed"
	finish ""
fi

rounds "$ROUNDS" 180 || finish "the timed loops failed"

start_embargod enforce 180 || finish "embargod did not start"
warm || finish "warm-up failed"
start_empty --lsm || finish "empty-loader --lsm failed"
stats_phase exec-hit exec "$N_STATS_EXEC" "$WORK/tiny" &&
	stats_phase exec-miss exec-each "$N_MISS" "$WORK/c" &&
	stats_phase mmap-hit mmap "$N_MMAP" "$WORK/lib" &&
	stats_phase mmap-miss mmap-each "$N_MISS" "$WORK/m" &&
	stats_phase open open "$N_OPEN" "$WORK/small" || finish "a bpf_stats phase failed"
stop_empty
reload_phase || finish "the reload phase failed"
finish """"
