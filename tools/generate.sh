#!/usr/bin/env bash
# Regenerates every generated file the repository commits. Each step is deterministic, so on a
# clean checkout it changes nothing; tools/test.sh runs it with --check to keep it so.
#   shaders/spv/*.spv                         glslc and spirv-val (shaders/build.sh)
#   engine/model/fb/*.go                      flatc from engine/model/schema/udvla.fbs (schema/generate.sh)
#   testdata/tiny.udvla                       the tiny random model (udvla random --tiny)
#   testdata/tiny_vq.udvla                    the tiny vision tokenizer alone (udvla random --tiny-vq)
#   engine/model/testdata/fuzz/FuzzOpen/seed* FuzzOpen's seed files (the fuzzer's finds beside them stay)
#   engine/ref/testdata/mask_len_f32.txt      the release's float32 mask lengths (python3, standard library)
#   engine/textok/testdata/nfc_vectors.json   Python's NFC of the tokenizer's test texts (python3 unicodedata)
# Not here: testdata/frames/vectors.json needs Pillow (python3-pil), which the build does not
# install; run testdata/frames/gen_vectors.py by hand when the frame code changes. Likewise
# testdata/vq/vectors.json needs PyTorch (python3-torch): run testdata/vq/gen_vectors.py by hand.
# `go generate ./...` runs this script (tools/generate.go).
#
# With --check, generation must leave the working tree as it found it, tracked and untracked
# files alike: a stale generated file, or a source edited without regenerating, fails.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = --check ]; then check=1; fi

# The working tree as a git tree object, untracked files included, through a scratch index so the
# real index is left alone.
snapshot() {
  local idx
  idx=$(mktemp)
  cp "$(git rev-parse --git-path index)" "$idx"
  GIT_INDEX_FILE=$idx git add -A .
  GIT_INDEX_FILE=$idx git write-tree
  rm -f "$idx"
}

if [ $check = 1 ]; then before=$(snapshot); fi

echo "generate: SPIR-V" >&2
bash shaders/build.sh
echo "generate: FlatBuffers code" >&2
bash engine/model/schema/generate.sh
echo "generate: testdata/tiny.udvla" >&2
go run ./tools/udvla random --tiny --fast-root testdata/fast --out testdata/tiny.udvla
echo "generate: testdata/tiny_vq.udvla" >&2
go run ./tools/udvla random --tiny-vq --out testdata/tiny_vq.udvla
echo "generate: FuzzOpen seeds" >&2
UDVLA_WRITE_FUZZ_SEEDS=1 go test -count=1 -run '^TestFuzzSeedCorpus$' ./engine/model >/dev/null
echo "generate: Python vectors" >&2
python3 engine/ref/testdata/gen_mask_len.py > engine/ref/testdata/mask_len_f32.txt
python3 engine/textok/testdata/nfc_vectors.py > engine/textok/testdata/nfc_vectors.json

if [ $check = 1 ]; then
  after=$(snapshot)
  if [ "$before" != "$after" ]; then
    echo "generate: generated files are stale (regenerated now; commit them):" >&2
    git diff --stat "$before" "$after" >&2
    exit 1
  fi
fi
