#!/usr/bin/env bash
# The journal reference stays the code's: every MESSAGE_ID embargod defines has a catalog entry
# (journalctl -x) and is in docs/journal.md, and every EMBARGO_* field the code writes is documented
# there. Reads files only.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/journal-docs

ids=$(sed -nE 's/^#define EMBARGO_MSGID_[A-Z_]+ +"([0-9a-f]{32})".*/\1/p' userspace/lib/record.h)
[ -n "$ids" ] || { fail "$T/ids" "no MESSAGE_ID found in userspace/lib/record.h"; exit 1; }
missing=
for id in $ids; do
	grep -qx -- "-- $id" etc/embargo.catalog || missing="$missing catalog:$id"
	grep -q "$id" docs/journal.md || missing="$missing docs:$id"
done
check "$T/every-message-id-in-catalog-and-docs" test -z "$missing"
[ -z "$missing" ] || echo "# missing:$missing"

fields=$(grep -rhoE 'record_(add|addf|get)\([^"]*"EMBARGO_[A-Z0-9_]+"' userspace | grep -oE 'EMBARGO_[A-Z0-9_]+' | sort -u)
missing=
for f in $fields; do
	grep -q "\`$f\`" docs/journal.md || missing="$missing $f"
done
check "$T/every-field-documented" test -z "$missing"
[ -z "$missing" ] || echo "# undocumented:$missing"

[ $failures -eq 0 ]
