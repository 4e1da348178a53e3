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
source scripts/lib/capture.sh
capture_init capture-golden-nft strace iptables-nft ip6tables-nft python3 unshare

cat >"$work/cut.py" <<'PY'
import json, shlex, sys

from nlbatch import NFT, print_body, read_batch, split_batch, type_name

log, name, family, chain, tool, save_path, kernel, version, mode = sys.argv[1:10]
args = sys.argv[10:]

msgs, kinds = split_batch(read_batch(log, name), name)

if mode == 'rule':
    picked = [m for m in msgs if m[0] == NFT << 8 | 6]
    if len(picked) != 1 or len(msgs) != 3:
        sys.exit(f'{name}: expected BEGIN, one NEWRULE, END; got {kinds}')
else:
    picked = [m for m in msgs if m[0] in (NFT << 8 | 0, NFT << 8 | 3)]
    if not picked:
        sys.exit(f'{name}: no NEWTABLE/NEWCHAIN in {kinds}')

save_lines = [l.rstrip('\n') for l in open(save_path) if l.startswith(f'-A {chain} ')]
if mode == 'rule' and len(save_lines) != 1:
    sys.exit(f'{name}: expected one -A {chain} line in {tool}-save output, got {save_lines}')

command = shlex.join([tool, '-A', chain] + args)
print(f'# connlimit golden fixture: {" + ".join(type_name(m[0]) for m in picked)} cut from the batch iptables-nft sent')
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
print_body(picked)
PY

kernel=$(uname -r)

# capture_once LOG SAVE OUT MODE NAME FAMILY CHAIN TOOL VERSION ARGS...: one capture in a new namespace.
capture_once() {
  local log=$1 save=$2 out=$3 mode=$4 name=$5 family=$6 chain=$7 tool=$8 version=$9
  shift 9
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
  capture_py "$work/cut.py" "$log" "$name" "$family" "$chain" "$tool" "$save" "$kernel" "$version" "$mode" "$@" >"$out"
}

# capture MODE NAME FAMILY CHAIN ARGS...
capture() {
  local mode=$1 name=$2 family=$3 chain=$4
  shift 4
  local tool=iptables-nft
  [[ $family == ipv6 ]] && tool=ip6tables-nft
  local version
  version=$("$tool" --version)
  # Two independent captures must agree outside the masked sequence numbers.
  capture_twice "$name" capture_masked_body capture_once "$mode" "$name" "$family" "$chain" "$tool" "$version" "$@"
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
want limit-25min && capture rule limit-25min ipv4 INPUT -m limit --limit 25/minute --limit-burst 100 -j ACCEPT
want v6-limit-hour && capture rule v6-limit-hour ipv6 INPUT -p tcp --syn -m limit --limit 120/hour -j ACCEPT
want mark-masked && capture rule mark-masked ipv4 INPUT -m mark --mark 0x10/0xf0 -j ACCEPT
want v6-mark-not && capture rule v6-mark-not ipv6 INPUT -m mark ! --mark 1 -j DROP
want nflog-all && capture rule nflog-all ipv4 INPUT -j NFLOG --nflog-group 5 --nflog-prefix "nf pfx" --nflog-size 128 --nflog-threshold 10
want v6-nflog-bare && capture rule v6-nflog-bare ipv6 INPUT -j NFLOG
want log-prefix && capture rule log-prefix ipv4 INPUT -p tcp --dport 22 -j LOG --log-prefix "SSH: " --log-level 6 --log-tcp-options
exit 0
