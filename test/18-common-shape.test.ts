// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The common-shape fast path of the parser (src/rule/common-shape.ts) gives exactly the rule
 * the full parser gives, or defers to it: on the real-rules corpus, every rule line of the
 * iptables .t cases, the fuzz generator's rules, and hand-picked edges; and right after a rule
 * of the same shape, which it reads by the value words alone. Pure, no kernel.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Transaction } from '../src/firewall';
import { packOps } from '../src/op-pack';
import { prepareOps } from '../src/op-slices';
import { parseCommonText, parseInFull, parseRule } from '../src/rule/parse';
import { TableShape } from '../src/table-shape';
import type { Family } from '../src/rule/types';
import { randomText, rng } from './helpers/fuzz-gen';
import { readCorpus } from './helpers/real-rules';

interface Tally {
  fast: number;
  /** Texts the full parser accepts. */
  accepted: number;
  total: number;
}

/** Checks one text both ways; counts whether the fast path answered. */
function same(text: string, family: Family, tally: Tally, where: string): void {
  tally.total++;
  const fast = parseCommonText(text, family);
  let full: unknown;
  try {
    full = parseInFull(text, family);
  } catch (e) {
    assert.is(fast, null, `${where}: the fast path took what the full parser refuses (${(e as Error).message}): ${text}`);
    // And parseRule, which tries the fast path first, refuses it with the full parser's error.
    assert.throws(() => parseRule(text, family), (x: Error) => x.message === (e as Error).message, `${where}: ${text}`);
    return;
  }
  tally.accepted++;
  if (fast === null) return;
  tally.fast++;
  assert.equal(fast, full, `${where}: ${text}`);
}

test('the real-rules corpus: identical rules, and the fast path takes a good share', () => {
  const tally = { fast: 0, accepted: 0, total: 0 };
  for (const e of readCorpus()) same(e.rule, e.family, tally, `rules.tsv:${e.line}`);
  assert.ok(tally.fast > 0, `fast path took ${tally.fast} of ${tally.total}`);
});

test('every rule of the iptables .t cases: identical (the fast path defers on their modules)', () => {
  const dir = join(__dirname, 'fixtures', 'iptables-t');
  const tally = { fast: 0, accepted: 0, total: 0 };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.t'))) {
    const family: Family = file.startsWith('libip6t_') ? 'ipv6' : 'ipv4';
    readFileSync(join(dir, file), 'utf8').split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(':') || line.startsWith('*')) return;
      same(line.split(';')[0] as string, family, tally, `${file}:${i + 1}`);
    });
  }
  assert.ok(tally.total > 100, `${tally.total} cases`);
});

test('20,000 fuzzed rules per family: identical, or refused alike', () => {
  for (const family of ['ipv4', 'ipv6'] as const) {
    const r = rng(family === 'ipv4' ? 1717 : 1718);
    const tally = { fast: 0, accepted: 0, total: 0 };
    for (let i = 0; i < 20000; i++) same(randomText(r, family), family, tally, `seed ${family} #${i}`);
    // The generator writes the common shape with edits (and module options): a good share of
    // what the full parser accepts must take the fast path.
    assert.ok(tally.fast * 4 > tally.accepted, `${family}: fast path took ${tally.fast} of the ${tally.accepted} accepted (${tally.total} drawn)`);
  }
});

test('edges: spellings the fast path takes and those it leaves to the full parser', () => {
  const tally = { fast: 0, accepted: 0, total: 0 };
  const texts = [
    '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT',
    // iptables-save's spelling of that rule (what fw.restore() reads from a saved table), and flag lists it is not
    '-p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable',
    '-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN --syn -j DROP',
    '-p tcp --tcp-flags SYN,RST,ACK,FIN SYN -j DROP',
    '-p tcp --tcp-flags FIN,SYN,RST,ACK SYN,ACK -j DROP',
    '-p tcp --tcp-flags FIN,SYN,RST,ACK -j DROP',
    '-p tcp --tcp-flags ALL SYN -j DROP',
    '-p udp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP',
    '-p tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j DROP',
    '-m connlimit --connlimit-above 1 -p tcp --tcp-flags FIN,SYN,RST,ACK SYN',
    '  -p tcp\t--dport 1024:2048 -j ACCEPT  ',
    '-m connlimit --connlimit-upto 5 --connlimit-mask 24 --connlimit-daddr -p tcp -m tcp --sport 1 -j DROP',
    '-m tcp -p tcp --dport 22 -j LIMITS',
    '-p udp --dport 53 -s 10.0.0.0/8 -d 0.0.0.0/0 -i eth+ -o + -j RETURN',
    '-p tcp -j REJECT --reject-with tcp-rst',
    '-p udp -j REJECT --reject-with tcp-reset',
    '-p tcp --dport 22 -m tcp -j DROP',
    '-p udp --syn -j DROP',
    '-m udp -p tcp --dport 1 -j DROP',
    '-p tcp --dport 22:1 -j DROP',
    '-p tcp --dport :22 -j DROP',
    '-p tcp --dport 022 -j DROP',
    '-p tcp --dport -j DROP',
    '-p tcp --dport=22 -j DROP',
    '-p tcp ! --dport 22 -j DROP',
    '-m connlimit --connlimit-mask 255.255.255.0 --connlimit-above 1',
    '-m connlimit --connlimit-mask 33 --connlimit-above 1',
    '-m connlimit --connlimit-saddr --connlimit-daddr --connlimit-above 1',
    '-j INPUT',
    '-p all -g LIMITS',
    '-p all -p tcp -j DROP',
    '-g ACCEPT',
    '-g INPUT',
    '-j accept',
    '-j LOG',
    '-j',
    '-i -x -j DROP',
    '-s ! 10.0.0.1',
    '',
    '-p\ttcp --dport 22 -j DROP',
    '-p tcp  --dport 22 -j DROP',
    '-p tcp --dport 22 -j "DROP"',
    "-p tcp --dport '22' -j DROP",
    '-i eth0;x -j DROP',
    '-j LIM$TS',
    '-j LIMITS\\',
    '-s 10.0.0.1\u000b -j DROP',
    `-p tcp ${' '.repeat(8200)} -j DROP`,
    '-p tcp --dport 22\t-j DROP',
    '-s 10.0.0.1\t-j DROP',
    '-i eth0\t-j DROP',
    '-j LIMITS\t',
    '-p tcp -m connlimit --connlimit-above 2\t-j DROP',
    '-m connlimit --connlimit-above 1 --connlimit-mask -1',
    '-p tcp --dport 1:2:3 -j DROP',
    '-p tcp --dport !22 -j DROP',
    '-p tcp --dport 22 !',
    '-j QUEUE',
    '-j RETURNX',
  ];
  for (const family of ['ipv4', 'ipv6'] as const) for (const t of texts) same(t, family, tally, 'edge');
  assert.ok(tally.fast >= 10, `fast path took ${tally.fast}`);
});

/**
 * Values the sibling test puts in place of a word: other good values of every kind the fast
 * path reads (ports, ranges, limits, masks, addresses, interfaces) and the spellings it must not take.
 */
const SIBLING_WORDS = [
  '1', '7', '65535', '65536', '0', '00', '1:2', '2:1', ':5', '5:', '!', '!5', '-x', '-5', '4294967295', '4294967296', '32', '33', '128', '129',
  '10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '10.0.0.1/33', '::1', '2001:db8::/32', '::/0', 'eth0', 'eth+', '+', 'a;b', '', '5 6', 'tcp', '--syn', '-j', 'DROP',
];

/** Each text the fast path takes, then (the shape it remembers) its siblings: every word in turn replaced by each of SIBLING_WORDS. */
function siblings(texts: readonly string[], family: Family, tally: Tally, where: string): void {
  for (const text of texts) {
    if (parseCommonText(text, family) === null) continue;
    const words = text.split(' ');
    for (let i = 0; i < words.length; i++) {
      for (const word of SIBLING_WORDS) {
        parseCommonText(text, family);
        same([...words.slice(0, i), word, ...words.slice(i + 1)].join(' '), family, tally, `${where}, word ${i} as '${word}'`);
      }
    }
  }
}

/** Rules of the common shape as iptables-save writes them (fw.restore() reads these from a saved table). */
const SAVED_SPELLINGS = [
  '-p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable',
  '-s 10.0.0.0/8 -i eth0 -p tcp -m tcp --sport 1024:65535 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-upto 5 --connlimit-mask 24 --connlimit-daddr -j DROP',
];

test('a rule of the shape read just before, with other words: identical, or refused alike', () => {
  const tally = { fast: 0, accepted: 0, total: 0 };
  for (const text of SAVED_SPELLINGS) assert.ok(parseCommonText(text, 'ipv4') !== null, `the fast path takes iptables-save's spelling: ${text}`);
  const corpus = readCorpus();
  for (const family of ['ipv4', 'ipv6'] as const) {
    siblings(corpus.filter((e) => e.family === family).map((e) => e.rule), family, tally, `rules.tsv (${family})`);
    const r = rng(family === 'ipv4' ? 2717 : 2718);
    siblings(Array.from({ length: 600 }, () => randomText(r, family)), family, tally, `fuzz ${family}`);
    siblings(SAVED_SPELLINGS, family, tally, `saved spellings (${family})`);
  }
  assert.ok(tally.fast > 1000, `fast path took ${tally.fast} of ${tally.total}`);
});

/**
 * A transaction's batch (src/firewall.ts Transaction.writeOp): a rule string of the shape of
 * the one written before it, into the same chain, is written as a copy of that one's bytes with
 * its own values, and must be byte for byte what packing its parsed rule gives. Each text the
 * fast path takes, then its siblings the full parser accepts (other values, and other shapes
 * between them), in one transaction.
 */
async function patchedEqualsPacked(texts: readonly string[], family: Family, where: string): Promise<number> {
  const shape = new TableShape(family, 'legacy', 'filter');
  const probe = new Transaction(shape);
  let compared = 0;
  for (const text of texts) {
    if (parseCommonText(text, family) === null) continue;
    const words = text.split(' ');
    const run = [text];
    for (let i = 0; i < words.length; i++) {
      for (const word of SIBLING_WORDS) {
        const sibling = [...words.slice(0, i), word, ...words.slice(i + 1)].join(' ');
        try {
          probe.appendOp('FORWARD', sibling);
          run.push(sibling, text);
        } catch {
          // refused: not part of a batch
        }
      }
    }
    const tx = new Transaction(shape);
    for (const t of run) tx.append('FORWARD', t);
    const batch = await prepareOps(family, tx.size, (i, out) => tx.writeOp(i, out));
    const want = packOps(family, run.map((t) => ({ op: 'append', chain: 'FORWARD', rule: parseRule(t, family) })));
    assert.equal(Buffer.from(batch).equals(Buffer.from(want)), true, `${where}: ${text} and its ${run.length - 1} siblings`);
    compared += run.length;
  }
  return compared;
}

test('a transaction of rule strings: copies of the rule of the same shape before, patched, are the bytes packing each rule gives', async () => {
  let compared = 0;
  const corpus = readCorpus();
  for (const family of ['ipv4', 'ipv6'] as const) {
    compared += await patchedEqualsPacked(corpus.filter((e) => e.family === family).map((e) => e.rule), family, `rules.tsv (${family})`);
    const r = rng(family === 'ipv4' ? 3717 : 3718);
    compared += await patchedEqualsPacked(Array.from({ length: 300 }, () => randomText(r, family)), family, `fuzz ${family}`);
  }
  assert.ok(compared > 5000, `${compared} rules compared`);
});

test('a transaction of rule strings: a refused rule among copies is refused as alone, naming its step', async () => {
  const shape = new TableShape('ipv4', 'legacy', 'filter');
  const tx = new Transaction(shape);
  for (let i = 0; i < 100; i++) tx.append('INPUT', `-p tcp --syn --dport ${i === 57 ? 65536 : 1000 + i} -m connlimit --connlimit-above 2 -j REJECT`);
  let alone: Error | undefined;
  try {
    parseRule('-p tcp --syn --dport 65536 -m connlimit --connlimit-above 2 -j REJECT', 'ipv4');
  } catch (e) {
    alone = e as Error;
  }
  const e = await prepareOps('ipv4', tx.size, (i, out) => tx.writeOp(i, out)).then(() => undefined, (x: Error) => x);
  assert.ok(alone && e, 'both refused');
  assert.is(e?.message, `${alone?.message} [transaction step 58 of 100: append INPUT]`);
});

test.run();
