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
if [ $check = 1 ]; then
  diff -r -q "$here/spv" "$out" || { echo "shaders: committed SPIR-V is stale: run shaders/build.sh" >&2; exit 1; }
fi
