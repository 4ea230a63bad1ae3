#!/usr/bin/env bash
# embargod's own log rate limit (log_rate_limit per log_rate_interval_s): with a small limit, more
# events than the limit give exactly `limit` entries one by one, then one summary entry whose count
# makes up the rest, with vendor, action and files; the next interval logs one by one again.
# Private mount namespace, private journald, private tmpfs, detection tier (see detect.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/lib.sh
private_namespace "$0" "$@"
T=host/ratelimit
LIMIT=5
INTERVAL=5
EXECS=23

private_workdir

private_journal "$work" || { fail "$T/journald" "no private journald"; exit 1; }
listed_material "$work" || { fail "$T/setup" "cannot build the test programs"; exit 1; }
printf 'log_rate_limit %s\nlog_rate_interval_s %s\n' $LIMIT $INTERVAL >"$work/embargo.conf"
start_daemon "$work" --config "$work/embargo.conf" ||
	{ fail "$T/start" "embargod did not start: $(tail -3 "$work/embargod.out")"; exit 1; }

# Copies of the listed program: each a file of its own (its own inode), so no exec is a repeat that
# the kernel would count into an earlier report: every exec is one event for the log.
mkdir "$work/copies"
for i in $(seq -w 1 $EXECS); do cp "$work/listed" "$work/copies/listed-$i"; done
for i in $(seq -w 1 $EXECS); do "$work/copies/listed-$i" >/dev/null; done

# Every event record of the copies: one by one (any match MESSAGE_ID) and summaries.
one_by_one() {
	journal EMBARGO_SHA256="$sha_listed" | jq -c --arg d "$work/copies/" 'select(.EMBARGO_PATH | startswith($d))'
}
if ! wait_for $((INTERVAL + 15)) has journal MESSAGE_ID=$MSGID_SUPPRESSED; then
	fail "$T/summary-written" "no summary within the interval: $(journal EMBARGO_SHA256="$sha_listed" | wc -l) entries"
	exit 1
fi
pass "$T/summary-written"
sum=$(journal MESSAGE_ID=$MSGID_SUPPRESSED | head -1)
n=$(one_by_one | wc -l)
suppressed=$(jq -r .EMBARGO_SUPPRESSED <<<"$sum")
echo "# $EXECS execs: $n entries one by one, summary: $(jq -r .MESSAGE <<<"$sum" | cut -c1-200)"
check "$T/exactly-limit-entries" test "$n" = $LIMIT
check "$T/summary-makes-up-the-total" test $((n + suppressed)) = $EXECS

if jq -e --argjson s $((EXECS - LIMIT)) --argjson l $LIMIT --argjson i $INTERVAL --arg d "$work/copies/" '
	(.EMBARGO_SUPPRESSED | tonumber) == $s and (.EMBARGO_SUPPRESSED_RATE | tonumber) == $s and
	.EMBARGO_SUPPRESSED_QUEUE == "0" and (.EMBARGO_SUPPRESSED_RECORDS | tonumber) == $s and
	(.EMBARGO_SUPPRESSED_AUDITED | tonumber) == $s and .EMBARGO_SUPPRESSED_DENIED == "0" and
	(.EMBARGO_RATE_LIMIT | tonumber) == $l and (.EMBARGO_RATE_INTERVAL_S | tonumber) == $i and
	.PRIORITY == "4" and (.MESSAGE | startswith("Suppressed \($s) events")) and
	(.EMBARGO_SUPPRESSED_VENDORS | fromjson) == [{"vendor": "Listed Vendor", "denied": 0, "audited": $s}] and
	((.EMBARGO_SUPPRESSED_FILES | fromjson) as $f | ($f | length) == 10 and
		all($f[]; (.path | startswith($d)) and .events == 1)) and
	(.EMBARGO_SUPPRESSED_OTHER_FILES | tonumber) == $s - 10 and
	(.EMBARGO_SUPPRESSED_FIRST_USEC | tonumber) <= (.EMBARGO_SUPPRESSED_LAST_USEC | tonumber)' \
	<<<"$sum" >/dev/null; then
	pass "$T/summary-fields"
else
	fail "$T/summary-fields" "$sum"
fi

# The files the limit kept out are the last ones run, and the summary follows every entry it counts.
last_logged=$(one_by_one | jq -r .EMBARGO_PATH | sort | tail -1)
check "$T/first-limit-logged" test "$last_logged" = "$work/copies/listed-$(printf %02d $LIMIT)"
t_last=$(one_by_one | jq -r .__REALTIME_TIMESTAMP | sort -n | tail -1)
t_sum=$(jq -r .__REALTIME_TIMESTAMP <<<"$sum")
check "$T/summary-after-entries" test "$t_sum" -gt "$t_last"

# journalctl -x explains it from the catalog.
if journalctl --no-pager -x MESSAGE_ID=$MSGID_SUPPRESSED 2>/dev/null | grep -q "Every decision was still made"; then
	pass "$T/catalog-explains"
else
	fail "$T/catalog-explains" "$(journalctl --no-pager -x MESSAGE_ID=$MSGID_SUPPRESSED | head -5)"
fi

status=$("$EMBARGOCTL" --runtime-dir "$work/run" status --json)
check "$T/status-counts-suppressed" test "$(jq -r .counters.log_suppressed <<<"$status")" = $((EXECS - LIMIT))

# A new interval logs one by one again (the window ended: the summary was written at its end).
cp "$work/listed" "$work/listed-after"
"$work/listed-after" >/dev/null
if wait_for 15 has journal EMBARGO_PATH="$work/listed-after"; then
	pass "$T/next-interval-logs-again"
else
	fail "$T/next-interval-logs-again" "no entry for an exec after the interval"
fi

# A stop writes the summary of an unfinished interval: run past the limit again, then stop.
late_entries() { journal EMBARGO_SHA256="$sha_listed" | jq -c 'select(.EMBARGO_PATH | contains("/late-"))' | wc -l; }
summaries() { journal MESSAGE_ID=$MSGID_SUPPRESSED | wc -l; }
at_least() { [ "$("$1")" -ge "$2" ]; }
for i in $(seq 1 $((LIMIT + 2))); do
	cp "$work/listed" "$work/copies/late-$i"
	"$work/copies/late-$i" >/dev/null
done
wait_for 15 at_least late_entries $((LIMIT - 1))
stop_pid "$dpid"
dpid=
if wait_for 10 at_least summaries 2; then
	# Every summary after the first one counts late execs only.
	late_sup=$(journal MESSAGE_ID=$MSGID_SUPPRESSED | tail -n +2 | jq -s 'map(.EMBARGO_SUPPRESSED | tonumber) | add')
	check "$T/stop-writes-last-summary" test $(($(late_entries) + late_sup)) = $((LIMIT + 2))
else
	fail "$T/stop-writes-last-summary" "no second summary after SIGTERM"
fi

# A flood of distinct files hides none: with more than 32 copies over the limit (the old table held
# 32 names and counted the rest as "other files"), every copy's name is in the journal, one by one or
# in the file-list entries that follow the summary.
MSGID_SUPPRESSED_FILES=6623274f61704ead8ec1ce5653b714da
FLOOD=60
start_daemon "$work" --config "$work/embargo.conf" ||
	{ fail "$T/flood-start" "embargod did not start again: $(tail -3 "$work/embargod.out")"; exit 1; }
mkdir "$work/flood"
for i in $(seq -w 1 $FLOOD); do cp "$work/listed" "$work/flood/copy-$i"; done
for i in $(seq -w 1 $FLOOD); do "$work/flood/copy-$i" >/dev/null; done
names() {
	journal EMBARGO_SHA256="$sha_listed" | jq -r '.EMBARGO_PATH'
	journal MESSAGE_ID=$MSGID_SUPPRESSED_FILES | jq -r '.EMBARGO_SUPPRESSED_FILES | fromjson | .[].path'
}
named() { names | grep -c "^$work/flood/copy-" 2>/dev/null; }
if wait_for $((INTERVAL + 15)) at_least named $FLOOD; then
	pass "$T/flood-names-every-file"
else
	fail "$T/flood-names-every-file" "$(named) of $FLOOD copies named; summary: $(journal MESSAGE_ID=$MSGID_SUPPRESSED | tail -1 | jq -c '{EMBARGO_SUPPRESSED, EMBARGO_SUPPRESSED_OTHER_FILES}'); not named: $(for i in $(seq -w 1 $FLOOD); do names | grep -qx "$work/flood/copy-$i" || echo "copy-$i"; done | tr '\n' ' '); other names: $(names | grep -v "^$work/flood/" | sort | uniq -c | tr '\n' ' ')"
fi
check "$T/flood-each-named-once" test "$(named)" = $FLOOD
parts=$(journal MESSAGE_ID=$MSGID_SUPPRESSED_FILES | jq -s 'map(select(.EMBARGO_SUPPRESSED_FILES | fromjson | any(.path | contains("/flood/")))) | length')
check "$T/flood-file-lists-grouped" test "$parts" -ge 2

[ $failures -eq 0 ]
