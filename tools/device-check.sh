#!/usr/bin/env bash
# One-command check of udvla on a GPU machine that may have no package access and no Go:
#   1. takes what the machine lacks (the Vulkan loader, the validation layers) from a folder of
#      .deb files, unpacked without root into a prefix (dpkg -x; LD_LIBRARY_PATH, VK_LAYER_PATH);
#   2. lists the devices and the kernel variants the table picks (udvla-bench devices);
#   3. runs the kernel tests (engine/gpu) and the engine's equality tests under the validation layer;
#   4. runs udvla-bench ops and udvla-bench run --config calvin-8b under the release rule with q8_0
#      and f16 weights, and with the int8 matmul when the device's table has one (--kernels);
#   5. writes ONE JSON (every phase's status and time, and each benchmark's udvla-bench JSON) and
#      ONE log, all inside 8 minutes: each phase has its own time limit.
# --quick runs the same phases at tiny sizes (lavapipe, CI). Without Go on the machine, build the
# programs beforehand where Go is (--build DIR) and carry DIR (--bin DIR).
#
#   tools/device-check.sh [--debs DIR] [--bin DIR] [--out DIR] [--layers N] [--quick]
#   tools/device-check.sh --build DIR
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

debs="" bin="" out="$root/device-check" quick=0 build="" layers=32
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --debs) debs=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --build) build=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "device-check: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$layers" in ''|*[!0-9]*) echo "device-check: --layers wants a count, not '$layers'" >&2; exit 2 ;; esac

# build_programs DIR: the test binaries and udvla-bench, for a machine without Go.
build_programs() {
  mkdir -p "$1" &&
  go test -c -o "$1/gpu.test" ./engine/gpu &&
  go test -c -o "$1/engine.test" ./engine &&
  go build -o "$1/udvla-bench" ./tools/udvla-bench
}
if [ -n "$build" ]; then build_programs "$build"; exit; fi

mkdir -p "$out" || exit 1
log="$out/device-check.log" json="$out/device-check.json"
work=$(mktemp -d "${TMPDIR:-/tmp}/udvla-device-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
: >"$log"
say() { echo "device-check: $*" | tee -a "$log" >&2; }
phases=() # one JSON object per phase
failed=0
budget=${UDVLA_CHECK_BUDGET_S:-470} # the whole check, within 8 minutes
start=$(date +%s)

# phase NAME LIMIT_S CMD...: runs CMD with its output in the log, under its time limit and within
# what is left of the budget.
phase() {
  local name=$1 limit=$2 t0 rc status secs left
  shift 2
  left=$((start + budget - $(date +%s)))
  if [ "$left" -lt 10 ]; then
    say "== $name: skipped, the budget of ${budget}s is spent"
    phases+=("{\"name\": \"$name\", \"status\": \"skipped\", \"exit\": null, \"seconds\": 0, \"limit_seconds\": 0}")
    failed=1
    return 1
  fi
  [ "$limit" -le "$left" ] || limit=$left
  say "== $name (limit ${limit}s): $(echo "$*" | tr '\n' ' ' | cut -c1-240)"
  t0=$(date +%s.%N)
  timeout -k 5 "$limit" "$@" >>"$log" 2>&1
  rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  case $rc in 0) status=ok ;; 124|137) status=timeout ;; *) status=failed ;; esac
  [ $rc = 0 ] || failed=1
  say "   $name: $status (exit $rc) in ${secs}s"
  phases+=("{\"name\": \"$name\", \"status\": \"$status\", \"exit\": $rc, \"seconds\": $secs, \"limit_seconds\": $limit}")
  return $rc
}

# 1. What the machine lacks, from the .deb files: a package not installed here is unpacked.
prefix="$work/prefix"
unpack_debs() { # DEBS PREFIX
  local debs=$1 prefix=$2 f pkg n=0
  for f in "$debs"/*.deb; do
    [ -e "$f" ] || continue
    pkg=$(dpkg-deb -f "$f" Package) || return 1
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      echo "have $pkg; not unpacking $f"
      continue
    fi
    echo "unpacking $pkg from $f"
    dpkg -x "$f" "$prefix" || return 1
    n=$((n + 1))
  done
  echo "$n packages unpacked into $prefix"
}
if [ -n "$debs" ]; then
  phase unpack 30 bash -c "$(declare -f unpack_debs); unpack_debs \"\$@\"" _ "$debs" "$prefix" || true
  for d in "$prefix"/usr/lib/x86_64-linux-gnu "$prefix"/usr/lib/aarch64-linux-gnu "$prefix"/usr/lib; do
    [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done
  if [ -d "$prefix/usr/share/vulkan/explicit_layer.d" ]; then
    # the layer manifests name their library by file name: the loader finds it on LD_LIBRARY_PATH.
    # VK_ADD_LAYER_PATH adds to the loader's own search; a loader too old for it needs
    # VK_LAYER_PATH, which replaces the search, so it is set only where the machine has no layers.
    export VK_ADD_LAYER_PATH="$prefix/usr/share/vulkan/explicit_layer.d${VK_ADD_LAYER_PATH:+:$VK_ADD_LAYER_PATH}"
    if ! ls /usr/share/vulkan/explicit_layer.d/*.json /etc/vulkan/explicit_layer.d/*.json >/dev/null 2>&1; then
      export VK_LAYER_PATH="$prefix/usr/share/vulkan/explicit_layer.d${VK_LAYER_PATH:+:$VK_LAYER_PATH}"
    fi
  fi
fi
# NVIDIA's container mounts keep the driver's manifest outside the loader's search path.
nv_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nv_icd" ]; then export VK_DRIVER_FILES=$nv_icd; fi

# 2. The programs: carried (--bin), else built here.
if [ -z "$bin" ]; then
  bin="$work/bin"
  phase build 300 bash -c "$(declare -f build_programs); build_programs \"\$@\"" _ "$bin" || { say "cannot build: give --bin DIR made by --build DIR"; }
fi
bench="$bin/udvla-bench"

export UDVLA_VALIDATE=1
phase devices 30 "$bench" devices --json "$work/devices.json" || true

# 3. Tests under the validation layer. The test binaries run in their package folder (testdata).
if [ $quick = 1 ]; then tflags=(-test.short); else tflags=(); fi
phase kernel-tests 120 bash -c 'cd engine/gpu && exec "$0" -test.count=1 "$@"' "$bin/gpu.test" "${tflags[@]}" || true
# the engine's equality tests with the GPU against the CPU reference: f32, q8_0 and f16 weights
phase engine-tests 150 bash -c 'cd engine && exec "$0" -test.count=1 "$@"' "$bin/engine.test" "${tflags[@]}" \
  -test.run 'TestVulkanEqualsReferenceTiny|TestEqualityQ8|TestEqualityFFNNotWholeBlocks|TestEngineReportsKernels' || true
unset UDVLA_VALIDATE # the benchmarks measure the engine as it ships

# 4. Benchmarks.
if [ $quick = 1 ]; then
  cfg=(--config tiny) runflags=(--runs 1 --warmup 0 --steps 2 --modes jd3p) opsflags=(--n 1,16 --min-time 1ms --max-reps 2)
  runlimit=60 opslimit=60
else
  cfg=(--config calvin-8b --layers "$layers") runflags=(--runs 3 --warmup 1 --modes jd3p) opsflags=(--min-time 100ms --max-reps 10)
  runlimit=70 opslimit=50
fi
phase ops "$opslimit" "$bench" ops "${cfg[@]}" --dtypes f16,q8_0 "${opsflags[@]}" --json "$work/ops.json" || true
runs=()
bench_run() { # NAME SOURCE-FLAGS... -- EXTRA-FLAGS...
  local name=$1
  shift
  phase "$name" "$runlimit" "$bench" run "$@" --mask release "${runflags[@]}" --tmp "$work" --json "$work/$name.json" || true
  runs+=("$name")
}
# the q8_0 model is kept for the int8 run, which reads the same weights
bench_run run-q8_0 "${cfg[@]}" --dtype q8_0 --save "$work/q8_0.udvla"
bench_run run-f16 "${cfg[@]}" --dtype f16
# the int8 path: a matmul variant whose name starts with int8 (the table's order puts the
# cooperative-matrix one before the emulated one), when this device can run one
int8=""
if [ -f "$work/devices.json" ]; then
  int8=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["device"] or {}
print(next((v for v in d.get("kernel_variants", {}).get("matmul", []) if v.startswith(sys.argv[2])), ""))' \
    "$work/devices.json" int8 2>>"$log")
fi
if [ -z "$int8" ]; then
  say "no int8 matmul variant on this device: run-int8 skipped"
elif [ -f "$work/q8_0.udvla" ]; then
  bench_run run-int8 --model "$work/q8_0.udvla" --kernels "matmul=$int8"
else
  bench_run run-int8 "${cfg[@]}" --dtype q8_0 --kernels "matmul=$int8"
fi
rm -f "$work/q8_0.udvla"

# 5. The one JSON: phases, then each udvla-bench JSON (null where a phase wrote none).
{
  printf '{\n  "schema": "udvla-device-check/1",\n  "created": "%s",\n  "quick": %s,\n  "layers": %s,\n  "ok": %s,\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$([ $quick = 1 ] && echo true || echo false)" \
    "$([ $quick = 1 ] && echo 2 || echo "$layers")" "$([ $failed = 0 ] && echo true || echo false)"
  printf '  "phases": [\n'
  i=0
  for p in "${phases[@]}"; do
    i=$((i + 1))
    sep=","; [ $i = ${#phases[@]} ] && sep=""
    printf '    %s%s\n' "$p" "$sep"
  done
  printf '  ],\n'
  for f in devices ops; do
    printf '  "%s": %s,\n' "$f" "$(cat "$work/$f.json" 2>/dev/null || echo null)"
  done
  printf '  "runs": {\n'
  i=0
  for r in "${runs[@]}"; do
    i=$((i + 1))
    sep=","; [ $i = ${#runs[@]} ] && sep=""
    printf '    "%s": %s%s\n' "$r" "$(cat "$work/$r.json" 2>/dev/null || echo null)" "$sep"
  done
  printf '  }\n}\n'
} >"$json"
if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$json" 2>>"$log"; then
  say "the JSON did not come out whole: $json"; failed=1
fi
say "wrote $json and $log"
[ $failed = 0 ] || say "some phases failed: see $log"
exit $failed
