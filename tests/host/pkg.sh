#!/usr/bin/env bash
# Package ownership against a real dpkg: a .deb built with dpkg-deb whose Maintainer names the vendor,
# installed into a private root (dpkg --root: its own database under ROOT/var/lib/dpkg; the machine's
# database and files are not touched), then looked up through the library by tests/host/pkg-lookup.c,
# and matched against the shipped policy.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/pkg

for tool in dpkg dpkg-deb cc; do
	command -v $tool >/dev/null || { echo "SKIP: $T: $tool is not installed"; exit 0; }
done
work=$(mktemp -d /tmp/embargo-pkg.XXXXXX)
trap 'rm -rf "$work"' EXIT
helper=$work/pkg-lookup
if ! cc -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Ibpf -Iuserspace/lib -I"$BUILD" -o "$helper" \
	tests/host/pkg-lookup.c "$BUILD/libembargo.a" -lz -lcrypto -lpthread 2>"$work/cc.log"; then
	fail "$T/build-helper" "$(head -5 "$work/cc.log")"
	exit 1
fi

# Two packages: the vendor's (by its maintainer only: the name is not one the policy lists) and another.
mk_deb() { # mk_deb NAME MAINTAINER FILE
	local d=$work/src-$1
	mkdir -p "$d/DEBIAN" "$(dirname "$d$3")"
	printf '#!/bin/sh\necho %s\n' "$1" >"$d$3"
	chmod 755 "$d$3"
	printf 'Package: %s\nVersion: 1.2-3\nArchitecture: all\nMaintainer: %s\nDescription: embargo test stand-in\n' \
		"$1" "$2" >"$d/DEBIAN/control"
	dpkg-deb --root-owner-group --build "$d" "$work/$1.deb" >/dev/null
}
mk_deb kav-agent "AO Kaspersky Lab <support@kaspersky.com>" /usr/lib/kav-agent/kav-agent
mk_deb embargo-other "Someone Else <x@example.org>" /usr/lib/embargo-other/other
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
if dpkg --root="$root" --force-not-root --force-script-chrootless -i "$work/kav-agent.deb" \
	"$work/embargo-other.deb" >"$work/dpkg.log" 2>&1; then
	pass "$T/install-private-root"
else
	fail "$T/install-private-root" "$(tail -3 "$work/dpkg.log")"
	exit 1
fi
admin=$root/var/lib/dpkg

out=$("$helper" --admindir "$admin" --no-rpm --policy policies/kaspersky.policy /usr/lib/kav-agent/kav-agent)
check "$T/owner-found" grep -qx $'dpkg\tkav-agent\t1.2-3\tAO Kaspersky Lab <support@kaspersky.com>\t-' <<<"$out"
check "$T/matched-by-maintainer" grep -q \
	$'^match\tpackage-maintainer\tpolicies/kaspersky.policy:[0-9]*\towned by dpkg package kav-agent maintained by AO Kaspersky Lab' \
	<<<"$out"

out=$("$helper" --admindir "$admin" --no-rpm --policy policies/kaspersky.policy /usr/lib/embargo-other/other)
check "$T/other-owner" grep -q $'^dpkg\tembargo-other\t1.2-3\tSomeone Else' <<<"$out"
check "$T/other-not-matched" grep -qx "no match" <<<"$out"

# A directory shared by both packages has both owners; a file of neither has none.
out=$("$helper" --admindir "$admin" --no-rpm /usr/lib)
check "$T/shared-directory" test "$(grep -c ^dpkg <<<"$out")" = 2
out=$("$helper" --admindir "$admin" --no-rpm /usr/lib/kav-agent/other)
check "$T/unowned" test -z "$out"

# Removed: a new index no longer has it.
dpkg --root="$root" --force-not-root --force-script-chrootless -r kav-agent >>"$work/dpkg.log" 2>&1
out=$("$helper" --admindir "$admin" --no-rpm /usr/lib/kav-agent/kav-agent)
check "$T/removed" test -z "$out"

# The machine's own database (read only) knows dpkg itself.
out=$("$helper" --no-rpm /usr/bin/dpkg)
check "$T/host-database" grep -q $'^dpkg\tdpkg\t' <<<"$out"

[ $failures -eq 0 ]
