# shellcheck shell=sh disable=SC3043 # local: bash and busybox sh both have it
# Shell helpers shared by bench/host.sh (bash, on the host) and bench/guest.sh (busybox sh, in the VM):
# plain POSIX sh plus `local`. Every waiting is a poll with a limit; every process started here has a
# time limit and is stopped by its PID.
#
# The caller sets:
#   BIN           directory holding loop, empty-loader, empty.bpf.o, tiny
#   EXPECT_TIER   the tier embargod must run
#   EMBARGOD, EMBARGOCTL
#   WORK          a private directory on tmpfs (policy, logs, test files; $WORK/tiny: the exec'ed binary)
#   RUNDIR        embargod's --runtime-dir
#   TIER          "host" or "guest": the first field of every result line
#   BENCH_PREFIX  what every result line starts with ("" on the host, "@@ # bench " in the guest)
#   LOOP_TIMEOUT  seconds one loop run may take
#   DAEMON_TIMEOUT  seconds an embargod may run at most (it is stopped long before)
#
# Result lines (one per measurement, key=value, parsed by bench/run):
#   result tier=T loop=exec config=none|audit|enforce|stats-PHASE round=R ns=MEDIAN min=... max=... n=N
#   stat tier=T phase=PHASE prog=NAME runs=R ns_per_run=X
#   counters tier=T phase=P cache_hits=... cache_misses=... kernel_hashes=... unknown=...
#   info tier=T key=value...
# and `loops CONFIG`, the timed loops of one configuration (run_loop calls, and work_loops).
# For work_material and work_loops: N_CC, N_SH, N_PY, N_PKG (operations per loop), CC_PREF (C compilers,
# preferred first), PKG_DIR (bench-files.deb and bench-files.tar, made by bench/run), DPKG_PATH (a PATH
# prefix where dpkg, dpkg-deb, dpkg-split and tar are found first, or empty).

DPID=
TPID=
EPID=

emit() { echo "${BENCH_PREFIX}$*"; }

# wait_until SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds; 1 on timeout.
wait_until() {
	local n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

gone() { ! kill -0 "$1" 2>/dev/null; }

# stop_pid PID: SIGTERM, up to 10 s, then SIGKILL; reaps it.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	if ! wait_until 10 gone "$1"; then
		echo "bench: pid $1 did not exit within 10 s of SIGTERM: killed" >&2
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	return 0
}

ctl() { timeout 20 "$EMBARGOCTL" --runtime-dir "$RUNDIR" "$@"; }

daemon_ready_or_gone() { gone "$TPID" || ctl status; }

# write_policy N: $WORK/bench.policy, one vendor with N random digests in a sha256-list file.
write_policy() {
	timeout "$LOOP_TIMEOUT" "$BIN/loop" digests "$1" "$WORK/digests.sha256" || return 1
	cat >"$WORK/bench.policy" <<EOF
# make bench: $1 random SHA-256 digests, none of them of a file that runs here
vendor "Bench" reason "benchmark"
sha256-list digests.sha256
EOF
}

# start_embargod MODE READY_TIMEOUT [ARG...]: embargod on $WORK/bench.policy, logging to
# $WORK/embargod-MODE.log, under `timeout DAEMON_TIMEOUT`; returns once its control socket answers.
# Sets DPID to embargod's own PID (from its status: coreutils' timeout forks, busybox's execs) and TPID
# to the timeout's.
start_embargod() {
	local mode=$1 limit=$2
	shift 2
	# The tier is named, never auto: on the host, auto would pick fanotify and mark the machine's own
	# filesystems. No start-up scan: it would compete with the loops for the CPU. No self-protection:
	# the bench reads the statistics of embargod's programs and stops it by PID (its hooks are not on
	# the exec and open paths measured here).
	timeout "$DAEMON_TIMEOUT" "$EMBARGOD" --policy "$WORK/bench.policy" --mode "$mode" --log stderr \
		--runtime-dir "$RUNDIR" --tier "$EXPECT_TIER" --no-scan --no-self-protection "$@" \
		>"$WORK/embargod-$mode.log" 2>&1 &
	TPID=$!
	if wait_until "$limit" daemon_ready_or_gone && ! gone "$TPID"; then
		DPID=$(ctl status --json | tr -d ' \n' | sed -nE 's/.*"pid":([0-9]+).*/\1/p')
		[ -n "$DPID" ] && return 0
	fi
	echo "bench: embargod --mode $mode did not become ready within $limit s; its log:" >&2
	tail -n 20 "$WORK/embargod-$mode.log" >&2
	stop_embargod
	return 1
}

stop_embargod() {
	stop_pid "$DPID"
	stop_pid "$TPID"
	DPID=
	TPID=
}

# start_empty --lsm|--tp: the reference programs, with BPF statistics on while they run. Sets EPID. No
# timeout wrapper (EPID must be the loader itself): it exits on its own after DAEMON_TIMEOUT s.
start_empty() {
	"$BIN/empty-loader" "$1" "$BIN/empty.bpf.o" "$DAEMON_TIMEOUT" >"$WORK/empty-loader.log" 2>&1 &
	EPID=$!
	if ! wait_until 60 grep -q '^ready' "$WORK/empty-loader.log" || gone "$EPID"; then
		echo "bench: empty-loader $1 failed:" >&2
		cat "$WORK/empty-loader.log" >&2
		stop_pid "$EPID"
		EPID=
		return 1
	fi
}

stop_empty() {
	stop_pid "$EPID"
	EPID=
}

# run_loop CONFIG LOOP N PATH [LOOP-OPTION...]: one timed loop, reported as a result line (and, with
# --stats, one stat line per program); ROUND says which round.
run_loop() {
	local config=$1 name=$2 n=$3 path=$4 out
	shift 4
	out=$(timeout "$LOOP_TIMEOUT" "$BIN/loop" "$@" "$name" "$n" "$path") || {
		echo "bench: loop $* $name $n $path ($config) failed or timed out" >&2
		return 1
	}
	report_loop "$config" "$name" "$out"
}

# run_cmd_loop CONFIG NAME N PROG [ARG...]: `loop cmd` (PROG ARG... spawned N times), reported as loop NAME.
run_cmd_loop() {
	local config=$1 name=$2 n=$3 out
	shift 3
	out=$(timeout "$LOOP_TIMEOUT" "$BIN/loop" cmd "$n" "$@") || {
		echo "bench: loop cmd $n $* ($config) failed or timed out" >&2
		return 1
	}
	report_loop "$config" "$name" "$out"
}

# report_loop CONFIG NAME OUTPUT: loop's output as result (and stat) lines.
report_loop() {
	local config=$1 name=$2 out=$3
	# exec_ns_median=1 exec_ns_min=2 exec_ns_max=3 n=N batches=B -> ns=1 min=2 max=3 n=N
	echo "$out" | sed -nE '/_ns_median=/{s/[a-z]+_ns_(median|min|max)=/\1=/g; s/median=/ns=/; s/ batches=[0-9]+//; p}' |
		while read -r line; do emit "result tier=$TIER loop=$name config=$config round=${ROUND:-0} $line"; done
	# prog name=exec_hash pid=1 runs=2 ns_per_run=3 -> stat ... prog=exec_hash runs=2 ns_per_run=3
	echo "$out" | sed -nE 's/^prog name=([^ ]+) pid=[0-9]+ /prog=\1 /p' |
		while read -r line; do emit "stat tier=$TIER phase=${config#stats-} $line"; done
}

# The daemon's counters that tell hits from misses, as "name=value ..." from status --json.
daemon_counters() {
	ctl status --json | tr -d ' \n' | grep -oE '"(cache_hits|cache_misses|kernel_hashes|unknown)":[0-9]+' |
		tr -d '"' | tr ':' '=' | tr '\n' ' '
}

# stats_phase PHASE LOOP N PATH: the loop with embargod and empty-loader running: the run time and run
# count of each of their programs over the timed operations, and the daemon's cache counters.
stats_phase() {
	local phase=$1 before after
	before=$(daemon_counters)
	ROUND=0
	run_loop "stats-$phase" "$2" "$3" "$4" --stats "$DPID,$EPID" || return 1
	after=$(daemon_counters)
	# Counter differences: how many decisions were cache hits, misses, kernel hashes (the loop's own
	# start-up included: a few hits).
	echo "$before" "|" "$after" | awk -v pre="$BENCH_PREFIX" -v tier="$TIER" -v phase="$phase" '{
		out = ""; side = 0
		for (i = 1; i <= NF; i++) {
			if ($i == "|") { side = 1; continue }
			split($i, kv, "=")
			if (side == 0) b[kv[1]] = kv[2]; else out = out " " kv[1] "=" (kv[2] - b[kv[1]])
		}
		printf "%scounters tier=%s phase=%s%s\n", pre, tier, phase, out
	}'
}

# Warms the verdict cache: the first exec of $WORK/tiny (and of loop, and of timeout) under a new daemon
# is a miss, the next ones are hits. Each loop warms up its own operation as well.
warm() {
	timeout "$LOOP_TIMEOUT" "$BIN/loop" exec 5 "$WORK/tiny" >/dev/null
}

# rounds R READY_TIMEOUT: R rounds of the caller's timed loops (`loops CONFIG`) without embargod, with
# embargod --mode audit and with --mode enforce. The order turns round every other round (none audit
# enforce, enforce audit none, ...), so that a drift of the machine favours no configuration; bench/run
# divides by the run without embargod of the same round. Checks that embargod runs EXPECT_TIER.
rounds() {
	local order c st tier
	# One unreported pass first: the first loops after boot run on cold caches.
	ROUND=0
	loops warmup >/dev/null || return 1
	ROUND=1
	while [ "$ROUND" -le "$1" ]; do
		order="none audit enforce"
		[ $((ROUND % 2)) -eq 0 ] && order="enforce audit none"
		for c in $order; do
			if [ "$c" != none ]; then
				start_embargod "$c" "$2" || return 1
				st=$(ctl status --json | tr -d ' \n')
				tier=$(echo "$st" | sed -nE 's/.*"tier":"([a-z-]+)".*/\1/p')
				[ "$ROUND" -eq 1 ] && emit "info tier=$TIER mode=$c embargod_tier=$tier" \
					"rules=$(echo "$st" | sed -nE 's/.*"rules":([0-9]+).*/\1/p')"
				if [ "$tier" != "$EXPECT_TIER" ]; then
					echo "bench: embargod runs tier '$tier', expected $EXPECT_TIER" >&2
					return 1
				fi
				warm || return 1
			fi
			loops "$c" || return 1
			[ "$c" = none ] || stop_embargod
		done
		ROUND=$((ROUND + 1))
	done
}

# The work loops' material (issue 12): a C compiler, python3, and dpkg with a private database and root
# (--admindir, --instdir: never the machine's own), or, where dpkg cannot run, the extraction of the same
# 1,000 files from a tar as the stand-in. Sets CC, PY, PKG_LOOP, PKG_CMD; emits what it found.
work_material() {
	local c out dp
	mkdir -p "$WORK/cc" "$WORK/dpkg/info" "$WORK/dpkg/updates" "$WORK/dpkg/triggers" "$WORK/inst" "$WORK/sbin" &&
		touch "$WORK/dpkg/status" "$WORK/dpkg/available" || return 1
	printf 'int main(void) { return 0; }\n' >"$WORK/cc/t.c" || return 1
	# dpkg wants ldconfig on root's PATH; nothing here runs it (the package has no libraries).
	command -v ldconfig >/dev/null || {
		printf '#!/bin/sh\nexit 0\n' >"$WORK/sbin/ldconfig" && chmod 0755 "$WORK/sbin/ldconfig"
		PATH=$PATH:$WORK/sbin
	}
	CC=
	for c in $CC_PREF; do
		CC=$(command -v "$c") && break
	done
	# Debian's own: a python3 earlier on PATH may be a version manager's shim (a shell script).
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=$(command -v python3)
	# The PATH prefix is for dpkg's own children (dpkg-deb, tar); the shell finds dpkg itself by path.
	dp=$(command -v dpkg)
	[ -n "$DPKG_PATH" ] && [ -x "$DPKG_PATH/dpkg" ] && dp=$DPKG_PATH/dpkg
	dp="PATH=${DPKG_PATH:+$DPKG_PATH:}\$PATH $dp --admindir=$WORK/dpkg --instdir=$WORK/inst"
	PKG_LOOP=dpkg
	PKG_CMD="$dp -i $PKG_DIR/bench-files.deb >/dev/null && $dp -r bench-files >/dev/null"
	if ! out=$(sh -c "$PKG_CMD" 2>&1); then
		echo "bench: dpkg cannot install here ($(echo "$out" | tail -n 3 | tr '\n' ' ')): tar of the same files instead" >&2
		PKG_LOOP=tar
		PKG_CMD="tar -xf $PKG_DIR/bench-files.tar -C $WORK/inst && rm -rf $WORK/inst/usr"
	fi
	emit "info tier=$TIER cc=${CC:-none} python3=${PY:-none} pkg=$PKG_LOOP n_cc=$N_CC n_sh=$N_SH n_py=$N_PY n_pkg=$N_PKG"
}

# work_loops CONFIG: compile-and-run, sh and python3 start-up, the package install and removal.
work_loops() {
	{ [ -z "$CC" ] || run_cmd_loop "$1" cc "$N_CC" /bin/sh -c "cd $WORK/cc && $CC t.c && ./a.out"; } &&
		run_cmd_loop "$1" sh "$N_SH" /bin/sh -c : &&
		{ [ -z "$PY" ] || run_cmd_loop "$1" python "$N_PY" "$PY" -c pass; } &&
		run_cmd_loop "$1" "$PKG_LOOP" "$N_PKG" /bin/sh -c "$PKG_CMD"
}
