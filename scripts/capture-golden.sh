#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Record golden bytes for the legacy (libiptc) encoder from the reference tool.
#
# For each fixture, in a throwaway network namespace (`unshare -n`, so the filter
# table starts empty and the host is never touched), run
#   strace -f -xx -s 65535 -e trace=setsockopt iptables-legacy -w 10 -A <chain> <args>
# take the IPT_SO_SET_REPLACE / IP6T_SO_SET_REPLACE payload (struct ipt_replace
# header + the whole table's entries), cut out the one user rule, and write it to
# test/fixtures/legacy/<name>.hex with a header describing how it was made.
#
# Where the rule sits: the filter table is INPUT rules, INPUT policy, FORWARD
# rules, FORWARD policy, OUTPUT rules, OUTPUT policy, error entry. In the replace
# header, hook_entry[NF_INET_LOCAL_IN] is the offset of the first INPUT rule and
# underflow[NF_INET_LOCAL_IN] the offset of the INPUT policy entry, so on an empty
# table with one rule appended to INPUT the rule is the single entry in
# [hook_entry[1], underflow[1]); the script checks exactly that. (`not-syn` uses
# `-o`, which iptables refuses in INPUT, so it is appended to OUTPUT, hook 3.)
#
# Masked (listed in each header, ignored by test/helpers/golden.ts maskedEqual):
# `comefrom` and `counters` of the entry, whose offsets are measured here with
# offsetof() against the installed uapi headers rather than hard-coded.
#
# Usage: scripts/capture-golden.sh [name...]   (default: every fixture below)
# Needs root, strace, iptables-legacy/ip6tables-legacy, python3, cc.
set -euo pipefail

cd "$(dirname "$0")/.."
out_dir=test/fixtures/legacy

source scripts/lib/capture.sh
capture_init capture-golden strace iptables-legacy ip6tables-legacy python3 unshare cc

# Measure the layouts we rely on instead of trusting comments.
cat >"$work/layout.c" <<'EOF'
#include <stdio.h>
#include <stddef.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
int main(void) {
  printf("{\"ipv4\": {\"entry_size\": %zu, \"comefrom\": %zu, \"counters\": %zu,"
         " \"target_offset\": %zu, \"next_offset\": %zu,"
         " \"repl_size\": %zu, \"repl_num_entries\": %zu, \"repl_table_size\": %zu,"
         " \"repl_hook_entry\": %zu, \"repl_underflow\": %zu, \"repl_entries\": %zu,"
         " \"so_set_replace\": %d},\n",
         sizeof(struct ipt_entry), offsetof(struct ipt_entry, comefrom),
         offsetof(struct ipt_entry, counters), offsetof(struct ipt_entry, target_offset),
         offsetof(struct ipt_entry, next_offset), sizeof(struct ipt_replace),
         offsetof(struct ipt_replace, num_entries), offsetof(struct ipt_replace, size),
         offsetof(struct ipt_replace, hook_entry), offsetof(struct ipt_replace, underflow),
         offsetof(struct ipt_replace, entries), IPT_SO_SET_REPLACE);
  printf(" \"ipv6\": {\"entry_size\": %zu, \"comefrom\": %zu, \"counters\": %zu,"
         " \"target_offset\": %zu, \"next_offset\": %zu,"
         " \"repl_size\": %zu, \"repl_num_entries\": %zu, \"repl_table_size\": %zu,"
         " \"repl_hook_entry\": %zu, \"repl_underflow\": %zu, \"repl_entries\": %zu,"
         " \"so_set_replace\": %d},\n",
         sizeof(struct ip6t_entry), offsetof(struct ip6t_entry, comefrom),
         offsetof(struct ip6t_entry, counters), offsetof(struct ip6t_entry, target_offset),
         offsetof(struct ip6t_entry, next_offset), sizeof(struct ip6t_replace),
         offsetof(struct ip6t_replace, num_entries), offsetof(struct ip6t_replace, size),
         offsetof(struct ip6t_replace, hook_entry), offsetof(struct ip6t_replace, underflow),
         offsetof(struct ip6t_replace, entries), IP6T_SO_SET_REPLACE);
  printf(" \"counters_size\": %zu, \"comefrom_size\": %zu,"
         " \"NF_INET_LOCAL_IN\": %d, \"NF_INET_FORWARD\": %d, \"NF_INET_LOCAL_OUT\": %d}\n",
         sizeof(struct xt_counters), sizeof(((struct ipt_entry *)0)->comefrom),
         NF_INET_LOCAL_IN, NF_INET_FORWARD, NF_INET_LOCAL_OUT);
  return 0;
}
EOF
cc -Wall -Werror -o "$work/layout" "$work/layout.c"
"$work/layout" >"$work/layout.json"

# Cuts the user rule out of one strace log; prints the fixture text on stdout.
cat >"$work/cut.py" <<'EOF'
import json, re, shlex, struct, sys

log, layout_path, name, family, chain, tool, save_path, kernel, version = sys.argv[1:10]
args = sys.argv[10:]
L = json.load(open(layout_path))
F = L[family]

def c_unescape(s):
    out = bytearray()
    i = 0
    simple = {'n': 10, 't': 9, 'r': 13, 'v': 11, 'f': 12, 'a': 7, 'b': 8, '\\': 92, '"': 34, "'": 39, '?': 63}
    while i < len(s):
        ch = s[i]
        if ch != '\\':
            out += ch.encode('latin-1')
            i += 1
            continue
        nxt = s[i + 1]
        if nxt == 'x':
            m = re.match(r'[0-9a-fA-F]{1,2}', s[i + 2:])
            out.append(int(m.group(0), 16))
            i += 2 + len(m.group(0))
        elif nxt in '01234567':
            m = re.match(r'[0-7]{1,3}', s[i + 1:])
            out.append(int(m.group(0), 8))
            i += 1 + len(m.group(0))
        else:
            out.append(simple[nxt])
            i += 2
    return bytes(out)

line_re = re.compile(
    r'^(?:\d+\s+)?setsockopt\(\d+,\s*(SOL_IP|SOL_IPV6|0|41),\s*(\w+),\s*"((?:[^"\\]|\\.)*)"(\.\.\.)?,\s*(\d+)\)\s*=\s*0')
want_level = {'ipv4': ('SOL_IP', '0'), 'ipv6': ('SOL_IPV6', '41')}[family]
want_opt = ('IPT_SO_SET_REPLACE' if family == 'ipv4' else 'IP6T_SO_SET_REPLACE', str(F['so_set_replace']))
blobs = []
for raw in open(log, encoding='latin-1'):
    m = line_re.match(raw)
    if not m or m.group(1) not in want_level or m.group(2) not in want_opt:
        continue
    if m.group(4):
        sys.exit(f'{name}: strace truncated the payload (raise -s)')
    data = c_unescape(m.group(3))
    if len(data) != int(m.group(5)):
        sys.exit(f'{name}: decoded {len(data)} bytes but optlen is {m.group(5)}')
    blobs.append(data)
if len(blobs) != 1:
    sys.exit(f'{name}: expected exactly one successful SET_REPLACE, found {len(blobs)}')
blob = blobs[0]

u32 = lambda b, o: struct.unpack_from('<I', b, o)[0]
u16 = lambda b, o: struct.unpack_from('<H', b, o)[0]
hooknum = {'INPUT': L['NF_INET_LOCAL_IN'], 'FORWARD': L['NF_INET_FORWARD'], 'OUTPUT': L['NF_INET_LOCAL_OUT']}[chain]
hook = F['repl_hook_entry'] + 4 * hooknum
under = F['repl_underflow'] + 4 * hooknum
num_entries = u32(blob, F['repl_num_entries'])
table_size = u32(blob, F['repl_table_size'])
entries = blob[F['repl_entries']:]
if len(entries) != table_size:
    sys.exit(f'{name}: replace.size={table_size} but {len(entries)} entry bytes follow the header')
if num_entries != 5:
    sys.exit(f'{name}: expected 5 entries (3 policies + error + our rule), got {num_entries}: table was not empty?')

# Walk every entry via next_offset to make sure the hook offsets land on entry starts.
starts, off = [], 0
while off < table_size:
    starts.append(off)
    nxt = u16(entries, off + F['next_offset'])
    if nxt < F['entry_size']:
        sys.exit(f'{name}: bad next_offset {nxt} at {off}')
    off += nxt
if off != table_size or len(starts) != num_entries:
    sys.exit(f'{name}: entry walk ended at {off}/{table_size} with {len(starts)} entries')

first, policy = u32(blob, hook), u32(blob, under)
inside = [s for s in starts if first <= s < policy]
if inside != [first]:
    sys.exit(f'{name}: expected one {chain} rule in [{first},{policy}), found entries at {inside}')
rule_len = u16(entries, first + F['next_offset'])
if first + rule_len != policy:
    sys.exit(f'{name}: rule at {first} (len {rule_len}) does not end at the {chain} policy ({policy})')
rule = entries[first:first + rule_len]
target_offset = u16(rule, F['target_offset'])

masked = [(F['comefrom'], L['comefrom_size'], 'comefrom'), (F['counters'], L['counters_size'], 'counters')]

# Structure comments: where each match/target starts (xt_entry_match: u16 size, char name[29], u8 rev).
marks = {0: f'{"ipt_entry" if family == "ipv4" else "ip6t_entry"} ({F["entry_size"]} bytes)'}
off = F['entry_size']
while off < rule_len:
    size = u16(rule, off)
    label = rule[off + 2:off + 31].split(b'\0', 1)[0].decode()
    kind = 'target' if off == target_offset else 'match'
    marks[off] = f'{kind} {label or "(standard)"} rev {rule[off + 31]} ({size} bytes)'
    if size == 0:
        sys.exit(f'{name}: zero-sized match/target at {off}')
    off += size
if off != rule_len or target_offset not in marks:
    sys.exit(f'{name}: matches/target do not tile the entry ({off} vs {rule_len}, target at {target_offset})')

save_lines = [l.rstrip('\n') for l in open(save_path) if l.startswith(f'-A {chain} ')]
if len(save_lines) != 1:
    sys.exit(f'{name}: expected one -A {chain} line in {tool}-save output, got {save_lines}')

command = shlex.join([tool, '-w', '10', '-A', chain] + args)
print(f'# connlimit golden fixture: one {family} rule entry cut from {want_opt[0]}')
print(f'# name: {name}')
print(f'# family: {family}')
print(f'# chain: {chain}')
print(f'# command: {command}')
print(f'# args: {json.dumps(args)}')
print(f'# save: {save_lines[0]}')
print(f'# version: {version}')
print(f'# kernel: {kernel}')
print(f'# captured: unshare -n strace -f -xx -s 65535 -e trace=setsockopt <command>; scripts/capture-golden.sh')
print(f'# table: empty filter table; rule = the only entry between hook_entry[{hooknum}]={first} and underflow[{hooknum}]={policy}')
print(f'# entry: size {rule_len}, target_offset {target_offset}, next_offset {rule_len}')
for o, n, what in masked:
    print(f'# masked: {o} {n} {what}')
print('# body: 4 bytes per line, hex; "# @offset" lines mark each header/match/target')
for o in range(0, rule_len, 4):
    if o in marks:
        print(f'# @{o} {marks[o]}')
    print(rule[o:o + 4].hex())
EOF

kernel=$(uname -r)

# capture_once LOG SAVE OUT NAME FAMILY CHAIN TOOL VERSION ARGS...: one capture in a new namespace.
capture_once() {
  local log=$1 save=$2 out=$3 name=$4 family=$5 chain=$6 tool=$7 version=$8
  shift 8
  unshare -n -- bash -c '
    set -euo pipefail
    log=$1 save=$2 tool=$3 chain=$4; shift 4
    strace -f -xx -s 65535 -o "$log" -e trace=setsockopt "$tool" -w 10 -A "$chain" "$@"
    "$tool-save" -t filter >"$save"
  ' _ "$log" "$save" "$tool" "$chain" "$@"
  python3 "$work/cut.py" "$log" "$work/layout.json" "$name" "$family" "$chain" "$tool" "$save" \
    "$kernel" "$version" "$@" >"$out"
}

# capture NAME FAMILY CHAIN ARGS...
capture() {
  local name=$1 family=$2 chain=$3
  shift 3
  local tool=iptables-legacy
  [[ $family == ipv6 ]] && tool=ip6tables-legacy
  local version
  version=$("$tool" --version)
  # Two independent captures must agree, every byte of the body, or the fixture is not golden.
  capture_twice "$name" capture_body capture_once "$name" "$family" "$chain" "$tool" "$version" "$@"
}

selected=("$@")
want seed-reject && capture seed-reject ipv4 INPUT \
  -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
want upto-accept && capture upto-accept ipv4 INPUT \
  -p tcp --syn --dport 23 -m connlimit ! --connlimit-above 2 -j ACCEPT
want mask24-drop && capture mask24-drop ipv4 INPUT \
  -p tcp --syn --dport 80 -m connlimit --connlimit-above 16 --connlimit-mask 24 -j DROP
want mask32-explicit && capture mask32-explicit ipv4 INPUT \
  -p tcp --dport 23 -m connlimit --connlimit-above 2 --connlimit-mask 32 -j REJECT --reject-with tcp-reset
want daddr-upto && capture daddr-upto ipv4 INPUT \
  -m connlimit --connlimit-upto 5 --connlimit-daddr -j RETURN
want comment && capture comment ipv4 INPUT \
  -s 10.0.0.0/8 -i eth0 -p udp --sport 1024:65535 --dport 53 -m comment --comment "dns clients" -j ACCEPT
want not-syn && capture not-syn ipv4 OUTPUT \
  ! -s 192.168.1.1 ! -o lo+ -p tcp ! --syn -j DROP
want fragment && capture fragment ipv4 INPUT \
  -f -j DROP
want v6-seed && capture v6-seed ipv6 INPUT \
  -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
want v6-mask64 && capture v6-mask64 ipv6 INPUT \
  -s 2001:db8::/32 -p tcp --dport 443 -m connlimit --connlimit-above 8 --connlimit-mask 64 -j REJECT --reject-with tcp-reset
want v6-reject-adm && capture v6-reject-adm ipv6 INPUT \
  -p udp -j REJECT --reject-with icmp6-adm-prohibited
exit 0
