#!/usr/bin/env bash
# Regenerates the Go code of the .udvla header (engine/model/fb) from udvla.fbs.
# flatc must be 2.0.8, the version of the github.com/google/flatbuffers runtime in go.mod.
# With an argument the code goes to DIR/fb instead (the tests use this to diff the committed code).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/..}
command -v flatc >/dev/null || { echo "generate.sh: flatc not found (Debian: flatbuffers-compiler)" >&2; exit 1; }
rm -rf "$out/fb"
flatc --go --go-namespace fb -o "$out" "$here/udvla.fbs"
gofmt -w "$out/fb"
