#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Record golden bytes for the native nftables form (backend 'nftables') from nft itself.
#
# For each fixture: `iptables-translate`/`ip6tables-translate -A <chain> <args>` renders the
# rule as nft commands (a set `connlimit0` and the rule); we move them into our table
# (`filter` -> `connlimit`) and, for IPv6, give the set the key type `ipv6_addr` (ip6tables-translate 1.8.9 emits `ipv4_addr`, which nft refuses:
# NETFILTER-NOTES.md §8). Then, in a throwaway network namespace (`unshare -n`: the host is
# never touched), with the table and base chain already created,
#   strace -f -e trace=sendmsg -e write=all nft -f <those commands>
# and the one batch nft sends (NEWSET + NEWRULE, or NEWRULE alone) is cut into
# test/fixtures/nftables/<name>.hex, with a header saying how it was made.
#
# `create-ipv4`/`create-ipv6` record the NEWTABLE + NEWCHAIN that create our table and its
# INPUT base chain; `delete-ipv4` the DELRULE (by handle) + DELSET that remove a rule and its set.
#
# Masked (listed in each header): every nlmsg_seq.
#
# Usage: scripts/capture-golden-nftables.sh [name...]   (default: every fixture below)
# Needs root, strace, nft, iptables-translate, python3.
set -euo pipefail

cd "$(dirname "$0")/.."
out_dir=test/fixtures/nftables

for tool in strace nft iptables-translate ip6tables-translate python3 unshare; do
  command -v "$tool" >/dev/null || { echo "capture-golden-nftables: missing $tool" >&2; exit 1; }
done
if [[ $(id -u) -ne 0 ]]; then
  echo "capture-golden-nftables: must run as root (needs CAP_NET_ADMIN in a new netns)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/cut.py" <<'PY'
import json, re, struct, sys

log, name, family, chain, commands_path, kernel, version = sys.argv[1:8]
args = sys.argv[8:]

NFT = 10  # NFNL_SUBSYS_NFTABLES
TYPES = {16: 'NFNL_MSG_BATCH_BEGIN', 17: 'NFNL_MSG_BATCH_END', NFT << 8 | 0: 'NFT_MSG_NEWTABLE',
         NFT << 8 | 3: 'NFT_MSG_NEWCHAIN', NFT << 8 | 6: 'NFT_MSG_NEWRULE', NFT << 8 | 8: 'NFT_MSG_DELRULE',
         NFT << 8 | 9: 'NFT_MSG_NEWSET', NFT << 8 | 11: 'NFT_MSG_DELSET'}

# strace -e write=all prints, after each sendmsg line, its data as " | 00000  hex ...  ascii |".
batches, cur = [], None
for raw in open(log, encoding='latin-1'):
    body = raw.split(None, 1)[1] if re.match(r'^\d+\s', raw) else raw
    if body.startswith('sendmsg('):
        cur = bytearray()
        batches.append(cur)
        if not re.search(r'\)\s*=\s*\d+\s*$', body):
            sys.exit(f'{name}: sendmsg failed: {body.strip()}')
        continue
    m = re.match(r'^\s*\|\s*([0-9a-f]{5})\s\s((?:[0-9a-f]{2}\s+){1,16})', raw)
    if m and cur is not None:
        if int(m.group(1), 16) != len(cur):
            sys.exit(f'{name}: hexdump offset {m.group(1)} after {len(cur)} bytes')
        cur += bytes.fromhex(m.group(2).replace(' ', ''))
        continue
    if not raw.startswith(' |') and not raw.startswith(' * '):
        cur = None
if len(batches) != 1:
    sys.exit(f'{name}: expected one sendmsg batch, found {len(batches)}')
batch = bytes(batches[0])

msgs, off = [], 0
while off < len(batch):
    ln, typ, flags, seq = struct.unpack_from('<IHHI', batch, off)
    if ln < 16 or off + ln > len(batch):
        sys.exit(f'{name}: bad nlmsg_len {ln} at {off}')
    msgs.append((typ, flags, batch[off:off + ln]))
    off += (ln + 3) & ~3
kinds = [TYPES.get(t, hex(t)) for t, _, _ in msgs]
if kinds[0] != 'NFNL_MSG_BATCH_BEGIN' or kinds[-1] != 'NFNL_MSG_BATCH_END':
    sys.exit(f'{name}: not a batch: {kinds}')
picked = msgs[1:-1]
body = b''.join(m[2] + b'\0' * (-len(m[2]) % 4) for m in picked)

commands = [l for l in open(commands_path).read().split('\n') if l]
print(f'# connlimit golden fixture: {" + ".join(TYPES.get(m[0], hex(m[0])) for m in picked)} cut from the batch nft sent')
print(f'# name: {name}')
print(f'# family: {family}')
print(f'# chain: {chain}')
print(f'# command: {" ".join(args)}')
print(f'# args: {json.dumps(args)}')
for c in commands:
    print(f'# nft: {c}')
print(f'# version: {version}')
print(f'# kernel: {kernel}')
print(f'# captured: unshare -n strace -f -e trace=sendmsg -e write=all nft -f <the nft lines>; scripts/capture-golden-nftables.sh')
print(f'# batch: {" ".join(kinds)}')
at = 0
for t, flags, raw in picked:
    print(f'# masked: {at + 8} 4 nlmsg_seq')
    at += len(raw) + (-len(raw) % 4)
print('# body: 4 bytes per line, hex; "# @offset" lines mark each message')
at, marks = 0, {}
for t, flags, raw in picked:
    marks[at] = f'{TYPES.get(t, hex(t))} flags 0x{flags:04x} ({len(raw)} bytes)'
    at += len(raw) + (-len(raw) % 4)
for o in range(0, len(body), 4):
    if o in marks:
        print(f'# @{o} {marks[o]}')
    print(body[o:o + 4].hex())
PY

kernel=$(uname -r)
version=$(nft --version)

# The table and base chain our library creates, so the captured batch holds only the rule.
setup_of() {
  local nfam=$1 chain=$2 hook
  hook=$(tr '[:upper:]' '[:lower:]' <<<"$chain")
  printf 'add table %s connlimit\nadd chain %s connlimit %s { type filter hook %s priority filter; policy accept; }\n' \
    "$nfam" "$nfam" "$chain" "$hook"
}

# The translation, moved into our table, with the IPv6 key type fixed.
translate() {
  local family=$1 chain=$2
  shift 2
  local tool=iptables-translate
  [[ $family == ipv6 ]] && tool=ip6tables-translate
  "$tool" -A "$chain" "$@" | sed -E \
    -e "s/^nft '(.*)'$/\1/" \
    -e 's/^add (set|rule) (ip6?) filter /add \1 \2 connlimit /' \
    -e "s/\{ type ipv4_addr; flags dynamic; \}/{ type $([[ $family == ipv6 ]] && echo ipv6_addr || echo ipv4_addr); flags dynamic; }/"
}

# record NAME FAMILY CHAIN SETUP_FILE COMMANDS_FILE ARGS...: strace nft -f COMMANDS after SETUP, twice.
record() {
  local name=$1 family=$2 chain=$3 setup=$4 commands=$5
  shift 5
  local runs=()
  for run in 1 2; do
    local log="$work/$name.$run.strace"
    unshare -n -- bash -c '
      set -euo pipefail
      nft -f "$1"
      strace -f -o "$3" -e trace=sendmsg -e write=all nft -f "$2"
    ' _ "$setup" "$commands" "$log"
    python3 "$work/cut.py" "$log" "$name" "$family" "$chain" "$commands" "$kernel" "$version" "$@" >"$work/$name.$run.hex"
    runs+=("$work/$name.$run.hex")
  done
  # Two independent captures must agree outside the masked sequence numbers.
  if ! cmp -s <(python3 "$work/mask.py" "${runs[0]}") <(python3 "$work/mask.py" "${runs[1]}"); then
    echo "capture-golden-nftables: $name: two captures differ; refusing to write a fixture" >&2
    exit 1
  fi
  mkdir -p "$out_dir"
  cp "${runs[0]}" "$out_dir/$name.hex"
  echo "captured $out_dir/$name.hex ($(grep -c -v '^#' "$out_dir/$name.hex") words)"
}

cat >"$work/mask.py" <<'PY'
import sys
lines = open(sys.argv[1]).read().split('\n')
masked = [tuple(map(int, l.split()[2:4])) for l in lines if l.startswith('# masked:')]
body = bytearray(bytes.fromhex(''.join(l for l in lines if l and not l.startswith('#'))))
for o, n in masked: body[o:o + n] = b'\0' * n
print(body.hex())
PY

# rule NAME FAMILY CHAIN ARGS...
rule() {
  local name=$1 family=$2 chain=$3
  shift 3
  local nfam=ip
  [[ $family == ipv6 ]] && nfam=ip6
  setup_of "$nfam" "$chain" >"$work/$name.setup"
  translate "$family" "$chain" "$@" >"$work/$name.nft"
  record "$name" "$family" "$chain" "$work/$name.setup" "$work/$name.nft" "$@"
}

# create NAME FAMILY: the table and INPUT base chain, from an empty namespace.
create() {
  local name=$1 family=$2 nfam=ip
  [[ $family == ipv6 ]] && nfam=ip6
  : >"$work/$name.setup"
  setup_of "$nfam" INPUT >"$work/$name.nft"
  record "$name" "$family" INPUT "$work/$name.setup" "$work/$name.nft"
}

# delete NAME: one rule (handle 3, after the set's handle 2... as nft numbers them) and its set.
delete_fixture() {
  local name=$1
  { setup_of ip INPUT; translate ipv4 INPUT -p tcp --dport 22 -m connlimit --connlimit-above 2 -j DROP; } >"$work/$name.setup"
  printf 'delete rule ip connlimit INPUT handle 3\ndelete set ip connlimit connlimit0\n' >"$work/$name.nft"
  record "$name" ipv4 INPUT "$work/$name.setup" "$work/$name.nft"
}

want() {
  [[ ${#selected[@]} -eq 0 ]] && return 0
  local s
  for s in "${selected[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}

selected=("$@")
want create-ipv4 && create create-ipv4 ipv4
want create-ipv6 && create create-ipv6 ipv6
want delete-ipv4 && delete_fixture delete-ipv4
want seed-reset && rule seed-reset ipv4 INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset
want seed-reject && rule seed-reject ipv4 INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
want mask24-upto && rule mask24-upto ipv4 INPUT -p tcp --dport 80 -m connlimit --connlimit-upto 16 --connlimit-mask 24 -j DROP
want mask32 && rule mask32 ipv4 INPUT -p tcp --dport 23 -m connlimit --connlimit-above 2 --connlimit-mask 32 -j DROP
want mask0 && rule mask0 ipv4 INPUT -p tcp --dport 23 -m connlimit --connlimit-above 100 --connlimit-mask 0 -j DROP
want daddr-comment && rule daddr-comment ipv4 FORWARD -s 10.0.0.0/20 ! -d 10.1.2.0/24 ! -i eth+ -o eth0 -p tcp --sport 1000:2000 ! --dport 22 ! --syn -m connlimit --connlimit-above 3 --connlimit-daddr -m comment --comment "web clients" -j DROP
want udp-range && rule udp-range ipv4 INPUT -i lo -p udp --sport 0:100 --dport 50:60 -m connlimit --connlimit-above 2 -j REJECT --reject-with icmp-admin-prohibited
want proto-only && rule proto-only ipv4 INPUT -p udp -s 10.0.0.1 -m connlimit --connlimit-above 2 -j REJECT --reject-with icmp-host-prohibited
want not-proto && rule not-proto ipv4 INPUT ! -p tcp -d 10.0.0.0/255.0.255.0 -j DROP
want tcp-flags && rule tcp-flags ipv4 INPUT -p tcp --tcp-flags SYN,ACK SYN ! --sport 10:20 --dport 4 -j REJECT --reject-with icmp-net-unreachable
want ports-both && rule ports-both ipv4 INPUT -p udp --sport 3 --dport 4 -m connlimit --connlimit-above 1 -j DROP
want v6-seed && rule v6-seed ipv6 INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
want v6-mask64 && rule v6-mask64 ipv6 INPUT -s 2001:db8::/60 ! -d ::1 -p tcp --dport 443 -m connlimit --connlimit-above 8 --connlimit-mask 64 --connlimit-daddr -j REJECT --reject-with tcp-reset
want v6-upto && rule v6-upto ipv6 OUTPUT -o lo -p udp -m connlimit --connlimit-upto 4 --connlimit-mask 48 -m comment --comment v6 -j REJECT --reject-with icmp6-adm-prohibited
want v6-noroute && rule v6-noroute ipv6 INPUT -s 2001:db8::/64 -p tcp -j REJECT --reject-with icmp6-no-route
want v6-ports && rule v6-ports ipv6 INPUT -i eth0 -d 2001:db8::1 -p tcp --sport 3 --dport 4 --syn -m connlimit --connlimit-upto 9 -j DROP
exit 0
