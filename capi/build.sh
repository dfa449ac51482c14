#!/usr/bin/env bash
# Builds libudvla.so.1: bash capi/build.sh OUTPUT (default capi/libudvla.so.1).
# The version script keeps every symbol but udvla_* local and the SONAME carries the ABI major.
# Go also writes a generated header beside the output; the public header is capi/udvla.h.
# GO names the go command (default: go on PATH).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/capi/libudvla.so.1}
case $out in /*) ;; *) out=$PWD/$out ;; esac
mkdir -p "$(dirname "$out")"
cd "$root"
export CGO_ENABLED=1
"${GO:-go}" build -buildmode=c-shared -trimpath \
  -ldflags "-s -extldflags '-Wl,--version-script=$root/capi/udvla.map -Wl,-soname,libudvla.so.1 -Wl,--no-undefined'" \
  -o "$out" ./capi
