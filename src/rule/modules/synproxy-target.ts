// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j SYNPROXY`: `struct xt_synproxy_info` (linux/netfilter/xt_SYNPROXY.h, nf_synproxy.h),
 * revision 0, as iptables 1.8.9's libxt_SYNPROXY writes it (SYNPROXY_parse) and saves it
 * (SYNPROXY_save: `--sack-perm --timestamp --wscale N --mss N --ecn`, in that order).
 * Layout: options 0 (u8: MSS 0x01, WSCALE 0x02, SACK_PERM 0x04, TIMESTAMP 0x08, ECN 0x10),
 * wscale 1 (u8), mss 2 (u16, host order); 4 bytes, XT_ALIGNed to 8. The same blob on legacy and
 * in iptables-nft's compat `target` expression. The kernel (synproxy_tg4_check/tg6_check) takes
 * it only with `-p tcp` and only in INPUT and FORWARD (LOCAL_IN, FORWARD hooks).
 *
 * Stricter than the CLI: `--wscale` is 0-14 (RFC 7323's largest shift; the CLI keeps the low 8
 * bits of any 32-bit number) and `--mss` 0-65535 (the CLI keeps the low 16 bits); numbers are decimal.
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get16, has, own, put16 } from './values';

declare module '../types' {
  interface ModuleTargetParts {
    synproxy: SynproxyTarget;
  }
}

/**
 * `-j SYNPROXY`: answer a SYN with a SYN cookie and open the connection to the server only
 * once the client's handshake completes; the TCP options it announces to the client.
 *
 * @example { kind: 'synproxy', sackPerm: true, timestamp: true, wscale: 7, mss: 1460 }
 */
export interface SynproxyTarget {
  kind: 'synproxy';
  /** `--sack-perm`: announce selective acknowledgements. */
  sackPerm?: true;
  /** `--timestamp`: announce timestamps. */
  timestamp?: true;
  /** `--wscale`: the window scale, 0-14. */
  wscale?: number;
  /** `--mss`: the maximum segment size, 0-65535. */
  mss?: number;
  /** `--ecn`: announce explicit congestion notification. */
  ecn?: true;
}

const SIZE = 8;
const OPT_MSS = 0x01;
const OPT_WSCALE = 0x02;
const OPT_SACK_PERM = 0x04;
const OPT_TIMESTAMP = 0x08;
const OPT_ECN = 0x10;
const MAX_WSCALE = 14;
const MAX_MSS = 0xffff;

/** The flag options: their part key and bit. */
const FLAGS: ReadonlyArray<readonly [string, 'sackPerm' | 'timestamp' | 'ecn', number]> = [
  ['--sack-perm', 'sackPerm', OPT_SACK_PERM],
  ['--timestamp', 'timestamp', OPT_TIMESTAMP],
  ['--ecn', 'ecn', OPT_ECN],
];

type Draft = Omit<SynproxyTarget, 'kind'> & { seen: Set<string> };

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  const flag = FLAGS.find(([name]) => name === opt);
  if (flag) {
    d[flag[1]] = true;
    return;
  }
  const v = values[0]!;
  const max = opt === '--wscale' ? MAX_WSCALE : MAX_MSS;
  const n = parseDecimal(v, max);
  if (n === null) ctx.fail(`${quote(v)} is not a ${opt.slice(2)} 0-${max}${numberHint(v)}`, 0);
  if (opt === '--wscale') d.wscale = n;
  else d.mss = n;
}

function normalized(d: Omit<SynproxyTarget, 'kind'>): SynproxyTarget {
  const p: SynproxyTarget = { kind: 'synproxy' };
  if (d.sackPerm) p.sackPerm = true;
  if (d.timestamp) p.timestamp = true;
  if (d.wscale !== undefined) p.wscale = d.wscale;
  if (d.mss !== undefined) p.mss = d.mss;
  if (d.ecn) p.ecn = true;
  return p;
}

const KEYS = new Set(['kind', 'sackPerm', 'timestamp', 'wscale', 'mss', 'ecn']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): SynproxyTarget | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  const d: Omit<SynproxyTarget, 'kind'> = {};
  for (const [, key] of FLAGS) {
    if (!has(o, key)) continue;
    if (own(o, key) === true) d[key] = true;
    else ok = c.add(`${path}.${key}`, 'expected true (leave it out for false)') ?? false;
  }
  if (has(o, 'wscale')) {
    d.wscale = c.int(own(o, 'wscale'), `${path}.wscale`, 0, MAX_WSCALE, 'a window scale');
    ok &&= d.wscale !== undefined;
  }
  if (has(o, 'mss')) {
    d.mss = c.int(own(o, 'mss'), `${path}.mss`, 0, MAX_MSS, 'an MSS');
    ok &&= d.mss !== undefined;
  }
  return ok ? normalized(d) : undefined;
}

function encode(p: SynproxyTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  let options = 0;
  for (const [, key, bit] of FLAGS) if (p[key]) options |= bit;
  if (p.wscale !== undefined) options |= OPT_WSCALE;
  if (p.mss !== undefined) options |= OPT_MSS;
  b[0] = options;
  b[1] = p.wscale ?? 0;
  put16(b, 2, p.mss ?? 0);
  return b;
}

function decode(d: Buffer, _family: Family): SynproxyTarget | null {
  if (d.length !== SIZE) return null;
  const options = d[0]!;
  if (options & ~(OPT_MSS | OPT_WSCALE | OPT_SACK_PERM | OPT_TIMESTAMP | OPT_ECN) || d[1]! > MAX_WSCALE) return null;
  const part: Omit<SynproxyTarget, 'kind'> = {};
  for (const [, key, bit] of FLAGS) if (options & bit) part[key] = true;
  if (options & OPT_WSCALE) part.wscale = d[1]!;
  if (options & OPT_MSS) part.mss = get16(d, 2);
  return normalized(part);
}

function render(p: SynproxyTarget): string[] {
  const out = ['-j', 'SYNPROXY'];
  if (p.sackPerm) out.push('--sack-perm');
  if (p.timestamp) out.push('--timestamp');
  if (p.wscale !== undefined) out.push('--wscale', String(p.wscale));
  if (p.mss !== undefined) out.push('--mss', String(p.mss));
  if (p.ecn) out.push('--ecn');
  return out;
}

export const synproxyTarget: CompatModule<SynproxyTarget, Draft> = {
  name: 'SYNPROXY',
  kind: 'synproxy',
  type: 'target',
  xtName: 'SYNPROXY',
  revision: 0,
  families: ['ipv4', 'ipv6'],
  protocols: [6],
  chains: ['INPUT', 'FORWARD'],
  options: [
    ...FLAGS.map(([name]) => ({ name, args: 0 as const, invertible: false })),
    { name: '--wscale', args: 1, invertible: false },
    { name: '--mss', args: 1, invertible: false },
  ],
  start: () => ({ seen: new Set() }),
  option,
  finish: (d) => normalized(d),
  validate,
  render,
  encode,
  decode,
};
