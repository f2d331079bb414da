#!/usr/bin/env bash
# Builds the fully static internbot binary. This script is the single source of
# truth for the build: the Dockerfile runs it, and so does .ci/run, so the
# image and CI link the binary the same way without CI needing Docker.
#
#   scripts/build-static.sh            build to ${OUT:-dist/internbot}
#   scripts/build-static.sh --check    build, then scripts/check-static.sh on it
#
# Why these flags:
#   CGO_ENABLED=1                 go-sqlite3 is cgo; it is compiled in, not loaded.
#   -tags netgo osusergo          the pure-Go resolver and user lookup: glibc's
#                                 getaddrinfo/getpwnam cannot work from a static
#                                 binary (they dlopen NSS modules at run time).
#   -tags sqlite_omit_load_extension
#                                 drops SQLite's extension loader, the only dlopen
#                                 left, so glibc links statically with no warning.
#   -linkmode external -extldflags -static
#                                 gcc links libc and libsqlite statically.
#   -trimpath -s -w               reproducible paths, no symbol/DWARF tables.
# The binary imports time/tzdata, so it needs no /usr/share/zoneinfo either.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A relative OUT is taken from the repository root.
OUT=${OUT:-dist/internbot}
# BUILD_PKG is only for trying the flags on another main package.
BUILD_PKG=${BUILD_PKG:-./cmd/internbot}
TAGS='netgo osusergo sqlite_omit_load_extension'
LDFLAGS='-s -w -linkmode external -extldflags "-static"'

check=false
case "${1:-}" in
"") ;;
--check) check=true ;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac

mkdir -p "$(dirname "$OUT")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "build-static: CGO_ENABLED=1 go build -trimpath -tags '$TAGS' -ldflags '$LDFLAGS' -o $OUT $BUILD_PKG"
if ! CGO_ENABLED=1 go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$OUT" "$BUILD_PKG" >"$log" 2>&1; then
	cat "$log" >&2
	echo "build-static: go build failed" >&2
	exit 1
fi
cat "$log"
# glibc's linker warning means some symbol (getaddrinfo, getpwnam, dlopen) still
# needs shared libraries at run time: the binary would link but break in an
# empty image. Refuse it rather than ship it.
if grep -q 'statically linked applications requires at runtime' "$log"; then
	echo "build-static: the static link still needs glibc shared objects at run time (see warnings above)" >&2
	exit 1
fi
echo "build-static: built $OUT ($(wc -c <"$OUT") bytes)"

if $check; then
	bash scripts/check-static.sh "$OUT"
fi
