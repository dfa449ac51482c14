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
echo "== kernels and quick engine equality at subgroup size 4 (lavapipe: LP_NATIVE_VECTOR_WIDTH=128; the runs above had 8)"
# every shader whose logic depends on the subgroup size runs at a second size; the table must
# pick variants that fit it (the register-tile matmul needs 8). Width 512 gives subgroups of 16
# (the kernel tests pass, in minutes: too slow for every run); width 1024 reports 32, but there
# lavapipe (Mesa 25.0, LLVM 15) sums only 16 lanes in a subgroupAdd over a workgroup of 32 (one
# subgroup by its own report: rmsnorm of 31 vec4s comes out as if half of them were zero), so the
# matmul, rmsnorm, sampling and release-mask tests fail there; subgroups of 32 wait for a GPU run
# (tools/device-check.sh)
export LP_NATIVE_VECTOR_WIDTH=128 UDVLA_TEST_SUBGROUP=4
go test -count=1 -short -timeout 15m ./engine/gpu
go test -count=1 -short -timeout 15m ./engine \
  -run 'TestVulkanEqualsReferenceTiny|TestEqualityQ8|TestEqualityFFNNotWholeBlocks|TestEngineReportsKernels'
unset LP_NATIVE_VECTOR_WIDTH UDVLA_TEST_SUBGROUP
echo "== tools/device-check.sh --quick (the one-command GPU machine check, at tiny sizes on lavapipe)"
bash tools/device-check_test.sh
