#!/usr/bin/env bash
# The shipped policy, exactly as `make install` puts it, against the vendor's packages: stand-ins for
# kesl and klnagent64 built with dpkg-deb (their files under /opt/kaspersky/...) and installed with a
# throw-away dpkg database into a private /opt (a tmpfs this test's own mount namespace sees, nothing of
# the machine's). `embargoctl scan` finds every one of their files, exits 1 and names the package rule;
# without the package database it still names the path rule; embargod's start-up scan reports them too.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/vendor-packages
failures=0

for tool in dpkg dpkg-deb jq make; do
	command -v $tool >/dev/null || { echo "SKIP: $T: $tool is not installed"; exit 0; }
done
[ -x "$EMBARGOCTL" ] || { fail "$T/built" "$EMBARGOCTL is missing (make all)"; exit 1; }
private_namespace "$0" "$@"
private_workdir
# The vendor's install directory, private to this namespace (the machine's /opt is not touched).
mount -t tmpfs -o mode=0755 embargo-opt /opt || { fail "$T/setup" "cannot mount a private /opt"; exit 1; }
cleanup_extra() { umount /opt 2>/dev/null; }

# The policy as installed.
if ! make -s install BUILD="$BUILD" DESTDIR="$work/inst" PREFIX=/usr >"$work/install.log" 2>&1; then
	fail "$T/make-install" "$(tail -3 "$work/install.log")"
	exit 1
fi
policy=$work/inst/etc/embargo/policy.d
[ -f "$policy/kaspersky.policy" ] && pass "$T/policy-installed" || { fail "$T/policy-installed"; exit 1; }
line_of() { grep -n -m1 -- "$1" "$policy/kaspersky.policy" | cut -d: -f1; }
rule_kesl="$policy/kaspersky.policy:$(line_of '^package kesl$')"
rule_agent="$policy/kaspersky.policy:$(line_of '^package klnagent64$')"
rule_path="$policy/kaspersky.policy:$(line_of '^path /opt/kaspersky/$')"

# mk_deb NAME FILE...: each FILE a program of its own (distinct bytes: no digest lists them).
mk_deb() {
	local name=$1 d=$work/src-$1 f
	shift
	for f in "$@"; do
		mkdir -p "$(dirname "$d$f")"
		case $f in
		*.sh) printf '#!/bin/sh\necho %s\n' "$f" >"$d$f" ;;
		*) cp /bin/true "$d$f" && printf '%s' "$f" >>"$d$f" ;;
		esac
		chmod 755 "$d$f"
	done
	mkdir -p "$d/DEBIAN"
	printf 'Package: %s\nVersion: 12.0.0-1\nArchitecture: all\nMaintainer: %s\nDescription: %s\n' "$name" \
		"Embargo Test <test@example.org>" "embargo test stand-in for the vendor's package" >"$d/DEBIAN/control"
	dpkg-deb --root-owner-group --build "$d" "$work/$name.deb" >/dev/null
}
mk_deb kesl /opt/kaspersky/kesl/bin/kesl /opt/kaspersky/kesl/bin/kesl-control.sh \
	/opt/kaspersky/kesl/lib/libkesl.so.12 /opt/kaspersky/kesl/libexec/kesl-updater
mk_deb klnagent64 /opt/kaspersky/klnagent64/sbin/klnagent /opt/kaspersky/klnagent64/lib/libklcsagent.so \
	/opt/kaspersky/klnagent64/bin/klmover

adm=$work/dpkg
mkdir -p "$adm/info" "$adm/updates" "$adm/triggers"
: >"$adm/status"
if dpkg --admindir="$adm" --log=/dev/null -i "$work/kesl.deb" "$work/klnagent64.deb" >"$work/dpkg.log" 2>&1; then
	pass "$T/install-stand-ins"
else
	fail "$T/install-stand-ins" "$(tail -3 "$work/dpkg.log")"
	exit 1
fi
# Every regular file the packages installed, as dpkg lists them.
for p in kesl klnagent64; do
	dpkg-query --admindir="$adm" -L $p | while read -r f; do [ -f "$f" ] && printf '%s %s\n' "$f" $p; done
done | sort >"$work/owned"
[ "$(wc -l <"$work/owned")" = 7 ] && pass "$T/seven-files" || fail "$T/seven-files" "$(wc -l <"$work/owned") files"

# ---- scan with the package database ----
"$EMBARGOCTL" scan --json --no-cache --no-processes --policy "$policy" --dpkg-admindir "$adm" /opt \
	>"$work/scan.json" 2>"$work/scan.err"
rc=$?
[ $rc = 1 ] && pass "$T/scan-exit-1" || fail "$T/scan-exit-1" "exit $rc: $(head -3 "$work/scan.err")"
jq -r 'select(.type == "file") | "\(.path) \(.rule) \(.kind) \(.vendor)"' "$work/scan.json" | sort >"$work/found"
missing=0
while read -r f p; do
	want=$rule_kesl
	[ $p = klnagent64 ] && want=$rule_agent
	grep -qxF "$f $want package Kaspersky" "$work/found" || { missing=$((missing + 1)); echo "# not found: $f $want" >&2; }
done <"$work/owned"
[ $missing = 0 ] && pass "$T/scan-finds-every-file-by-package-rule" ||
	fail "$T/scan-finds-every-file-by-package-rule" "$missing of 7 missing; found: $(head -3 "$work/found" | tr '\n' ';')"
[ "$(wc -l <"$work/found")" = 7 ] && pass "$T/scan-finds-nothing-else" ||
	fail "$T/scan-finds-nothing-else" "$(wc -l <"$work/found") matches"
jq -e -s 'any(.[]; .type == "file" and (.path | endswith("/kesl/bin/kesl")) and
	(.why | test("^owned by dpkg package kesl ")))' "$work/scan.json" >/dev/null && pass "$T/scan-says-why" || fail "$T/scan-says-why" "$(grep -m1 '/kesl/bin/kesl"' "$work/scan.json")"
"$EMBARGOCTL" scan --no-cache --no-processes --policy "$policy" --dpkg-admindir "$adm" /opt >"$work/scan.txt" 2>/dev/null
grep -qF "/opt/kaspersky/kesl/bin/kesl  Kaspersky  $rule_kesl  " "$work/scan.txt" &&
	grep -q '(package: owned by dpkg package kesl' "$work/scan.txt" && pass "$T/scan-text-names-rule" ||
	fail "$T/scan-text-names-rule" "$(head -2 "$work/scan.txt")"

# ---- inspect agrees ----
"$EMBARGOCTL" inspect --json --policy "$policy" --dpkg-admindir "$adm" /opt/kaspersky/klnagent64/sbin/klnagent \
	>"$work/inspect.json" 2>/dev/null
jq -e --arg r "$rule_agent" '.match and .rule == $r and .kind == "package"' "$work/inspect.json" >/dev/null &&
	pass "$T/inspect-agrees" || fail "$T/inspect-agrees" "$(cat "$work/inspect.json" | head -c 300)"

# ---- without the package database: the path rule ----
mkdir -p "$work/nodpkg"
: >"$work/nodpkg/status"
mkdir -p "$work/nodpkg/info"
"$EMBARGOCTL" scan --json --no-cache --no-processes --policy "$policy" --dpkg-admindir "$work/nodpkg" /opt \
	>"$work/scan2.json" 2>/dev/null
rc=$?
n=$(jq -r --arg r "$rule_path" 'select(.type == "file" and .rule == $r and .kind == "path") | .path' "$work/scan2.json" | wc -l)
[ $rc = 1 ] && [ "$n" = 7 ] && pass "$T/scan-path-rule-without-packages" ||
	fail "$T/scan-path-rule-without-packages" "exit $rc, $n files by the path rule"

# ---- embargod's start-up scan reports them (the machine's dpkg database: the path rule) ----
if private_journal "$work"; then
	mkdir -p "$work/d"
	cp "$policy/kaspersky.policy" "$work/d/test.policy"
	if start_daemon "$work/d" --scan-path /opt; then
		wait_for 60 has journal MESSAGE_ID=060a6617802644ae8a4724574e7ada08
		journal MESSAGE_ID=b6cc30b3ede346eb91e1a3f82a1abbeb >"$work/found.json"
		n=$(jq -r 'select(.EMBARGO_VENDOR == "Kaspersky") | .EMBARGO_PATH' "$work/found.json" | sort -u | wc -l)
		[ "$n" = 7 ] && pass "$T/startup-scan-reports-every-file" ||
			fail "$T/startup-scan-reports-every-file" "$n of 7: $(head -c 300 "$work/found.json")"
		jq -e -s --arg r "$work/d/test.policy:$(line_of '^path /opt/kaspersky/$')" \
			'any(.[]; .EMBARGO_PATH == "/opt/kaspersky/kesl/bin/kesl" and .EMBARGO_RULE == $r and
			(.MESSAGE | test("rule .*: path /opt/kaspersky/kesl/bin/kesl matches /opt/kaspersky/")))' \
			"$work/found.json" >/dev/null && pass "$T/startup-scan-names-rule" ||
			fail "$T/startup-scan-names-rule" "$(head -c 300 "$work/found.json")"
	else
		fail "$T/daemon-start" "$(tail -3 "$work/d/embargod.out")"
	fi
else
	fail "$T/journal" "no private journald"
fi

exit $((failures > 0))
