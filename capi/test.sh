#!/usr/bin/env bash
# Builds libudvla.so.1 and everything around it with CMake in a temporary directory and runs the
# C, C++ and Python tests of the C ABI:
#   - ctest: the exported symbols, results equal to the Go engine's (capi/golden), every error
#     status, 8 threads x 200 steps on one engine, cancellation from C and C++, the boundary
#     (capacities, settings read at call time, the max_instruction bound), forked children, the
#     C++ wrapper and the example controller;
#   - a C program built from udvla.h alone against the installed package via pkg-config, and a C++
#     program via find_package(udvla);
#   - pip install bindings/python into a fresh environment holding only the standard library, the
#     Python tests (forked multiprocessing workers among them), and 100 open/step/close cycles in
#     one process without growth;
#   - the Python tests again with numpy, where a python3 of this machine has it;
#   - the examples of docs/EXAMPLES.md, extracted, built against the installed package and run;
#   - the Python package with the library bundled beside it, found without UDVLA_LIBRARY.
# Runs from any directory; UDVLA_TEST_SEED=<n> repeats a run's random requests.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin
for tool in go cmake gcc g++ python3 pkg-config nm readelf; do
  command -v "$tool" >/dev/null || { echo "capi/test.sh: $tool is missing (bash tools/setup.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/udvla-capi.XXXXXX")
trap 'rm -rf "$work"' EXIT
seed=${UDVLA_TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
model=$root/testdata/tiny.udvla
build=$work/build
prefix=$work/prefix
export PYTHONDONTWRITEBYTECODE=1 PIP_ROOT_USER_ACTION=ignore
unset UDVLA_LIBRARY
start=$SECONDS
step() { echo "== capi: $* ($((SECONDS - start)) s)"; }

# pip_install SITE: installs bindings/python into the directory SITE with pip, or, where python3 has
# no pip, builds the wheel with the package's own backend and unpacks it (what pip does for a
# pure-Python wheel).
pip_install() {
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --disable-pip-version-check --target "$1" "$root/bindings/python"
  else
    echo "capi/test.sh: python3 has no pip (python3-pip); installing the backend's wheel by hand"
    local whl
    whl=$(cd "$root/bindings/python/_build_backend" &&
      python3 -c 'import sys, udvla_build; print(udvla_build.build_wheel(sys.argv[1]))' "$work")
    python3 -m zipfile -e "$work/$whl" "$1"
  fi
}

step "cmake build, random requests from seed $seed (UDVLA_TEST_SEED=$seed repeats them)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DUDVLA_TEST_SEED="$seed" >/dev/null
cmake --build "$build" -j"$(nproc)" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
lib=$build/lib/libudvla.so.1

step "nm -D --defined-only libudvla.so.1"
nm -D --defined-only "$lib"

step "ctest"
(cd "$build" && ctest --output-on-failure)
grep -h "symbols, all\|test_capi: ok\|test_boundary: ok\|test_fork: ok\|test_faults: ok\|fork with\|test_cpp: ok\|sequential:\|close while\|latency over" \
  "$build/Testing/Temporary/LastTest.log" || true

step "install into a temporary prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null

step "a C program from udvla.h, gcc -Wall -Werror via pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
gcc -std=c99 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags udvla) "$root/capi/tests/installed_consumer.c" \
  $(pkg-config --libs udvla) -Wl,-rpath,"$(pkg-config --variable=libdir udvla)" -o "$work/c_consumer"
"$work/c_consumer" "$model"

step "a C++ program via find_package(udvla)"
cmake -S "$root/bindings/cpp/tests/consumer" -B "$work/cpp_consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cpp_consumer" >"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; exit 1; }
"$work/cpp_consumer/consumer" "$model"

step "pip install bindings/python into an environment of the standard library alone"
python3 -m venv --without-pip "$work/venv"
py=$work/venv/bin/python
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
pip_install "$site"
echo "installed: $(ls "$site" | tr '\n' ' ')"
(cd "$work" && "$py" -c 'import udvla; print("import udvla:", udvla.__file__)')

step "Python tests"
export UDVLA_LIBRARY=$lib UDVLA_MODEL=$model UDVLA_GOLDEN=$build/golden.txt
(cd "$root/bindings/python/tests" && "$py" -m unittest -v test_udvla test_interface test_process)

step "Python tests with numpy"
numpy_py=
for cand in python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import numpy' 2>/dev/null; then numpy_py=$(command -v "$cand"); break; fi
done
if [ -n "$numpy_py" ]; then
  pip_install "$work/numpy_site"
  (cd "$root/bindings/python/tests" && PYTHONPATH=$work/numpy_site "$numpy_py" -m unittest test_udvla test_interface)
else
  echo "no python3 here imports numpy (python3-numpy): the numpy inputs were tested only without numpy"
fi

step "the examples of docs/EXAMPLES.md"
bash "$root/capi/tests/run_examples.sh" "$prefix" "$py" "$model" "$work/examples"

step "Python: 100 engines opened, stepped and closed in one process"
(cd "$work" && UDVLA_VALIDATE=0 "$py" "$root/bindings/python/tests/leak_check.py" "$model" 100)

step "Python: the library bundled beside the package"
python3 -m venv --without-pip "$work/venv2"
site2=$("$work/venv2/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
UDVLA_BUNDLE_LIBRARY=$lib pip_install "$site2"
(cd "$work" && env -u UDVLA_LIBRARY "$work/venv2/bin/python" - "$model" <<'PY'
import os, sys, udvla
with udvla.Engine(sys.argv[1]) as e:
    r = e.step([[i % e.info.vocab.codebook_size for i in range(c.size)] for c in e.info.cameras], [1, 2, 3], steps=1)
lib = udvla.load_library()._name
assert os.path.dirname(lib) == os.path.dirname(udvla.__file__), lib
print("bundled:", lib, r)
PY
)
step "all passed"
