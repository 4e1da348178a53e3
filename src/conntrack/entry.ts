// SPDX-License-Identifier: GPL-2.0-or-later
/** A conntrack entry as list() yields it, made from what the addon decoded. */
import type { NativeCtEntry } from '../native-types';
import { protocolWord } from '../rule/names';
import type { Family, Protocol } from '../rule/types';
import { STATUS_BITS, TCP_STATES, type ConntrackStatus, type TcpState } from './names';

/** One direction of a connection. ICMP entries carry type/code/id instead of ports. */
export interface ConntrackTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
}

/** One conntrack entry, as `conntrack -L` shows it. */
export interface ConntrackEntry {
  family: Family;
  /** Our protocol word ('tcp', 'udp', 'icmp', ...) or the number when there is none. */
  protocol: Protocol;
  /** The original direction (the connection as opened) and the expected reply. */
  orig: ConntrackTuple;
  reply: ConntrackTuple | null;
  /** TCP only. */
  state: TcpState | null;
  /** Seconds before the entry expires. */
  timeout: number | null;
  mark: number;
  zone: number;
  /** The kernel's id of the entry (CTA_ID). */
  id: number;
  status: ConntrackStatus[];
  /** Only when accounting is on (`net.netfilter.nf_conntrack_acct=1`). */
  counters: { origPackets: bigint; origBytes: bigint; replyPackets: bigint; replyBytes: bigint } | null;
}

export function toEntry(n: NativeCtEntry): ConntrackEntry {
  const status: ConntrackStatus[] = [];
  for (let i = 0; i < STATUS_BITS.length; i++) if (n.status & (1 << i)) status.push(STATUS_BITS[i]!);
  return {
    family: n.family,
    protocol: protocolWord(n.protocol) ?? n.protocol,
    orig: n.orig,
    reply: n.reply ?? null,
    state: n.tcpState === null ? null : (TCP_STATES[n.tcpState] ?? 'NONE'),
    timeout: n.timeout,
    mark: n.mark,
    zone: n.zone,
    id: n.id,
    status,
    counters: n.counters,
  };
}
