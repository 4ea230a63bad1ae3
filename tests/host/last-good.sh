#!/usr/bin/env bash
# A broken policy at start does not leave the machine unprotected (detection tier, private mount
# namespace, journald, tmpfs): embargod keeps a checked copy of the last policy that loaded under its
# state directory, starts on it when the configured one is rejected, and says so loudly (journal
# priority 3 with its MESSAGE_ID, `embargoctl status`); a later good reload ends that. Without a copy a
# broken policy is still exit 65.
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/lib.sh
private_namespace "$0" "$@"
T=host/last-good
MSGID_FALLBACK=250ff761a9de46d29d9dc9554db9700a

private_workdir
private_journal "$work" || { fail "$T/journald" "no private journald"; exit 1; }
ctl() { "$EMBARGOCTL" --runtime-dir "$work/run" "$@"; }
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }
# The digest in a list beside the policy: the copy must hold the list too.
mkdir "$work/lists"
echo "$sha_listed  listed" >"$work/lists/l.sha256"
printf 'vendor "Listed Vendor" reason "test"\nsha256-list lists/l.sha256\n' >"$work/test.policy"
cp "$work/test.policy" "$work/good.policy"

start_daemon "$work" || { fail "$T/start" "$(tail -5 "$work/embargod.out")"; exit 1; }
check "$T/copy-saved" wait_for 10 test -s "$work/state/policy.last-good/path"
check "$T/copy-holds-the-list" test -f "$work/state/policy.last-good/root$work/lists/l.sha256"
stop_pid "$dpid"
dpid=

# Broken at start: embargod starts on the copy.
printf 'sha256 12345\n' >>"$work/test.policy"
if start_daemon "$work"; then
	pass "$T/starts-on-broken-policy"
else
	fail "$T/starts-on-broken-policy" "$(tail -3 "$work/embargod.out")"
	exit 1
fi
if journal MESSAGE_ID=$MSGID_FALLBACK | jq -e 'select(.PRIORITY == "3" and (.MESSAGE | contains("LAST GOOD POLICY")) and (.MESSAGE | contains("test.policy:3:8")))' >/dev/null; then
	pass "$T/fallback-logged-loudly"
else
	fail "$T/fallback-logged-loudly" "$(journal MESSAGE_ID=$MSGID_FALLBACK)"
fi
js=$(ctl status --json)
check "$T/status-json-says-copy" test "$(jq -r '.policy.last_good_copy, (.policy.rejected | contains("test.policy:3:8"))' <<<"$js" | tr '\n' ' ')" = "true true "
check "$T/status-says-copy" bash -c "'$EMBARGOCTL' --runtime-dir '$work/run' status | grep -q 'RUNNING THE LAST GOOD COPY'"
cp "$work/listed" "$work/listed-2"
"$work/listed-2" >/dev/null
check "$T/copy-enforces" wait_for 10 has journal EMBARGO_PATH="$work/listed-2"

# Fixed and reloaded: the configured policy is in force again.
cp "$work/good.policy" "$work/test.policy"
check "$T/reload-after-fix" ctl reload
check "$T/copy-no-longer-in-force" test "$(ctl status --json | jq -r .policy.last_good_copy)" = false
stop_pid "$dpid"
dpid=

# No copy: a broken policy is still refused, exit 65.
rm -rf "$work/state"
printf 'sha256 12345\n' >>"$work/test.policy"
timeout 30 "$EMBARGOD" --policy "$work/test.policy" --log journal --runtime-dir "$work/run" --tier detect \
	--no-scan --state-dir "$work/state" >"$work/embargod.out" 2>&1
check "$T/no-copy-exit-65" test $? = 65

[ $failures -eq 0 ]
