#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# An nfnetlink_log listener for the tests (test/helpers/nflog.ts runs it inside a namespace):
# binds NFLOG group argv[1] and prints `ready`, then one line per logged packet,
# `<prefix>\t<mark>\t<payload bytes>`, until killed. Python because Node has no netlink sockets;
# the library itself never spawns it.
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET, NFULNL_MSG_CONFIG = 0, 1
NFULA_CFG_CMD, NFULNL_CFG_CMD_BIND = 1, 1
NFULA_MARK, NFULA_PAYLOAD, NFULA_PREFIX = 2, 9, 10
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2


def attrs(buf):
    out, at = {}, 0
    while at + 4 <= len(buf):
        length, kind = struct.unpack_from('=HH', buf, at)
        if length < 4:
            break
        out[kind & 0x7FFF] = buf[at + 4:at + length]
        at += (length + 3) & ~3
    return out


group = int(sys.argv[1])
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.bind((0, 0))
# nfgenmsg: family AF_UNSPEC, version 0, res_id = the group (network order); one u8 command attribute.
body = struct.pack('!BBH', 0, 0, group) + struct.pack('=HHB3x', 5, NFULA_CFG_CMD, NFULNL_CFG_CMD_BIND)
s.send(struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body)
ack = s.recv(65536)
if struct.unpack_from('=H', ack, 4)[0] != NLMSG_ERROR or struct.unpack_from('=i', ack, 16)[0] != 0:
    sys.exit('bind refused')
print('ready', flush=True)
while True:
    data = s.recv(1 << 20)
    at = 0
    while at + 16 <= len(data):
        length, kind = struct.unpack_from('=IH', data, at)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET:
            a = attrs(data[at + 20:at + length])
            prefix = a.get(NFULA_PREFIX, b'').rstrip(b'\0').decode('utf-8', 'replace')
            mark = struct.unpack('!I', a[NFULA_MARK])[0] if NFULA_MARK in a else 0
            print(f'{prefix}\t{mark}\t{len(a.get(NFULA_PAYLOAD, b""))}', flush=True)
        at += (length + 3) & ~3
