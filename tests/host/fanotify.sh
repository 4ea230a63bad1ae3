#!/usr/bin/env bash
# The fanotify tier on the development kernel, for real: execs wait for embargod's verdict. Everything is
# scoped to a private tmpfs mounted in a private mount namespace (the only filesystem marked), with a
# private bpffs for the pinned backstop: nothing of the machine's own filesystems is ever marked.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${EMBARGO_IN_NS:-}" != 1 ]; then
	exec timeout --kill-after=10 600 unshare --mount --propagation private env EMBARGO_IN_NS=1 "$0" "$@"
fi

. tests/lib.sh
T=host/fanotify

work=$(mktemp -d /tmp/embargo-fan.XXXXXX)
mount -t tmpfs -o mode=0755,size=3g embargo-fan "$work" || { fail "$T/setup" "cannot mount a private tmpfs"; exit 1; }
# A bpffs of our own: the backstop's pin lives and dies with this namespace.
mount -t bpf bpf /sys/fs/bpf || { fail "$T/setup" "cannot mount a private bpffs"; exit 1; }
dpid=
cleanup() {
	stop_pid "$dpid"
	umount /sys/fs/bpf 2>/dev/null
	umount "$work" 2>/dev/null
	rmdir "$work" 2>/dev/null
}
trap cleanup EXIT

B=$work/bin
mkdir -p "$B"
cc -O1 -DPROG_NAME='"unlisted"' -o "$B/unlisted" tests/vm/prog.c
cc -O1 -DPROG_NAME='"listed"' -o "$B/listed" tests/vm/prog.c
cc -O1 -o "$B/tdlopen" tests/vm/tdlopen.c
cc -O1 -shared -fPIC -o "$B/liblisted.so" tests/vm/liblisted.c
# Made before embargod knows the listed file: once it does, its opens (and so cp) are refused.
cp "$B/listed" "$B/copy" && ln "$B/listed" "$B/hardlink" && cp "$B/listed" "$B/tmp-name" &&
	mv "$B/tmp-name" "$B/renamed"
cp "$B/unlisted" "$B/to-modify"
# Listed and already running when embargod starts: a copy of sleep with one more byte (still runs).
cp "$(command -v sleep)" "$B/sleeper" && printf 'S' >>"$B/sleeper"
# A big executable: hashing it takes longer than a short decision deadline.
cp "$B/unlisted" "$B/big" && truncate -s 1G "$B/big"
sha_listed=$(sha256sum "$B/listed" | cut -d' ' -f1)
sha_lib=$(sha256sum "$B/liblisted.so" | cut -d' ' -f1)
# Listed, but written only after embargod has started and scanned: decided on its first exec.
sha_late=$({ cat "$B/unlisted"; printf 'late'; } | sha256sum | cut -d' ' -f1)
cat >"$work/test.policy" <<P
vendor "Listed Vendor"
sha256 $sha_listed label "listed program"
sha256 $sha_lib label "listed library"
sha256 $sha_late label "listed, created late"
sha256 $(sha256sum "$B/sleeper" | cut -d' ' -f1) label "listed, running before the start"
P

RUN=$work/run
LOG=$work/embargod.log
start() { # start [embargod options...]: starts and waits until ready
	"$EMBARGOD" --policy "$work/test.policy" --log stderr --runtime-dir "$RUN" --tier fanotify \
		--fanotify-path "$work" --scan-path "$work" --state-dir "$work/state" "$@" >>"$LOG" 2>&1 &
	dpid=$!
	wait_for 30 "$EMBARGOCTL" --runtime-dir "$RUN" status
}
ctl() { "$EMBARGOCTL" --runtime-dir "$RUN" "$@"; }
# run PATH: runs it under a timeout; prints "rc=N out=..." (the exit status and what it printed)
run() {
	local out rc
	out=$(timeout 10 "$@" 2>&1)
	rc=$?
	echo "rc=$rc out=$out"
}
in_log() { grep -qF -- "$1" "$LOG"; }

timeout 120 "$B/sleeper" 100 &
sleeper=$!
if ! start --kill-running; then
	fail "$T/start" "$(tail -5 "$LOG")"
	exit 1
fi
st=$(ctl status --json)
if jq -e '.tier == "fanotify" and .enforcing == true and (.mechanisms | length) >= 3' <<<"$st" >/dev/null; then
	pass "$T/start"
else
	fail "$T/start" "$st"
fi

# Unlisted programs run; the listed one is refused with EPERM before it prints anything.
r=$(run "$B/unlisted")
check "$T/unlisted-runs" test "$r" = "rc=0 out=unlisted ran"
r=$(run "$B/listed")
if [[ $r == "rc=126 out="*"Operation not permitted" ]] && ! grep -q 'listed ran' <<<"$r"; then
	pass "$T/listed-denied-eperm"
else
	fail "$T/listed-denied-eperm" "$r"
fi
if wait_for 10 in_log "EMBARGO_ACTION=\"denied\" EMBARGO_MODE=\"enforce\" EMBARGO_HOOK=\"exec\" EMBARGO_TIER=\"fanotify\""; then
	pass "$T/denial-logged"
else
	fail "$T/denial-logged" "$(tail -3 "$LOG")"
fi

# The running listed program was found by the start-up scan and killed (kill_running, enforce mode).
# ($sleeper is timeout's PID; timeout exits 137 when its child is killed.)
if wait_for 30 in_log "runs $B/sleeper: Listed Vendor"; then
	wait "$sleeper" 2>/dev/null
	st=$?
	if [ $st -eq 137 ] && in_log "killed (kill_running)"; then pass "$T/kill-running"; else fail "$T/kill-running" "status $st: $(grep 'Prohibited code running' "$LOG")"; fi
else
	kill "$sleeper" 2>/dev/null
	fail "$T/kill-running" "not reported: $(grep -i 'scan' "$LOG" | tail -3)"
fi

# The start-up scan found the listed library: dlopen, LD_PRELOAD and ld.so cannot open it.
if wait_for 30 in_log "Start-up scan done"; then
	pass "$T/startup-scan-done"
	if in_log "Prohibited file on disk: $B/liblisted.so"; then pass "$T/scan-found-library"; else fail "$T/scan-found-library" "$(grep -i scan "$LOG" | tail -3)"; fi
else
	fail "$T/startup-scan-done" "$(tail -3 "$LOG")"
fi
rm -f "$work/lib.marker"
r=$(LIB_MARKER=$work/lib.marker run "$B/tdlopen" "$B/liblisted.so")
if [[ $r == "rc=1 out=dlopen: "*"Operation not permitted"* ]] && [ ! -e "$work/lib.marker" ]; then
	pass "$T/dlopen-refused"
else
	fail "$T/dlopen-refused" "$r"
fi
r=$(LIB_MARKER=$work/lib.marker LD_PRELOAD=$B/liblisted.so run "$B/unlisted")
if [ ! -e "$work/lib.marker" ] && grep -q 'cannot be preloaded' <<<"$r"; then
	pass "$T/ld-preload-refused"
else
	fail "$T/ld-preload-refused" "$r"
fi
r=$(run /lib64/ld-linux-x86-64.so.2 "$B/listed")
if [[ $r == "rc=127 out="*"Operation not permitted"* ]]; then pass "$T/ldso-refused"; else fail "$T/ldso-refused" "$r"; fi
# embargoctl has no exemption either: code injected into it would load listed code through it.
r=$(LIB_MARKER=$work/lib.marker LD_PRELOAD=$B/liblisted.so run "$EMBARGOCTL" --version)
if [ ! -e "$work/lib.marker" ] && grep -q 'cannot be preloaded' <<<"$r"; then
	pass "$T/embargoctl-ld-preload-refused"
else
	fail "$T/embargoctl-ld-preload-refused" "$r"
fi

# Listed content written after the start: refused on its very first exec.
{ cat "$B/unlisted"; printf 'late'; } >"$B/late" && chmod +x "$B/late"
r=$(run "$B/late")
if [[ $r == "rc=126 out="*"Operation not permitted" ]]; then pass "$T/late-file-denied-first-exec"; else fail "$T/late-file-denied-first-exec" "$r"; fi

# Copies, hard links and renamed copies: each refused on its first exec.
for f in copy hardlink renamed; do
	r=$(run "$B/$f")
	if [[ $r == "rc=126 out="*"Operation not permitted" ]]; then pass "$T/$f-denied-first-exec"; else fail "$T/$f-denied-first-exec" "$r"; fi
done

# A known prohibited file cannot be opened any more (libraries, interpreters, and cp alike).
r=$(run cat "$B/listed")
if [[ $r == "rc=1 out="*"Operation not permitted" ]]; then pass "$T/open-of-known-refused"; else fail "$T/open-of-known-refused" "$r"; fi

# A modified file is judged again (same inode, new content).
r=$(run "$B/to-modify")
check "$T/to-modify-runs-first" test "$r" = "rc=0 out=unlisted ran"
printf 'x' >>"$B/to-modify"
r=$(run "$B/to-modify")
check "$T/modified-runs" test "$r" = "rc=0 out=unlisted ran"
# Rewrite it in place (same inode) with the listed program's bytes (built again: the listed file itself
# can no longer be read).
cc -O1 -DPROG_NAME='"listed"' -o "$work/listed-again" tests/vm/prog.c
if [ "$(sha256sum "$work/listed-again" | cut -d' ' -f1)" = "$sha_listed" ]; then
	cat "$work/listed-again" >"$B/to-modify"
	r=$(run "$B/to-modify")
	if [[ $r == "rc=126 out="*"Operation not permitted" ]]; then pass "$T/rewritten-in-place-denied"; else fail "$T/rewritten-in-place-denied" "$r"; fi
else
	echo "SKIP: $T/rewritten-in-place-denied: the compiler does not build the same bytes twice"
fi

# Runtime mode switch: audit lets it run and reports it; enforce refuses it again.
ctl mode audit >/dev/null
r=$(run "$B/listed")
check "$T/audit-mode-runs" test "$r" = "rc=0 out=listed ran"
if wait_for 10 in_log 'EMBARGO_ACTION="audited" EMBARGO_MODE="audit" EMBARGO_HOOK="exec"'; then pass "$T/audit-reported"; else fail "$T/audit-reported" "$(tail -3 "$LOG")"; fi
ctl mode enforce >/dev/null
r=$(run "$B/listed")
if [[ $r == "rc=126 out="*"Operation not permitted" ]]; then pass "$T/enforce-again"; else fail "$T/enforce-again" "$r"; fi

# SIGKILL of the daemon: no exec hangs; its permission marks are gone with it; the pinned backstop still
# kills the known prohibited program (before its first instruction: no output), and only that one.
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
dpid=
r=$(run "$B/unlisted")
check "$T/after-sigkill-unlisted-runs" test "$r" = "rc=0 out=unlisted ran"
r=$(run "$B/listed")
check "$T/after-sigkill-backstop-kills" test "$r" = "rc=137 out="
check "$T/after-sigkill-pin-left" test -e /sys/fs/bpf/embargo/exec-backstop

# A decision that takes longer than the deadline is answered as on_timeout says, and logged.
: >"$LOG"
# --no-scan: a start-up scan would hash the big file first, and its exec would hit the cache.
if start --decision-timeout-ms 20 --on-timeout allow --no-scan; then
	check "$T/restart-replaces-pin" test -e /sys/fs/bpf/embargo/exec-backstop
	r=$(run "$B/big")
	check "$T/timeout-allow-runs" test "$r" = "rc=0 out=unlisted ran"
	if in_log "no verdict for a file after 20 ms"; then pass "$T/timeout-logged"; else fail "$T/timeout-logged" "$(tail -3 "$LOG")"; fi
	stop_pid "$dpid"
	dpid=
	check "$T/clean-stop-unpins" test ! -e /sys/fs/bpf/embargo/exec-backstop
else
	fail "$T/restart" "$(tail -5 "$LOG")"
fi
: >"$LOG"
if start --decision-timeout-ms 20 --on-timeout deny --no-scan; then
	r=$(run "$B/big")
	if [[ $r == "rc=126 out="*"Operation not permitted" ]]; then pass "$T/timeout-deny-refuses"; else fail "$T/timeout-deny-refuses" "$r"; fi
	stop_pid "$dpid"
	dpid=
else
	fail "$T/restart-deny" "$(tail -5 "$LOG")"
fi

[ $failures -eq 0 ]
