#!/usr/bin/env bash
# Compiles every shaders/*.comp to shaders/spv/<name>.spv and validates it. With --check, compiles
# into a temporary folder and fails if the committed SPIR-V differs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/spv"
check=0
if [ "${1:-}" = --check ]; then check=1; out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
mkdir -p "$out"
for src in "$here"/*.comp; do
  name=$(basename "$src" .comp)
  glslc --target-env=vulkan1.2 -O -Werror -I "$here/include" -o "$out/$name.spv" "$src"
  spirv-val --target-env vulkan1.2 "$out/$name.spv"
done
# Builds of one source with defines: name, source, flags (shaders/matmul_tiled.comp's inner products).
while read -r name src flags; do
  glslc --target-env=vulkan1.2 -O -Werror -I "$here/include" $flags -o "$out/$name.spv" "$here/$src"
  spirv-val --target-env vulkan1.2 "$out/$name.spv"
done <<'VARIANTS'
matmul_tiled_emu matmul_tiled.comp -DMMA_EMU
matmul_tiled_nv matmul_tiled.comp -DMMA_NV
matmul_int8_emu matmul_tiled.comp -DMMA_EMU -DINT8
matmul_int8_nv matmul_tiled.comp -DMMA_NV -DINT8
VARIANTS
if [ $check = 1 ]; then
  diff -r -q "$here/spv" "$out" || { echo "shaders: committed SPIR-V is stale: run shaders/build.sh" >&2; exit 1; }
fi
