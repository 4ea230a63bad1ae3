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
# No start-up scan and a private state directory: nothing of the machine is walked or written.
"$EMBARGOD" --tier detect --runtime-dir "$work/run" --log stderr --policy policies --no-scan --state-dir "$work/state" \
	>"$work/embargod.log" 2>&1 &
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

# 6. Tiers this machine cannot run, from a stand-in daemon that answers status with a canned reply:
# the fanotify tier's counters in status, doctor's exit 0 for lsm-hash, and names from the daemon made
# safe for the terminal.
cat >"$work/fake.c" <<'C'
/* Serves every control request with the contents of argv[2] until killed. */
#include "control.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	char body[65536], *req;
	FILE *f = fopen(argv[2], "re");
	size_t n = f ? fread(body, 1, sizeof(body) - 1, f) : 0;
	int l = embargo_control_listen(argv[1]);

	if (argc != 3 || !f || l < 0)
		return 1;
	body[n] = '\0';
	for (;;) {
		struct pollfd p = {.fd = l, .events = POLLIN};
		int c;

		if (poll(&p, 1, -1) < 0)
			return 1;
		c = embargo_control_accept(l);
		if (c < 0)
			continue;
		if (embargo_control_recv(c, &req) == 0)
			embargo_control_reply(c, 0, body);
		free(req);
		req = NULL;
		close(c);
	}
}
C
if ! cc -O1 -Iuserspace/lib -o "$work/fake" "$work/fake.c" "$BUILD/libembargo.a" 2>"$work/fake.err"; then
	fail "$T/fake-daemon-build" "$(head -5 "$work/fake.err")"
	exit 1
fi
fake() { # fake NAME JSON: a stand-in daemon in $work/NAME serving JSON
	printf '%s' "$2" >"$work/$1.reply"
	"$work/fake" "$work/$1" "$work/$1.reply" &
	dpid=$!
	wait_for 10 test -S "$work/$1/control.sock"
}
probe='[{"check":"lsm-hash","ok":false,"detail":"loading the programs failed: Operation not permitted"},{"check":"fanotify","ok":true,"detail":"loaded and attached"}]'
fake fan '{"version":1,"pid":4242,"mode":"enforce","tier":"fanotify","tier_reason":"the better tiers did not load","first_exec_window":false,"enforcing":true,
	"mechanisms":["fanotify FAN_OPEN_EXEC_PERM on the filesystem of /","evil \u001b[2J mechanism"],
	"fanotify":{"events":12,"allowed":10,"denied":2,"timeouts":0,"hashed":7,"cache_hits":5,"late_kills":0,"marked_inodes":3,"decision_timeout_ms":1000,"on_timeout":"allow"},
	"policy":{"path":"/p","generation":1,"vendors":0,"rules":0,"duplicates":0,"loaded_at":"x"},"vendors":[],"counters":{},"probe":'"$probe"'}'
"$EMBARGOCTL" --runtime-dir "$work/fan" status >"$work/status-fan.txt" 2>&1
st=$?
if [ $st = 0 ] && grep -Eq '^  events +12$' "$work/status-fan.txt" && grep -Eq '^  marked_inodes +3$' "$work/status-fan.txt" &&
	grep -Eq '^  decision_timeout_ms +1000$' "$work/status-fan.txt" && grep -Eq '^  on_timeout +allow$' "$work/status-fan.txt" &&
	grep -qx 'Fanotify:' "$work/status-fan.txt" && grep -qx '  fanotify FAN_OPEN_EXEC_PERM on the filesystem of /' "$work/status-fan.txt" &&
	! grep -q 'DETECTION ONLY' "$work/status-fan.txt"; then
	pass "$T/status-fanotify-counters"
else
	fail "$T/status-fanotify-counters" "status $st: $(cat "$work/status-fan.txt")"
fi
# The escape sequence arrives as text, not as a command to the terminal.
if grep -qF '  evil \x1b[2J mechanism' "$work/status-fan.txt" && ! grep -q $'\e' "$work/status-fan.txt"; then
	pass "$T/status-mechanisms-safe"
else
	fail "$T/status-mechanisms-safe" "$(grep evil "$work/status-fan.txt" | od -c | head -3)"
fi
"$EMBARGOCTL" --runtime-dir "$work/fan" doctor >"$work/doctor-fan.txt" 2>&1
st=$?
if [ $st = 1 ] && grep -q '^Result: embargod runs in tier fanotify, not lsm-hash: the better tiers did not load' "$work/doctor-fan.txt" &&
	! grep -q $'\e' "$work/doctor-fan.txt"; then
	pass "$T/doctor-fanotify-tier-exit-1"
else
	fail "$T/doctor-fanotify-tier-exit-1" "status $st: $(tail -3 "$work/doctor-fan.txt")"
fi
stop_pid "$dpid"
dpid=

fake hash '{"version":1,"pid":4243,"tier":"lsm-hash","tier_reason":"BPF LSM with in-kernel SHA-256","enforcing":true,"mechanisms":["BPF LSM bprm_check_security"],"probe":[{"check":"lsm-hash","ok":true,"detail":"loaded and attached"}]}'
"$EMBARGOCTL" --runtime-dir "$work/hash" doctor --json >"$work/doctor-hash.json" 2>&1
st=$?
if [ $st = 0 ] && jqe '.best_tier_available == true and .tier == "lsm-hash" and .embargod.pid == 4243' "$work/doctor-hash.json"; then
	pass "$T/doctor-lsm-hash-exit-0"
else
	fail "$T/doctor-lsm-hash-exit-0" "status $st: $(head -c 300 "$work/doctor-hash.json")"
fi
stop_pid "$dpid"
dpid=

# A reply that is not JSON: doctor still prints its checks, and exits 2.
fake bad 'not json'
"$EMBARGOCTL" --runtime-dir "$work/bad" doctor >"$work/doctor-bad.txt" 2>&1
st=$?
if [ $st = 2 ] && grep -Eq '^  ok +btf' "$work/doctor-bad.txt" && grep -q "could not be asked: embargod's reply is not a JSON object" "$work/doctor-bad.txt"; then
	pass "$T/doctor-bad-reply-exit-2"
else
	fail "$T/doctor-bad-reply-exit-2" "status $st: $(tail -3 "$work/doctor-bad.txt")"
fi
stop_pid "$dpid"
dpid=

[ $failures -eq 0 ]
