#!/usr/bin/env bash
# Runs every test of udvla: installs what is missing, checks generated code, vets, and runs the Go
# tests with the Khronos validation layer on (any validation message fails the test that caused it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export UDVLA_VALIDATE=1
echo "== generated files (SPIR-V, FlatBuffers code, test data) are what tools/generate.sh makes"
bash tools/generate.sh --check
echo "== go vet"
go vet ./...
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
echo "== go test"
go test -count=1 -timeout 45m ./...
echo "== kernel tests once more with robust buffer access off, as production runs (guard bands)"
UDVLA_ROBUST=0 go test -count=1 -timeout 15m ./engine/gpu
echo "== C ABI, C++ and Python bindings (libudvla.so, CMake, ctest, pip)"
bash capi/test.sh
echo "== go test -race (packages whose tests are quick enough under the race detector)"
go test -count=1 -race -short -timeout 15m ./engine/vk ./engine/seq ./engine/quant ./engine/fast ./engine/textok
