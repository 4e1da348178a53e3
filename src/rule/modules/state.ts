// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m state --state ...`: iptables 1.8.9 registers `state` revisions 1-3 as aliases of
 * `conntrack` (libxt_conntrack.c `state_ct23_parse`), so it writes the conntrack revision 3
 * blob with only `--ctstate`'s fields and the extra match flag XT_CONNTRACK_STATE_ALIAS
 * (0x2000), which is the only reason iptables-save prints `-m state --state` back. The kernel's
 * own `xt_state` (revision 0) is not used (NETFILTER-NOTES §10).
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import {
  type CtState, F_STATE, F_STATE_ALIAS, INFO_SIZE, OFF_INVERT_FLAGS, OFF_MATCH_FLAGS, OFF_STATE_MASK, STATE_BITS,
  checkNames, maskToNames, namesToMask,
} from './conntrack';
import { get16, neg, own, put16, unwrap } from './values';

/** The states `--state` takes (libxt_conntrack.c `state_parse_state`: no SNAT/DNAT). */
export type StateName = Exclude<CtState, 'SNAT' | 'DNAT'>;

/** `-m state --state NEW,ESTABLISHED`. @example { kind: 'state', state: ['RELATED', 'ESTABLISHED'] } */
declare module '../types' {
  interface ModuleParts {
    state: StateMatch;
  }
}

export interface StateMatch {
  kind: 'state';
  state: Negatable<StateName[]>;
}

const BITS = STATE_BITS.filter(([n]) => n !== 'SNAT' && n !== 'DNAT') as readonly (readonly [StateName, number])[];

interface Draft {
  state: Negatable<StateName[]> | null;
}

function option(d: Draft, _opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.state !== null) ctx.fail('--state given twice');
  const m = namesToMask(values[0]!, BITS);
  if (typeof m !== 'number') ctx.fail(`bad state ${quote(m.bad)}: use ${BITS.map(([n]) => n).join(', ')}, comma-separated`, 0);
  d.state = neg(maskToNames(m, BITS), invert);
}

const KEYS = new Set(['kind', 'state']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): StateMatch | undefined {
  c.keys(o, KEYS, path);
  const n = c.negatable(own(o, 'state'), `${path}.state`);
  const m = checkNames(c, n.value, n.path, BITS);
  return m === undefined ? undefined : { kind: 'state', state: neg(maskToNames(m, BITS), n.invert) };
}

function encode(part: StateMatch): Buffer {
  const b = Buffer.alloc(INFO_SIZE);
  const { value, invert } = unwrap(part.state);
  put16(b, OFF_MATCH_FLAGS, F_STATE | F_STATE_ALIAS);
  put16(b, OFF_INVERT_FLAGS, invert ? F_STATE : 0);
  put16(b, OFF_STATE_MASK, value.reduce((mask, n) => mask | BITS.find(([k]) => k === n)![1], 0));
  return b;
}

function decode(d: Buffer, _family: Family): StateMatch | null {
  if (d.length !== INFO_SIZE || get16(d, OFF_MATCH_FLAGS) !== (F_STATE | F_STATE_ALIAS)) return null;
  const names = maskToNames(get16(d, OFF_STATE_MASK), BITS);
  if (names.length === 0) return null;
  return { kind: 'state', state: neg(names, (get16(d, OFF_INVERT_FLAGS) & F_STATE) !== 0) };
}

export const state: CompatModule<StateMatch, Draft> = {
  name: 'state',
  type: 'match',
  xtName: 'conntrack',
  revision: 3,
  families: ['ipv4', 'ipv6'],
  options: [{ name: '--state', args: 1, invertible: true }],
  start: () => ({ state: null }),
  option,
  finish(d, ctx) {
    if (d.state === null) return ctx.fail('-m state needs --state');
    return { kind: 'state', state: d.state };
  },
  validate,
  render(part) {
    const { value, invert } = unwrap(part.state);
    return ['-m', 'state', ...(invert ? ['!'] : []), '--state', value.join(',')];
  },
  encode,
  decode,
  nftables: () => null,
};
