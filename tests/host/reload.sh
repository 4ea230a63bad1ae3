#!/usr/bin/env bash
# Policy reload on the host (detection tier, private mount namespace, private journald and tmpfs):
# embargoctl reload and SIGHUP switch to a new generation; a policy with an error is refused with
# file:line:column, the running one keeps deciding, and status shows the refused attempt.
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/lib.sh
private_namespace "$0" "$@"
T=host/reload

private_workdir
private_journal "$work" || { fail "$T/journald" "no private journald"; exit 1; }
ctl() { "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }
# reported PATH GEN: the journal has a match of PATH decided under policy generation GEN.
reported() {
	journal EMBARGO_PATH="$1" | jq -r 'select(.EMBARGO_POLICY_GENERATION == "'"$2"'") | .EMBARGO_RULE' | grep -q .
}

# Two listed programs, a and b; the policy lists a only at first. Digests of this run's own (see
# listed_material).
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }
for n in a b; do cp "$work/unlisted" "$work/listed-$n" && printf '%s%s' "$n" "$work" >>"$work/listed-$n"; done
sha_a=$(sha256sum "$work/listed-a" | cut -d' ' -f1)
sha_b=$(sha256sum "$work/listed-b" | cut -d' ' -f1)
printf 'vendor "V" reason "test"\nsha256 %s label "a"\n' "$sha_a" >"$work/test.policy"

start_daemon "$work" || { fail "$T/start" "$(tail -5 "$work/embargod.out")"; exit 1; }

# 1. Generation 1 lists a only: b runs unreported (a, reported after it, is the ordering barrier).
"$work/listed-b" >/dev/null
"$work/listed-a" >/dev/null
if wait_for 10 reported "$work/listed-a" 1 && ! reported "$work/listed-b" 1; then
	pass "$T/gen1-lists-a-only"
else
	fail "$T/gen1-lists-a-only"
fi

# 2. A new policy listing b too: reload answers with the new generation, status shows it, b is caught.
printf 'sha256 %s label "b"\n' "$sha_b" >>"$work/test.policy"
out=$(ctl reload 2>&1)
st=$?
if [ $st -eq 0 ] && [[ $out == *"generation 2 in force"* ]] &&
	[ "$(ctl status --json | jq -r '.policy.generation, .policy.rules, .reload.attempts, .reload.last_failed' | tr '\n' ' ')" = "2 2 1 false " ]; then
	pass "$T/reload-switches-generation"
else
	fail "$T/reload-switches-generation" "status $st: $out"
fi
"$work/listed-b" >/dev/null
check "$T/new-digest-caught-after-reload" wait_for 10 reported "$work/listed-b" 2
if journalctl --no-pager -o json MESSAGE_ID=5f501ec1524947d39b128b341f2f6504 |
	jq -r .MESSAGE | grep -q 'Policy reloaded by uid 0 pid [0-9]* (.*) in [0-9.]* s: generation 2 in force (was 1)'; then
	pass "$T/reload-logged-with-requester"
else
	fail "$T/reload-logged-with-requester" "$(journalctl --no-pager MESSAGE_ID=5f501ec1524947d39b128b341f2f6504 | tail -2)"
fi

# 3. A policy with an error: refused with file:line:column, exit 2, the running generation stays.
cp "$work/test.policy" "$work/good.policy"
printf 'sha256 12345\n' >>"$work/test.policy"
out=$(ctl reload 2>&1)
st=$?
if [ $st -eq 2 ] && [[ $out == *"$work/test.policy:4:8: "* ]]; then
	pass "$T/bad-policy-refused-with-location"
else
	fail "$T/bad-policy-refused-with-location" "status $st: $out"
fi
js=$(ctl status --json)
if [ "$(jq -r '.policy.generation, .reload.last_failed, .reload.failures' <<<"$js" | tr '\n' ' ')" = "2 true 1 " ] &&
	jq -r .reload.last_error <<<"$js" | grep -q "test.policy:4:8" &&
	ctl status | grep -q 'last reload REFUSED'; then
	pass "$T/status-shows-refused-reload"
else
	fail "$T/status-shows-refused-reload" "$(jq -c .reload <<<"$js")"
fi
# The old generation still decides: a copy of b (a new inode) is still caught under generation 2.
cp "$work/listed-b" "$work/listed-b2"
"$work/listed-b2" >/dev/null
check "$T/old-policy-kept-after-refusal" wait_for 10 reported "$work/listed-b2" 2

# 4. SIGHUP reloads too (the fixed policy: generation 3), and a later good reload clears the failure.
cp "$work/good.policy" "$work/test.policy"
kill -HUP "$dpid"
if wait_for 20 bash -c "[ \"\$('$EMBARGOCTL' --runtime-dir '$work/run' status --json | jq -r '.policy.generation, .reload.last_failed' | tr '\n' ' ')\" = '3 false ' ]"; then
	pass "$T/sighup-reloads"
else
	fail "$T/sighup-reloads" "$(ctl status --json | jq -c '{g:.policy.generation,r:.reload}')"
fi
check "$T/daemon-still-running" kill -0 "$dpid"

[ $failures -eq 0 ]
