#!/usr/bin/env bash
# Host tests on the development kernel, where BPF LSM programs cannot be loaded: embargod must say so,
# fall back to the detection-only tier, and report the exec of a listed binary in the journal.
# Runs in a private mount namespace with its own journald and a private tmpfs: nothing of the
# machine's own journal or filesystems is touched.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${EMBARGO_IN_NS:-}" != 1 ]; then
	exec timeout --kill-after=10 300 unshare --mount --propagation private env EMBARGO_IN_NS=1 "$0" "$@"
fi

. tests/lib.sh
T=host/detect

work=$(mktemp -d /tmp/embargo-host.XXXXXX)
mount -t tmpfs -o mode=0755 embargo-test "$work" || { fail "$T/setup" "cannot mount a private tmpfs"; exit 1; }
# A journald of our own: its sockets and files live on tmpfs mounts only this namespace sees.
mkdir -p /run/systemd /run/log
mount -t tmpfs tmpfs /run/systemd
mount -t tmpfs tmpfs /run/log
[ -d /var/log/journal ] && mount -t tmpfs tmpfs /var/log/journal
mkdir -p /run/systemd/journal
jpid= dpid=
cleanup() {
	stop_pid "$dpid"
	stop_pid "$jpid"
	umount "$work" 2>/dev/null
	rmdir "$work" 2>/dev/null
}
trap cleanup EXIT

/lib/systemd/systemd-journald >"$work/journald.log" 2>&1 &
jpid=$!
wait_for 10 test -S /run/systemd/journal/socket || { fail "$T/journald" "no journal socket"; exit 1; }

journal() { journalctl --no-pager -o json "$@" 2>/dev/null; }
# The message catalog, installed where journalctl looks (a tmpfs over it, in this namespace only).
mount -t tmpfs tmpfs /usr/lib/systemd/catalog 2>/dev/null || mkdir -p /usr/lib/systemd/catalog
mkdir -p /var/lib/systemd/catalog && mount -t tmpfs tmpfs /var/lib/systemd/catalog
cp etc/embargo.catalog /usr/lib/systemd/catalog/embargo.catalog
journalctl --update-catalog
# Careful: `jq -e` exits 0 on empty input, so conditions on the journal end in `grep -q .`.

# Test material: a listed program, an unlisted one, and a second listed one used as an ordering
# barrier (the daemon handles events in order: once B is reported, the unlisted exec was seen).
cat >"$work/prog.c" <<'C'
#include <stdio.h>
int main(void) { puts("ran"); return 0; }
C
cc -O1 -o "$work/unlisted" "$work/prog.c"
cp "$work/unlisted" "$work/listed" && printf 'A' >>"$work/listed"
cp "$work/unlisted" "$work/listed-b" && printf 'B' >>"$work/listed-b"
sha_a=$(sha256sum "$work/listed" | cut -d' ' -f1)
sha_b=$(sha256sum "$work/listed-b" | cut -d' ' -f1)
cat >"$work/test.policy" <<P
# host detection test
vendor "Listed Vendor" reason "test"
sha256 $sha_a label "listed A"
sha256 $sha_b label "listed B"
P

# 1. A bad policy is refused with file:line:column, and nothing starts.
printf 'vendor "X"\nsha256 1234\n' >"$work/bad.policy"
timeout 20 "$EMBARGOD" --policy "$work/bad.policy" --log stderr --runtime-dir "$work/run-bad" >"$work/bad.log" 2>&1
st=$?
if [ $st -ne 0 ] && grep -q "$work/bad.policy:2:8: " "$work/bad.log" && [ ! -S "$work/run-bad/control.sock" ]; then
	pass "$T/bad-policy-refused"
else
	fail "$T/bad-policy-refused" "status $st: $(head -c 300 "$work/bad.log")"
fi

# 2. Start on the private journal; ready when the control socket answers.
# --tier detect: auto would pick fanotify here and mark the machine's own filesystems (never in a test).
"$EMBARGOD" --policy "$work/test.policy" --log journal --runtime-dir "$work/run" --tier detect \
	--scan-path "$work" --state-dir "$work/state" >"$work/embargod.out" 2>&1 &
dpid=$!
if ! wait_for 30 "$EMBARGOCTL" --runtime-dir "$work/run" status; then
	fail "$T/start" "embargod did not become ready: $(tail -5 "$work/embargod.out")"
	exit 1
fi
pass "$T/start"

status=$("$EMBARGOCTL" --runtime-dir "$work/run" status --json)
tier=$(jq -r .tier <<<"$status")
check "$T/tier-is-detect" test "$tier" = detect
# The probe says why enforcement is unavailable here, per tier.
lsm_reason=$(jq -r '.probe[] | select(.check=="lsm-hash") | .detail' <<<"$status")
if jq -e '.probe[] | select(.check=="lsm-hash" and .ok==false)' <<<"$status" >/dev/null &&
	jq -e '.enforcing == false and .first_exec_window == true' <<<"$status" >/dev/null; then
	pass "$T/probe-reports-lsm-unavailable"
else
	fail "$T/probe-reports-lsm-unavailable" "$status"
fi
echo "# lsm-hash on this kernel: $lsm_reason"
if wait_for 10 bash -c "journalctl --no-pager -o json MESSAGE_ID=1e6f8b1a789f4ff4b983f0f68f7d5f13 | jq -c 'select(.MESSAGE | test(\"tier detect, DETECTION ONLY\"))' | grep -q ."; then
	pass "$T/banner-in-journal"
else
	fail "$T/banner-in-journal" "$(journal MESSAGE_ID=1e6f8b1a789f4ff4b983f0f68f7d5f13 | head -3)"
fi

# The start-up scan reports what is on disk, with its own MESSAGE_ID.
if wait_for 30 bash -c "journalctl --no-pager -o json MESSAGE_ID=060a6617802644ae8a4724574e7ada08 | grep -q ."; then
	found=$(journal MESSAGE_ID=b6cc30b3ede346eb91e1a3f82a1abbeb | jq -r .EMBARGO_PATH | sort | tr '\n' ' ')
	check "$T/startup-scan-found-listed" test "$found" = "$work/listed $work/listed-b "
else
	fail "$T/startup-scan-found-listed" "no start-up scan summary"
fi

# 3. The listed binary runs (detection only) and is reported in the journal with every field.
out=$("$work/listed")
st=$?
check "$T/listed-runs-in-detect-tier" test "$st" = 0 -a "$out" = ran
if wait_for 15 bash -c "journalctl --no-pager -o json EMBARGO_SHA256=$sha_a | grep -q ."; then
	rec=$(journal EMBARGO_SHA256="$sha_a" EMBARGO_HOOK=exec | head -1)
	if jq -e --arg p "$work/listed" --arg f "$work/test.policy:3" '
		.EMBARGO_ACTION == "audited" and .EMBARGO_HOOK == "exec" and .EMBARGO_TIER == "detect" and
		.EMBARGO_VENDOR == "Listed Vendor" and .EMBARGO_RULE == $f and .EMBARGO_PATH == $p and
		.EMBARGO_MODE == "enforce" and (.EMBARGO_PID | tonumber) > 0 and (.EMBARGO_PPID | tonumber) > 0 and
		.EMBARGO_UID == "0" and .EMBARGO_COMM == "listed" and (.EMBARGO_PARENT_EXE | length) > 0 and
		(.EMBARGO_CGROUP_ID | length) > 0 and (.MESSAGE_ID | length) == 32 and (.MESSAGE | length) > 0' \
		<<<"$rec" >/dev/null; then
		pass "$T/listed-reported-in-journal"
	else
		fail "$T/listed-reported-in-journal" "$rec"
	fi
else
	fail "$T/listed-reported-in-journal" "no journal entry for $sha_a"
fi

# journalctl -x explains the entry from the catalog.
if journalctl --no-pager -x EMBARGO_SHA256="$sha_a" EMBARGO_HOOK=exec 2>/dev/null | grep -q "let prohibited code run in audit mode\|classified prohibited code after it had run"; then
	pass "$T/catalog-explains"
else
	fail "$T/catalog-explains" "$(journalctl --no-pager -x EMBARGO_SHA256="$sha_a" | head -5)"
fi

# 4. An unlisted binary is not reported (barrier: listed-b after it).
"$work/unlisted" >/dev/null
"$work/listed-b" >/dev/null
if wait_for 15 bash -c "journalctl --no-pager -o json EMBARGO_SHA256=$sha_b | grep -q ."; then
	n=$(journal EMBARGO_PATH="$work/unlisted" | wc -l)
	check "$T/unlisted-not-reported" test "$n" = 0
else
	fail "$T/unlisted-not-reported" "barrier event for listed-b never arrived"
fi

# 5. Repeated execs by the same parent: one record now, the rest counted, none lost.
for i in 1 2 3 4 5; do "$work/listed" >/dev/null; done
if wait_for 15 bash -c "journalctl --no-pager -o json MESSAGE_ID=b6ac0f5f14f14ed5bbf870d8c8d34883 | jq -c 'select(.EMBARGO_PATH == \"$work/listed\")' | grep -q ."; then
	# Every exec is accounted for: records plus the counts they carry.
	total=$(journal EMBARGO_SHA256="$sha_a" | jq -s 'length')
	rep=$(journal EMBARGO_PATH="$work/listed" | jq -s '[.[] | (.EMBARGO_REPEATED // "0" | tonumber)] | add')
	if [ $((total + rep)) -ge 6 ]; then pass "$T/repeats-counted"; else fail "$T/repeats-counted" "records $total, repeated $rep, execs 6: $(journal EMBARGO_PATH="$work/listed" | jq -c "{M:.MESSAGE_ID,R:.EMBARGO_REPEATED}" | tr "\n" " ")"; fi
else
	fail "$T/repeats-counted" "no repeat summary"
fi

# 6. Runtime mode switch is accepted and logged with who asked.
if "$EMBARGOCTL" --runtime-dir "$work/run" mode audit >/dev/null &&
	[ "$("$EMBARGOCTL" --runtime-dir "$work/run" status --json | jq -r .mode)" = audit ] &&
	wait_for 10 bash -c "journalctl --no-pager -o json MESSAGE_ID=33d3187e252a4c88854046be31af6f99 | jq -c 'select(.MESSAGE | test(\"to audit by uid 0\"))' | grep -q ."; then
	pass "$T/mode-switch-logged"
else
	fail "$T/mode-switch-logged"
fi

# 7. SIGTERM stops it cleanly, and the socket goes with it.
stop_pid "$dpid" 10
st=$?
dpid=
check "$T/stops-on-sigterm" test ! -e "$work/run/control.sock"

# 8. The mode set at runtime survives a restart (saved under the state directory); --mode would win.
"$EMBARGOD" --policy "$work/test.policy" --log journal --runtime-dir "$work/run" --tier detect --no-scan \
	--state-dir "$work/state" >"$work/embargod2.out" 2>&1 &
dpid=$!
if wait_for 30 "$EMBARGOCTL" --runtime-dir "$work/run" status; then
	mode=$("$EMBARGOCTL" --runtime-dir "$work/run" status --json | jq -r .mode)
	check "$T/mode-persists-across-restart" test "$mode" = audit
else
	fail "$T/mode-persists-across-restart" "did not restart: $(tail -3 "$work/embargod2.out")"
fi
stop_pid "$dpid"
dpid=

[ $failures -eq 0 ]
