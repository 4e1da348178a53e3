// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j TCPMSS`: `struct xt_tcpmss_info` (linux/netfilter/xt_TCPMSS.h), revision 0, as iptables
 * 1.8.9's libxt_TCPMSS writes it (TCPMSS_parse) and saves it (TCPMSS_save). Layout: mss 0 (u16,
 * host order; XT_TCPMSS_CLAMP_PMTU 0xffff for --clamp-mss-to-pmtu); 2 bytes, XT_ALIGNed to 8.
 * The same blob on legacy and in iptables-nft's compat `target` expression; any table.
 *
 * The kernel (tcpmss_tg4_check/tg6_check) takes it only with `-p tcp` and, on legacy, only in a
 * rule with a tcp match on SYN (`--syn`, or `--tcp-flags` whose compared flags hold SYN, not
 * negated); the nft compat expression skips that check (libxt_TCPMSS.t marks the case LEGACY).
 * We ask for the SYN match on both backends, so a rule is taken or refused alike everywhere.
 * Clamping to the path MTU works only in FORWARD, OUTPUT and POSTROUTING (the kernel refuses it
 * elsewhere): checked where the chain is known (chainsFor).
 *
 * The native nftables form writes it as iptables-translate 1.8.9 renders it, `tcp option maxseg
 * size set N` / `... set rt mtu` in place of the verdict (native/core/nft/native/xlate_targets.cc):
 * it rewrites the SYN and lets it go on, from our table as from the iptables one; our tables'
 * hooks are INPUT, FORWARD and OUTPUT, and clamping stays out of INPUT (chainsFor) as nft's `rt`
 * stays out of it too. What differs (docs/nft.md): nft rewrites an MSS option the SYN carries and
 * never adds one where xt_TCPMSS does.
 *
 * Stricter than the CLI: numbers are decimal.
 */
import { quote } from '../../echo';
import type { NativeMatch } from '../../native-types';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get16, has, own, put16 } from './values';

declare module '../types' {
  interface ModuleTargetParts {
    tcpmss: TcpmssTarget;
  }
}

/**
 * `-j TCPMSS`: rewrite the MSS option of TCP SYN packets.
 *
 * @example { kind: 'tcpmss', mss: 'clamp-to-pmtu' }
 * @example { kind: 'tcpmss', mss: 1400 }
 */
export interface TcpmssTarget {
  kind: 'tcpmss';
  /** `--set-mss N` (0-65515 in IPv4, 0-65495 in IPv6: 65535 less the IP header), or `--clamp-mss-to-pmtu`. */
  mss: number | 'clamp-to-pmtu';
}

const SIZE = 8;
const CLAMP_PMTU = 0xffff;
const TCP_SYN = 0x02;

/** libxt_TCPMSS's largest --set-mss: 65535 less the IP header. */
function maxMss(family: Family): number {
  return family === 'ipv4' ? 0xffff - 20 : 0xffff - 40;
}

interface Draft {
  mss: TcpmssTarget['mss'] | null;
  family: Family;
}

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.mss !== null) ctx.fail('TCPMSS takes one of --set-mss, --clamp-mss-to-pmtu, once');
  if (opt === '--clamp-mss-to-pmtu') {
    d.mss = 'clamp-to-pmtu';
    return;
  }
  const v = values[0]!;
  const n = parseDecimal(v, maxMss(d.family));
  if (n === null) ctx.fail(`${quote(v)} is not an MSS 0-${maxMss(d.family)}${numberHint(v)}`, 0);
  d.mss = n;
}

const KEYS = new Set(['kind', 'mss']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): TcpmssTarget | undefined {
  c.keys(o, KEYS, path);
  if (!has(o, 'mss')) return c.add(`${path}.mss`, "missing: an MSS or 'clamp-to-pmtu'");
  const v = own(o, 'mss');
  if (v === 'clamp-to-pmtu') return { kind: 'tcpmss', mss: v };
  const n = c.int(v, `${path}.mss`, 0, maxMss(c.family), "an MSS or 'clamp-to-pmtu'");
  return n === undefined ? undefined : { kind: 'tcpmss', mss: n };
}

/** The kernel's find_syn_match: a tcp match whose compared flags hold SYN, not negated. */
function hasSynMatch(matches: readonly NativeMatch[]): boolean {
  return matches.some((m) => m.kind === 'tcp' && (m.flagCompare & TCP_SYN) !== 0 && !m.invFlags);
}

function encode(p: TcpmssTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  put16(b, 0, p.mss === 'clamp-to-pmtu' ? CLAMP_PMTU : p.mss);
  return b;
}

function decode(d: Buffer, family: Family): TcpmssTarget | null {
  if (d.length !== SIZE) return null;
  const mss = get16(d, 0);
  if (mss === CLAMP_PMTU) return { kind: 'tcpmss', mss: 'clamp-to-pmtu' };
  return mss > maxMss(family) ? null : { kind: 'tcpmss', mss };
}

export const tcpmssTarget: CompatModule<TcpmssTarget, Draft> = {
  name: 'TCPMSS',
  kind: 'tcpmss',
  type: 'target',
  xtName: 'TCPMSS',
  revision: 0,
  families: ['ipv4', 'ipv6'],
  protocols: [6],
  options: [
    { name: '--set-mss', args: 1, invertible: false },
    { name: '--clamp-mss-to-pmtu', args: 0, invertible: false },
  ],
  start: (family) => ({ mss: null, family }),
  option,
  finish(d, ctx) {
    if (d.mss === null) return ctx.fail('-j TCPMSS needs --set-mss N or --clamp-mss-to-pmtu');
    return { kind: 'tcpmss', mss: d.mss };
  },
  // tcpmss_tg4_check/tg6_check: path-MTU clamping only in the FORWARD, LOCAL_OUT and POST_ROUTING hooks.
  chainsFor: (data) => (data.length >= 2 && get16(data, 0) === CLAMP_PMTU ? ['FORWARD', 'OUTPUT', 'POSTROUTING'] : undefined),
  ruleProblem: (_part, rule) =>
    hasSynMatch(rule.matches) ? null : 'TCPMSS needs a tcp match on SYN packets (--syn or --tcp-flags ... SYN; the kernel refuses it otherwise)',
  validate,
  render: (p) => ['-j', 'TCPMSS', ...(p.mss === 'clamp-to-pmtu' ? ['--clamp-mss-to-pmtu'] : ['--set-mss', String(p.mss)])],
  encode,
  decode,
  nftables: () => null,
};
