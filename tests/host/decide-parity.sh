#!/usr/bin/env bash
# One decision core: over a generated tree of every kind of evidence (a listed digest, a vendor path, files
# owned by packages of a test dpkg database, PE and kernel-module signatures made with openssl,
# osslsigncode and sign-file under the vendor's names, look-alikes, unlisted twins), the verdict that
# `embargoctl scan` gives every file is the one `embargoctl inspect` gives, in both directions, rule for
# rule (module signers found through the same --ima-keyring); and stays so when answered from the scan cache, and when the signer rules change under it.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/decide-parity
failures=0

for tool in jq openssl osslsigncode cc; do
	command -v $tool >/dev/null || { echo "SKIP: $T: $tool is not installed"; exit 0; }
done
[ -x "$EMBARGOCTL" ] || { fail "$T/built" "$EMBARGOCTL is missing (make all)"; exit 1; }
private_namespace "$0" "$@"
private_workdir

mat=$work/material
if ! tests/host/identify.sh --material "$mat" >"$work/material.log" 2>&1; then
	fail "$T/material" "$(tail -3 "$work/material.log")"
	exit 1
fi

# ---- the tree ----
tree=$work/tree
mkdir -p "$tree"/{bin,opt/vend/bin,opt/vendor2,opt/ven,pkg,pe,ko,data}
listed_material "$work" || { fail "$T/setup" "cannot build the test program"; exit 1; }
cp "$work/listed" "$tree/bin/listed"
cp "$work/listed" "$tree/data/listed-copy.dat"	  # the listed bytes under another name, no exec bit
cp "$work/listed" "$tree/bin/twin" && printf 'x' >>"$tree/bin/twin" # an unlisted twin
cp "$work/unlisted" "$tree/opt/vend/bin/agent"	  # under the vendor's directory
cp "$work/unlisted" "$tree/opt/vendor2/agent"	  # look-alike directories
cp "$work/unlisted" "$tree/opt/ven/agent"
cp "$work/unlisted" "$tree/pkg/kesl-bin"	  # owned by the vendor's package (by name)
cp "$work/unlisted" "$tree/pkg/maint-bin"	  # owned by a package the vendor maintains
cp "$work/unlisted" "$tree/pkg/other-bin"	  # owned by an unrelated package
cp "$work/unlisted" "$tree/pkg/kesl-lookalike"	  # owned by "kesl-tools": not "kesl"
cp "$mat/signed.exe" "$tree/pe/vendor.exe"	  # Authenticode, the vendor's name
cp "$mat/nested.exe" "$tree/pe/nested.exe"	  # the vendor's, with a look-alike nested
cp "$mat/unsigned.exe" "$tree/pe/unsigned.exe"
osslsigncode sign -certs "$mat/lookalike.pem" -key "$mat/lookalike.key" -h sha256 -in "$mat/unsigned.exe" \
	-out "$tree/pe/lookalike.exe" >/dev/null || { fail "$T/setup" "osslsigncode failed"; exit 1; }
chmod 755 "$tree/pe/vendor.exe"
if [ -f "$mat/signed.ko" ]; then
	cp "$mat/signed.ko" "$tree/ko/vendor.ko"
	cp "$mat/unsigned.ko" "$tree/ko/unsigned.ko"
else
	echo "# $T: no kernel module to sign here (no cached guest kernel, no /lib/modules): modules not covered"
fi
cp "$mat/unsigned.elf" "$tree/bin/true-copy"

# A private dpkg database owning the package files by their paths in this tree.
adm=$work/dpkg
mkdir -p "$adm/info" "$adm/updates"
cat >"$adm/status" <<EOF
Package: kesl
Status: install ok installed
Version: 12.0
Maintainer: Someone <a@example.org>

Package: kav-helper
Status: install ok installed
Version: 1.0
Maintainer: AO Kaspersky Lab <support@kaspersky.com>

Package: coreutils
Status: install ok installed
Version: 9.1-1
Maintainer: Michael Stone <mstone@debian.org>

Package: kesl-tools
Status: install ok installed
Version: 1.0
Maintainer: Tools <t@example.org>
EOF
echo "$tree/pkg/kesl-bin" >"$adm/info/kesl.list"
echo "$tree/pkg/maint-bin" >"$adm/info/kav-helper.list"
echo "$tree/pkg/other-bin" >"$adm/info/coreutils.list"
echo "$tree/pkg/kesl-lookalike" >"$adm/info/kesl-tools.list"

policy=$work/k.policy
write_policy() { # write_policy WITH_SIGNERS
	{
		echo 'vendor "K" reason "parity test"'
		echo "sha256 $sha_listed label \"listed\""
		[ "$1" = 1 ] && echo 'signer-org "AO Kaspersky Lab"'
		echo 'package kesl'
		echo 'package-maintainer "*Kaspersky*"'
		echo "path $tree/opt/vend/"
	} >"$policy"
}
write_policy 1

# ---- the verdicts ----
# inspect_all: "PATH<TAB>RULE" for every regular file (RULE "-" when not listed).
inspect_all() {
	local f out
	find "$tree" -type f | sort | while read -r f; do
		out=$("$EMBARGOCTL" inspect --json --policy "$policy" --dpkg-admindir "$adm" --ima-keyring "$mat/vendor.pem" "$f" 2>/dev/null)
		printf '%s\t%s\n' "$f" "$(jq -r 'if .match then .rule + " " + .kind else "-" end' <<<"$out")"
	done
}
# scan_all [CACHE-OPTION]: the same from one scan of the tree (--all: every file, as inspect is given).
scan_all() {
	local f
	"$EMBARGOCTL" scan --json --all --no-processes --policy "$policy" --dpkg-admindir "$adm" \
		--ima-keyring "$mat/vendor.pem" "$@" "$tree" \
		>"$work/scan.json" 2>"$work/scan.err"
	echo $? >"$work/scan.rc"
	jq -r 'select(.type == "file") | [.path, .rule + " " + .kind] | @tsv' "$work/scan.json" | sort >"$work/scan.matches"
	find "$tree" -type f | sort | while read -r f; do
		printf '%s\t%s\n' "$f" "$(awk -F'\t' -v f="$f" '$1 == f { print $2; exit }' "$work/scan.matches" | grep . || echo -)"
	done
}

compare() { # compare NAME: scan's verdicts equal inspect's for every file
	if diff -u "$work/inspect.out" "$work/scan.out" >"$work/diff.out"; then
		pass "$T/$1"
	else
		fail "$T/$1" "$(grep '^[-+]/' "$work/diff.out" | head -6 | tr '\n' ' ')"
	fi
}

verdict_of() { awk -F'\t' -v f="$tree/$1" '$1 == f { print $2 }' "$work/inspect.out"; }
expect() { # expect NAME FILE KIND|-: inspect's verdict is what the tree was built to show
	local v
	v=$(verdict_of "$2")
	if [ "$3" = - ]; then
		[ "$v" = - ] && pass "$T/$1" || fail "$T/$1" "$2: $v, expected not listed"
	else
		[ "${v##* }" = "$3" ] && pass "$T/$1" || fail "$T/$1" "$2: '$v', expected a $3 rule"
	fi
}

inspect_all >"$work/inspect.out"
expect inspect-digest bin/listed sha256
expect inspect-digest-any-name data/listed-copy.dat sha256
expect inspect-twin-unlisted bin/twin -
expect inspect-path opt/vend/bin/agent path
expect inspect-path-lookalike-dir opt/vendor2/agent -
expect inspect-path-shorter-dir opt/ven/agent -
expect inspect-package-name pkg/kesl-bin package
expect inspect-package-maintainer pkg/maint-bin package-maintainer
expect inspect-package-unrelated pkg/other-bin -
expect inspect-package-lookalike pkg/kesl-lookalike -
expect inspect-pe-vendor pe/vendor.exe signer-org
expect inspect-pe-nested pe/nested.exe signer-org
expect inspect-pe-lookalike pe/lookalike.exe -
expect inspect-pe-unsigned pe/unsigned.exe -
expect inspect-elf-unlisted bin/true-copy -
if [ -f "$tree/ko/vendor.ko" ]; then
	expect inspect-module-vendor ko/vendor.ko signer-org
	expect inspect-module-unsigned ko/unsigned.ko -
fi

scan_all --no-cache >"$work/scan.out"
compare scan-equals-inspect
[ "$(cat "$work/scan.rc")" = 1 ] && pass "$T/scan-exit-1" || fail "$T/scan-exit-1" "exit $(cat "$work/scan.rc")"
grep -q '"why":"signed by O=AO Kaspersky Lab' "$work/scan.json" && pass "$T/scan-says-why" ||
	fail "$T/scan-says-why" "no signer why in $(head -c 300 "$work/scan.json")"

# The same from the cache: a first scan fills it, the second reads no content and must not differ.
mkdir -m 0700 "$work/state"
scan_all --cache "$work/state/cache" >"$work/scan.out"
compare cache-first-equals-inspect
scan_all --cache "$work/state/cache" >"$work/scan.out"
compare cache-hit-equals-inspect
hashed=$(jq -r 'select(.type == "summary") | .files_hashed' "$work/scan.json")
# Only the files a signer rule matched are read again (a match is never taken from the cache).
signer_files=$(grep -c 'signer-org$' "$work/inspect.out")
[ "$hashed" -le "$signer_files" ] && pass "$T/cache-hit-reads-only-signer-matches" ||
	fail "$T/cache-hit-reads-only-signer-matches" "$hashed files hashed, $signer_files signer matches"

# The signer rules change: the cache's "no signer rule matched" no longer holds, both ways.
write_policy 0
inspect_all >"$work/inspect.out"
scan_all --cache "$work/state/cache" >"$work/scan.out"
compare signer-rules-removed-cache-equals-inspect
write_policy 1
inspect_all >"$work/inspect.out"
scan_all --cache "$work/state/cache" >"$work/scan.out"
compare signer-rules-back-cache-equals-inspect

# A file changed in place after it was cached: decided on its new content.
cp "$work/listed" "$tree/opt/vendor2/agent"
inspect_all >"$work/inspect.out"
scan_all --cache "$work/state/cache" >"$work/scan.out"
compare changed-file-cache-equals-inspect
expect changed-file-now-listed opt/vendor2/agent sha256

exit $((failures > 0))
