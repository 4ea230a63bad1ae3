#!/usr/bin/env bash
# A reload must not open a free run in the fanotify tier (issue 11, section 4): while the policy is
# reloaded in a loop, a listed file is exec'd and opened again and again and never once runs or opens.
# Reloads used to flush the open marks of prohibited files: their opens went through unchecked until a
# scan marked them again (never, without one). Scoped to a private tmpfs (the only filesystem marked)
# and a private bpffs in a private mount namespace; every process runs under a timeout.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/fanotify-reload
private_namespace "$0" "$@"

private_workdir
mount -t bpf bpf /sys/fs/bpf || { fail "$T/setup" "cannot mount a private bpffs"; exit 1; }
cleanup_extra() { umount /sys/fs/bpf 2>/dev/null; }
private_journal "$work" || { fail "$T/setup" "no private journal"; exit 1; }
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }
B=$work/bin
mkdir -p "$B"
mv "$work/listed" "$work/unlisted" "$B/"
ctl() { timeout 20 "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }
quiet() { "$@" >/dev/null; }

if ! start_daemon "$work" --tier fanotify --fanotify-path "$work" --mode enforce; then
	fail "$T/start" "$(tail -5 "$work/embargod.out")"
	exit 1
fi
# Known prohibited from its first exec on: from then its opens are refused too.
r=$(timeout 10 "$B/listed" 2>&1)
check "$T/first-exec-refused" test $? -eq 126
r=$(timeout 10 cat "$B/listed" 2>&1 >/dev/null)
if [[ $r == *"Operation not permitted"* ]]; then pass "$T/open-refused-before"; else fail "$T/open-refused-before" "$r"; fi

reloads() { ctl status --json | jq -r .reload.attempts; }
# The reload loop, until told to stop (a file), each reload under a timeout.
(
	for _ in $(seq 2000); do
		[ -e "$work/stop-reloading" ] && break
		ctl reload >/dev/null 2>&1
	done
) &
rpid=$!
extra_pids=$rpid
wait_for 20 test "$(reloads)" -ge 1
r0=$(reloads)
ran=0 opened=0 tries=0
deadline=$((SECONDS + 60))
# At least 100 tries, and across at least 5 reloads.
while [ $tries -lt 100 ] || [ $(($(reloads) - r0)) -lt 5 ]; do
	[ $SECONDS -ge $deadline ] && break
	timeout 10 "$B/listed" >/dev/null 2>&1 && ran=$((ran + 1))
	timeout 10 cat "$B/listed" >/dev/null 2>&1 && opened=$((opened + 1))
	tries=$((tries + 1))
done
touch "$work/stop-reloading"
wait "$rpid"
extra_pids=
n=$(($(reloads) - r0))
check "$T/reloads-happened" test "$n" -ge 5
if [ $ran -eq 0 ]; then pass "$T/exec-never-allowed"; else fail "$T/exec-never-allowed" "ran $ran of $tries times across $n reloads"; fi
if [ $opened -eq 0 ]; then pass "$T/open-never-allowed"; else fail "$T/open-never-allowed" "opened $opened of $tries times across $n reloads"; fi
check "$T/clean-still-runs" quiet timeout 10 "$B/unlisted"

[ $failures -eq 0 ]
