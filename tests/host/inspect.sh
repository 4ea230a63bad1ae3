#!/usr/bin/env bash
# embargoctl inspect on real material: certificates made with openssl, a kernel module signed with the
# kernel's sign-file and a PE signed with osslsigncode (both by tests/host/identify.sh --material), a .deb
# installed by dpkg into a private root (as tests/host/pkg.sh does). Checks that every identity is shown
# (signers exactly, with the certificate's DER digest as openssl prints it), the verdict names the rule
# that matched (file:line and kind), --json is valid and complete, and the exit statuses.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=host/inspect

for tool in jq openssl dpkg dpkg-deb; do
	command -v $tool >/dev/null || { echo "SKIP: $T: $tool is not installed"; exit 0; }
done
[ -x "$EMBARGOCTL" ] || { fail "$T/embargoctl-built" "$EMBARGOCTL is missing (make all)"; exit 1; }
work=$(mktemp -d /tmp/embargo-inspect.XXXXXX)
fpid=
trap 'stop_pid "$fpid"; rm -rf "$work"' EXIT
work=$(realpath "$work")
m=$work/m
if ! tests/host/identify.sh --material "$m" >"$work/material.log" 2>&1; then
	fail "$T/signed-material" "$(tail -3 "$work/material.log")"
	exit 1
fi
vendor_sha=$(openssl x509 -in "$m/vendor.pem" -outform der | sha256sum | cut -d' ' -f1)

# A package whose name the policy lists, owning a file under $work (dpkg --root: its own database; the
# file the database lists is then put at that path on the host, where inspect opens it).
src=$work/src-kesl
mkdir -p "$src/DEBIAN" "$src$work/installed"
cp /bin/true "$src$work/installed/kesl"
printf 'Package: kesl\nVersion: 12.0-1\nArchitecture: all\nMaintainer: Someone <x@example.org>\nDescription: embargo test stand-in\n' \
	>"$src/DEBIAN/control"
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
if dpkg-deb --root-owner-group --build "$src" "$work/kesl.deb" >"$work/dpkg.log" 2>&1 &&
	dpkg --root="$root" --force-not-root --force-script-chrootless -i "$work/kesl.deb" >>"$work/dpkg.log" 2>&1; then
	pass "$T/private-dpkg-root"
else
	fail "$T/private-dpkg-root" "$(tail -3 "$work/dpkg.log")"
fi
mkdir -p "$work/installed" "$work/opt/kaspersky/bin"
cp /bin/true "$work/installed/kesl"
# Not the same bytes as /bin/true elsewhere in this test: a digest is never what matches here.
{ cat /bin/true; echo path; } >"$work/opt/kaspersky/bin/kesl"
admin=$root/var/lib/dpkg

pol=$work/test.policy
cat >"$pol" <<EOF
vendor "Kaspersky" reason "embargo test"
trust-anchor m/ca.pem
signer-org "AO Kaspersky Lab"
package kesl
path $work/opt/kaspersky/
EOF
jqe() { jq -e "$@" >/dev/null; }
line() { grep -n "^$1" "$pol" | cut -d: -f1; }

ins() { # ins ARGS...: output in $out, status in $st
	out=$("$EMBARGOCTL" --runtime-dir "$work/no-daemon" inspect "$@" 2>"$work/err")
	st=$?
}

# A kernel module signed with sign-file: the signer named exactly, verified to the policy's anchor.
if [ -e "$m/signed.ko" ]; then
	ins --policy "$pol" --ima-keyring "$m/vendor.pem" --dpkg-admindir "$admin" "$m/signed.ko"
	check "$T/module-exit-1" test "$st" = 1
	check "$T/module-signature" grep -qx '  signature 1: module, verified' <<<"$out"
	check "$T/module-signer-subject" grep -qx '      subject:  O=AO Kaspersky Lab, CN=Kaspersky Lab' <<<"$out"
	check "$T/module-signer-issuer" grep -qx '      issuer:   O=Embargo Test CA, CN=Embargo Test Root' <<<"$out"
	check "$T/module-signer-sha256-as-openssl" grep -qx "      sha256:   $vendor_sha" <<<"$out"
	check "$T/module-format" grep -qx '  format:    elf-kmod' <<<"$out"
	check "$T/module-verdict-signer-org" grep -qxF \
		"  verdict:   prohibited: vendor Kaspersky, rule $pol:$(line signer-org) (signer-org: signed by O=AO Kaspersky Lab (module, verified)) — would be denied in enforce mode, audited in audit mode (the vendor follows the global mode)" \
		<<<"$out"
	# Without the keyring the signer of a module (sign-file embeds no certificate) is known by its issuer
	# and serial only: no subject, no digest (never a digest of zeros), not verified, not matched.
	ins --policy "$pol" --dpkg-admindir "$admin" "$m/signed.ko"
	check "$T/module-without-keyring-exit-0" test "$st" = 0
	check "$T/module-without-keyring-unverified" grep -q '^  signature 1: module, unverified' <<<"$out"
	check "$T/module-without-keyring-issuer" grep -qx '      issuer:   O=Embargo Test CA, CN=Embargo Test Root' <<<"$out"
	check "$T/module-without-keyring-no-subject" grep -qx '      subject:  -' <<<"$out"
	check "$T/module-without-keyring-no-digest" grep -qx '      sha256:   - (certificate not carried nor found)' <<<"$out"
else
	echo "SKIP: $T/module: no kernel module to sign (see tests/host/identify.sh)"
fi

# Authenticode, nested: both signers, the outer one matched.
ins --policy "$pol" --dpkg-admindir "$admin" "$m/nested.exe"
check "$T/pe-exit-1" test "$st" = 1
check "$T/pe-two-signatures" test "$(grep -c '^  signature [0-9]*: authenticode, verified$' <<<"$out")" = 2
check "$T/pe-nested-signer" grep -qx '      subject:  O=AO Kaspersky Labs, CN=Kaspersky Labs' <<<"$out"
check "$T/pe-verdict" grep -qF "rule $pol:$(line signer-org) (signer-org: signed by O=AO Kaspersky Lab (authenticode, verified))" <<<"$out"

# Unsigned, unowned, elsewhere: not listed.
ins --policy "$pol" --dpkg-admindir "$admin" "$m/unsigned.elf"
check "$T/unsigned-exit-0" test "$st" = 0
check "$T/unsigned-not-listed" grep -qx '  verdict:   not listed' <<<"$out"
check "$T/unsigned-no-signatures" grep -qx '  signatures: none' <<<"$out"
check "$T/unsigned-build-id" grep -Eqx '  build-id:  [0-9a-f]{40}' <<<"$out"

# A path rule, reached through a symlink (the opened file's canonical path is what is matched).
ln -s "$work/opt/kaspersky/bin/kesl" "$work/link"
ins --policy "$pol" --dpkg-admindir "$admin" "$work/link"
check "$T/path-exit-1" test "$st" = 1
check "$T/path-resolved" grep -qxF "  resolved:  $work/opt/kaspersky/bin/kesl" <<<"$out"
check "$T/path-verdict" grep -qF \
	"rule $pol:$(line path) (path: path $work/opt/kaspersky/bin/kesl matches $work/opt/kaspersky/)" <<<"$out"

# A package rule through the private dpkg database.
ins --policy "$pol" --dpkg-admindir "$admin" "$work/installed/kesl"
check "$T/package-exit-1" test "$st" = 1
check "$T/package-shown" grep -qx '  package 1: dpkg kesl' <<<"$out"
check "$T/package-version" grep -qx '    version:     12.0-1' <<<"$out"
check "$T/package-verdict" grep -qF "rule $pol:$(line package) (package: owned by dpkg package kesl" <<<"$out"
ins --policy "$pol" "$work/installed/kesl"
check "$T/package-not-in-host-database" test "$st" = 0

# --json: one valid object per file, with the signature chain, packages and the verdict.
ins --json --policy "$pol" --dpkg-admindir "$admin" "$m/signed.exe" "$work/installed/kesl" "$m/unsigned.elf"
check "$T/json-exit-1" test "$st" = 1
check "$T/json-valid" test "$(jq -c . <<<"$out" 2>/dev/null | wc -l)" = 3
check "$T/json-chain" jqe -s --arg sha "$vendor_sha" --arg rule "$pol:$(line signer-org)" '
	.[0].signatures[0] as $s
	| $s.kind == "authenticode" and $s.state == "verified" and $s.digest_algorithm == "sha256"
	  and $s.nesting == 0 and ($s.chain | length) >= 1
	  and $s.chain[0].subject_o == "AO Kaspersky Lab" and $s.chain[0].subject_cn == "Kaspersky Lab"
	  and $s.chain[0].issuer_o == "Embargo Test CA" and $s.chain[0].sha256 == $sha
	  and ($s.chain[0].serial | test("^[0-9a-fA-F]+$")) and ($s.chain[0].not_after | endswith("Z"))
	  and .[0].format == "pe" and .[0].match and .[0].kind == "signer-org" and .[0].rule == $rule
	  and .[0].identity_rules_checked' <<<"$out"
check "$T/json-package" jqe -s '.[1].packages[0] | .manager == "dpkg" and .name == "kesl" and .version == "12.0-1"' <<<"$out"
check "$T/json-not-listed" jqe -s '.[2].match == false and .[2].signatures == [] and .[2].packages == []' <<<"$out"

# Exit statuses: an unreadable file wins over a prohibited one; no daemon and no policy: 69.
ins --policy "$pol" --dpkg-admindir "$admin" "$m/nested.exe" "$work/missing"
check "$T/error-wins-exit-2" test "$st" = 2
check "$T/error-names-file" grep -q "missing: No such file or directory" "$work/err"
ins "$m/unsigned.elf"
check "$T/no-daemon-exit-69" test "$st" = 69
ins --policy "$pol" --dpkg-admindir "$work/nowhere" "$m/unsigned.elf"
check "$T/bad-admindir-exit-2" test "$st" = 2

# Without --policy: the policy the daemon names in its status, with the daemon's mode. A stand-in daemon
# (the control protocol of userspace/lib/control.h) answers status and lookup; embargod itself needs BPF.
fake_daemon() { # fake_daemon DIR POLICY-PATH-OR-EMPTY: serves until killed (exec: $! is python's pid)
	exec python3 - "$@" <<'PY'
import json, os, socket, sys
d, pol = sys.argv[1], sys.argv[2]
os.makedirs(d, exist_ok=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(os.path.join(d, "control.sock"))
s.listen(8)
status = {"version": 1, "pid": os.getpid(), "mode": "enforce", "tier": "fanotify", "enforcing": True,
          "policy": {"path": pol} if pol else {}}
while True:
    c, _ = s.accept()
    req = c.recv(65536).rstrip(b"\0").decode()
    body = json.dumps(status) if req == "status" else json.dumps({"match": False}) if req.startswith("lookup ") else None
    c.send(("0\n" + body).encode() if body else b"22\nunknown request")
    c.close()
PY
}
# with_daemon POLICY-PATH-OR-EMPTY FILE: inspect FILE without --policy against a stand-in daemon.
with_daemon() {
	rm -rf "$work/run"
	fake_daemon "$work/run" "$1" &
	fpid=$!
	wait_for 5 test -S "$work/run/control.sock"
	out=$("$EMBARGOCTL" --runtime-dir "$work/run" inspect --dpkg-admindir "$admin" "$2" 2>"$work/err")
	st=$?
	stop_pid "$fpid"
	fpid=
}
if command -v python3 >/dev/null; then
	with_daemon "$pol" "$m/nested.exe"
	check "$T/daemon-policy-exit-1" test "$st" = 1
	check "$T/daemon-policy-signer-rule-and-mode" grep -qF \
		"rule $pol:$(line signer-org) (signer-org: signed by O=AO Kaspersky Lab (authenticode, verified)) — would be denied" \
		<<<"$out"
	with_daemon "" "$m/nested.exe"
	check "$T/daemon-no-policy-digest-only-exit-0" test "$st" = 0
	check "$T/daemon-no-policy-says-identity-not-checked" grep -q 'identity rules not checked' <<<"$out"
	check "$T/daemon-no-policy-warns" grep -q 'names no policy path' "$work/err"
else
	echo "SKIP: $T/daemon: python3 is not installed (stand-in daemon)"
fi

[ $failures -eq 0 ]
