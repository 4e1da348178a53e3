#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Record golden bytes for the nf_tables encoder from the reference tool.
#
# For each fixture, in a throwaway network namespace (`unshare -n`: the host is never
# touched), create the user chain LIMITS and the rule's base chain (an append and a delete),
# so the table and chain already exist and jumps resolve, then run
#   strace -f -e trace=sendmsg -e write=all iptables-nft -A <chain> <args>
# take the one batch iptables-nft sends (the sendmsg on its NETLINK_NETFILTER socket), walk
# its netlink messages, and write the single NFT_MSG_NEWRULE message to
# test/fixtures/nft/<name>.hex with a header saying how it was made.
#
# `create-ipv4`/`create-ipv6` instead record, from an empty namespace, the NEWTABLE and
# NEWCHAIN messages iptables-nft sends on first use (the rule message is cut off).
#
# Masked (listed in each header, ignored by test/helpers/golden.ts maskedEqual): the
# nlmsg_seq of every message, which iptables-nft numbers per batch.
#
# Usage: scripts/capture-golden-nft.sh [name...]   (default: every fixture below)
# Needs root, strace, iptables-nft/ip6tables-nft, python3.
set -euo pipefail

cd "$(dirname "$0")/.."
out_dir=test/fixtures/nft

for tool in strace iptables-nft ip6tables-nft python3 unshare; do
  command -v "$tool" >/dev/null || { echo "capture-golden-nft: missing $tool" >&2; exit 1; }
done
if [[ $(id -u) -ne 0 ]]; then
  echo "capture-golden-nft: must run as root (needs CAP_NET_ADMIN in a new netns)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/cut.py" <<'PY'
import json, re, shlex, struct, sys

log, name, family, chain, tool, save_path, kernel, version, mode = sys.argv[1:10]
args = sys.argv[10:]

NFT = 10  # NFNL_SUBSYS_NFTABLES
TYPES = {16: 'NFNL_MSG_BATCH_BEGIN', 17: 'NFNL_MSG_BATCH_END', NFT << 8 | 0: 'NFT_MSG_NEWTABLE',
         NFT << 8 | 3: 'NFT_MSG_NEWCHAIN', NFT << 8 | 6: 'NFT_MSG_NEWRULE'}

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

if mode == 'rule':
    picked = [m for m in msgs if m[0] == NFT << 8 | 6]
    if len(picked) != 1 or len(msgs) != 3:
        sys.exit(f'{name}: expected BEGIN, one NEWRULE, END; got {kinds}')
else:
    picked = [m for m in msgs if m[0] in (NFT << 8 | 0, NFT << 8 | 3)]
    if not picked:
        sys.exit(f'{name}: no NEWTABLE/NEWCHAIN in {kinds}')
body = b''.join(m[2] + b'\0' * (-len(m[2]) % 4) for m in picked)

save_lines = [l.rstrip('\n') for l in open(save_path) if l.startswith(f'-A {chain} ')]
if mode == 'rule' and len(save_lines) != 1:
    sys.exit(f'{name}: expected one -A {chain} line in {tool}-save output, got {save_lines}')

command = shlex.join([tool, '-A', chain] + args)
print(f'# connlimit golden fixture: {" + ".join(TYPES.get(m[0]) for m in picked)} cut from the batch iptables-nft sent')
print(f'# name: {name}')
print(f'# family: {family}')
print(f'# chain: {chain}')
print(f'# command: {command}')
print(f'# args: {json.dumps(args)}')
print(f'# save: {save_lines[0] if save_lines else ""}')
print(f'# version: {version}')
print(f'# kernel: {kernel}')
print(f'# captured: unshare -n strace -f -e trace=sendmsg -e write=all <command>; scripts/capture-golden-nft.sh')
print(f'# batch: {" ".join(kinds)}')
at = 0
for t, flags, raw in picked:
    print(f'# masked: {at + 8} 4 nlmsg_seq')
    at += len(raw) + (-len(raw) % 4)
print('# body: 4 bytes per line, hex; "# @offset" lines mark each message')
at, marks = 0, {}
for t, flags, raw in picked:
    marks[at] = f'{TYPES.get(t)} flags 0x{flags:04x} ({len(raw)} bytes)'
    at += len(raw) + (-len(raw) % 4)
for o in range(0, len(body), 4):
    if o in marks:
        print(f'# @{o} {marks[o]}')
    print(body[o:o + 4].hex())
PY

kernel=$(uname -r)

# capture MODE NAME FAMILY CHAIN ARGS...
capture() {
  local mode=$1 name=$2 family=$3 chain=$4
  shift 4
  local tool=iptables-nft
  [[ $family == ipv6 ]] && tool=ip6tables-nft
  local version
  version=$("$tool" --version)
  local runs=()
  for run in 1 2; do
    local log="$work/$name.$run.strace" save="$work/$name.$run.save"
    unshare -n -- bash -c '
      set -euo pipefail
      log=$1 save=$2 tool=$3 chain=$4 mode=$5; shift 5
      if [[ $mode == rule ]]; then
        "$tool" -N LIMITS
        "$tool" -A "$chain" -j ACCEPT
        "$tool" -D "$chain" -j ACCEPT
      fi
      strace -f -o "$log" -e trace=sendmsg -e write=all "$tool" -A "$chain" "$@"
      "$tool-save" -t filter >"$save"
    ' _ "$log" "$save" "$tool" "$chain" "$mode" "$@"
    python3 "$work/cut.py" "$log" "$name" "$family" "$chain" "$tool" "$save" "$kernel" "$version" "$mode" "$@" >"$work/$name.$run.hex"
    runs+=("$work/$name.$run.hex")
  done
  # Two independent captures must agree outside the masked sequence numbers.
  if ! cmp -s <(python3 - "${runs[0]}" <<'PY'
import sys
lines = open(sys.argv[1]).read().split('\n')
masked = [tuple(map(int, l.split()[2:4])) for l in lines if l.startswith('# masked:')]
body = bytearray(bytes.fromhex(''.join(l for l in lines if l and not l.startswith('#'))))
for o, n in masked: body[o:o + n] = b'\0' * n
print(body.hex())
PY
) <(python3 - "${runs[1]}" <<'PY'
import sys
lines = open(sys.argv[1]).read().split('\n')
masked = [tuple(map(int, l.split()[2:4])) for l in lines if l.startswith('# masked:')]
body = bytearray(bytes.fromhex(''.join(l for l in lines if l and not l.startswith('#'))))
for o, n in masked: body[o:o + n] = b'\0' * n
print(body.hex())
PY
); then
    echo "capture-golden-nft: $name: two captures differ; refusing to write a fixture" >&2
    exit 1
  fi
  mkdir -p "$out_dir"
  cp "${runs[0]}" "$out_dir/$name.hex"
  echo "captured $out_dir/$name.hex ($(grep -c -v '^#' "$out_dir/$name.hex") words)"
}

want() {
  [[ ${#selected[@]} -eq 0 ]] && return 0
  local s
  for s in "${selected[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}

selected=("$@")
want create-ipv4 && capture create create-ipv4 ipv4 INPUT -j ACCEPT
want create-ipv6 && capture create create-ipv6 ipv6 INPUT -j ACCEPT
want seed-reject && capture rule seed-reject ipv4 INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
want upto-accept && capture rule upto-accept ipv4 INPUT -p tcp --syn --dport 23 -m connlimit ! --connlimit-above 2 -j ACCEPT
want mask24-reset && capture rule mask24-reset ipv4 INPUT -p tcp --syn --dport 80 -m connlimit --connlimit-above 16 --connlimit-mask 24 -j REJECT --reject-with tcp-reset
want mask32-explicit && capture rule mask32-explicit ipv4 INPUT -p tcp --dport 23 -m connlimit --connlimit-above 2 --connlimit-mask 32 -j REJECT --reject-with tcp-reset
want daddr-upto && capture rule daddr-upto ipv4 INPUT -m connlimit --connlimit-upto 5 --connlimit-daddr -j RETURN
want comment-udp && capture rule comment-udp ipv4 INPUT -s 10.0.0.0/8 -d 192.168.1.1 -i eth0 -p udp --sport 1024:65535 --dport 53 -m comment --comment "dns clients" -j ACCEPT
want not-syn && capture rule not-syn ipv4 INPUT '!' -s 192.168.1.1 '!' -i lo+ -p tcp '!' --syn -j DROP
want odd-masks && capture rule odd-masks ipv4 INPUT -s 10.1.2.3/24 -d 10.0.0.0/255.0.255.0 -j DROP
want fragment && capture rule fragment ipv4 INPUT -f -j DROP
want not-fragment && capture rule not-fragment ipv4 INPUT '!' -f -j ACCEPT
want port-range-neg && capture rule port-range-neg ipv4 INPUT -p tcp --sport 1000:2000 '!' --dport 22 -j ACCEPT
want ports-both && capture rule ports-both ipv4 INPUT -p tcp --sport 80 --dport 22 -j DROP
want ports-low && capture rule ports-low ipv4 INPUT -p tcp '!' --dport 0:10 --sport 0:99 -j DROP
want tcp-flags && capture rule tcp-flags ipv4 INPUT -p tcp '!' --tcp-flags ALL NONE -j DROP
want tcp-option && capture rule tcp-option ipv4 INPUT -p tcp --tcp-option 2 -j DROP
want tcp-bare && capture rule tcp-bare ipv4 INPUT -p tcp -m tcp -j DROP
want not-udp && capture rule not-udp ipv4 INPUT '!' -p udp -j DROP
want comment-first && capture rule comment-first ipv4 INPUT -m comment --comment first -p tcp --dport 26 -j DROP
want reject-net && capture rule reject-net ipv4 INPUT -j REJECT --reject-with icmp-net-unreachable
want jump && capture rule jump ipv4 INPUT -p tcp --dport 443 -j LIMITS
want goto && capture rule goto ipv4 INPUT -p tcp --dport 444 -g LIMITS
want no-target && capture rule no-target ipv4 INPUT -i eth+ -s 127.0.0.1
want out-iface && capture rule out-iface ipv4 OUTPUT -o lo -d 127.0.0.0/8 -j ACCEPT
want v6-seed && capture rule v6-seed ipv6 INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
want v6-mask64 && capture rule v6-mask64 ipv6 INPUT -s 2001:db8::/32 -p tcp --dport 443 -m connlimit --connlimit-above 8 --connlimit-mask 64 -j REJECT --reject-with tcp-reset
want v6-icmp && capture rule v6-icmp ipv6 INPUT '!' -d ::1/128 -i lo -p ipv6-icmp -j ACCEPT
want v6-odd-mask && capture rule v6-odd-mask ipv6 INPUT -s 2001:db8::/ffff:0:ffff:: -j DROP
want v6-reject-adm && capture rule v6-reject-adm ipv6 INPUT -p udp -j REJECT --reject-with icmp6-adm-prohibited
exit 0
