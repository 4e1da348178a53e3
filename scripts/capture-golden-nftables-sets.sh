#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Record golden bytes for client sets on the native nftables form from nft itself: in a
# throwaway network namespace (`unshare -n`) holding our table `ip connlimit`,
#   strace -f -e trace=sendmsg -e write=all nft add set ...      -> set-create.hex (NEWSET)
#   strace -f -e trace=sendmsg -e write=all nft add element ...  -> set-add.hex (NEWSETELEM)
# each the one message between BATCH_BEGIN and BATCH_END. Masked: nlmsg_seq. test 59 compares
# them with Sets' encoder.
#
# Usage: scripts/capture-golden-nftables-sets.sh    Needs root, strace, nft, python3, unshare.
set -euo pipefail

cd "$(dirname "$0")/.."
out_dir=test/fixtures/nftables-sets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/cut.py" <<'PY'
import sys
sys.path.insert(0, 'scripts/lib')
from nlbatch import print_body, read_batch, split_batch, type_name
log, name, command, version, kernel = sys.argv[1:6]
msgs, kinds = split_batch(read_batch(log, name), name)
picked = msgs[1:-1]
print(f'# connlimit golden fixture: {" + ".join(type_name(m[0]) for m in picked)} cut from the batch nft sent')
print(f'# name: {name}')
print(f'# nft: {command}')
print(f'# version: {version}')
print(f'# kernel: {kernel}')
print('# captured: unshare -n strace -f -e trace=sendmsg -e write=all nft <command>; scripts/capture-golden-nftables-sets.sh')
print_body(picked)
PY

# Each capture runs `nft -f` on one line, after `setup` (not traced) in the same namespace.
capture() {
  local name=$1 setup=$2 command=$3
  printf '%s\n' "$setup" >"$work/setup.nft"
  printf '%s\n' "$command" >"$work/command.nft"
  unshare -n sh -c "nft -f '$work/setup.nft' && strace -f -e trace=sendmsg -e write=all -o '$work/log' nft -f '$work/command.nft'" >/dev/null
  python3 "$work/cut.py" "$work/log" "$name" "$command" "$(nft --version)" "$(uname -r)" >"$out_dir/$name.hex"
  echo "wrote $out_dir/$name.hex"
}

set_s='add set ip connlimit S { type ipv4_addr; counter; timeout 600s; size 65536; }'
capture set-create 'add table ip connlimit' "$set_s"
capture set-add "add table ip connlimit
$set_s" 'add element ip connlimit S { 10.0.0.1 timeout 30s comment "x" }'

# hash:net,port: a concatenation with flags interval (nft adds NFT_SET_CONCAT and the fields'
# lengths); each element carries its start and its end key (NFTA_SET_ELEM_KEY_END).
set_np='add set ip connlimit NP { type ipv4_addr . inet_proto . inet_service; flags interval; }'
capture set-create-net-port 'add table ip connlimit' "$set_np"
capture set-add-net-port "add table ip connlimit
$set_np" 'add element ip connlimit NP { 10.0.0.0/24 . tcp . 80 }'

# hash:ip,port,ip: a plain concatenation of four fields, as ipset-translate prints it.
set_ipi='add set ip connlimit IPI { type ipv4_addr . inet_proto . inet_service . ipv4_addr; timeout 600s; }'
capture set-create-ip-port-ip 'add table ip connlimit' "$set_ipi"
capture set-add-ip-port-ip "add table ip connlimit
$set_ipi" 'add element ip connlimit IPI { 10.0.0.1 . udp . 53 . 10.0.0.2 timeout 30s comment "x" }'
set_ipi6='add set ip6 connlimit IPI6 { type ipv6_addr . inet_proto . inet_service . ipv6_addr; }'
capture set-create-ip-port-ip6 'add table ip6 connlimit' "$set_ipi6"
capture set-add-ip-port-ip6 "add table ip6 connlimit
$set_ipi6" 'add element ip6 connlimit IPI6 { 2001:db8::1 . tcp . 80 . 2001:db8::2 }'

# hash:net,iface: an address interval and an interface name (ifname, 16 bytes), flags interval.
set_ni='add set ip connlimit NI { type ipv4_addr . ifname; flags interval; size 1024; }'
capture set-create-net-iface 'add table ip connlimit' "$set_ni"
capture set-add-net-iface "add table ip connlimit
$set_ni" 'add element ip connlimit NI { 10.0.0.0/24 . "eth0" }'
# ipset's wildcard (the name a prefix) as nft writes "eth*": the ifname field's key end padded with 0xff.
capture set-add-net-iface-wildcard "add table ip connlimit
$set_ni" 'add element ip connlimit NI { 10.0.0.0/16 . "eth*" }'
