#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installs what connlimit needs to build and test on Debian/Ubuntu, then builds.
#   1. System packages (libiptc/libmnl/libnftnl headers, iptables, nftables, ipset (test oracle),
#      tmux (the top test), conntrack, iproute2, strace, toolchain, systemd (systemd-analyze checks
#      the sample unit in docs/systemd)) through apt-get, as root, and promtool (unpacked from
#      Debian's prometheus package, the metrics tests' oracle). Skipped
#      entirely when dpkg-query shows all of them installed; `apt-get update` runs
#      only when something is missing.
#   2. `npm install`, which compiles the addon (node-gyp, never a prebuilt binary) and
#      the TypeScript (`prepare`). Skipped when node_modules, build/Release/connlimit.node and
#      dist/index.js are all newer than package.json, binding.gyp, native/ and src/.
# Safe to re-run; the second run takes well under a second.
set -euo pipefail

cd "$(dirname "$0")/.."

packages=(
  libiptc-dev libip4tc-dev libip6tc-dev libmnl-dev libnftnl-dev pkg-config
  iptables nftables conntrack iproute2 strace tmux python3 make g++ systemd
  ipset  # the oracle of test 48 and scripts/capture-golden-ipset.sh; the library never runs it
)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
else
  # Not dpkg-based: accept the system if the pieces are visibly there.
  pkg-config --exists libiptc libip4tc libip6tc libmnl libnftnl 2>/dev/null ||
    missing+=(libiptc-dev libip4tc-dev libip6tc-dev libmnl-dev libnftnl-dev)
  for tool in pkg-config iptables nft conntrack ip strace tmux python3 make g++ systemd-analyze; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  say "system packages: all ${#packages[@]} present"
else
  say "system packages missing: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    die "not root. As root, run:
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages[*]}
(or install the equivalents of: ${missing[*]})"
  fi
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    die "no apt-get/dpkg here. Install the equivalents of these Debian packages, then re-run:
  ${missing[*]}"
  fi
  export DEBIAN_FRONTEND=noninteractive
  say "apt-get update"
  apt-get update -qq
  say "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "system packages installed"
fi

# promtool, Prometheus's exposition checker (the oracle of tests 61 and 63), from Debian's
# prometheus package: unpacked, not installed, so no server, user or unit comes with it.
if [[ ! -x /usr/local/bin/promtool ]] && command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  say "promtool: unpacking it from Debian's prometheus package"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq prometheus 2>/dev/null && dpkg-deb -x prometheus_*.deb x) ||
    { apt-get update -qq && (cd "$tmp" && apt-get download -qq prometheus 2>/dev/null && dpkg-deb -x prometheus_*.deb x); }
  install -m 0755 "$tmp/x/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$tmp"
fi

command -v node >/dev/null 2>&1 || die "node is not installed (need Node.js >= 20 with npm)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (need Node.js >= 20 with npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "Node.js >= 20 required, found $(node --version)"

# Fast path: every output exists and is newer than every input.
outputs=(node_modules build/Release/connlimit.node dist/index.js)
inputs=(package.json package-lock.json binding.gyp native src)
up_to_date() {
  local out existing=() in
  for in in "${inputs[@]}"; do [[ -e $in ]] && existing+=("$in"); done
  for out in "${outputs[@]}"; do
    [[ -e $out ]] || return 1
    [[ -z $(find "${existing[@]}" -newer "$out" -print -quit 2>/dev/null) ]] || return 1
  done
  return 0
}

if up_to_date; then
  say "build: up to date (skipping npm install)"
else
  say "npm install (builds the addon with node-gyp and the TypeScript via prepare)"
  # The install script (node-gyp-build) would take any build/Release or prebuilds/ it finds,
  # stale or not; a clone always compiles its own sources. node-gyp-build looks for them in
  # $CONNLIMIT_PREBUILD instead of the package when that is set (<NAME>_PREBUILD): an empty
  # folder finds nothing, so it compiles. (Not npm_config_build_from_source: npm 11 warns that
  # build-from-source is no npm config it knows.)
  nothing_prebuilt=$(mktemp -d)
  CONNLIMIT_PREBUILD=$nothing_prebuilt npm install --no-audit --no-fund
  rmdir "$nothing_prebuilt"
  [[ -e build/Release/connlimit.node ]] || die "npm install finished but build/Release/connlimit.node is missing"
  [[ -e dist/index.js ]] || die "npm install finished but dist/index.js is missing"
  # npm leaves outputs it did not need to rewrite (the node_modules folder) with
  # old times, and may rewrite package-lock.json after the build: mark all
  # outputs as made now, from the inputs as they are now.
  mkdir -p node_modules
  touch "${outputs[@]}"
  say "build: done"
fi
