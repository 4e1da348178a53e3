// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The one registry of compat-form modules (module.ts says what one is). parse.ts, validate.ts,
 * render.ts, to-spec.ts and nftables-form.ts find modules through these functions only; a new
 * module is its file (which adds its part type to ModuleParts in ../types.ts) plus one row in MODULES.
 */
import type { Family } from '../types';
import type { CompatModule } from './module';
import { conntrack } from './conntrack';
import { state } from './state';
import { iprange } from './iprange';
import { recent } from './recent';
import { hashlimit } from './hashlimit';
import { time } from './time';

export type { CompatModule, ModuleOption, ParseContext, SpecChecker } from './module';
export type { ConntrackMatch, CtState, CtStatus } from './conntrack';
export type { StateMatch, StateName } from './state';
export type { IprangeMatch } from './iprange';
export type { RecentMatch, RecentCommand } from './recent';
export type { HashlimitMatch, HashlimitMode, HashlimitRate } from './hashlimit';
export type { TimeMatch, Weekday } from './time';

export type { ModuleMatch } from '../types';

/**
 * The rows. Where two modules write the same kernel extension (`state` is conntrack revision 3
 * with an alias flag), decoding tries them in this order and the first that claims the bytes wins.
 */
const MODULES: readonly CompatModule[] = [conntrack, state, iprange, recent, hashlimit, time];

/** The module `-m NAME` (type 'match') or `-j NAME` (type 'target') loads, if one is registered. */
export function findModule(type: 'match' | 'target', name: string): CompatModule | undefined {
  return MODULES.find((m) => m.type === type && m.name === name);
}

/** Names of the registered modules of a type, for messages. */
export function moduleNames(type: 'match' | 'target'): string[] {
  return MODULES.filter((m) => m.type === type).map((m) => m.name);
}

/** The registered modules that declare `option`, for "needs -m X before it". */
export function modulesWithOption(option: string): CompatModule[] {
  return MODULES.filter((m) => m.options.some((o) => o.name === option));
}

/** A part as the extension that travels to the addon: kernel name, revision and struct bytes. */
export function encodeExtension(module: CompatModule, part: { kind: string }, family: Family): { kind: 'opaque'; name: string; revision: number; data: Buffer } {
  return { kind: 'opaque', name: module.xtName, revision: module.revision, data: module.encode(part, family) };
}

/**
 * The module and part an extension's bytes hold, or null when no module claims them. A module
 * claims bytes only when its part encodes back to exactly those bytes: a listing never shows a
 * part that would write something else than what the kernel holds.
 */
export function decodeExtension(
  type: 'match' | 'target',
  ext: { name: string; revision: number; data: Buffer },
  family: Family,
): { module: CompatModule; part: { kind: string } } | null {
  for (const module of MODULES) {
    if (module.type !== type || module.xtName !== ext.name || module.revision !== ext.revision || !module.families.includes(family)) continue;
    const part = module.decode(ext.data, family);
    const size = module.userspaceSize ?? ext.data.length;
    if (part && module.encode(part, family).subarray(0, size).equals(ext.data.subarray(0, size))) return { module, part };
  }
  return null;
}
