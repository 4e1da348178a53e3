// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m pkttype [!] --pkt-type unicast|broadcast|multicast`: the link-layer class of the packet,
 * `struct xt_pkttype_info` (`int pkttype, invert`; PACKET_HOST 0, PACKET_BROADCAST 1,
 * PACKET_MULTICAST 2), revision 0, both families, 8 bytes, host byte order, as iptables 1.8.9's
 * libxt_pkttype writes and saves it. Names in any case, as the CLI (strcasecmp); saved lower case.
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get32, neg, own, put32, unwrap } from './values';

export type PacketType = 'unicast' | 'broadcast' | 'multicast';

/** `-m pkttype`. @example { kind: 'pkttype', type: { not: 'unicast' } } */
export interface PkttypeMatch {
  kind: 'pkttype';
  type: Negatable<PacketType>;
}

declare module '../types' {
  interface ModuleParts {
    pkttype: PkttypeMatch;
  }
}

/** In the kernel's numbering (PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST). */
const TYPES: readonly PacketType[] = ['unicast', 'broadcast', 'multicast'];
const INFO_SIZE = 8;

function packetType(text: string): PacketType | undefined {
  return TYPES.find((t) => t === text.toLowerCase());
}

const badType = (text: string): string => `${quote(text)} is not a packet type (unicast, broadcast or multicast)`;

function option(d: { type: Negatable<PacketType> | null }, _opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.type !== null) ctx.fail('--pkt-type given twice');
  const t = packetType(values[0]!);
  if (!t) return ctx.fail(badType(values[0]!), 0);
  d.type = neg(t, invert);
}

const KEYS = new Set(['kind', 'type']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): PkttypeMatch | undefined {
  c.keys(o, KEYS, path);
  const n = c.negatable(own(o, 'type'), `${path}.type`);
  const text = c.string(n.value, n.path, 'a packet type');
  if (text === undefined) return undefined;
  const t = TYPES.find((x) => x === text);
  return t ? { kind: 'pkttype', type: neg(t, n.invert) } : c.add(n.path, badType(text));
}

export const pkttype: CompatModule<PkttypeMatch, { type: Negatable<PacketType> | null }> = {
  name: 'pkttype',
  type: 'match',
  xtName: 'pkttype',
  revision: 0,
  families: ['ipv4', 'ipv6'],
  options: [{ name: '--pkt-type', args: 1, invertible: true }],
  start: () => ({ type: null }),
  option,
  finish(d, ctx) {
    if (d.type === null) return ctx.fail('-m pkttype needs --pkt-type');
    return { kind: 'pkttype', type: d.type };
  },
  validate,
  render(part) {
    const { value, invert } = unwrap(part.type);
    return ['-m', 'pkttype', ...(invert ? ['!'] : []), '--pkt-type', value];
  },
  encode(part) {
    const b = Buffer.alloc(INFO_SIZE);
    const { value, invert } = unwrap(part.type);
    put32(b, 0, TYPES.indexOf(value));
    put32(b, 4, invert ? 1 : 0);
    return b;
  },
  nftables: () => null,
  decode(d: Buffer, _family: Family) {
    const t = TYPES[get32(d, 0)];
    if (d.length !== INFO_SIZE || !t || get32(d, 4) > 1) return null;
    return { kind: 'pkttype', type: neg(t, get32(d, 4) === 1) };
  },
};
