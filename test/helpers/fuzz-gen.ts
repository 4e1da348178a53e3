// SPDX-License-Identifier: GPL-2.0-or-later
// Seeded generators of random rules for the fuzz loops (test/70-hostile-input.test.ts, short;
// scripts/fuzz.mjs, long). Same seed, same sequence: a failure is reproduced by its seed and
// iteration number. Values are drawn from pools mixing valid, edge and hostile ones, so a good
// share of the draws passes validation and reaches the kernel in the sampled apply step.
import type { Family, RuleSpec } from '../../src/index';

/** mulberry32: small, fast, good enough to spread draws; not for secrets. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const chance = (r: Rand, p: number) => r() < p;

const NUMBERS = [0, 1, 2, 22, 80, 255, 256, 1024, 65535, 65536, -1, 1.5, NaN, Infinity, -0, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 1e21] as const;
const WEIRD = [null, undefined, '', '22', true, [], {}, 22n, Symbol.iterator, () => 1] as const;
const STRINGS = ['x', 'web', 'a b', "it's", '"q"', '\\', 'a\nb', 'a\0b', '$(id)', '`id`', ';reboot', '|cat', '&&', '>f', 'x'.repeat(255), 'x'.repeat(256), 'é', '😀'.repeat(64), '\u202e', '-j', '--', '!'];
const V4 = ['10.0.0.1', '10.0.0.0/8', '192.168.1.1/24', '0.0.0.0/0', '10.0.0.1/32', '10.0.0.1/33', '10.0.0.1/-1', '10.0.0.1/1.5', '256.1.1.1', '10.0.0', '10.0.0.1/255.255.0.0', '10.0.0.1/255.0.255.0', 'host.example'];
const V6 = ['::1', '2001:db8::1', '2001:db8::/32', '::/0', '2001:db8::1/128', '2001:db8::1/129', 'fe80::1%lo', '::ffff:10.0.0.1', '2001:db8:::1', ':::'];
const IFACES = ['lo', 'eth0', 'eth+', 'veth-a', 'x'.repeat(15), 'x'.repeat(16), 'a b', 'a/b', '+', '', 'lo\0'];
const PROTOCOLS = ['tcp', 'udp', 'icmp', 'ipv6-icmp', 'all', 'sctp', 'TCP', 'bogus', 6, 17, 0, 255, 256, -1, 1.5];
const FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ALL', 'NONE', 'syn', 'BOGUS'];
const REJECTS = ['icmp-port-unreachable', 'icmp-host-prohibited', 'tcp-reset', 'icmp6-no-route', 'icmp6-adm-prohibited', 'icmp6-port-unreachable', 'icmp-echo-reply', 'bogus'];
const CHAINS = ['LIMITS', 'INPUT', 'ACCEPT', 'NOPE', 'x'.repeat(28), 'x'.repeat(29), 'a b', '-X', ''];
/** The ipset sets (hash:ip, one per family) a valid `-j SET` draw names. */
export const FUZZ_SETS: Readonly<Record<Family, string>> = { ipv4: 'fz4', ipv6: 'fz6' };
/**
 * `-j SET`'s set and directions: mostly the family's own set (the fuzz test makes `fz4`/`fz6` in
 * its namespace, so a valid draw reaches the kernel), else names and directions to refuse.
 */
const setName = (r: Rand, family: Family) => (chance(r, 0.8) ? FUZZ_SETS[family] : pick(r, ['s'.repeat(32), 'é', 'a b', '', FUZZ_SETS[family === 'ipv4' ? 'ipv6' : 'ipv4']]));
const setDirs = (r: Rand) => (chance(r, 0.85) ? pick(r, ['src', 'dst', 'src,dst']) : pick(r, ['src,src,src,src,src,src,src', 'source', '', 'src,']));

function neg<T>(r: Rand, v: T): T | { not: T } {
  return chance(r, 0.15) ? { not: v } : v;
}

function anyValue(r: Rand): unknown {
  const k = r();
  if (k < 0.4) return pick(r, NUMBERS);
  if (k < 0.7) return pick(r, STRINGS);
  return pick(r, WEIRD);
}

function port(r: Rand): unknown {
  if (chance(r, 0.1)) return anyValue(r);
  if (chance(r, 0.25)) return { from: pick(r, NUMBERS), to: pick(r, NUMBERS) };
  return pick(r, [22, 80, 443, 0, 65535, 1024, 65536, -1, 1.5]);
}

/** Typed compat-module matches, each field from a pool of valid and out-of-range values. */
const TYPED_MATCHES: ReadonlyArray<(r: Rand) => Record<string, unknown>> = [
  (r) => ({ kind: 'limit', rate: pick(r, [1, 25, 0, 10001, 1.5]), per: pick(r, ['second', 'minute', 'day', 'week']), burst: pick(r, [5, 100, 0, 10001]) }),
  (r) => ({ kind: 'state', state: pick(r, [['NEW'], ['RELATED', 'ESTABLISHED'], ['BOGUS'], [], 'NEW']) }),
  (r) => ({ kind: 'recent', command: pick(r, ['set', 'rcheck', 'update', 'bogus']), name: pick(r, ['fz', 'x'.repeat(200), 'a\0b', 'a/b']) }),
  (r) => ({ kind: 'hashlimit', rate: pick(r, ['5/second', '0/second', '1/week', 5]), name: pick(r, ['fz', 'x'.repeat(255)]), mode: pick(r, [['srcip'], ['srcmac'], []]) }),
  (r) => ({ kind: 'mark', mark: pick(r, [1, 0x10, 2 ** 32, -1, 1.5]), ...(chance(r, 0.5) ? { mask: pick(r, [0xff, 2 ** 32]) } : {}) }),
  (r) => ({ kind: 'multiport', dports: pick(r, [[80, 443], Array.from({ length: 16 }, (_, i) => i + 1), [65536], []]) }),
];

/** Typed compat-module targets the filter table takes, the same way. */
const TYPED_TARGETS: ReadonlyArray<(r: Rand, family: Family) => Record<string, unknown>> = [
  (r) => ({ kind: 'log', prefix: pick(r, ['fz: ', 'a\0b', 'x'.repeat(30), '']), ...(chance(r, 0.5) ? { level: pick(r, [4, 7, 8, 'info', 'loud']) } : {}) }),
  (r) => ({ kind: 'nflog', group: pick(r, [1, 65535, 65536, -1]) }),
  (r) => ({ kind: 'mark', value: pick(r, [1, 2 ** 32, -1]) }),
  (r) => ({ kind: 'nfqueue', queue: pick(r, [3, 65535, 65536, { from: 0, to: 3 }, { from: 3, to: 0 }, { from: 0, to: 65535 }]), ...(chance(r, 0.5) ? { bypass: pick(r, [true, false]) } : {}) }),
  (r) => ({ kind: 'synproxy', ...(chance(r, 0.7) ? { mss: pick(r, [1460, 65535, 65536]) } : {}), ...(chance(r, 0.6) ? { wscale: pick(r, [7, 14, 15]) } : {}), ...(chance(r, 0.5) ? { sackPerm: pick(r, [true, 1]) } : {}) }),
  (r) => ({ kind: 'tcpmss', mss: pick(r, [1400, 65495, 65516, 'clamp-to-pmtu', -1]) }),
  // --map-set is left out: the kernel takes it only in mangle, and the fuzz writes to filter.
  (r, family) => {
    const ref = () => ({ set: setName(r, family), dirs: chance(r, 0.85) ? setDirs(r).split(',') : pick(r, [[], Array(7).fill('src'), 'src', ['source']]) });
    const add = { ...ref(), ...(chance(r, 0.3) ? { exist: pick(r, [true, true, false]) } : {}), ...(chance(r, 0.4) ? { timeout: pick(r, [600, 0, 2 ** 32 - 2, 2 ** 32 - 1, -1, 1.5]) } : {}) };
    const which = r();
    return which < 0.5 ? { kind: 'set', add } : which < 0.8 ? { kind: 'set', del: ref() } : { kind: 'set', add, del: ref() };
  },
];

/** A random typed rule; about a third pass validation. `opaque` adds unmodelled matches/targets. */
export function randomSpec(r: Rand, family: Family, opaque = true): RuleSpec {
  const s: Record<string, unknown> = {};
  const tcpish = chance(r, 0.6);
  if (tcpish) s.protocol = neg(r, pick(r, ['tcp', 'udp', 'tcp', 6] as const));
  else if (chance(r, 0.3)) s.protocol = neg(r, pick(r, PROTOCOLS));
  const addr = () => (chance(r, 0.8) ? pick(r, family === 'ipv4' ? V4 : V6) : pick(r, family === 'ipv4' ? V6 : V4));
  if (chance(r, 0.3)) s.source = neg(r, addr());
  if (chance(r, 0.2)) s.destination = neg(r, addr());
  if (chance(r, 0.15)) s.inInterface = neg(r, pick(r, IFACES));
  if (chance(r, 0.05)) s.outInterface = neg(r, pick(r, IFACES));
  if (chance(r, 0.05)) s.fragment = chance(r, 0.5);
  if (chance(r, 0.3)) s.sport = neg(r, port(r));
  if (chance(r, 0.5)) s.dport = neg(r, port(r));
  if (chance(r, 0.3)) s.syn = chance(r, 0.9) ? chance(r, 0.8) : anyValue(r);
  else if (chance(r, 0.1)) {
    const list = () => Array.from({ length: Math.floor(r() * 3) }, () => pick(r, FLAGS));
    s.tcpFlags = neg(r, { mask: list(), set: list() });
  }
  if (chance(r, 0.05)) s.tcpOption = neg(r, pick(r, [1, 2, 8, 255, 256, 0, -1]));
  if (chance(r, 0.7)) {
    const c: Record<string, unknown> = { kind: pick(r, ['above', 'upTo', 'above', 'over']), count: chance(r, 0.85) ? Math.floor(r() * 100) : pick(r, NUMBERS) };
    if (chance(r, 0.5)) c.maskBits = chance(r, 0.85) ? Math.floor(r() * (family === 'ipv4' ? 33 : 129)) : pick(r, [33, 129, -1, 1.5, NaN]);
    if (chance(r, 0.3)) c.key = pick(r, ['source', 'destination', 'both']);
    if (chance(r, 0.03)) c.extra = 1;
    s.connlimit = c;
  }
  if (chance(r, 0.3)) s.comment = chance(r, 0.7) ? `fz-${Math.floor(r() * 1e6)}` : pick(r, STRINGS);
  if (opaque && chance(r, 0.05)) {
    s.matches = [{ kind: 'opaque', name: pick(r, ['mark', 'x'.repeat(29), '', 'nosuch']), revision: pick(r, [0, 1, 256, -1]), data: new Uint8Array(pick(r, [0, 8, 16, 3, 65504])) }];
  }
  if (chance(r, 0.15)) s.matches = [...((s.matches as unknown[] | undefined) ?? []), pick(r, TYPED_MATCHES)(r)];
  const t = r();
  if (t < 0.15) s.target = { kind: 'accept' };
  else if (t < 0.3) s.target = { kind: 'drop' };
  else if (t < 0.35) s.target = { kind: 'return' };
  else if (t < 0.6) s.target = chance(r, 0.5) ? { kind: 'reject' } : { kind: 'reject', with: pick(r, REJECTS) };
  else if (t < 0.7) s.target = { kind: pick(r, ['jump', 'goto'] as const), chain: pick(r, CHAINS) };
  else if (t < 0.73) s.target = anyValue(r);
  else if (opaque && t < 0.75) s.target = { kind: 'opaque', name: 'MARK', revision: 2, data: new Uint8Array(8) };
  else if (t >= 0.75 && t < 0.85) s.target = pick(r, TYPED_TARGETS)(r, family);
  if (chance(r, 0.02)) s[pick(r, ['__proto__', 'constructor', 'prototype', 'bogus'])] = { target: { kind: 'drop' } };
  return s as RuleSpec;
}

const OPTION_WORDS = [
  '-p', '!', '-s', '-d', '-i', '-o', '-f', '--dport', '--sport', '--syn', '--tcp-flags', '--tcp-option', '-m', 'tcp', 'udp', 'connlimit', 'comment',
  '--connlimit-above', '--connlimit-upto', '--connlimit-mask', '--connlimit-saddr', '--connlimit-daddr', '--comment', '-j', '-g', 'ACCEPT', 'DROP',
  'REJECT', 'RETURN', 'LIMITS', '--reject-with', '-A', '-I', '-m', 'multiport', '--dports', '--frobnicate', '-x', '--', '"', "'", '\\', ';', '|',
  '&&', '$(id)', '\0', '\n', '#',
];

const num = (r: Rand, xs: readonly number[]) => String(pick(r, xs));
const maybe = (r: Rand, p: number, words: string[]) => (chance(r, p) ? words : []);

/**
 * Compat-module matches with values from pools of valid, edge and out-of-range ones (unknown
 * states, rates and bursts out of range, 16 ports, huge names, NUL in prefixes, marks over 32 bits).
 */
const MATCH_FRAGMENTS: ReadonlyArray<(r: Rand) => string[]> = [
  (r) => ['-m', 'state', '--state', pick(r, ['NEW', 'ESTABLISHED,RELATED', 'INVALID', 'NEW,BOGUS', 'new', 'NEW,'])],
  (r) => ['-m', 'conntrack', '--ctstate', pick(r, ['NEW', 'RELATED,ESTABLISHED', 'UNTRACKED', 'DNAT', 'NEWISH']), ...maybe(r, 0.3, ['--ctdir', pick(r, ['ORIGINAL', 'REPLY', 'UP'])])],
  (r) => ['-m', 'limit', '--limit', pick(r, ['1/s', '25/minute', '3/hour', '0/s', '10001/second', '1/week']), ...maybe(r, 0.6, ['--limit-burst', num(r, [1, 5, 100, 0, 10001, -1])])],
  (r) => [
    '-m', 'recent', pick(r, ['--set', '--update', '--rcheck', '--remove']), '--name', pick(r, ['SSH', 'fz', 'x'.repeat(200), 'a/b']),
    ...maybe(r, 0.5, ['--seconds', num(r, [60, 1, 0, 2 ** 32])]), ...maybe(r, 0.4, ['--hitcount', num(r, [4, 255, 0, 256])]),
  ],
  (r) => [
    '-m', 'hashlimit', '--hashlimit-upto', pick(r, ['1/sec', '50/min', '0/sec', '1000001/sec', '1/week']), '--hashlimit-burst', num(r, [1, 5, 0, 1000001]),
    '--hashlimit-mode', pick(r, ['srcip', 'srcip,dstport', 'srcmac', 'dstip,dstip']), '--hashlimit-name', pick(r, ['fz', 'x'.repeat(255), 'a b']),
  ],
  (r) => ['-m', 'mark', '--mark', pick(r, ['0x1', '0x1/0xff', '4294967295', '4294967296', '0x100000000', '1/2/3'])],
  (r) => ['-m', 'multiport', '--dports', pick(r, ['80,443', '1:1024,2000', Array.from({ length: 16 }, (_, i) => i + 1).join(','), '80,', '65536'])],
  (r) => ['-m', 'time', '--timestart', pick(r, ['08:00', '23:59:59', '24:00', '7']), ...maybe(r, 0.5, ['--weekdays', pick(r, ['Mon,Fri', 'Mo', 'Sun,Sun'])])],
];

/** Compat-module targets the filter table takes, with the same kind of value pools. */
const TARGET_FRAGMENTS: ReadonlyArray<(r: Rand, family: Family) => string[]> = [
  (r) => ['-j', 'LOG', '--log-prefix', JSON.stringify(pick(r, ['fz: ', 'x'.repeat(30), 'a\0b', 'é'])), ...maybe(r, 0.5, ['--log-level', num(r, [4, 7, 8, -1])])],
  (r) => ['-j', 'NFLOG', '--nflog-group', num(r, [1, 65535, 65536]), ...maybe(r, 0.5, ['--nflog-prefix', JSON.stringify(pick(r, ['fz', 'x'.repeat(64), 'a\nb']))])],
  (r) => ['-j', 'MARK', pick(r, ['--set-mark', '--or-mark', '--set-xmark']), pick(r, ['0x1', '0x1/0xff', '4294967296', '-1'])],
  (r) => ['-j', 'CONNMARK', ...pick(r, [['--save-mark'], ['--restore-mark', '--mask', '0xff'], ['--set-mark', pick(r, ['1', '4294967296'])]])],
  (r) => [
    '-j', 'NFQUEUE', ...pick(r, [['--queue-num', num(r, [0, 1, 65535, 65536])], ['--queue-balance', pick(r, ['0:3', '3:0', '0:65535', '2:2'])], []]),
    ...maybe(r, 0.5, ['--queue-bypass']), ...maybe(r, 0.2, ['--queue-cpu-fanout']),
  ],
  (r) => ['-j', 'SYNPROXY', ...maybe(r, 0.7, ['--mss', num(r, [1460, 0, 65535, 65536])]), ...maybe(r, 0.6, ['--wscale', num(r, [7, 14, 15])]), ...maybe(r, 0.5, ['--sack-perm', '--timestamp'])],
  (r) => ['-j', 'TCPMSS', '--set-mss', num(r, [536, 1400, 65495, 65516])],
  (r, family) => [
    '-j', 'SET', ...pick(r, [['--add-set'], ['--del-set'], ['--add-set'], ['--add-set'], []]), setName(r, family), setDirs(r),
    ...maybe(r, 0.3, ['--exist']), ...maybe(r, 0.3, ['--timeout', num(r, [600, 0, 4294967294, 4294967295, -1])]),
    ...maybe(r, 0.1, ['--map-set', FUZZ_SETS[family], 'src', ...maybe(r, 0.5, ['--map-mark'])]),
  ],
];

/** A random iptables-syntax rule: a valid skeleton, then random token edits. */
export function randomText(r: Rand, family: Family): string {
  const tokens: string[] = [];
  const proto = pick(r, ['tcp', 'udp', 'tcp', 'icmp', 'all']);
  if (chance(r, 0.8)) tokens.push(...(chance(r, 0.1) ? ['!', '-p', proto] : ['-p', proto]));
  if (chance(r, 0.3)) tokens.push(pick(r, ['-s', '-d']), pick(r, family === 'ipv4' ? V4 : V6));
  if (chance(r, 0.1)) tokens.push('-i', pick(r, IFACES));
  if (chance(r, 0.3)) tokens.push('--syn');
  if (chance(r, 0.6)) tokens.push('--dport', String(pick(r, [22, 80, 443, 65535, 65536, '1:1024', '1024:1', '22,23', -1])));
  if (chance(r, 0.7)) {
    tokens.push('-m', 'connlimit', chance(r, 0.1) ? '!' : '', pick(r, ['--connlimit-above', '--connlimit-upto']), String(chance(r, 0.9) ? Math.floor(r() * 50) : pick(r, NUMBERS)));
    if (chance(r, 0.4)) tokens.push('--connlimit-mask', String(Math.floor(r() * (family === 'ipv4' ? 34 : 130))));
    if (chance(r, 0.2)) tokens.push(pick(r, ['--connlimit-saddr', '--connlimit-daddr']));
  }
  if (chance(r, 0.2)) tokens.push('-m', 'comment', '--comment', JSON.stringify(chance(r, 0.7) ? `fz-${Math.floor(r() * 1e6)}` : pick(r, STRINGS)));
  if (chance(r, 0.3)) tokens.push(...pick(r, MATCH_FRAGMENTS)(r));
  if (chance(r, 0.2)) tokens.push(...pick(r, TARGET_FRAGMENTS)(r, family));
  else if (chance(r, 0.8)) {
    const t = pick(r, ['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'LIMITS', 'NOPE', 'INPUT']);
    tokens.push(chance(r, 0.05) ? '-g' : '-j', t);
    if (t === 'REJECT' && chance(r, 0.5)) tokens.push('--reject-with', pick(r, REJECTS));
  }
  const edits = Math.floor(r() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * (tokens.length + 1));
    const e = r();
    if (e < 0.4) tokens.splice(at, 0, pick(r, OPTION_WORDS));
    else if (e < 0.7) tokens.splice(at, 1);
    else if (tokens.length) tokens[at % tokens.length] = String(anyValue(r) as string);
  }
  return tokens.filter((t) => t !== '').join(' ');
}
