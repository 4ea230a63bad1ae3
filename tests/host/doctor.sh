#!/usr/bin/env bash
# embargoctl doctor on the development kernel: the static checks (BTF and fanotify work here), valid JSON,
# and, with embargod running in the detection tier, the daemon's own tier, load attempts and mechanisms,
# with exit status 1 because lsm-hash is not what runs. Also embargoctl status's human form of the same.
# Only the detection tier is started: the fanotify tier would mark the machine's real filesystems.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${EMBARGO_DOCTOR_TIMED:-}" != 1 ]; then
	exec timeout --kill-after=10 180 env EMBARGO_DOCTOR_TIMED=1 "$0" "$@"
fi

. tests/lib.sh
T=host/doctor

work=$(mktemp -d /tmp/embargo-doctor.XXXXXX)
dpid=
cleanup() {
	stop_pid "$dpid"
	rm -rf "$work"
}
trap cleanup EXIT
ctl() { "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }

# jq -e exits 0 on empty input: every condition reads a document that must exist.
is_json() { [ -s "$1" ] && jq -e 'type == "object"' "$1" >/dev/null; }
jqe() { jq -e "$@" >/dev/null; }
result_of() { jq -r --arg c "$2" '.checks[] | select(.check == $c) | .result' "$1"; }

# 1. Without a daemon: the checks, and an answer from them alone.
ctl doctor >"$work/doctor.txt" 2>"$work/doctor.err"
st=$?
ctl doctor --json >"$work/doctor.json" 2>>"$work/doctor.err"
st_json=$?
if is_json "$work/doctor.json"; then pass "$T/json-valid"; else fail "$T/json-valid" "$(head -c 500 "$work/doctor.json")"; fi
check "$T/btf-ok" test "$(result_of "$work/doctor.json" btf)" = ok
check "$T/fanotify-ok" test "$(result_of "$work/doctor.json" fanotify)" = ok
check "$T/btf-ok-human" grep -Eq '^  ok +btf +/sys/kernel/btf/vmlinux present' "$work/doctor.txt"
check "$T/fanotify-ok-human" grep -Eq '^  ok +fanotify +permission events work' "$work/doctor.txt"
# Every check the administrator was promised is there, each with a result and a detail.
want='["root","btf","bpf_lsm_config","bpf_lsm_active","ima_file_hash","lsm_program","lsm_hash_program","fanotify","bpffs","journal"]'
if jq -e --argjson want "$want" '([.checks[].check] | contains($want)) and
	all(.checks[]; (.result | IN("ok", "no", "unknown")) and (.detail | length) > 0) and
	all(.checks[]; .result == "ok" or .result == "unknown" or (.remedy | length) > 0)' "$work/doctor.json" >/dev/null; then
	pass "$T/every-check-reported"
else
	fail "$T/every-check-reported" "$(jq -c '[.checks[] | {check, result}]' "$work/doctor.json")"
fi
check "$T/no-daemon-reported" jqe '.embargod.running == false' "$work/doctor.json"
# This sandbox refuses BPF LSM programs even to root, so lsm-hash is out of reach: status 1, and the
# reason is the load attempt's.
check "$T/lsm-load-refused-here" jqe '.checks[] | select(.check == "lsm_hash_program") | .result == "no"' "$work/doctor.json"
check "$T/exit-1-without-daemon" test "$st" = 1 -a "$st_json" = 1
st_no_daemon=$st
check "$T/says-lsm-hash-unavailable" grep -q '^Result: embargod is not running; lsm-hash is not available' "$work/doctor.txt"
# The remedy for an inactive BPF LSM is the exact lsm= value and where Debian keeps it.
if [ "$(result_of "$work/doctor.json" bpf_lsm_active)" = no ]; then
	check "$T/lsm-remedy" jqe '.checks[] | select(.check == "bpf_lsm_active") | .remedy | test("boot with lsm=[a-z,]*bpf.*GRUB_CMDLINE_LINUX.*update-grub")' "$work/doctor.json"
fi

# 2. As an unprivileged user the answer is inconclusive (2), and says why.
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$EMBARGOCTL" --runtime-dir "$work/run" doctor --json >"$work/user.json" 2>/dev/null
	st=$?
	if [ "$st" = 2 ] && jq -e '.checks[] | select(.check == "root") | .result == "no"' "$work/user.json" >/dev/null; then
		pass "$T/not-root-inconclusive"
	else
		fail "$T/not-root-inconclusive" "status $st: $(head -c 300 "$work/user.json")"
	fi
fi

# 3. Usage errors.
ctl doctor --bogus >/dev/null 2>&1
check "$T/bad-option-64" test $? = 64
ctl doctor extra >/dev/null 2>&1
check "$T/extra-argument-64" test $? = 64

# 4. With embargod in the detection tier: its tier, why, its load attempts and its mechanisms.
"$EMBARGOD" --tier detect --runtime-dir "$work/run" --log stderr --policy policies >"$work/embargod.log" 2>&1 &
dpid=$!
if ! wait_for 30 ctl status; then
	fail "$T/daemon-start" "embargod did not become ready: $(tail -5 "$work/embargod.log")"
	exit 1
fi
ctl doctor >"$work/doctor.txt" 2>"$work/doctor.err"
st=$?
ctl doctor --json >"$work/doctor.json" 2>>"$work/doctor.err"
st_json=$?
check "$T/daemon-exit-1" test "$st" = 1 -a "$st_json" = 1
if is_json "$work/doctor.json" && jq -e --argjson pid "$dpid" '.embargod.running == true and .embargod.pid == $pid and
	.embargod.tier == "detect" and .embargod.enforcing == false and (.embargod.tier_reason | length) > 0 and
	.best_tier_available == false and .tier == "detect" and
	(.embargod.mechanisms | length) > 0 and
	any(.embargod.probe[]; .check == "lsm-hash" and .ok == false) and
	any(.embargod.probe[]; .check == "detect" and .ok == true)' "$work/doctor.json" >/dev/null; then
	pass "$T/daemon-json"
else
	fail "$T/daemon-json" "$(jq -c .embargod "$work/doctor.json" 2>&1 | head -c 800)"
fi
check "$T/daemon-tier-human" grep -q "^embargod: running, pid $dpid, tier detect, DETECTION ONLY: nothing is prevented" "$work/doctor.txt"
check "$T/daemon-lsm-hash-attempt-human" grep -Eq '^    FAIL  lsm-hash +loading the programs failed' "$work/doctor.txt"
check "$T/daemon-mechanisms-human" grep -q '^    tp_btf/sched_process_exec: reports only' "$work/doctor.txt"
check "$T/daemon-result" grep -q '^Result: embargod runs in tier detect, not lsm-hash: .*its lsm-hash attempt: loading the programs failed' "$work/doctor.txt"

# 5. status shows the same mechanisms, and says plainly that nothing is prevented; --json is the daemon's.
ctl status >"$work/status.txt"
check "$T/status-detection-only" grep -q '^Warning: *DETECTION ONLY: nothing is prevented' "$work/status.txt"
if grep -A1 -x 'Mechanisms:' "$work/status.txt" | grep -q '^  tp_btf/sched_process_exec: reports only'; then
	pass "$T/status-mechanisms"
else
	fail "$T/status-mechanisms" "$(cat "$work/status.txt")"
fi
check "$T/status-json-has-mechanisms" bash -c "'$EMBARGOCTL' --runtime-dir '$work/run' status --json | jq -e '.mechanisms | length > 0' >/dev/null"

stop_pid "$dpid"
dpid=
ctl doctor >/dev/null 2>&1
check "$T/after-stop-as-before" test $? = "$st_no_daemon"

[ $failures -eq 0 ]
