#!/bin/sh
# Shared by the guest suites (busybox sh): results, daemon start/stop, program runs, log waits.
# Sourced by tests/vm/guest.sh (BPF LSM tiers) and tests/vm/guest-fanotify.sh (fanotify tier).

# shellcheck disable=SC2154 # embargo_*: set by the kernel command line
T=/opt/embargo-test
RD=/run/embargo-test
LOG=/tmp/embargod.log
POL=/tmp/test.policy
STEP_TIMEOUT=30 # seconds any single program run or wait may take
READY_TIMEOUT=30
EXPECT_TIER=${embargo_tier:-lsm-hash}

DPID=
REASON=
FAILED=0
LOGOFF=0
N=0

pass() { echo "@@ PASS: $1"; }
fail() {
	echo "@@ FAIL: $1: $2"
	FAILED=$((FAILED + 1))
}
skip() { echo "@@ SKIP: $1: $2"; }
note() { printf '%s\n' "$@" | sed 's/^/@@ # /'; }

selected() {
	[ -z "$embargo_tests" ] && return 0
	case ",$embargo_tests," in *",$1,"*) return 0 ;; esac
	return 1
}

# run_test NAME: runs t_NAME (dashes as underscores); it returns 0, or sets REASON and returns 1 (FAIL) or
# 3 (SKIP: the test does not apply to this kernel or tier). SKIP also
# when NO_DAEMON_WHY is set (embargod not built, or it did not start), or when DAEMON_REQUIRED is 1 and
# no embargod runs.
run_test() {
	name=$1
	selected "$name" || return 0
	if [ -n "$NO_DAEMON_WHY" ] || { [ "$DAEMON_REQUIRED" = 1 ] && [ -z "$DPID" ]; }; then
		skip "$name" "${NO_DAEMON_WHY:-embargod is not running}"
		return 0
	fi
	REASON=
	fn=t_$(echo "$name" | tr - _)
	"$fn"
	rc=$?
	if [ $rc -eq 0 ]; then
		pass "$name"
	elif [ $rc -eq 3 ]; then
		# 3: the test does not apply to this kernel or tier; REASON says why.
		skip "$name" "${REASON:-not applicable here}"
	else
		fail "$name" "${REASON:-no reason given}"
		return 1
	fi
}

# daemon_start_step: t_daemon_start as its own result line, in every selection (the other tests need
# the daemon); if it fails without a daemon left running, NO_DAEMON_WHY makes them SKIP.
daemon_start_step() {
	if [ -n "$NO_DAEMON_WHY" ]; then
		skip daemon-start "$NO_DAEMON_WHY"
		return 0
	fi
	REASON=
	if t_daemon_start; then
		pass daemon-start
	else
		fail daemon-start "$REASON"
		[ -n "$DPID" ] || NO_DAEMON_WHY="the daemon did not start"
	fi
}

# The test every BPF LSM suite starts with (tests/vm/guest.sh, tests/vm/systemd/guest.sh).
t_lsm_active() {
	lsms=$(cat /sys/kernel/security/lsm 2>/dev/null)
	case ",$lsms," in
	*,bpf,*) return 0 ;;
	esac
	REASON="bpf is not an active LSM: /sys/kernel/security/lsm says '$lsms'"
	return 1
}

# ------------------------------------------------------------------------------------------- helpers

sha() { sha256sum "$1" | cut -d' ' -f1; }

# flat TEXT: on one line, for a reason.
flat() { printf '%s' "$1" | tr '\n' ' '; }

# mark_log: later log_has/wait_log only look at what the daemon logged after this point.
mark_log() { LOGOFF=$(wc -c <"$LOG" 2>/dev/null || echo 0); }

# log_has STRING...: a line logged since mark_log contains every STRING (fixed strings).
log_has() {
	lines=$(tail -c +$((LOGOFF + 1)) "$LOG" 2>/dev/null)
	for s in "$@"; do
		lines=$(printf '%s\n' "$lines" | grep -F -- "$s") || return 1
	done
	return 0
}

# wait_log STRING...: waits (up to STEP_TIMEOUT s) for such a line; sets REASON on timeout.
wait_log() {
	i=0
	while [ $i -lt $((STEP_TIMEOUT * 10)) ]; do
		log_has "$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	REASON="no log line with: $* within ${STEP_TIMEOUT}s"
	note "daemon log since the step:" "$(tail -c +$((LOGOFF + 1)) "$LOG" | tail -n 15)"
	return 1
}

# wait_until SECONDS COMMAND...: polls the condition until it holds; 1 (REASON from it) on timeout.
wait_until() {
	i=0
	n=$(($1 * 10))
	shift
	while [ $i -lt $n ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# event ACTION HOOK PATH [MORE...]: the key="value" strings of an event line.
# prog_run PATH [ARG...]: runs PATH through trun with $MARKER set to a fresh file; sets OUT, RC, MK.
prog_run() {
	N=$((N + 1))
	MK=/tmp/marker.$N
	rm -f "$MK"
	OUT=$(MARKER=$MK timeout $STEP_TIMEOUT trun "$@" 2>&1)
	RC=$?
}

# expect_denied PATH [ARG...]: execve fails with EPERM, nothing runs, no marker.
expect_denied() {
	prog_run "$@"
	if [ $RC -ne 200 ]; then
		REASON="exec of $1 was not refused: exit $RC, output: $(flat "$OUT")"
		return 1
	fi
	if [ "$OUT" != "trun: execve: Operation not permitted (errno 1)" ]; then
		REASON="exec of $1 failed, but not with EPERM: $(flat "$OUT")"
		return 1
	fi
	if [ -e "$MK" ]; then
		REASON="exec of $1 failed with EPERM, yet the program wrote its marker"
		return 1
	fi
	return 0
}

# hold_active: embargod's fanotify hold (hybrid.c) holds unclassified execs until they are hashed.
hold_active() { ctl status --json 2>/dev/null | tr -d ' \t\n' | grep -q '"hold":{"active":true'; }

# expect_denied_first PATH [ARG...]: a file the daemon has never seen is denied on its first exec (tier
# lsm-hash hashes in the kernel; in tier lsm the fanotify hold waits for embargod's hash). Only tier lsm
# without the hold (fanotify unavailable) lets an unseen file run once while the daemon classifies it:
# there the exec must be denied within STEP_TIMEOUT s.
expect_denied_first() {
	{ [ "$EXPECT_TIER" = lsm-hash ] || hold_active; } && {
		expect_denied "$@"
		return
	}
	i=0
	while ! expect_denied "$@"; do
		i=$((i + 1))
		[ $i -ge $((STEP_TIMEOUT * 10)) ] && return 1
		sleep 0.1
	done
	[ $i -gt 0 ] && note "$1: denied after $i attempts (tier $EXPECT_TIER)"
	return 0
}

# expect_runs PATH NAME [ARG...]: runs, exit 0, prints "NAME ran", writes its marker.
expect_runs() {
	p=$1
	want=$2
	shift 2
	prog_run "$p" "$@"
	if [ $RC -ne 0 ] || [ "$OUT" != "$want ran" ] || [ ! -e "$MK" ]; then
		REASON="$p did not run: exit $RC, output: $(flat "$OUT"), marker $([ -e "$MK" ] && echo written || echo missing)"
		return 1
	fi
	return 0
}

ctl() { timeout $STEP_TIMEOUT embargoctl --runtime-dir "$RD" "$@"; }

# start_daemon POLICY [ARG...]: starts embargod and waits until its control socket answers.
start_daemon() {
	pol=$1
	shift
	: >"$LOG"
	LOGOFF=0
	# shellcheck disable=SC2046 # embargo_daemon_args: extra options, comma-separated
	embargod --policy "$pol" --mode enforce --log stderr --runtime-dir "$RD" "$@" \
		$(echo "$embargo_daemon_args" | tr , ' ') >"$LOG" 2>&1 &
	DPID=$!
	i=0
	while [ $i -lt $((READY_TIMEOUT * 10)) ]; do
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID"
			REASON="embargod exited with status $? before it was ready"
			DPID=
			note "daemon log:" "$(tail -n 30 "$LOG")"
			dump_log
			return 1
		fi
		if embargoctl --runtime-dir "$RD" status >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	REASON="embargoctl status did not succeed within ${READY_TIMEOUT}s"
	note "daemon log:" "$(tail -n 30 "$LOG")"
	stop_daemon
	return 1
}

daemon_gone() { ! kill -0 "$DPID" 2>/dev/null; }

# stop_daemon: SIGTERM, up to 10 s, then SIGKILL. Sets DSTATUS. In enforce mode self-protection refuses
# signals from anyone but PID 1 (here /init, not this shell): the daemon is switched to audit mode
# first, as an administrator without systemd would.
stop_daemon() {
	DSTATUS=
	[ -n "$DPID" ] || return 0
	if ! kill -TERM "$DPID" 2>/dev/null && kill -0 "$DPID" 2>/dev/null; then
		ctl mode audit >/dev/null 2>&1
		kill -TERM "$DPID" 2>/dev/null
	fi
	if ! wait_until 10 daemon_gone; then
		ctl mode audit >/dev/null 2>&1
		kill -KILL "$DPID" 2>/dev/null
		note "embargod did not exit within 10 s of SIGTERM: killed"
		wait_until 5 daemon_gone
	fi
	if ! daemon_gone; then
		# Never wait for a process that cannot be stopped: the suite would hang.
		note "embargod (pid $DPID) cannot be stopped: self-protection, and no control socket to switch it to audit"
		DSTATUS=unstoppable
		DPID=
		dump_log
		return 0
	fi
	wait "$DPID"
	DSTATUS=$?
	DPID=
	# What the daemon's system call filter refused, for syscall-filter-quiet (it logs it at its exit).
	grep -F 'The system call filter refused' "$LOG" >>/tmp/refused-syscalls 2>/dev/null
	dump_log
}

# Every daemon run of the suite: its seccomp allow-list refused nothing (the steady state needs no call
# outside it). Run last, after the daemons have stopped.
t_syscall_filter_quiet() {
	[ -z "$DPID" ] || stop_daemon
	[ -s /tmp/refused-syscalls ] || return 0
	REASON="refused: $(sort -u /tmp/refused-syscalls | cut -c1-200 | tr '\n' ';')"
	return 1
}

# status_has GLOB WHAT: embargoctl status --json, white space removed, matches the shell pattern GLOB;
# else REASON says the status does not show WHAT.
status_has() {
	st=$(ctl status --json 2>&1) || {
		REASON="embargoctl status --json failed: $st"
		return 1
	}
	# shellcheck disable=SC2254 # GLOB is a pattern on purpose
	case "$(printf '%s' "$st" | tr -d ' \t\n')" in
	$1) return 0 ;;
	esac
	REASON="status does not say $2: $st"
	return 1
}

dump_log() {
	[ -s "$LOG" ] && sed 's/^/@@ embargod| /' "$LOG"
	: >"$LOG"
}

trap 'stop_daemon' EXIT

