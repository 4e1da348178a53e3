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
# and the one batch nft sends (NEWSET + NEWRULE, or NEWRULE alone; a multiport list adds its
# anonymous set's NEWSET + NEWSETELEM before the rule, as do several weekdays) is cut into
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
source scripts/lib/capture.sh
capture_init capture-golden-nftables strace nft iptables-translate ip6tables-translate python3 unshare

cat >"$work/cut.py" <<'PY'
import json, sys

from nlbatch import print_body, read_batch, split_batch, type_name

log, name, family, chain, commands_path, kernel, version = sys.argv[1:8]
args = sys.argv[8:]

msgs, kinds = split_batch(read_batch(log, name), name)
picked = msgs[1:-1]

commands = [l for l in open(commands_path).read().split('\n') if l]
print(f'# connlimit golden fixture: {" + ".join(type_name(m[0]) for m in picked)} cut from the batch nft sent')
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
print_body(picked)
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

# record_once LOG SAVE OUT NAME FAMILY CHAIN SETUP_FILE COMMANDS_FILE ARGS...: strace nft -f
# COMMANDS after SETUP, in a new namespace (no listing: SAVE is unused).
record_once() {
  local log=$1 out=$3 name=$4 family=$5 chain=$6 setup=$7 commands=$8
  shift 8
  unshare -n -- bash -c '
    set -euo pipefail
    nft -f "$1"
    strace -f -o "$3" -e trace=sendmsg -e write=all nft -f "$2"
  ' _ "$setup" "$commands" "$log"
  capture_py "$work/cut.py" "$log" "$name" "$family" "$chain" "$commands" "$kernel" "$version" "$@" >"$out"
}

# record NAME FAMILY CHAIN SETUP_FILE COMMANDS_FILE ARGS...: twice; the two captures must agree
# outside the masked sequence numbers.
record() {
  capture_twice "$1" capture_masked_body record_once "$@"
}

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
# The compat modules iptables-translate 1.8.9 translates (native/core/nft/native/xlate*.cc).
want xlate-ctstate && rule xlate-ctstate ipv4 INPUT -p tcp --syn --dport 22 -m conntrack --ctstate NEW -m connlimit --connlimit-above 2 -j REJECT
want xlate-conntrack && rule xlate-conntrack ipv4 INPUT -m conntrack --ctdir REPLY ! --ctproto 17 --ctstatus SEEN_REPLY,ASSURED ! --ctorigdst 10.96.0.0/12 --ctreplsrc 10.0.0.0/8 --ctexpire 5:60 -j DROP
want xlate-conntrack6 && rule xlate-conntrack6 ipv6 INPUT -m conntrack --ctstate ESTABLISHED --ctorigsrc 2001:db8::/60 ! --ctrepldst ::1 ! --ctexpire 30 -j DROP
want xlate-snat && rule xlate-snat ipv4 INPUT -m conntrack --ctstate SNAT --ctstatus ASSURED -j DROP
want xlate-state && rule xlate-state ipv4 INPUT -m state ! --state INVALID,UNTRACKED -j DROP
want xlate-icmp-limit && rule xlate-icmp-limit ipv4 INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 10/sec --limit-burst 20 -j DROP
want xlate-icmp6 && rule xlate-icmp6 ipv6 INPUT -p ipv6-icmp -m icmp6 ! --icmpv6-type 1 -j DROP
want xlate-mark && rule xlate-mark ipv4 INPUT -p tcp -m mark ! --mark 0xa/0xa -m connlimit --connlimit-above 4 -j DROP
want xlate-iprange && rule xlate-iprange ipv4 INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.1.0.0-10.1.0.255 -j DROP
want xlate-iprange6 && rule xlate-iprange6 ipv6 INPUT -m iprange --src-range 2001:db8::1 -j DROP
want xlate-pkttype-length && rule xlate-pkttype-length ipv4 INPUT -p udp -m pkttype --pkt-type broadcast -m length --length 40:400 -j DROP
want xlate-length && rule xlate-length ipv4 INPUT -m length ! --length 40 -j DROP
want xlate-ttl-mac && rule xlate-ttl-mac ipv4 INPUT -m ttl --ttl-lt 5 -m mac ! --mac-source 0a:12:3e:4f:b2:c6 -j DROP
want xlate-tcpmss && rule xlate-tcpmss ipv4 INPUT -p tcp -m tcpmss ! --mss 1461:65535 -j DROP
want xlate-time && rule xlate-time ipv4 INPUT -p tcp --dport 22 -m time --datestart 2021-03-04T05:06:07 --timestart 08:00 --timestop 17:30 --weekdays Sun -j DROP
want xlate-time-wrap && rule xlate-time-wrap ipv6 INPUT -m time --timestart 22:00 --timestop 06:00 --datestop 2030 -j DROP
# Several weekdays: an anonymous set of key type `day` (NEWSET `__set%d` + NEWSETELEM before the
# rule, its lookup by set id); `! --weekdays` is the complement's set.
want xlate-weekdays && rule xlate-weekdays ipv4 INPUT -p tcp --dport 22 -m time --timestart 08:00 --timestop 17:30 --weekdays Mon,Tue,Wed,Thu,Fri -m connlimit --connlimit-above 2 -j DROP
want xlate-weekdays-not && rule xlate-weekdays-not ipv6 INPUT -m time ! --weekdays Mon,Tue,Wed,Thu,Fri -j DROP
# The targets that let the packet go on: their statement in place of the verdict.
want xlate-log && rule xlate-log ipv4 INPUT -p tcp --syn -m connlimit --connlimit-above 2 -j LOG --log-prefix "flood: " --log-level 6 --log-tcp-options --log-uid
want xlate-log-all && rule xlate-log-all ipv6 FORWARD -j LOG --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode
want xlate-nflog && rule xlate-nflog ipv4 INPUT -p udp -j NFLOG --nflog-group 7 --nflog-prefix "udp in" --nflog-size 128 --nflog-threshold 4
want xlate-mark-set && rule xlate-mark-set ipv4 OUTPUT -o lo -j MARK --set-mark 0x2a
want xlate-mark-xmark && rule xlate-mark-xmark ipv6 INPUT -j MARK --set-xmark 0x40/0x32
# A masked set other than these (and, or, xor) is 1.8.9 text nft 1.0.6 folds into another mark (docs/nft.md): test 57 has it.
want xlate-connmark-set && rule xlate-connmark-set ipv4 INPUT -p tcp -j CONNMARK --or-mark 0x10 --left-shift-mark 2
want xlate-connmark-save && rule xlate-connmark-save ipv4 INPUT -j CONNMARK --save-mark --right-shift-mark 3
want xlate-connmark-restore && rule xlate-connmark-restore ipv4 OUTPUT -j CONNMARK --restore-mark
# TCPMSS: `tcp option maxseg size set N` / `... set rt mtu` in place of the verdict.
want xlate-tcpmss-set && rule xlate-tcpmss-set ipv4 FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400
want xlate-tcpmss-clamp && rule xlate-tcpmss-clamp ipv6 OUTPUT -p tcp --syn -j TCPMSS --clamp-mss-to-pmtu
# hashlimit, where the translation means the same (docs/modules.md): a meter, NEWSET of a named
# dynamic set before the rule, and the rule's `dynset update` with a `limit` expression.
want xlate-hashlimit && rule xlate-hashlimit ipv4 INPUT -p tcp --dport 22 -m hashlimit --hashlimit-above 2/min --hashlimit-burst 3 --hashlimit-mode srcip --hashlimit-name ssh -j DROP
want xlate-hashlimit-concat && rule xlate-hashlimit-concat ipv4 INPUT -p tcp -m hashlimit --hashlimit-upto 100/hour --hashlimit-mode srcip,dstport --hashlimit-srcmask 24 --hashlimit-name web --hashlimit-htable-expire 120000 -j DROP
want xlate-hashlimit6 && rule xlate-hashlimit6 ipv6 INPUT -m hashlimit --hashlimit-above 10/sec --hashlimit-burst 20 --hashlimit-mode srcip,dstip --hashlimit-srcmask 64 --hashlimit-name v6 --hashlimit-htable-expire 5000 -j DROP
# multiport: a list of two or more is an anonymous set (NEWSET `__set%d` + NEWSETELEM before the
# rule, its lookup by set id; `flags interval` with ranges), one port or range a comparison.
want xlate-multiport && rule xlate-multiport ipv4 INPUT -p tcp -m multiport --dports 22,80:89 -m connlimit --connlimit-above 2 -j REJECT
want xlate-multiport-not && rule xlate-multiport-not ipv4 INPUT -p udp -m multiport ! --sports 53,5353 -j DROP
want xlate-multiport6 && rule xlate-multiport6 ipv6 INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j DROP
want xlate-multiport-one && rule xlate-multiport-one ipv4 INPUT -p sctp -m multiport ! --dports 80:88 -j DROP
exit 0
