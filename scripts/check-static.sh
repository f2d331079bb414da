#!/usr/bin/env bash
# Checks that a built internbot binary is fully static and runs with nothing
# around it: no shared libraries, no /usr/share/zoneinfo, no /etc, no config.
# That is what the distroless/scratch image gives it.
#
#   scripts/check-static.sh [BINARY]      default dist/internbot
#
# Uses readelf (binutils, installed with gcc) and ldd (libc-bin); file(1) is
# only printed when present. The empty-root run needs root for chroot; without
# it the run falls back to an empty working directory and a cleared
# environment, which is weaker (host files stay visible) and says so.
set -euo pipefail

bin=${1:-dist/internbot}
# A non-UTC zone proves the embedded tzdata is used: "UTC" needs no database.
zone=${CHECK_ZONE:-America/New_York}

fail() {
	echo "check-static: FAIL: $*" >&2
	exit 1
}

[[ -x $bin ]] || fail "$bin is not an executable file"

# 1. Linkage.
if command -v file >/dev/null 2>&1; then
	file "$bin"
fi
command -v readelf >/dev/null 2>&1 || fail "readelf not found (install binutils)"
if readelf -lW "$bin" | grep -q 'INTERP'; then
	readelf -lW "$bin" | grep -A1 INTERP >&2
	fail "$bin has a program interpreter: it is dynamically linked"
fi
if readelf -dW "$bin" 2>/dev/null | grep -q 'NEEDED'; then
	readelf -dW "$bin" | grep NEEDED >&2
	fail "$bin needs shared libraries"
fi
if command -v ldd >/dev/null 2>&1; then
	# glibc's ldd exits 1 for a static binary; its words are what matter.
	ldd_out=$(ldd "$bin" 2>&1 || true)
	echo "ldd: $ldd_out"
	case "$ldd_out" in
	*"not a dynamic executable"* | *"statically linked"*) ;;
	*) fail "ldd does not call $bin static" ;;
	esac
fi
echo "check-static: $bin has no interpreter and no shared libraries"

# 2. Run it in an empty root.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"
cp "$bin" "$root/internbot"
printf 'timezone: %s\n' "$zone" >"$root/zone.yaml"

# chroot exits 127 when the command is missing inside the new root and 125
# when it cannot chroot at all: probing a missing command tells them apart.
mode=chroot
# env -i clears PATH too, so call chroot by its full path.
chroot_bin=$(command -v chroot || echo chroot)
set +e
chroot "$root" /no-such-command >/dev/null 2>&1
probe=$?
set -e
if [[ $probe -ne 127 ]]; then
	mode=emptydir
	echo "check-static: chroot unavailable (exit $probe, need root); falling back to env -i in an empty directory: host files stay visible, so this run proves less"
fi

# run_in_root EXPECTED_EXIT ARGS... — runs /internbot ARGS with an empty
# environment, prints its output, fails on another exit status.
out=
run_in_root() {
	local want=$1
	shift
	local rc
	set +e
	if [[ $mode == chroot ]]; then
		out=$(cd / && env -i "$chroot_bin" "$root" /internbot "$@" 2>&1)
	else
		# Paths given as /x mean $root/x here.
		local args=() a
		for a in "$@"; do
			case "$a" in
			/*) args+=("$root$a") ;;
			*) args+=("$a") ;;
			esac
		done
		out=$(cd "$root" && env -i "$root/internbot" "${args[@]}" 2>&1)
	fi
	rc=$?
	set -e
	echo "--- internbot $* (exit $rc)"
	if [[ $rc -eq $want ]]; then
		# Enough to read; the whole output only when something is wrong.
		printf '%s\n' "$out" | head -n 6 | sed 's/^/    /'
	else
		printf '%s\n' "$out" | sed 's/^/    /'
		fail "internbot $* exited $rc, want $want"
	fi
}

run_in_root 0 check-config
grep -qi 'timezone' <<<"$out" || fail "check-config output does not mention the timezone"

run_in_root 1 check-config -config /nonexistent.yaml

run_in_root 0 check-config -config /zone.yaml
grep -q "$zone" <<<"$out" || fail "check-config -config /zone.yaml does not mention $zone (is time/tzdata imported?)"

where="an empty root"
[[ $mode == chroot ]] || where="an empty directory with no environment"
echo "check-static: OK ($mode): $bin runs in $where, loads $zone from embedded tzdata, refuses a missing config"
