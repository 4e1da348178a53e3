// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The one registry of compat-form modules (module.ts says what one is). parse.ts, validate.ts,
 * render.ts, to-spec.ts and nftables-form.ts find modules through these functions only; a new
 * module is its file (which adds its part type to ModuleParts in ../types.ts) plus one row in MODULES.
 */
import type { Family } from '../types';
import { protocolSaveName } from '../names';
import type { CompatModule } from './module';
import { conntrack } from './conntrack';
import { state } from './state';
import { iprange } from './iprange';
import { recent } from './recent';
import { hashlimit } from './hashlimit';
import { time } from './time';
import { multiport } from './multiport';
import { icmp } from './icmp';
import { icmp6 } from './icmp6';
import { mac } from './mac';
import { log } from './log';
import { limit } from './limit';
import { mark } from './mark';
import { markTarget } from './mark-target';
import { connmarkTarget } from './connmark-target';
import { nflog } from './nflog';
import { set } from './set';
import { setTarget } from './set-target';
import { pkttype } from './pkttype';
import { length } from './length';
import { ttl } from './ttl';
import { tcpmss } from './tcpmss';
import { ctTarget } from './ct-target';
import { notrackTarget } from './notrack-target';
import { nfqueueTarget } from './nfqueue-target';
import { synproxyTarget } from './synproxy-target';
import { tcpmssTarget } from './tcpmss-target';

export type { CompatModule, ModuleOption, ParseContext, SpecChecker } from './module';
export type { ConntrackMatch, CtState, CtStatus } from './conntrack';
export type { StateMatch, StateName } from './state';
export type { IprangeMatch } from './iprange';
export type { RecentMatch, RecentCommand } from './recent';
export type { HashlimitMatch, HashlimitMode, HashlimitRate } from './hashlimit';
export type { TimeMatch, Weekday } from './time';
export type { MultiportMatch } from './multiport';
export type { IcmpMatch, IcmpTypeCode } from './icmp';
export type { Icmp6Match } from './icmp6';
export type { MacMatch } from './mac';
export type { LogLevelName, LogTarget } from './log';
export type { LimitMatch, LimitUnit } from './limit';
export type { MarkMatch } from './mark';
export type { MarkTarget } from './mark-target';
export type { ConnmarkTarget, ConnmarkMode } from './connmark-target';
export type { NflogTarget } from './nflog';
export type { SetMatch, SetDirection, SetCounterMatch } from './set';
export type { SetTarget, SetTargetRef } from './set-target';
export type { PkttypeMatch, PacketType } from './pkttype';
export type { LengthMatch } from './length';
export type { TtlMatch } from './ttl';
export type { TcpmssMatch } from './tcpmss';
export type { CtTarget, CtEvent } from './ct-target';
export type { NotrackTarget } from './notrack-target';
export type { NfqueueTarget } from './nfqueue-target';
export type { SynproxyTarget } from './synproxy-target';
export type { TcpmssTarget } from './tcpmss-target';

export type { ModuleMatch } from '../types';

/**
 * The rows. Where two modules write the same kernel extension (`state` is conntrack revision 3
 * with an alias flag), decoding tries them in this order and the first that claims the bytes wins.
 */
const MODULES: readonly CompatModule[] = [conntrack, state, iprange, recent, hashlimit, time, multiport, icmp, icmp6, mac, log, limit, mark, markTarget, connmarkTarget, nflog, set, pkttype, length, ttl, tcpmss, ctTarget, notrackTarget, nfqueueTarget, synproxyTarget, tcpmssTarget, setTarget];

/** The module `-m NAME` (type 'match') or `-j NAME` (type 'target') loads, if one is registered. */
export function findModule(type: 'match' | 'target', name: string): CompatModule | undefined {
  return MODULES.find((m) => m.type === type && m.name === name);
}

/** The module whose typed part has this `kind` (a match's is its name; `{ kind: 'log' }` is `-j LOG`). */
export function findModuleByKind(type: 'match' | 'target', kind: string): CompatModule | undefined {
  return MODULES.find((m) => m.type === type && (m.kind ?? m.name) === kind);
}

/** The typed kinds of the registered modules of a type, for messages. */
export function moduleKinds(type: 'match' | 'target'): string[] {
  return MODULES.filter((m) => m.type === type).map((m) => m.kind ?? m.name);
}

/** Names of the registered modules of a type, for messages. */
export function moduleNames(type: 'match' | 'target'): string[] {
  return MODULES.filter((m) => m.type === type).map((m) => m.name);
}

/** The registered modules that declare `option`, for "needs -m X before it". */
export function modulesWithOption(option: string): CompatModule[] {
  return MODULES.filter((m) => m.options.some((o) => o.name === option));
}

/** The match `-p PROTOCOL` loads without `-m` that takes `option`, if any (CompatModule.implicitFor). */
export function implicitModule(family: Family, protocol: number, option: string): CompatModule | undefined {
  return MODULES.find((m) => m.type === 'match' && m.implicitFor === protocol && m.families.includes(family) && m.options.some((o) => o.name === option));
}

/** Why `module` can't be in a rule with this `-p` (CompatModule.protocols), or null when it can. */
export function protocolProblem(module: CompatModule, protocol: { num: number; invert: boolean } | null): string | null {
  const want = module.protocols;
  if (!want || (protocol && !protocol.invert && want.includes(protocol.num))) return null;
  const names = want.map((n) => `-p ${protocolSaveName(n)}`);
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]!}`;
  return `the ${module.name} ${module.type} needs ${list}${protocol?.invert ? ", not '! -p'" : ''} (the kernel refuses it otherwise)`;
}

/**
 * Why a match or target of a rule can't go in built-in chain `chain` (CompatModule.chains,
 * chainsFor), or null. User chains pass: the kernel checks them where they are jumped to from.
 */
export function chainProblem(type: 'match' | 'target', ext: { name: string; revision: number; data: Buffer }, chain: string): string | null {
  if (!BUILTIN_CHAINS.has(chain)) return null;
  const module = MODULES.find((m) => m.type === type && m.xtName === ext.name && m.revision === ext.revision && (m.chains || m.chainsFor));
  const allowed = module && (module.chains ?? module.chainsFor!(ext.data));
  if (!module || !allowed || allowed.includes(chain)) return null;
  return `the ${module.name} ${type} can't be used in ${chain} (the kernel allows it in ${allowed.join(', ')})`;
}
const BUILTIN_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/** Why an extension can't go in table `table` (CompatModule.tables, tablesFor), or null. */
export function tableProblem(type: 'match' | 'target', ext: { name: string; revision: number; data: Buffer }, table: string): string | null {
  const module = MODULES.find((m) => m.type === type && m.xtName === ext.name && m.revision === ext.revision && (m.tables || m.tablesFor));
  const allowed = module && (module.tables ?? module.tablesFor!(ext.data));
  if (!module || !allowed || allowed.includes(table)) return null;
  return `the ${module.name} ${type} is only valid in the ${allowed.join(', ')} table, not ${table} (the kernel refuses it)`;
}

/**
 * A part as the extension that travels to the addon: kernel name, revision and struct bytes,
 * plus the names of the ipset sets it refers to (CompatModule.setIndexOffsets).
 */
export function encodeExtension(
  module: CompatModule,
  part: { kind: string },
  family: Family,
): { kind: 'opaque'; name: string; revision: number; data: Buffer; sets?: string[] } {
  const ext = { kind: 'opaque' as const, name: module.xtName, revision: module.revision, data: module.encode(part, family) };
  return module.setNames ? { ...ext, sets: module.setNames(part) } : ext;
}

/** Where an extension's blob holds ipset set indexes (CompatModule.setIndexOffsets); empty for most. */
export function setIndexOffsets(type: 'match' | 'target', ext: { name: string; revision: number }): readonly number[] {
  return MODULES.find((m) => m.type === type && m.xtName === ext.name && m.revision === ext.revision && m.setIndexOffsets)?.setIndexOffsets ?? [];
}

/**
 * The module and part an extension's bytes hold, or null when no module claims them. A module
 * claims bytes only when its part encodes back to exactly those bytes: a listing never shows a
 * part that would write something else than what the kernel holds.
 */
export function decodeExtension(
  type: 'match' | 'target',
  ext: { name: string; revision: number; data: Buffer; sets?: readonly string[] },
  family: Family,
): { module: CompatModule; part: { kind: string } } | null {
  for (const module of MODULES) {
    if (module.type !== type || module.xtName !== ext.name || module.revision !== ext.revision || !module.families.includes(family)) continue;
    const part = module.decode(ext.data, family, ext.sets);
    if (!part) continue;
    const size = module.userspaceSize ?? ext.data.length;
    const again = module.encode(part, family);
    // The set indexes are the namespace's, not the part's: compare the rest.
    for (const off of module.setIndexOffsets ?? []) ext.data.copy(again, off, off, off + 2);
    if (again.subarray(0, size).equals(ext.data.subarray(0, size))) return { module, part };
  }
  return null;
}
