#!/usr/bin/env bash
# Reloads cannot be used against embargod (detection tier, private mount namespace, journald, tmpfs):
# 1. a loop of reload requests (SIGHUP is exempt from self-protection) starts at most one reload a
#    second: the others are coalesced into it, counted in status and said once in the journal, and
#    every `embargoctl reload` still gets its answer;
# 2. a policy on a hung file system does not stall the event loop: while the reload waits, status
#    answers and execs are still reported; when the file system fails, the reload is refused and the
#    running generation stays.
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/lib.sh
private_namespace "$0" "$@"
T=host/reload-flood

private_workdir
private_journal "$work" || { fail "$T/journald" "no private journald"; exit 1; }
ctl() { "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }
cc -O1 -o "$work/fuse-hang" tests/host/fuse-hang.c || { fail "$T/setup" "cannot build fuse-hang"; exit 1; }
cp "$work/test.policy" "$work/good.policy"
start_daemon "$work" || { fail "$T/start" "$(tail -5 "$work/embargod.out")"; exit 1; }

# 1. Twenty reloads at once, then a burst of SIGHUPs.
N=20
extra_pids=
t0=$SECONDS
for i in $(seq $N); do ctl reload >"$work/reload-$i.out" 2>&1 & extra_pids="$extra_pids $!"; done
ok=0
for p in $extra_pids; do wait "$p" && ok=$((ok + 1)); done
extra_pids=
elapsed=$((SECONDS - t0))
js=$(ctl status --json)
attempts=$(jq -r .reload.attempts <<<"$js")
coalesced=$(jq -r .reload.coalesced <<<"$js")
echo "# $N reloads in ${elapsed} s: $ok answered with success, $attempts reloads ran, $coalesced coalesced"
check "$T/every-request-answered" test $ok = $N
check "$T/at-most-one-reload-a-second" test "$attempts" -le $((elapsed + 2))
check "$T/coalesced-counted" test "$coalesced" -ge $((N - attempts))
if journalctl --no-pager -o json MESSAGE_ID=5f501ec1524947d39b128b341f2f6504 | jq -r .MESSAGE |
	grep -q 'more requests, coalesced'; then
	pass "$T/coalesced-logged"
else
	fail "$T/coalesced-logged" "$(journalctl --no-pager MESSAGE_ID=5f501ec1524947d39b128b341f2f6504 | tail -3)"
fi
for i in $(seq 50); do kill -HUP "$dpid"; done
sleep 2.5
a2=$(ctl status --json | jq -r .reload.attempts)
check "$T/sighup-loop-rate-limited" test $((a2 - attempts)) -le 4
check "$T/daemon-alive-after-flood" kill -0 "$dpid"

# 2. A digest list on a file system that never answers (FUSE: without it, the rest is skipped).
if [ ! -c /dev/fuse ] || ! grep -qw fuse /proc/filesystems; then
	echo "SKIP: $T/hung-file-system: no FUSE on this machine"
	[ $failures -eq 0 ]
	exit
fi
mkdir "$work/hang"
"$work/fuse-hang" "$work/hang" >"$work/fuse.out" 2>&1 &
fpid=$!
extra_pids="$fpid"
wait_for 5 grep -q mounted "$work/fuse.out" || { fail "$T/fuse" "$(cat "$work/fuse.out")"; exit 1; }
gen=$(ctl status --json | jq -r .policy.generation)
printf 'sha256-list %s/hang/list.sha256\n' "$work" >>"$work/test.policy"
ctl reload >"$work/hung-reload.out" 2>&1 &
rpid=$!
sleep 1.5
# The loop still answers, quickly, and still reports: a copy of the listed program run now.
if timeout 5 "$EMBARGOCTL" --runtime-dir "$work/run" --timeout 2000 status >/dev/null 2>&1; then
	pass "$T/status-answers-during-hung-reload"
else
	fail "$T/status-answers-during-hung-reload" "status did not answer while the reload hung"
fi
cp "$work/listed" "$work/listed-during"
"$work/listed-during" >/dev/null
check "$T/events-reported-during-hung-reload" wait_for 10 has journal EMBARGO_PATH="$work/listed-during"
check "$T/reload-still-waiting" kill -0 "$rpid"
# The file system fails: the reload is refused, the running generation stays.
stop_pid "$fpid"
extra_pids=
if wait_for 15 bash -c "! kill -0 $rpid 2>/dev/null"; then
	wait "$rpid"
	st=$?
	js=$(ctl status --json)
	if [ $st -ne 0 ] && [ "$(jq -r .policy.generation <<<"$js")" = "$gen" ] &&
		[ "$(jq -r .reload.last_failed <<<"$js")" = true ]; then
		pass "$T/hung-reload-refused-old-policy-stays"
	else
		fail "$T/hung-reload-refused-old-policy-stays" "exit $st: $(cat "$work/hung-reload.out"); $(jq -c .reload <<<"$js")"
	fi
else
	fail "$T/hung-reload-refused-old-policy-stays" "the reload did not end after the file system failed"
fi
umount -l "$work/hang" 2>/dev/null
cp "$work/good.policy" "$work/test.policy"
check "$T/reload-works-again" ctl reload
check "$T/daemon-still-running" kill -0 "$dpid"

# 3. A stop while a reload hangs: embargod does not wait for it for ever.
mkdir "$work/hang2"
"$work/fuse-hang" "$work/hang2" >"$work/fuse2.out" 2>&1 &
fpid=$!
extra_pids="$fpid"
wait_for 5 grep -q mounted "$work/fuse2.out" || { fail "$T/fuse" "$(cat "$work/fuse2.out")"; exit 1; }
printf 'sha256-list %s/hang2/list.sha256\n' "$work" >>"$work/test.policy"
kill -HUP "$dpid"
sleep 2
kill -TERM "$dpid"
if wait_for 20 bash -c "! kill -0 $dpid 2>/dev/null"; then
	pass "$T/stops-while-reload-hangs"
	dpid=
else
	fail "$T/stops-while-reload-hangs" "embargod still running 20 s after SIGTERM: $(tail -3 "$work/embargod.out")"
fi
stop_pid "$fpid"
extra_pids=
umount -l "$work/hang2" 2>/dev/null

[ $failures -eq 0 ]
