# Shared by the host test scripts (bash). Results are "PASS: name" / "FAIL: name: why" lines.
BUILD=${BUILD:-build}
EMBARGOD=$PWD/$BUILD/embargod
EMBARGOCTL=$PWD/$BUILD/embargoctl
failures=0

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; failures=$((failures + 1)); }
check() { # check NAME COMMAND...: PASS if the command succeeds
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}

# wait_for TIMEOUT_S COMMAND...: poll until the command succeeds; 1 on timeout. This waits for a
# condition, it does not sleep in place of one.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

# stop_pid PID [TIMEOUT_S]: TERM, then KILL after the timeout; waits for it.
stop_pid() {
	local pid=$1 t=${2:-10}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	local deadline=$((SECONDS + t))
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null || true
}
