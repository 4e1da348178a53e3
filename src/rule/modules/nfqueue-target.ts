// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j NFQUEUE`: `struct xt_NFQ_info_v3` (linux/netfilter/xt_NFQUEUE.h), revision 3, as iptables
 * 1.8.9's libxt_NFQUEUE writes it (NFQUEUE_parse_v3) and saves it (NFQUEUE_save_v3: always
 * `--queue-num N` or `--queue-balance A:B`, then `--queue-bypass`, `--queue-cpu-fanout`).
 * Layout: queuenum 0, queues_total 2, flags 4 (u16, host order; NFQ_FLAG_BYPASS 0x1,
 * NFQ_FLAG_CPU_FANOUT 0x2); 6 bytes, XT_ALIGNed to 8. The same blob on legacy and in
 * iptables-nft's compat `target` expression. The kernel takes it in any table and chain.
 *
 * Refused on the native nftables form, though iptables-translate 1.8.9 renders it (`queue num N
 * bypass`): `queue` is a verdict, and what the reader answers, accept, ends evaluation of our
 * chain only, as ACCEPT does there (docs/nft.md, "NFQUEUE on the native form").
 *
 * Stricter than the CLI: numbers are decimal (the CLI's strtoul also reads hex and octal).
 * `--fail-open` is not an iptables option (it is a flag the queue's reader sets over
 * nfnetlink_queue), so it is refused as unknown, as the CLI does.
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get16, has, isObject, own, put16 } from './values';

declare module '../types' {
  interface ModuleTargetParts {
    nfqueue: NfqueueTarget;
  }
}

/**
 * `-j NFQUEUE`: hand the packet to a userspace reader on nfnetlink_queue.
 *
 * @example { kind: 'nfqueue', queue: 3, bypass: true }
 * @example { kind: 'nfqueue', queue: { from: 0, to: 3 }, cpuFanout: true }
 */
export interface NfqueueTarget {
  kind: 'nfqueue';
  /**
   * `--queue-num N` (0-65535, default 0), or `--queue-balance FROM:TO` (FROM < TO ≤ 65534):
   * flows are spread over the queues of the range.
   */
  queue?: number | { from: number; to: number };
  /** `--queue-bypass`: accept the packet when no reader listens on the queue (else it is dropped). */
  bypass?: true;
  /** `--queue-cpu-fanout` (with a range only): pick the queue by CPU, not by a flow hash. */
  cpuFanout?: true;
}

const SIZE = 8;
const BYPASS = 0x1;
const CPU_FANOUT = 0x2;
const MAX_QUEUE = 0xffff;
// libxt_NFQUEUE's --queue-balance range tops out one below the largest queue number.
const MAX_BALANCE = 0xfffe;

type Queue = NonNullable<NfqueueTarget['queue']>;

function normalized(queue: Queue, bypass: boolean, cpuFanout: boolean): NfqueueTarget {
  const p: NfqueueTarget = { kind: 'nfqueue' };
  if (typeof queue !== 'number' || queue !== 0) p.queue = queue;
  if (bypass) p.bypass = true;
  if (cpuFanout) p.cpuFanout = true;
  return p;
}

/** Why a balance range can't be, or null. */
function rangeProblem(from: number, to: number): string | null {
  if (to > MAX_BALANCE) return `a --queue-balance range ends at ${MAX_BALANCE} at most, not ${to}`;
  if (from >= to) return `a --queue-balance range runs up: ${from} should be less than ${to} (one queue is --queue-num)`;
  return null;
}

interface Draft {
  queue: Queue | null;
  bypass: boolean;
  cpuFanout: boolean;
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  if (opt === '--queue-bypass') d.bypass = true;
  else if (opt === '--queue-cpu-fanout') d.cpuFanout = true;
  else {
    if (d.queue !== null) ctx.fail('NFQUEUE takes one of --queue-num, --queue-balance');
    const v = values[0]!;
    if (opt === '--queue-num') {
      const n = parseDecimal(v, MAX_QUEUE);
      if (n === null) ctx.fail(`${quote(v)} is not a queue number 0-${MAX_QUEUE}${numberHint(v)}`, 0);
      d.queue = n;
      return;
    }
    const m = /^(\d+):(\d+)$/.exec(v);
    const from = m ? parseDecimal(m[1]!, MAX_QUEUE) : null;
    const to = m ? parseDecimal(m[2]!, MAX_QUEUE) : null;
    if (from === null || to === null) ctx.fail(`${quote(v)} is not a queue range FROM:TO (decimal, 0-${MAX_BALANCE})`, 0);
    const p = rangeProblem(from, to);
    if (p) ctx.fail(p, 0);
    d.queue = { from, to };
  }
}

function finish(d: Draft, ctx: ParseContext): NfqueueTarget {
  if (d.cpuFanout && (d.queue === null || typeof d.queue === 'number')) ctx.fail('--queue-cpu-fanout needs --queue-balance FROM:TO');
  return normalized(d.queue ?? 0, d.bypass, d.cpuFanout);
}

const KEYS = new Set(['kind', 'queue', 'bypass', 'cpuFanout']);
const RANGE_KEYS = new Set(['from', 'to']);

function checkFlag(c: SpecChecker, o: Record<string, unknown>, key: string, path: string): boolean | undefined {
  if (!has(o, key)) return false;
  const v = own(o, key);
  if (v === true) return true;
  c.add(`${path}.${key}`, 'expected true (leave it out for false)');
  return undefined;
}

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): NfqueueTarget | undefined {
  c.keys(o, KEYS, path);
  let queue: Queue | undefined = 0;
  if (has(o, 'queue')) {
    const q = own(o, 'queue');
    if (isObject(q)) {
      c.keys(q, RANGE_KEYS, `${path}.queue`);
      const from = c.int(own(q, 'from'), `${path}.queue.from`, 0, MAX_BALANCE, 'a queue number');
      const to = c.int(own(q, 'to'), `${path}.queue.to`, 0, MAX_BALANCE, 'a queue number');
      const p = from === undefined || to === undefined ? null : rangeProblem(from, to);
      if (p) c.add(`${path}.queue`, p);
      queue = from === undefined || to === undefined || p ? undefined : { from, to };
    } else queue = c.int(q, `${path}.queue`, 0, MAX_QUEUE, 'a queue number or { from, to }');
  }
  const bypass = checkFlag(c, o, 'bypass', path);
  const cpuFanout = checkFlag(c, o, 'cpuFanout', path);
  if (cpuFanout && typeof queue === 'number') return c.add(`${path}.cpuFanout`, 'cpuFanout needs a queue range { from, to }');
  if (queue === undefined || bypass === undefined || cpuFanout === undefined) return undefined;
  return normalized(queue, bypass, cpuFanout);
}

function encode(p: NfqueueTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  const q = p.queue ?? 0;
  put16(b, 0, typeof q === 'number' ? q : q.from);
  put16(b, 2, typeof q === 'number' ? 1 : q.to - q.from + 1);
  put16(b, 4, (p.bypass ? BYPASS : 0) | (p.cpuFanout ? CPU_FANOUT : 0));
  return b;
}

function decode(d: Buffer, _family: Family): NfqueueTarget | null {
  if (d.length !== SIZE) return null;
  const num = get16(d, 0);
  const total = get16(d, 2);
  const flags = get16(d, 4);
  if (total === 0 || flags & ~(BYPASS | CPU_FANOUT)) return null;
  const to = num + total - 1;
  if (total > 1 && rangeProblem(num, to)) return null;
  if (flags & CPU_FANOUT && total === 1) return null;
  return normalized(total > 1 ? { from: num, to } : num, (flags & BYPASS) !== 0, (flags & CPU_FANOUT) !== 0);
}

function render(p: NfqueueTarget): string[] {
  const q = p.queue ?? 0;
  const out = ['-j', 'NFQUEUE', ...(typeof q === 'number' ? ['--queue-num', String(q)] : ['--queue-balance', `${q.from}:${q.to}`])];
  if (p.bypass) out.push('--queue-bypass');
  if (p.cpuFanout) out.push('--queue-cpu-fanout');
  return out;
}

export const nfqueueTarget: CompatModule<NfqueueTarget, Draft> = {
  name: 'NFQUEUE',
  kind: 'nfqueue',
  type: 'target',
  xtName: 'NFQUEUE',
  revision: 3,
  families: ['ipv4', 'ipv6'],
  options: [
    { name: '--queue-num', args: 1, invertible: false },
    { name: '--queue-balance', args: 1, invertible: false },
    { name: '--queue-bypass', args: 0, invertible: false },
    { name: '--queue-cpu-fanout', args: 0, invertible: false },
  ],
  start: () => ({ queue: null, bypass: false, cpuFanout: false, seen: new Set() }),
  option,
  finish,
  validate,
  render,
  encode,
  decode,
  nftables: () =>
    "the reader's accept would end evaluation of our table only, as -j ACCEPT does there: the iptables table's rules would still see the packet they skip after an NFQUEUE of theirs",
};
