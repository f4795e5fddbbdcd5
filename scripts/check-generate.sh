#!/bin/sh
# Checks that `go generate ./...` reproduces the committed generated code under gen/ byte for byte, from a copy
# of the source tree with every generated file removed, and that it leaves no other file behind.
#
# Usage: scripts/check-generate.sh        (exit 0: up to date; 1: differences, printed as a diff)
# Needs only the Go toolchain (the generators are pinned in go.mod, see tools.go and generate.go).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ehcert-check-generate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# A copy of the working tree without .git (what a clean checkout plus local changes holds).
(cd "$root" && tar --exclude=./.git -cf - .) | (cd "$tmp" && tar -xf -)

# Remove every generated file under gen/ so that generation has to produce it again.
find "$tmp/gen" -type f -name '*.go' ! -name '*_test.go' -exec grep -l '^// Code generated .* DO NOT EDIT\.$' {} + |
  while IFS= read -r f; do rm -f "$f"; done

(cd "$tmp" && find . -type f ! -path './gen/*' | LC_ALL=C sort) >"$tmp.before"

if ! (cd "$tmp" && go generate ./...) >"$tmp.log" 2>&1; then
  cat "$tmp.log" >&2
  echo "check-generate: go generate ./... failed" >&2
  rm -f "$tmp.before" "$tmp.log"
  exit 1
fi

rc=0
if ! diff -r -u "$root/gen" "$tmp/gen"; then
  echo "check-generate: gen/ differs from what go generate ./... produces (run it and commit the result)" >&2
  rc=1
fi
(cd "$tmp" && find . -type f ! -path './gen/*' | LC_ALL=C sort) >"$tmp.after"
if ! diff -u "$tmp.before" "$tmp.after" >&2; then
  echo "check-generate: go generate ./... left files outside gen/" >&2
  rc=1
fi
rm -f "$tmp.before" "$tmp.after" "$tmp.log"
if [ "$rc" -eq 0 ]; then
  echo "check-generate: gen/ is up to date"
fi
exit $rc
