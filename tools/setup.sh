#!/usr/bin/env bash
# Installs what udvla needs to build and test, and does nothing when it is all present.
# Debian 12: Mesa's Vulkan drivers come from bookworm-backports (Mesa 25: lavapipe runs our compute
# shaders about 10x faster than bookworm's Mesa 22). The backports mirror is derived from the
# machine's own Debian apt source, so no package host is written here.
set -euo pipefail

need_pkgs=(libvulkan1 libvulkan-dev glslc spirv-tools vulkan-validationlayers vulkan-tools cmake
           flatbuffers-compiler pkg-config gcc g++ python3 python3-numpy libopenblas-dev)
min_mesa_major=25

say() { echo "setup: $*" >&2; }

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo_cmd=(sudo); else sudo_cmd=(false); fi
fi

have_all() {
  command -v glslc >/dev/null && command -v spirv-val >/dev/null && command -v flatc >/dev/null &&
  command -v cmake >/dev/null && command -v pkg-config >/dev/null || return 1
  ldconfig -p | grep -q 'libvulkan.so.1 ' || return 1
  [ -f /usr/include/vulkan/vulkan.h ] || return 1
  ls /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json >/dev/null 2>&1 || return 1
  [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] ||
    ls /usr/include/*/cblas.h >/dev/null 2>&1 || return 1
  # python3-numpy: the Python binding's tests run once without numpy and once with it
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || return 1
  mesa_ok || return 1
}

# lavapipe's ICD file is what the loader reads; its package version tells the Mesa release.
mesa_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] || return 1
  [ "${v%%.*}" -ge "$min_mesa_major" ] 2>/dev/null
}

if have_all; then exit 0; fi

. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" != debian ] || [ "${VERSION_CODENAME:-}" != bookworm ]; then
  if [ "${ID:-}" = debian ] || [ "${ID_LIKE:-}" = debian ] || [ "${ID:-}" = ubuntu ]; then
    say "not Debian 12; trying the distribution's own packages"
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" mesa-vulkan-drivers
    exit 0
  fi
  say "unsupported distribution '${PRETTY_NAME:-unknown}'. Install: the Vulkan loader and headers,"
  say "glslc (shaderc), spirv-tools, the Khronos validation layers, Mesa's lavapipe (Mesa >= 25"
  say "recommended), cmake, flatc (flatbuffers), pkg-config, a C compiler and OpenBLAS (cblas.h)."
  exit 1
fi

# The mirror of the machine's bookworm suite, from deb822 sources or the one-line format.
derive_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      /^[[:space:]]*$/ { if (uri != "" && suites ~ /(^| )bookworm( |$)/) { print uri; exit } uri=""; suites="" ; next }
      /^URIs:/ { uri=$2 } /^Suites:/ { $1=""; suites=$0 " " }
      END { if (uri != "" && suites ~ /(^| )bookworm( |$)/) print uri }' "$f" | head -1
  done | head -1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/) { if ($(i+1)=="bookworm") print $i; break } }' "$f"
  done | head -1
}

bp_list=/etc/apt/sources.list.d/udvla-bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  mirror=$(derive_mirror | head -1)
  if [ -z "$mirror" ]; then
    say "could not find the bookworm mirror in /etc/apt; add bookworm-backports by hand"; exit 1
  fi
  say "adding bookworm-backports from $mirror"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" | "${sudo_cmd[@]}" tee "$bp_list" >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -t bookworm-backports mesa-vulkan-drivers
have_all || { say "packages installed but something is still missing"; exit 1; }
say "done: $(dpkg-query -W -f='mesa-vulkan-drivers ${Version}' mesa-vulkan-drivers)"
