// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j NOTRACK`: iptables 1.8.9's libxt_CT alias (XTABLES_EXT_ALIAS, notrack_ct2_tg_init): the CT
 * target's revision 2 struct (ct-target.ts) with flags NOTRACK|NOTRACK_ALIAS and nothing else,
 * which iptables-save prints back as `-j NOTRACK` (ct_print_name_alias). The kernel's own old
 * NOTRACK target is not what the CLI writes. Raw table only, as CT.
 */
import type { Family } from '../types';
import type { CompatModule, SpecChecker } from './module';
import { F_NOTRACK, F_NOTRACK_ALIAS, SIZE, USERSPACE_SIZE } from './ct-target';
import { get16, put16 } from './values';

declare module '../types' {
  interface ModuleTargetParts {
    notrack: NotrackTarget;
  }
}

/**
 * `-j NOTRACK`: don't track the packet's connection (as `-j CT --notrack`, saved under its own name).
 *
 * @example { kind: 'notrack' }
 */
export interface NotrackTarget {
  kind: 'notrack';
}

const KEYS = new Set(['kind']);
const FLAGS = F_NOTRACK | F_NOTRACK_ALIAS;

function encode(): Buffer {
  const b = Buffer.alloc(SIZE);
  put16(b, 0, FLAGS);
  return b;
}

function decode(d: Buffer, _family: Family): NotrackTarget | null {
  if (d.length !== SIZE || get16(d, 0) !== FLAGS) return null;
  // Everything else the CLI leaves zero: anything there is not the alias's.
  return d.subarray(2, USERSPACE_SIZE).every((x) => x === 0) ? { kind: 'notrack' } : null;
}

export const notrackTarget: CompatModule<NotrackTarget, null> = {
  name: 'NOTRACK',
  kind: 'notrack',
  type: 'target',
  xtName: 'CT',
  revision: 2,
  families: ['ipv4', 'ipv6'],
  userspaceSize: USERSPACE_SIZE,
  tables: ['raw'],
  options: [],
  start: () => null,
  option: (_d, opt, _values, _invert, ctx) => ctx.fail(`${opt}: NOTRACK takes no options`),
  finish: () => ({ kind: 'notrack' }),
  validate(o: Record<string, unknown>, path: string, c: SpecChecker) {
    c.keys(o, KEYS, path);
    return { kind: 'notrack' };
  },
  render: () => ['-j', 'NOTRACK'],
  encode,
  decode,
};
