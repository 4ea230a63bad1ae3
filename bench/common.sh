# Shell helpers shared by bench/host.sh (bash, on the host) and bench/guest.sh (busybox sh, in the VM):
# plain POSIX sh plus `local`. Every waiting is a poll with a limit; every process started here has a
# time limit and is stopped by its PID.
#
# The caller sets:
#   BIN           directory holding loop, progstats, empty-loader, empty.bpf.o, tiny
#   EMBARGOD, EMBARGOCTL
#   WORK          a private directory on tmpfs (policy, logs, test files)
#   RUNDIR        embargod's --runtime-dir
#   TIER          "host" or "guest": the first field of every result line
#   BENCH_PREFIX  what every result line starts with ("" on the host, "@@ # bench " in the guest)
#   LOOP_TIMEOUT  seconds one loop run may take
#
# Result lines (one per measurement, key=value, parsed by bench/run):
#   result tier=T loop=exec config=none|audit|enforce|none2 ns=MEDIAN min=... max=... n=N
#   stat tier=T phase=P prog=NAME runs=R ns_per_run=X
#   counters tier=T phase=P cache_hits=... cache_misses=... kernel_hashes=... unknown=...
#   info tier=T key=value...

DPID=
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

daemon_ready_or_gone() { gone "$DPID" || ctl status; }

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
# $WORK/embargod-MODE.log; returns once its control socket answers. Sets DPID.
start_embargod() {
	local mode=$1 limit=$2
	shift 2
	"$EMBARGOD" --policy "$WORK/bench.policy" --mode "$mode" --log stderr --runtime-dir "$RUNDIR" "$@" \
		>"$WORK/embargod-$mode.log" 2>&1 &
	DPID=$!
	if ! wait_until "$limit" daemon_ready_or_gone || gone "$DPID"; then
		echo "bench: embargod --mode $mode did not become ready within $limit s; its log:" >&2
		tail -n 20 "$WORK/embargod-$mode.log" >&2
		stop_pid "$DPID"
		DPID=
		return 1
	fi
}

stop_embargod() {
	stop_pid "$DPID"
	DPID=
}

# start_empty --lsm|--tp: the reference programs, with BPF statistics on while they run. Sets EPID. No
# timeout wrapper (EPID must be the loader itself): it exits on its own after 1800 s.
start_empty() {
	"$BIN/empty-loader" "$1" "$BIN/empty.bpf.o" 1800 >"$WORK/empty-loader.log" 2>&1 &
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

# run_loop CONFIG LOOP N PATH: one timed loop, reported as a result line.
run_loop() {
	local out
	out=$(timeout "$LOOP_TIMEOUT" "$BIN/loop" "$2" "$3" "$4") || {
		echo "bench: loop $2 $3 $4 ($1) failed or timed out" >&2
		return 1
	}
	# exec_ns_median=1 exec_ns_min=2 exec_ns_max=3 n=N batches=B -> ns=1 min=2 max=3 n=N
	emit "result tier=$TIER loop=$2 config=$1 $(echo "$out" | sed -E 's/[a-z]+_ns_median=/ns=/; s/[a-z]+_ns_min=/min=/; s/[a-z]+_ns_max=/max=/; s/ batches=[0-9]+//')"
}

# The daemon's counters that tell hits from misses, as "name=value ..." from status --json.
daemon_counters() {
	ctl status --json | tr -d ' \n' | grep -oE '"(cache_hits|cache_misses|kernel_hashes|unknown)":[0-9]+' |
		tr -d '"' | tr ':' '=' | tr '\n' ' '
}

# stats_phase PHASE LOOP N PATH: the loop, with the run time and run count of every program of embargod
# and of empty-loader taken before and after; one stat line per program, the difference.
stats_phase() {
	local phase=$1 before after
	"$BIN/progstats" "$DPID" "$EPID" >"$WORK/stats.before" || return 1
	before=$(daemon_counters)
	run_loop "stats-$phase" "$2" "$3" "$4" || return 1
	"$BIN/progstats" "$DPID" "$EPID" >"$WORK/stats.after" || return 1
	after=$(daemon_counters)
	awk -v pre="$BENCH_PREFIX" -v tier="$TIER" -v phase="$phase" '
		function parse(   i, kv) {
			split("", F)
			for (i = 1; i <= NF; i++) { split($i, kv, "="); F[kv[1]] = kv[2] }
			return F["pid"] " " F["id"]
		}
		FNR == NR { k = parse(); t[k] = F["run_time_ns"]; c[k] = F["run_cnt"]; next }
		{
			k = parse()
			runs = F["run_cnt"] - c[k]
			ns = (runs > 0) ? sprintf("%.1f", (F["run_time_ns"] - t[k]) / runs) : "-"
			printf "%sstat tier=%s phase=%s prog=%s runs=%d ns_per_run=%s\n", pre, tier, phase, F["name"], runs, ns
		}' "$WORK/stats.before" "$WORK/stats.after"
	# Counter differences: how many of the phase's decisions were cache hits, misses, kernel hashes.
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
