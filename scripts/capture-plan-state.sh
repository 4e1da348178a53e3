#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Record what the nf_tables planner reads, as the kernel sends it, for test/27-planner: in a
# throwaway network namespace (`unshare -n`: the host is never touched), write a ruleset with
# the reference tools, then read it back with them under
#   strace -f -e trace=recvmsg -e read=all <reader>
# and keep the NEWGEN, NEWTABLE, NEWCHAIN and NEWRULE replies (the generation id, the tables,
# chains and rules) as test/fixtures/plan/<name>.hex. Each state is recorded twice, the second
# time after one more write by another program, so a test can retry a stale batch.
#
#   compat-ipv4(-later)  iptables-nft: filter with INPUT (two rules), OUTPUT (policy DROP),
#                        user chain LIMITS (one rule); later: a rule inserted at INPUT's head
#   native-ipv4(-later)  nft: tables connlimit (two rules, one with its set) and connlimit_1
#                        (one rule), as the 'nftables' backend writes them; later: one more
#                        rule appended to connlimit_1
#
# Usage: scripts/capture-plan-state.sh   Needs root, strace, iptables-nft, nft, python3.
set -euo pipefail

cd "$(dirname "$0")/.."
out_dir=test/fixtures/plan
source scripts/lib/capture.sh
capture_init capture-plan-state strace iptables-nft nft python3 unshare

cat >"$work/cut.py" <<'PY'
import re, struct, sys

log, name, reader = sys.argv[1:4]
# strace -e read=all prints, after each recvmsg line, its data as " | 00000  hex ...  ascii |".
data, cur = [], None
for raw in open(log, encoding='latin-1'):
    body = raw.split(None, 1)[1] if re.match(r'^\d+\s', raw) else raw
    if body.startswith('recvmsg('):
        cur = bytearray()
        data.append(cur)
        continue
    m = re.match(r'^\s*\|\s*([0-9a-f]{5})\s\s((?:[0-9a-f]{2}\s+){1,16})', raw)
    if m and cur is not None:
        cur += bytes.fromhex(m.group(2).replace(' ', ''))
NFT = 10
KEEP = {NFT << 8 | 15: 'NFT_MSG_NEWGEN', NFT << 8 | 0: 'NFT_MSG_NEWTABLE', NFT << 8 | 3: 'NFT_MSG_NEWCHAIN',
        NFT << 8 | 6: 'NFT_MSG_NEWRULE'}
picked = []
for buf in data:
    off = 0
    while off + 16 <= len(buf):
        ln, typ = struct.unpack_from('<IH', buf, off)
        if ln < 16 or off + ln > len(buf):
            sys.exit(f'{name}: bad nlmsg_len {ln} at {off}')
        if typ in KEEP:
            picked.append((typ, bytes(buf[off:off + ln])))
        off += (ln + 3) & ~3
if not any(t == NFT << 8 | 15 for t, _ in picked):
    sys.exit(f'{name}: no NEWGEN among the replies')
print(f'# connlimit recorded replies: the generation id, tables, chains and rules {reader} read')
print(f'# name: {name}')
print(f'# captured: unshare -n strace -f -e trace=recvmsg -e read=all {reader}; scripts/capture-plan-state.sh')
print('# body: 4 bytes per line, hex; "# @offset" lines mark each message')
at = 0
for t, raw in picked:
    print(f'# @{at} {KEEP[t]} ({len(raw)} bytes)')
    padded = raw + b'\0' * (-len(raw) % 4)
    for o in range(0, len(padded), 4):
        print(padded[o:o + 4].hex())
    at += len(padded)
PY

# record NAME READER...: the replies READER got, in the current namespace.
record() {
  local name=$1
  shift
  strace -f -o "$work/$name.log" -e trace=recvmsg -e read=all "$@" >/dev/null
  capture_py "$work/cut.py" "$work/$name.log" "$name" "$*" >"$out_dir/$name.hex"
}
export -f record capture_py
export work out_dir capture_lib

unshare -n -- bash -c '
  set -euo pipefail
  iptables-nft -N LIMITS
  iptables-nft -A INPUT -p tcp --dport 22 -m connlimit --connlimit-above 2 -j REJECT
  iptables-nft -A INPUT -s 10.0.0.0/8 -j DROP
  iptables-nft -P OUTPUT DROP
  iptables-nft -A LIMITS -j RETURN
  record compat-ipv4 iptables-nft-save
  iptables-nft -I INPUT 1 -p udp -j DROP
  record compat-ipv4-later iptables-nft-save
'
unshare -n -- bash -c '
  set -euo pipefail
  nft -f - <<NFT
table ip connlimit {
  chain INPUT {
    type filter hook input priority filter; policy accept;
    tcp dport 22 add @connlimit0 { ip saddr ct count over 2 } counter reject with tcp reset
    ip saddr 10.0.0.0/8 counter drop
  }
  set connlimit0 { type ipv4_addr; flags dynamic; }
}
table ip connlimit_1 {
  chain INPUT {
    type filter hook input priority filter + 1; policy accept;
    tcp dport 80 counter drop
  }
}
NFT
  record native-ipv4 nft list ruleset
  nft add rule ip connlimit_1 INPUT tcp dport 81 counter drop
  record native-ipv4-later nft list ruleset
'
ls -l "$out_dir"
