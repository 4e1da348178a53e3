# SPDX-License-Identifier: GPL-2.0-or-later
"""The one nfnetlink batch an nf_tables tool (iptables-nft, nft) sent, read from the log of
`strace -f -e trace=sendmsg -e write=all`, for scripts/capture-golden-nft*.sh."""
import re
import struct
import sys

NFT = 10  # NFNL_SUBSYS_NFTABLES
# include/uapi/linux/netfilter/nfnetlink.h (batch) and nf_tables.h (enum nf_tables_msg_types).
TYPES = {16: 'NFNL_MSG_BATCH_BEGIN', 17: 'NFNL_MSG_BATCH_END', NFT << 8 | 0: 'NFT_MSG_NEWTABLE',
         NFT << 8 | 3: 'NFT_MSG_NEWCHAIN', NFT << 8 | 6: 'NFT_MSG_NEWRULE', NFT << 8 | 8: 'NFT_MSG_DELRULE',
         NFT << 8 | 9: 'NFT_MSG_NEWSET', NFT << 8 | 11: 'NFT_MSG_DELSET'}


def type_name(t):
    return TYPES.get(t, hex(t))


def read_batch(log, name):
    """The bytes of the log's only sendmsg (exits when there are more, or it failed)."""
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
    return bytes(batches[0])


def split_batch(batch, name):
    """The batch's netlink messages as (type, flags, bytes), and their type names; exits unless
    it runs from BATCH_BEGIN to BATCH_END."""
    msgs, off = [], 0
    while off < len(batch):
        ln, typ, flags, seq = struct.unpack_from('<IHHI', batch, off)
        if ln < 16 or off + ln > len(batch):
            sys.exit(f'{name}: bad nlmsg_len {ln} at {off}')
        msgs.append((typ, flags, batch[off:off + ln]))
        off += (ln + 3) & ~3
    kinds = [type_name(t) for t, _, _ in msgs]
    if kinds[0] != 'NFNL_MSG_BATCH_BEGIN' or kinds[-1] != 'NFNL_MSG_BATCH_END':
        sys.exit(f'{name}: not a batch: {kinds}')
    return msgs, kinds


def padding(raw):
    """(offset, length) of the padding after each top-level attribute of a netfilter message that
    holds other than zeros: nft leaves there what its buffer held before, which is no content."""
    out, o = [], 20  # nlmsghdr + nfgenmsg
    while o + 4 <= len(raw):
        n = int.from_bytes(raw[o:o + 2], 'little')
        if n < 4:
            break
        pad = -n % 4
        if pad and any(raw[o + n:o + n + pad]):
            out.append((o + n, pad))
        o += n + pad
    return out


def print_body(picked):
    """The fixture's tail: a `# masked:` line for each message's nlmsg_seq, then the messages
    (each padded to 4 bytes) 4 bytes per line, with a `# @offset` line where each starts."""
    body = b''.join(m[2] + b'\0' * (-len(m[2]) % 4) for m in picked)
    at = 0
    for t, flags, raw in picked:
        print(f'# masked: {at + 8} 4 nlmsg_seq')
        for o, n in padding(raw):
            print(f'# masked: {at + o} {n} attribute padding')
        at += len(raw) + (-len(raw) % 4)
    print('# body: 4 bytes per line, hex; "# @offset" lines mark each message')
    at, marks = 0, {}
    for t, flags, raw in picked:
        marks[at] = f'{type_name(t)} flags 0x{flags:04x} ({len(raw)} bytes)'
        at += len(raw) + (-len(raw) % 4)
    for o in range(0, len(body), 4):
        if o in marks:
            print(f'# @{o} {marks[o]}')
        print(body[o:o + 4].hex())
