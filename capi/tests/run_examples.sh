#!/usr/bin/env bash
# Extracts the C, C++ and Python examples of docs/EXAMPLES.md (its one ```c, ```cpp and ```python
# block each), builds them against an installed udvla package, and runs them as a user would:
# on a model they must exit 0 and print the same first row of actions (they make the same request);
# on a missing file they must exit non-zero and name the status. So the examples cannot rot.
#   bash capi/tests/run_examples.sh PREFIX PYTHON MODEL WORKDIR
# PREFIX: where cmake --install put the package; PYTHON: an interpreter that imports udvla.
set -euo pipefail
prefix=$1 py=$2 model=$3 work=$4
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
doc=$root/docs/EXAMPLES.md
mkdir -p "$work"

# extract LANG FILE: the one fenced block of LANG in the doc, or a failure naming what is wrong.
extract() {
  awk -v lang="$1" '
    $0 == "```" lang { inside = 1; blocks++; next }
    inside && /^```/ { inside = 0; next }
    inside { print }
    END { if (blocks != 1) { printf "docs/EXAMPLES.md: %d ```%s blocks, want 1\n", blocks, lang > "/dev/stderr"; exit 1 } }
  ' "$doc" >"$2"
}
extract c "$work/example.c"
extract cpp "$work/example.cpp"
extract python "$work/example.py"

libdir=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --variable=libdir udvla)
gcc -std=c99 -Wall -Wextra -Werror -pedantic $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags udvla) \
  "$work/example.c" $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --libs udvla) -Wl,-rpath,"$libdir" \
  -o "$work/example_c"
g++ -std=c++17 -Wall -Wextra -Werror -I"$prefix/include" "$work/example.cpp" -L"$libdir" -ludvla \
  -Wl,-rpath,"$libdir" -o "$work/example_cpp"

# run NAME WANT_RC PATTERN COMMAND...: the command's exit status must be WANT_RC (0, or "fail" for
# any other) and its output must match PATTERN.
run() {
  local name=$1 want=$2 pattern=$3 rc=0
  shift 3
  "$@" >"$work/out" 2>&1 || rc=$?
  if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" = fail ] && [ $rc -eq 0 ]; } ||
    ! grep -Eq "$pattern" "$work/out"; then
    echo "run_examples: $name exited $rc (want $want), output not matching /$pattern/:" >&2
    cat "$work/out" >&2
    exit 1
  fi
  echo "$name: $(head -c 300 "$work/out")"
  if [ "$want" = 0 ]; then cp "$work/out" "$work/out.$name"; fi
}
actions='^actions [0-9]+x[0-9]+: -?[0-9]'
missing=$work/no-such-model.udvla
run "C example" 0 "$actions" "$work/example_c" "$model"
run "C example, missing model" fail "UDVLA_ERR_NOT_FOUND" "$work/example_c" "$missing"
run "C++ example" 0 "$actions" "$work/example_cpp" "$model"
run "C++ example, missing model" fail "UDVLA_ERR_NOT_FOUND" "$work/example_cpp" "$missing"
(cd "$work" && run "Python example" 0 "$actions" "$py" example.py "$model")
(cd "$work" && run "Python example, missing model" fail "^no model: " "$py" example.py "$missing")
for lang in "C++" Python; do
  cmp -s "$work/out.C example" "$work/out.$lang example" || {
    echo "run_examples: the $lang example's actions differ from the C example's" >&2
    exit 1
  }
done
