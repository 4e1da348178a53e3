// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The kernel's names for TCP states and status bits, in bit order: a filter turns them into
 * bits, a listed entry turns bits back into them.
 */

/** TCP states as conntrack prints them (`enum tcp_conntrack`, include/uapi/linux/netfilter/nf_conntrack_tcp.h). */
export type TcpState =
  | 'NONE' | 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE_WAIT' | 'LAST_ACK' | 'TIME_WAIT' | 'CLOSE' | 'SYN_SENT2';
export const TCP_STATES: readonly TcpState[] = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];

/** Status bits (`enum ip_conntrack_status`, include/uapi/linux/netfilter/nf_conntrack_common.h), by bit number. */
export type ConntrackStatus =
  | 'EXPECTED' | 'SEEN_REPLY' | 'ASSURED' | 'CONFIRMED' | 'SRC_NAT' | 'DST_NAT' | 'SEQ_ADJUST' | 'SRC_NAT_DONE'
  | 'DST_NAT_DONE' | 'DYING' | 'FIXED_TIMEOUT' | 'TEMPLATE' | 'NAT_CLASH' | 'HELPER' | 'OFFLOAD' | 'HW_OFFLOAD';
export const STATUS_BITS: readonly ConntrackStatus[] = [
  'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED', 'SRC_NAT', 'DST_NAT', 'SEQ_ADJUST', 'SRC_NAT_DONE',
  'DST_NAT_DONE', 'DYING', 'FIXED_TIMEOUT', 'TEMPLATE', 'NAT_CLASH', 'HELPER', 'OFFLOAD', 'HW_OFFLOAD',
];
