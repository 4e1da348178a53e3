#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Record golden bytes for the ipset encoder from the reference tool: in a throwaway network
# namespace (`unshare -n`: the host is never touched) run
#   strace -f -e trace=sendto -e write=all ipset <command>
# and keep the one message of the command itself (CREATE 0x602 or ADD 0x609; the PROTOCOL,
# TYPE and HEADER queries before it are not kept), written to test/fixtures/ipset/<name>.hex.
# Masked (listed in each header): nlmsg_seq, which ipset takes from the clock.
#
# Usage: scripts/capture-golden-ipset.sh [name...]   (default: every fixture below)
# Needs root, strace, ipset, python3.
set -euo pipefail

cd "$(dirname "$0")/.."
out_dir=test/fixtures/ipset
source scripts/lib/capture.sh
capture_init capture-golden-ipset strace ipset python3 unshare
selected=("$@")

cat >"$work/cut.py" <<'PY'
import re, sys
log, name, want, command = sys.argv[1:5]
want = int(want, 16)
msgs, cur = [], None
for line in open(log):
    if 'sendto(' in line:
        cur = bytearray(); msgs.append(cur)
    m = re.match(r'\s*\d*\s*\| [0-9a-f]{5}  ((?:[0-9a-f]{2}\s{1,2})+)', line)
    if m and cur is not None:
        cur += bytes.fromhex(m.group(1).replace(' ', ''))
picked = [m for m in msgs if len(m) >= 16 and int.from_bytes(m[4:6], 'little') == want]
if len(picked) != 1:
    sys.exit(f'{name}: expected one message of type {want:#x}, got {len(picked)}')
body = picked[0]
print(f'# name: {name}')
print(f'# command: {command}')
print('# masked: 8 4 nlmsg_seq')
for i in range(0, len(body), 4):
    print(body[i:i + 4].hex())
PY

# once LOG SAVE OUT NAME TYPE SETUP COMMAND: SETUP (ipset lines, not traced) then COMMAND under strace.
once() {
  local log=$1 save=$2 out=$3 name=$4 type=$5 setup=$6 command=$7
  unshare -n bash -c "ip link set lo up; $setup; strace -f -e trace=sendto -e write=all -o '$log' ipset $command >/dev/null; ipset save > '$save'"
  capture_py "$work/cut.py" "$log" "$name" "$type" "ipset $command" >"$out"
}

want create && capture_twice create capture_masked_body once create 0x602 'true' \
  'create S hash:ip timeout 600 maxelem 65536 counters comment'
want add && capture_twice add capture_masked_body once add 0x609 'ipset create S hash:ip timeout 600 comment' \
  'add S 10.0.0.1 timeout 30 comment x'
want add-port6 && capture_twice add-port6 capture_masked_body once add-port6 0x609 'ipset create P6 hash:net,port family inet6 timeout 5' \
  'add P6 2001:db8::/64,udp:53 timeout 9'
want create-net-port && capture_twice create-net-port capture_masked_body once create-net-port 0x602 'true' \
  'create NP hash:net,port counters'
want add-net-port && capture_twice add-net-port capture_masked_body once add-net-port 0x609 'ipset create NP hash:net,port' \
  'add NP 10.0.0.0/24,80'
want create-ip-port-ip && capture_twice create-ip-port-ip capture_masked_body once create-ip-port-ip 0x602 'true' \
  'create IPI hash:ip,port,ip timeout 600 counters comment'
want add-ip-port-ip && capture_twice add-ip-port-ip capture_masked_body once add-ip-port-ip 0x609 'ipset create IPI hash:ip,port,ip timeout 600 comment' \
  'add IPI 10.0.0.1,udp:53,10.0.0.2 timeout 30 comment x'
want add-ip-port-ip6 && capture_twice add-ip-port-ip6 capture_masked_body once add-ip-port-ip6 0x609 'ipset create IPI6 hash:ip,port,ip family inet6' \
  'add IPI6 2001:db8::1,80,2001:db8::2'
want create-net-iface && capture_twice create-net-iface capture_masked_body once create-net-iface 0x602 'true' \
  'create NI hash:net,iface maxelem 1024'
want add-net-iface && capture_twice add-net-iface capture_masked_body once add-net-iface 0x609 'ipset create NI hash:net,iface' \
  'add NI 10.0.0.0/24,eth0'
want add-net-iface-host && capture_twice add-net-iface-host capture_masked_body once add-net-iface-host 0x609 'ipset create NI hash:net,iface timeout 5' \
  'add NI 10.0.0.1,physdev:veth-x1 timeout 9'
want test-net-iface && capture_twice test-net-iface capture_masked_body once test-net-iface 0x60b 'ipset create NI hash:net,iface; ipset add NI 10.0.0.0/24,eth0' \
  'test NI 10.0.0.7,eth0'
want add-net-iface-wildcard && capture_twice add-net-iface-wildcard capture_masked_body once add-net-iface-wildcard 0x609 'ipset create NI hash:net,iface' \
  'add NI 10.0.0.0/16,physdev:eth wildcard'
# nomatch is IPSET_FLAG_NOMATCH in CADT_FLAGS, beside physdev's and wildcard's flags.
want add-net-nomatch && capture_twice add-net-nomatch capture_masked_body once add-net-nomatch 0x609 'ipset create N hash:net timeout 5' \
  'add N 10.0.0.0/24 timeout 9 nomatch'
want add-net-port-nomatch && capture_twice add-net-port-nomatch capture_masked_body once add-net-port-nomatch 0x609 'ipset create NP hash:net,port' \
  'add NP 10.0.0.0/24,udp:53 nomatch'
want add-net-iface-nomatch && capture_twice add-net-iface-nomatch capture_masked_body once add-net-iface-nomatch 0x609 'ipset create NI hash:net,iface' \
  'add NI 10.0.0.0/16,physdev:eth wildcard nomatch'
# A test with nomatch asks whether the entry that decides is a nomatch one: the same flag.
want test-net-nomatch && capture_twice test-net-nomatch capture_masked_body once test-net-nomatch 0x60b 'ipset create N hash:net; ipset add N 10.0.0.0/24 nomatch' \
  'test N 10.0.0.0/24 nomatch'
