#!/usr/bin/env bash
# Self-protection and the system call filter on the host (detection tier, private mount namespace and
# tmpfs, no start-up scan): this kernel refuses BPF LSM programs, so status and the banner must say that
# self-protection is unavailable and why; the seccomp filter is in force on every thread of embargod,
# its steady state (status, mode, reload, events, clean stop) needs nothing outside it, and both can be
# turned off in embargo.conf. Self-protection itself is tested in the qemu guest (tests/vm/).
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/lib.sh
private_namespace "$0" "$@"
T=host/protect

private_workdir
ctl() { "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }

printf '#include <stdio.h>\nint main(void) { puts("ran"); return 0; }\n' >"$work/prog.c"
cc -O1 -o "$work/listed" "$work/prog.c"
printf 'vendor "V" reason "test"\nsha256 %s label "listed"\n' "$(sha256sum "$work/listed" | cut -d' ' -f1)" \
	>"$work/test.policy"

# start CONFIG: embargod in the detection tier with the configuration file CONFIG; sets dpid.
start() {
	"$EMBARGOD" --config "$1" --policy "$work/test.policy" --log stderr --runtime-dir "$work/run" \
		--tier detect --no-scan --state-dir "$work/state" >"$work/embargod.out" 2>&1 &
	dpid=$!
	wait_for 30 ctl status || { fail "$T/start" "$(tail -5 "$work/embargod.out")"; exit 1; }
}

# seccomp_all PID WANT: every thread of PID has Seccomp mode WANT (2: filter, 0: none).
seccomp_all() {
	local f n=0
	for f in /proc/"$1"/task/*/status; do
		grep -q "^Seccomp:[[:space:]]*$2\$" "$f" || return 1
		n=$((n + 1))
	done
	[ $n -gt 0 ]
}

# 1. Defaults: self-protection unavailable in this tier, and why; the filter on every thread.
: >"$work/default.conf"
start "$work/default.conf"
js=$(ctl status --json)
if [ "$(jq -r '.self_protection.state, .self_protection.active' <<<"$js" | tr '\n' ' ')" = "unavailable false " ] &&
	jq -r .self_protection.detail <<<"$js" | grep -q '^not available in tier detect: it needs the BPF LSM hooks'; then
	pass "$T/unavailable-in-detect-tier"
else
	fail "$T/unavailable-in-detect-tier" "$(jq -c .self_protection <<<"$js")"
fi
if ctl status | grep -A1 '^Self-protection: unavailable$' | grep -q 'not available in tier detect' &&
	grep -q 'Self-protection: unavailable: not available in tier detect' "$work/embargod.out"; then
	pass "$T/unavailable-in-status-text-and-banner"
else
	fail "$T/unavailable-in-status-text-and-banner" "$(ctl status | grep -A1 Self-protection)"
fi
if [ "$(jq -r '.syscall_filter.active' <<<"$js")" = true ] && [ "$(jq -r '.syscall_filter.allowed' <<<"$js")" -gt 50 ] &&
	seccomp_all "$dpid" 2; then
	pass "$T/syscall-filter-on-every-thread"
else
	fail "$T/syscall-filter-on-every-thread" "$(jq -c .syscall_filter <<<"$js"); $(grep -h Seccomp: /proc/"$dpid"/task/*/status | sort | uniq -c)"
fi

# 2. The steady state under the filter: mode switches, a reload, an event, status; nothing refused.
ctl mode audit >/dev/null && ctl mode enforce >/dev/null && ctl reload >/dev/null && "$work/listed" >/dev/null
if wait_for 10 grep -q "Executed (audit) $work/listed" "$work/embargod.out" &&
	[ "$(ctl status --json | jq -r '.policy.generation, .syscall_filter.refused' | tr '\n' ' ')" = "2 0 " ]; then
	pass "$T/steady-state-within-the-filter"
else
	fail "$T/steady-state-within-the-filter" "$(ctl status --json | jq -c '{g: .policy.generation, f: .syscall_filter}')"
fi

# 3. No self-protection here: a plain SIGTERM stops embargod cleanly, and its exit needed nothing more.
kill -TERM "$dpid"
wait "$dpid"
st=$?
dpid=
if [ $st -eq 0 ] && ! grep -q 'The system call filter refused' "$work/embargod.out"; then
	pass "$T/sigterm-stops-cleanly-within-the-filter"
else
	fail "$T/sigterm-stops-cleanly-within-the-filter" "status $st: $(grep 'filter refused' "$work/embargod.out")"
fi

# 4. Both turned off in embargo.conf.
printf 'self_protection no\nsyscall_filter no\n' >"$work/off.conf"
start "$work/off.conf"
js=$(ctl status --json)
if [ "$(jq -r '.self_protection.state, .syscall_filter.active' <<<"$js" | tr '\n' ' ')" = "disabled false " ] &&
	seccomp_all "$dpid" 0 && ctl status | grep -q '^Self-protection: disabled$'; then
	pass "$T/both-off-by-configuration"
else
	fail "$T/both-off-by-configuration" "$(jq -c '{p: .self_protection, f: .syscall_filter}' <<<"$js")"
fi
stop_pid "$dpid"
dpid=

# 5. The command line's --no-self-protection, and the printed configuration.
if "$EMBARGOD" --config "$work/default.conf" --no-self-protection --print-config | grep -qx 'self_protection no' &&
	"$EMBARGOD" --config "$work/default.conf" --print-config | grep -qx 'syscall_filter yes'; then
	pass "$T/option-and-print-config"
else
	fail "$T/option-and-print-config" "$("$EMBARGOD" --config "$work/default.conf" --no-self-protection --print-config 2>&1 | grep -E 'self_|syscall')"
fi
[ $failures -eq 0 ]
