// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What the native nftables form (backend 'nftables') can hold, checked before anything touches
 * the kernel: native/core/nft/native/nftables_codec writes a rule as `iptables-translate` renders it,
 * in a table of our own (`connlimit`), so only rules whose verdict is final in any table fit
 * there (DROP, REJECT), or whose target acts on the packet and lets it go on, which it does the
 * same from any table (LOG, NFLOG, MARK, CONNMARK, TCPMSS, where the translation says it), and only the
 * matches that form can say.
 */
import { invalid } from '../errors';
import type { NativeMatch, NativeRule, NativeTarget } from '../native-types';
import type { SetMatch } from './modules/set';
import type { TimeMatch, Weekday } from './modules/time';
import { quote } from '../echo';
import { decodeExtension } from './modules';
import type { Family } from './types';

/** Anonymous sets a rule may hold (native/core/nft/native/nftables_anonymous_set.h kAnonymousSetsPerRule). */
const ANONYMOUS_SETS = 16;

/** The base chains of our tables (hooks input, forward, output). */
const NFTABLES_CHAINS: readonly string[] = ['INPUT', 'FORWARD', 'OUTPUT'];

const SHARE_IPTABLES_TABLE =
  "ACCEPT in one nftables table does not end evaluation in another, so a rule that lets traffic through (the inverse '! --connlimit-above N -j ACCEPT' form) must share the iptables table: use backend 'nft'";

/**
 * Throws ERR_CONNLIMIT_INVALID (with the reason) unless `rule` can live in the native form.
 * @throws {ERR_CONNLIMIT_INVALID}
 * @example checkNftablesRule(toNativeRule('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT', 'ipv4'), 'INPUT', 'ipv4');
 */
export function checkNftablesRule(rule: NativeRule, chain: string, family: Family, path = 'rule'): void {
  checkNftablesChain(chain);
  const t = rule.target;
  if (t.kind === 'verdict' && t.verdict === 'ACCEPT') invalid(`${path}.target`, `-j ACCEPT is not available in the native nftables form: ${SHARE_IPTABLES_TABLE}`);
  const acts = t.kind === 'opaque' && checkNftablesTarget(t, rule, family, `${path}.target`);
  if (!acts && !(t.kind === 'reject' || (t.kind === 'verdict' && t.verdict === 'DROP'))) {
    const what = t.kind === 'verdict' ? `-j ${t.verdict}` : t.kind === 'none' ? 'a rule without -j' : t.kind === 'opaque' ? `-j ${t.name}` : `a ${t.kind} to ${t.chain}`;
    invalid(`${path}.target`, `${what} is not available in the native nftables form, whose rules live in a table of their own: only DROP and REJECT are final there, and LOG, NFLOG, MARK, CONNMARK and TCPMSS act and let the packet go on; use backend 'nft' for other targets`);
  }
  if (rule.fragment !== null) invalid(`${path}.fragment`, "-f is not available in the native nftables form; use backend 'nft'");
  if (rule.inInterface?.wildcard && rule.inInterface.name === '' && rule.inInterface.invert) invalid(`${path}.inInterface`, "'! -i +' matches no packet");
  if (rule.outInterface?.wildcard && rule.outInterface.name === '' && rule.outInterface.invert) invalid(`${path}.outInterface`, "'! -o +' matches no packet");
  // Checked on every call of this form: nothing here allocates unless it refuses (a path string
  // per match, an array per address pair, a closure per rule were most of its cost).
  if (rule.src?.invert && isZeroMask(rule.src.mask)) invalid(`${path}.src`, "'! -s 0/0' matches no packet");
  if (rule.dst?.invert && isZeroMask(rule.dst.mask)) invalid(`${path}.dst`, "'! -d 0/0' matches no packet");
  let connlimits = 0;
  let comments = 0;
  let anonymousSets = 0;
  for (let i = 0; i < rule.matches.length; i++) {
    const m = rule.matches[i] as NativeMatch;
    switch (m.kind) {
      case 'tcp':
        if (m.option !== 0 || m.invOption) invalid(matchPath(path, i), "--tcp-option is not available in the native nftables form; use backend 'nft'");
        break;
      case 'udp':
        break;
      case 'connlimit':
        if (++connlimits > 1) invalid(matchPath(path, i), 'the native nftables form takes one connlimit match per rule (one set each)');
        break;
      case 'comment':
        if (++comments > 1) invalid(matchPath(path, i), 'the native nftables form keeps one comment per rule');
        break;
      case 'opaque': {
        const at = matchPath(path, i);
        if (checkNftablesSetMatch(m, family, at)) break;
        // A registry module is named as the user wrote it (`state`, not the `conntrack` it writes).
        const decoded = decodeExtension('match', m, family);
        const name = decoded?.module.name ?? m.name;
        const why = decoded?.module.nftables ? decoded.module.nftables(decoded.part, family, rule) : 'it has no translation here';
        if (why !== null) invalid(at, `match ${name} is not available in the native nftables form (${why}); use backend 'nft', which writes it as iptables-nft does`);
        // Each list is an anonymous set with a set id of its own in the batch (kAnonymousSetsPerRule).
        if (makesAnonymousSet(name, decoded?.part) && ++anonymousSets > ANONYMOUS_SETS) {
          invalid(at, `the native nftables form takes ${ANONYMOUS_SETS} anonymous sets per rule (multiport matches, -m time with several weekdays, hashlimit meters)`);
        }
        break;
      }
    }
  }
}

function matchPath(path: string, i: number): string {
  return `${path}.matches[${i}]`;
}

function isZeroMask(mask: Uint8Array): boolean {
  for (const b of mask) if (b !== 0) return false;
  return true;
}

/** Whether a match may be a set of its rule's batch: a multiport list, several weekdays, a hashlimit meter. */
function makesAnonymousSet(name: string, part: unknown): boolean {
  if (name === 'multiport' || name === 'hashlimit') return true;
  // A decoded time part lists the days that match, never `{ not: [...] }`.
  return name === 'time' && (((part as TimeMatch).weekdays as Weekday[] | undefined) ?? []).length > 1;
}

/**
 * `-m set --match-set NAME src|dst` (with `!`): the native form writes `ip saddr @NAME`, a lookup
 * of a named set of its first table (Sets.open({ backend: 'nftables' })). True when `m` is such
 * a match; other spellings of `-m set` are refused with the reason; false for other modules.
 */
function checkNftablesSetMatch(m: Extract<NativeMatch, { kind: 'opaque' }>, family: Family, at: string): boolean {
  const d = decodeExtension('match', m, family);
  if (d?.module.name !== 'set') return false;
  const s = d.part as SetMatch;
  if (s.dirs.length !== 1) invalid(at, `-m set with ${s.dirs.join(',')} is not available in the native nftables form (one of src or dst: \`ip saddr @NAME\`); use backend 'nft'`);
  if (s.returnNomatch || s.updateCounters === false || s.updateSubcounters === false || s.packets || s.bytes) {
    invalid(at, "-m set's counter and nomatch options are not available in the native nftables form (a lookup only tests membership); use backend 'nft'");
  }
  return true;
}

/**
 * A target that acts on the packet and lets it go on (LOG, NFLOG, MARK, CONNMARK, TCPMSS): the native
 * form writes its statement in place of a verdict, as `iptables-translate` renders it, which
 * means the same in our table as in the iptables one. True when it does; a form of such a
 * target without a faithful translation is refused with the reason; false for other targets.
 */
function checkNftablesTarget(t: Extract<NativeTarget, { kind: 'opaque' }>, rule: NativeRule, family: Family, at: string): boolean {
  const decoded = decodeExtension('target', t, family);
  if (!decoded?.module.nftables) return false;
  const why = decoded.module.nftables(decoded.part, family, rule);
  if (why !== null) invalid(at, `-j ${decoded.module.name} is not available in the native nftables form here (${why}); use backend 'nft', which writes it as iptables-nft does`);
  return true;
}

/** Throws ERR_CONNLIMIT_INVALID unless `chain` is one of our table's base chains. */
export function checkNftablesChain(chain: string, field = 'chain'): void {
  if (!NFTABLES_CHAINS.includes(chain)) {
    invalid(field, `the native nftables form has the base chains ${NFTABLES_CHAINS.join(', ')} only, not ${quote(chain)} (user chains and jumps need backend 'nft')`);
  }
}

/** Throws ERR_CONNLIMIT_INVALID for table changes the native form does not make. */
export function refuseInNftables(what: string): never {
  invalid('op', `${what} is not available in the native nftables form (its table holds only rules in INPUT, FORWARD and OUTPUT ending in DROP, REJECT, LOG, NFLOG, MARK, CONNMARK or TCPMSS); use backend 'nft'`);
}
