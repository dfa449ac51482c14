#!/usr/bin/env bash
# Runs tools/device-check.sh --quick as on a bare machine: with programs built beforehand, a folder of .deb files holding a
# package this machine has (left alone) and one it lacks (unpacked without root), then checks
# the one JSON and the one log it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debs"
for p in bash udvla-check-probe; do
  mkdir -p "$tmp/$p/DEBIAN" "$tmp/$p/usr/share/doc/$p"
  printf 'Package: %s\nVersion: 1\nArchitecture: all\nMaintainer: udvla\nDescription: probe\n' "$p" >"$tmp/$p/DEBIAN/control"
  echo probe >"$tmp/$p/usr/share/doc/$p/README"
  dpkg-deb --build -Zgzip "$tmp/$p" "$tmp/debs/$p.deb" >/dev/null
done
# the programs built beforehand and carried, as for a machine without Go
tools/device-check.sh --build "$tmp/bin"
tools/device-check.sh --quick --debs "$tmp/debs" --bin "$tmp/bin" --out "$tmp/out"
log="$tmp/out/device-check.log"
grep -q "have bash; not unpacking" "$log" || { echo "device-check unpacked a package the machine has" >&2; exit 1; }
grep -q "unpacking udvla-check-probe" "$log" || { echo "device-check did not unpack the missing package" >&2; exit 1; }
python3 - "$tmp/out/device-check.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = [p["name"] for p in d["phases"]]
want = ["unpack", "devices", "kernel-tests", "engine-tests", "ops", "run-q8_0", "run-f16", "run-int8"]
missing = [n for n in want if n not in names]
bad = [p for p in d["phases"] if p["status"] != "ok"]
assert d["ok"] and d["quick"] and not missing and not bad, (missing, bad)
dev = d["devices"]["device"]
assert set(dev["kernels"]) == set(dev["kernel_variants"]), dev
for name in ("run-q8_0", "run-f16"):
    r = d["runs"][name]
    assert r["command"] == "run" and r["config"]["mask"] == "release" and r["device"]["kernels"], name
assert d["runs"]["run-q8_0"]["config"]["dtype"] == "q8_0" and d["runs"]["run-f16"]["config"]["dtype"] == "f16"
assert d["ops"]["ops"], "no ops"
i8 = d["runs"]["run-int8"]
assert i8["device"]["kernels"]["matmul"].startswith("int8") and i8["config"]["source"] == "file" and i8["config"]["dtype"] == "q8_0", i8["config"]
print("device-check --quick: %d phases ok" % len(names))
PY
# a failing phase fails the check, and the JSON says which
if tools/device-check.sh --quick --bin "$tmp/none" --out "$tmp/bad" 2>/dev/null; then
  echo "device-check passed without its programs" >&2; exit 1
fi
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert not d["ok"] and d["phases"][0]["status"] == "failed", d["phases"]' \
  "$tmp/bad/device-check.json"
