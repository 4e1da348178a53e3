#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Record ctnetlink replies as the kernel sent them to the reference tool, for the decoder
# tests (test/40-ct-decode.test.ts). Each scenario runs in a throwaway network namespace
# (`unshare -n`: an empty conntrack table, the host never touched): entries are made with
# `conntrack -I`, then a `conntrack` command runs under
#   strace -e trace=recvmsg -e read=3
# whose hex dump of every recvmsg() is the bytes the kernel sent. The fixture keeps those
# bytes, one `recv` block per recvmsg(), and the command's own stdout (its reading of the same
# bytes, the test's oracle) as `# out:` lines.
#
# Usage: scripts/capture-ct-replies.sh [name...]   (default: every scenario)
# Needs root, strace, conntrack (conntrack-tools), python3.
set -euo pipefail

cd "$(dirname "$0")/.."
out_dir=test/fixtures/ct
mkdir -p "$out_dir"

# name | setup commands (inside the namespace) | the recorded command
scenarios=(
  "dump-mixed|sysctl -qw net.netfilter.nf_conntrack_acct=1
conntrack -I -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 80 --state ESTABLISHED -t 600 -u ASSURED -m 7
conntrack -I -p udp -s 10.0.0.3 -d 10.0.0.2 --sport 5353 --dport 53 -t 300 -w 3
conntrack -I -p icmp -s 10.0.0.4 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 4660 -t 300
conntrack -I -p tcp -s fd00::1 -d fd00::2 --sport 40000 --dport 443 --state TIME_WAIT -t 120
conntrack -I -p tcp -s fd00::3 -d fd00::2 --sport 40001 --dport 22 --state SYN_SENT -t 100|conntrack -L -o id"
  "dump-multipart|python3 -c 'for i in range(400): print(\"-I -p tcp -s 10.1.%d.%d -d 10.9.0.1 --sport %d --dport 443 --state ESTABLISHED -t 3600 -u ASSURED\" % (i // 200, i % 200 + 1, 20000 + i))' > \"\$tmp/load\"
conntrack -R \"\$tmp/load\"|conntrack -L -f ipv4"
  "stats|conntrack -I -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1 --dport 2 --state ESTABLISHED -t 60
conntrack -I -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1 --dport 2 -t 60|conntrack -C"
  "error-enoent|true|conntrack -G -p tcp -s 10.7.7.7 -d 10.8.8.8 --sport 1 --dport 2"
)

want=("$@")
for s in "${scenarios[@]}"; do
  name=${s%%|*}
  rest=${s#*|}
  setup=${rest%|*}
  command=${rest##*|}
  if [[ ${#want[@]} -gt 0 && ! " ${want[*]} " =~ " $name " ]]; then continue; fi
  tmp=$(mktemp -d)
  export tmp
  unshare -n bash -c "ip link set lo up; { $setup
    } >/dev/null 2>&1
    strace -qq -e trace=recvmsg -e read=3 -o \"$tmp/strace\" $command >\"$tmp/out\" 2>\"$tmp/err\" || true"
  python3 - "$name" "$command" "$tmp" "$out_dir" <<'PY'
import re, sys
name, command, tmp, out_dir = sys.argv[1:]
blocks, cur = [], None
for line in open(f"{tmp}/strace"):
    if line.startswith("recvmsg("):
        cur = bytearray(); blocks.append(cur)
    # " | 00010  02 00 ... 00  ....4....... |": 16 hex bytes in fixed columns, then ASCII
    # (which may itself look like hex, so never read past the columns).
    if re.match(r"^ \| [0-9a-f]{5}  ", line) and cur is not None:
        cur.extend(bytes.fromhex(" ".join(line[10:59].split()[:16])))
blocks = [b for b in blocks if b]
with open(f"{out_dir}/{name}.hex", "w") as f:
    f.write(f"# command: {command}\n")
    f.write("# captured: strace -e trace=recvmsg -e read=3, in unshare -n (scripts/capture-ct-replies.sh)\n")
    for line in (open(f"{tmp}/out").read() + open(f"{tmp}/err").read()).splitlines():
        f.write(f"# out: {line}\n")
    for b in blocks:
        f.write(f"recv {len(b)}\n")
        for i in range(0, len(b), 32):
            f.write(b[i:i + 32].hex() + "\n")
print(f"{name}: {len(blocks)} recv blocks, {sum(map(len, blocks))} bytes")
PY
  rm -rf "$tmp"
done
