#!/usr/bin/env bash
# Lost or late work fails closed in the fanotify tier (issue 11, section 3): huge sparse files exec'd at
# once must not take every worker and slot so that what comes after is allowed unhashed. Larger than
# max_hash_size_mib: refused at once without hashing in enforce mode, reported (and let through) in audit
# mode. Below the limit but slow to hash: they take at most all workers but one, and the late lane, not a
# decision worker, goes on hashing those let through on a timeout; a listed file exec'd meanwhile is
# still refused and a clean one still runs. Scoped to a private tmpfs (the only filesystem marked) and a
# private bpffs in a private mount namespace; every process runs under a timeout. With every slot taken,
# the next file is refused in enforce mode: a full queue is no timeout.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/fanotify-load
private_namespace "$0" "$@"

private_workdir
mount -t bpf bpf /sys/fs/bpf || { fail "$T/setup" "cannot mount a private bpffs"; exit 1; }
cleanup_extra() { umount /sys/fs/bpf 2>/dev/null; }
private_journal "$work" || { fail "$T/setup" "no private journal"; exit 1; }
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }
B=$work/bin
mkdir -p "$B"
mv "$work/listed" "$work/unlisted" "$B/"
N=4
for i in $(seq $N); do
	# Sparse: terabytes of holes cost no memory, and reading them is still hashing them.
	cp "$B/unlisted" "$B/huge$i" && truncate -s 4T "$B/huge$i"
	cp "$B/unlisted" "$B/slow$i" && printf '%s' "$i" >>"$B/slow$i" && truncate -s 64G "$B/slow$i"
done
ctl() { "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }
fan() { ctl status --json | jq -r ".fanotify.$1"; }
# run PATH: "rc=N out=..." of PATH run under a timeout
run() {
	local out rc
	out=$(timeout 20 "$@" 2>&1)
	rc=$?
	echo "rc=$rc out=$out"
}
denied() { [[ $1 == "rc=126 out="*"Operation not permitted" ]]; }
# background PATH...: each one exec'd at once, in the background; their results in $work/bg.PATH-NAME
background() {
	bg_pids=()
	for p in "$@"; do
		(run "$p" >"$work/bg.$(basename "$p")") &
		bg_pids+=($!)
	done
}
started() { [ "$(fan events)" -ge "$1" ]; }

# --- Larger than max_hash_size_mib ---
printf 'max_hash_size_mib 64\n' >"$work/small.conf"
if ! start_daemon "$work" --config "$work/small.conf" --tier fanotify --fanotify-path "$work" --mode enforce; then
	fail "$T/start" "$(tail -5 "$work/embargod.out")"
	exit 1
fi
e0=$(fan events)
background $(for i in $(seq $N); do echo "$B/huge$i"; done)
wait_for 20 started $((e0 + N))
r=$(run "$B/listed")
if denied "$r"; then pass "$T/too-big/listed-after-refused"; else fail "$T/too-big/listed-after-refused" "$r"; fi
r=$(run "$B/unlisted")
check "$T/too-big/clean-after-runs" test "$r" = "rc=0 out=ran"
wait "${bg_pids[@]}"
ok=0
for i in $(seq $N); do denied "$(cat "$work/bg.huge$i")" && ok=$((ok + 1)); done
if [ $ok -eq $N ]; then pass "$T/too-big/refused-unhashed"; else fail "$T/too-big/refused-unhashed" "$ok of $N refused: $(cat "$work"/bg.huge*)"; fi
check "$T/too-big/counted" test "$(fan too_big)" -ge $N
check "$T/too-big/not-hashed" test "$(fan hashed)" -le 3
if wait_for 10 has journal MESSAGE_ID=$MSGID_UNCLASSIFIED EMBARGO_ACTION=denied EMBARGO_PATH="$B/huge1"; then
	pass "$T/too-big/reported"
else
	fail "$T/too-big/reported" "$(journal MESSAGE_ID=$MSGID_UNCLASSIFIED | tail -2)"
fi
# Audit mode: let through, and reported so.
ctl mode audit >/dev/null
r=$(run "$B/huge1")
check "$T/too-big/audit-runs" test "$r" = "rc=0 out=ran"
if wait_for 10 has journal MESSAGE_ID=$MSGID_UNCLASSIFIED EMBARGO_ACTION=audited EMBARGO_PATH="$B/huge1"; then
	pass "$T/too-big/audit-reported"
else
	fail "$T/too-big/audit-reported" "$(journal MESSAGE_ID=$MSGID_UNCLASSIFIED | tail -2)"
fi
ctl mode enforce >/dev/null
stop_pid "$dpid"
dpid=

# --- Below the limit, slow to hash: the limit at its largest, and a long deadline ---
printf 'max_hash_size_mib 1048576\ndecision_timeout_ms 4000\n' >"$work/large.conf"
if ! start_daemon "$work" --config "$work/large.conf" --tier fanotify --fanotify-path "$work" --mode enforce; then
	fail "$T/start-large" "$(tail -5 "$work/embargod.out")"
	exit 1
fi
workers=$(fan workers)
[ "$workers" = null ] && workers=2 # before section 3: two, whatever the CPUs
check "$T/workers-sized-to-cpus" test "$workers" -ge "$(nproc)"
# More slow files than workers, all at once: every worker would be busy for minutes.
background $(for i in $(seq $((workers + 2))); do echo "$B/slow$((i % N + 1))"; done)
if wait_for 20 started $((workers + 2)); then
	r=$(run "$B/listed")
	if denied "$r"; then pass "$T/slow/listed-meanwhile-refused"; else fail "$T/slow/listed-meanwhile-refused" "$r"; fi
	r=$(run "$B/unlisted")
	check "$T/slow/clean-meanwhile-runs" test "$r" = "rc=0 out=ran"
	check "$T/slow/one-worker-kept-free" test "$(fan hashing)" -lt "$workers"
else
	fail "$T/slow/busy" "$(ctl status --json | jq -c .fanotify)"
fi
stop_pid "$dpid" 20
dpid=
wait "${bg_pids[@]}"

# --- A full queue is no timeout: refused in enforce mode ---
# One slow file exec'd by more processes than there are slots (1024), with the longest deadline: one
# worker hashes it, the rest wait in the queue until every slot is taken.
printf 'max_hash_size_mib 1048576\ndecision_timeout_ms 60000\n' >"$work/full.conf"
if ! start_daemon "$work" --config "$work/full.conf" --tier fanotify --fanotify-path "$work" --mode enforce; then
	fail "$T/start-full" "$(tail -5 "$work/embargod.out")"
	exit 1
fi
e0=$(fan events)
waiters=()
for _ in $(seq 1030); do
	timeout 120 "$B/slow1" >/dev/null 2>&1 &
	waiters+=($!)
done
if wait_for 60 started $((e0 + 1030)); then
	r=$(run "$B/unlisted")
	if denied "$r"; then pass "$T/full/refused-not-allowed"; else fail "$T/full/refused-not-allowed" "$r"; fi
	r=$(run "$B/listed")
	if denied "$r"; then pass "$T/full/listed-refused"; else fail "$T/full/listed-refused" "$r"; fi
	check "$T/full/not-counted-as-timeout" test "$(fan timeouts)" = 0
	if wait_for 10 has journal MESSAGE_ID=$MSGID_UNCLASSIFIED EMBARGO_ACTION=denied EMBARGO_PATH="$B/unlisted"; then
		pass "$T/full/reported"
	else
		fail "$T/full/reported" "$(journal MESSAGE_ID=$MSGID_UNCLASSIFIED | tail -1)"
	fi
else
	fail "$T/full/queued" "$(ctl status --json | jq -c .fanotify)"
fi
# Stopping answers every waiting event (closing the group lets them through).
stop_pid "$dpid" 20
dpid=
wait "${waiters[@]}" 2>/dev/null

[ $failures -eq 0 ]
