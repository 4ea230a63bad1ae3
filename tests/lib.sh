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

# ---- host tests with a private journal and a detect-tier embargod (new tests use these) ----

# private_namespace SCRIPT ARGS...: run the calling script again, once, in a private mount namespace
# and under an overall time limit: whatever it mounts is seen by it alone and goes with it.
private_namespace() {
	[ "${EMBARGO_IN_NS:-}" = 1 ] && return 0
	exec timeout --kill-after=10 300 unshare --mount --propagation private env EMBARGO_IN_NS=1 "$@"
}

# private_workdir: $work, a private tmpfs. At exit, the processes the helpers here started (dpid,
# jpid) and those in extra_pids are stopped by PID, cleanup_extra runs if the test defines it, and the
# tmpfs goes.
private_workdir() {
	work=$(mktemp -d /tmp/embargo-host.XXXXXX)
	mount -t tmpfs -o mode=0755 embargo-test "$work" || { fail "$T/setup" "cannot mount a private tmpfs"; exit 1; }
	trap private_cleanup EXIT
}

private_cleanup() {
	local p
	for p in ${extra_pids:-} ${dpid:-} ${jpid:-}; do stop_pid "$p"; done
	if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
	umount "$work" 2>/dev/null
	rmdir "$work" 2>/dev/null
}

# private_journal DIR: a journald of this test's own, its sockets and files on tmpfs mounts that only
# this (private) mount namespace sees, with embargo's message catalog installed for journalctl -x.
# Sets jpid; 1 if it did not come up.
private_journal() {
	local dir=$1
	mkdir -p /run/systemd /run/log
	mount -t tmpfs tmpfs /run/systemd && mount -t tmpfs tmpfs /run/log || return 1
	[ -d /var/log/journal ] && mount -t tmpfs tmpfs /var/log/journal
	mkdir -p /run/systemd/journal
	timeout 900 /lib/systemd/systemd-journald >"$dir/journald.log" 2>&1 &
	jpid=$!
	wait_for 10 test -S /run/systemd/journal/socket || return 1
	mount -t tmpfs tmpfs /usr/lib/systemd/catalog 2>/dev/null || mkdir -p /usr/lib/systemd/catalog
	mkdir -p /var/lib/systemd/catalog && mount -t tmpfs tmpfs /var/lib/systemd/catalog
	cp etc/embargo.catalog /usr/lib/systemd/catalog/embargo.catalog
	journalctl --update-catalog
}

# journal ARGS...: the private journal's entries as JSON, one a line.
journal() { journalctl --no-pager -o json "$@" 2>/dev/null; }

# has COMMAND...: the command prints something (e.g. `wait_for 10 has journal MESSAGE_ID=...`).
has() { "$@" | grep -q .; }

# listed_material DIR: DIR/unlisted, DIR/listed (the same program with DIR's name appended) and
# DIR/test.policy that lists the latter under vendor "Listed Vendor" (rule at line 3). Sets sha_listed.
# The digest is this run's own: the detection tier sees every exec on the machine, and another test
# running the same program at the same time must not count here.
listed_material() {
	local dir=$1
	printf '#include <stdio.h>\nint main(void) { puts("ran"); return 0; }\n' >"$dir/prog.c"
	cc -O1 -o "$dir/unlisted" "$dir/prog.c" || return 1
	cp "$dir/unlisted" "$dir/listed" && printf 'A%s' "$dir" >>"$dir/listed"
	sha_listed=$(sha256sum "$dir/listed" | cut -d' ' -f1)
	printf '# host test\nvendor "Listed Vendor" reason "test"\nsha256 %s label "listed"\n' "$sha_listed" \
		>"$dir/test.policy"
}

# start_daemon DIR [OPTION...]: embargod on DIR/test.policy, in the detection tier (auto would mark the
# machine's filesystems) unless an OPTION says otherwise, no start-up scan, state and runtime under
# DIR, logging to the (private) journal. Sets dpid; 1 unless it answers on its control socket in 30 s.
start_daemon() {
	local dir=$1
	shift
	timeout 900 "$EMBARGOD" --policy "$dir/test.policy" --log journal --runtime-dir "$dir/run" \
		--tier detect --no-scan --state-dir "$dir/state" "$@" >"$dir/embargod.out" 2>&1 &
	dpid=$!
	wait_for 30 "$EMBARGOCTL" --runtime-dir "$dir/run" status
}

# The MESSAGE_IDs of the records of a match (see userspace/lib/record.h).
MSGID_DENIED=4f648184bc9946ebb2b0cfb190878f08
MSGID_AUDITED=8b8c31b7c4c9403eaea5fda39f71ee5d
MSGID_UNCLASSIFIED=2c1eae5c88d24976a31152d488b3fc93
MSGID_REPEATED=b6ac0f5f14f14ed5bbf870d8c8d34883
MSGID_SUPPRESSED=efc06f4d0bf84f1fbb4acc9da2045887

# tcp_ports [STATE]: the local port of every TCP socket on this machine (only those in STATE, in
# /proc/net/tcp's hex, e.g. 0A for listening), one a line.
tcp_ports() {
	local sl addr rem st rest
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r sl addr rem st rest; do
		[ "$sl" = sl ] && continue
		[ -z "${1:-}" ] || [ "$st" = "$1" ] || continue
		echo $((16#${addr##*:}))
	done
}

# tcp_port_in_use PORT: a socket on this machine (any address, any state) has PORT as its local port.
tcp_port_in_use() { tcp_ports | grep -qx "$1"; }

# tcp_listening PORT: something listens on PORT.
tcp_listening() { tcp_ports 0A | grep -qx "$1"; }

# free_tcp_port: a port in 20000-59999 that no socket uses now (the caller retries if it loses a race).
free_tcp_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		tcp_port_in_use "$p" || { echo "$p"; return 0; }
	done
	return 1
}
