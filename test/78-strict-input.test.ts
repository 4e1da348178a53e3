// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 7: input the library must refuse rather than read loosely, each time with
// ERR_CONNLIMIT_INVALID and the kernel untouched (read back with *-save -c and conntrack -L):
// typed rules whose fields a prototype supplies (a reader of own keys would write the rule
// without them: a connlimit match with no target, limiting nothing), flush/zero given an
// explicit undefined or null (a missing configuration value must not empty the table), a
// transaction given no function, over-long rule text and paths. And a polluted Object.prototype changes
// nothing the native side writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Conntrack, Firewall, type Backend, type RuleInput } from '../src/index';
import { MAX_RULE_CHARS } from '../src/rule/names';
import { createNetns, withNetns, type Netns } from './helpers/netns';

const SAVE: Record<'legacy' | 'nft', string> = { legacy: 'iptables-legacy-save', nft: 'iptables-nft-save' };
const RESTORE: Record<'legacy' | 'nft', string> = { legacy: 'iptables-legacy-restore', nft: 'iptables-nft-restore' };

/** The filter table with its counters, as the CLI prints it (comment lines dropped). */
async function table(ns: Netns, backend: 'legacy' | 'nft'): Promise<string> {
  const out = (await ns.run(SAVE[backend], ['-c', '-t', 'filter'])).stdout;
  return out.split('\n').filter((l) => !l.startsWith('#')).join('\n');
}

/** Rules in two chains, with counters that zero() would reset and rules flush() would remove. */
const FIXTURE = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':LIMITS - [0:0]',
  '[5:300] -A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with tcp-reset',
  '[7:420] -A LIMITS -j RETURN',
  'COMMIT',
  '',
].join('\n');

async function outcome(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    const err = e as { code?: unknown; name?: string; message?: string };
    return typeof err.code === 'string' ? err.code : `${err.name}: ${err.message}`;
  }
}

class Limits {
  get connlimit() {
    return { kind: 'above', count: 2 };
  }
  get target() {
    return { kind: 'drop' };
  }
}
class DropTarget {
  kind = 'drop';
}

/** Each of these is a connlimit rule with a target, as its author meant it; read by own keys, the target (or more) is lost. */
const INHERITED: Array<[string, () => unknown]> = [
  ['Object.create({ target })', () => Object.assign(Object.create({ target: { kind: 'drop' } }), { protocol: 'tcp', dport: 22, connlimit: { kind: 'above', count: 2 } })],
  ['a class with getters', () => new Limits()],
  ['target a class instance', () => ({ connlimit: { kind: 'above', count: 2 }, target: new DropTarget() })],
  ['connlimit from a prototype', () => ({ connlimit: Object.create({ kind: 'above', count: 2 }), target: { kind: 'drop' } })],
  ['tcpFlags from a prototype', () => ({ protocol: 'tcp', tcpFlags: Object.create({ mask: ['SYN'], set: ['SYN'] }), connlimit: { kind: 'above', count: 2 }, target: { kind: 'drop' } })],
];

const RULE_CALLS: Array<[string, (fw: Firewall, rule: RuleInput) => unknown]> = [
  ['append', (fw, r) => fw.append('INPUT', r)],
  ['insert', (fw, r) => fw.insert('INPUT', 1, r)],
  ['replace', (fw, r) => fw.replace('INPUT', 1, r)],
  ['ensure', (fw, r) => fw.ensure('INPUT', r)],
  ['delete', (fw, r) => fw.delete('INPUT', r)],
  ['check', (fw, r) => fw.check('INPUT', r)],
  ['tx.append after a good op', (fw, r) => fw.transaction((tx) => void tx.append('LIMITS', '-j DROP').append('INPUT', r))],
];

const EVERYTHING_CALLS: Array<[string, (fw: Firewall) => unknown]> = [
  ['flush(undefined)', (fw) => fw.flush(undefined as never)],
  ['flush(null)', (fw) => fw.flush(null as never)],
  ['zero(undefined)', (fw) => fw.zero(undefined as never)],
  ['zero(null)', (fw) => fw.zero(null as never)],
  ['tx.flush(undefined)', (fw) => fw.transaction((tx) => void tx.flush(undefined as never))],
  ['tx.zero(null)', (fw) => fw.transaction((tx) => void tx.zero(null as never))],
  ['tx.flush(config.chain) after a good op', (fw) => fw.transaction((tx) => void tx.append('LIMITS', '-j DROP').flush(({} as { chain: string }).chain))],
  ["transaction('x')", (fw) => fw.transaction('x' as never)],
  ['transaction(null)', (fw) => fw.transaction(null as never)],
  ['transaction({})', (fw) => fw.transaction({} as never)],
  ['rule text of MAX_RULE_CHARS + 1', (fw) => fw.append('INPUT', `-j DROP${' '.repeat(MAX_RULE_CHARS - 6)}`)],
  ['rule text of 10 MB', (fw) => fw.append('INPUT', `-p tcp ${'--dport 22 '.repeat(1_000_000)}`)],
];

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: inherited fields, explicit undefined for "every chain", no function, over-long text: ERR_CONNLIMIT_INVALID, table and counters unchanged`, () =>
    withNetns(async (ns) => {
      await ns.run(RESTORE[backend], ['-c'], { input: FIXTURE });
      const before = await table(ns, backend);
      assert.match(before, /\[5:300\] -A INPUT/);
      const fw = await Firewall.open({ netns: ns.name, backend: backend as Backend });
      const wrong: string[] = [];
      for (const [label, make] of INHERITED) {
        for (const [call, fn] of RULE_CALLS) {
          const got = await outcome(() => fn(fw, make() as RuleInput));
          if (got !== 'ERR_CONNLIMIT_INVALID') wrong.push(`${call}(${label}): ${got}`);
        }
      }
      for (const [label, fn] of EVERYTHING_CALLS) {
        const got = await outcome(() => fn(fw));
        if (got !== 'ERR_CONNLIMIT_INVALID') wrong.push(`${label}: ${got}`);
      }
      assert.equal(wrong, [], `not refused as ERR_CONNLIMIT_INVALID:\n${wrong.join('\n')}`);
      assert.is(await table(ns, backend), before, 'the table or its counters changed');

      // The call forms for "every chain" still work: no argument at all.
      await fw.zero();
      assert.match(await table(ns, backend), /\[0:0\] -A INPUT .*\n\[0:0\] -A LIMITS -j RETURN/);
      await fw.flush();
      assert.equal(await fw.list(), []);
      await fw.close();
    }));
}

test('a polluted Object.prototype changes nothing the native side writes: typed and text rules save as iptables-legacy writes them', () =>
  withNetns(async (ours) =>
    withNetns(async (theirs) => {
      const text = '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset';
      const typed = { protocol: 'tcp', syn: true, dport: 22, connlimit: { kind: 'above', count: 2 }, target: { kind: 'reject', with: 'tcp-reset' } } as const;
      const fw = await Firewall.open({ netns: ours.name, backend: 'legacy' });
      // Fields the addon reads, each given a value that would change the rule were it read from the prototype.
      const POLLUTION: Record<string, unknown> = {
        target: { kind: 'verdict', verdict: 'ACCEPT' }, maskBits: 8, fragment: true, daddr: true, invert: true,
        verdict: 'ACCEPT', with: 'icmp-host-prohibited', comment: 'polluted', index: 0, to: 'X', chain: 'OUTPUT',
      };
      for (const [k, v] of Object.entries(POLLUTION)) Object.defineProperty(Object.prototype, k, { value: v, configurable: true, writable: true });
      try {
        await fw.append('INPUT', typed);
        await fw.append('INPUT', text);
        await fw.createChain('LIMITS');
        await fw.transaction((tx) => void tx.append('LIMITS', typed).insert('LIMITS', 1, text));
      } finally {
        for (const k of Object.keys(POLLUTION)) delete (Object.prototype as Record<string, unknown>)[k];
      }
      await fw.close();
      await theirs.run('iptables-legacy', ['-A', 'INPUT', ...text.split(' ')]);
      await theirs.run('iptables-legacy', ['-A', 'INPUT', ...text.split(' ')]);
      await theirs.run('iptables-legacy', ['-N', 'LIMITS']);
      await theirs.run('iptables-legacy', ['-A', 'LIMITS', ...text.split(' ')]);
      await theirs.run('iptables-legacy', ['-A', 'LIMITS', ...text.split(' ')]);
      const rules = async (ns: Netns) => (await ns.run('iptables-legacy-save', ['-t', 'filter'])).stdout.split('\n').filter((l) => l.startsWith('-A') || l.startsWith(':'));
      assert.equal(await rules(ours), await rules(theirs));
    })));

test('conntrack: a filter whose fields a prototype supplies is refused, not taken as the empty filter ("every entry")', async () => {
  const ns = await createNetns();
  try {
    for (let i = 1; i <= 3; i++) {
      await ns.run('conntrack', ['-I', '-s', `10.1.0.${i}`, '-d', '10.2.0.1', '-p', 'tcp', '--sport', String(40000 + i), '--dport', '22', '--state', 'ESTABLISHED', '-t', '600']);
    }
    const ct = await Conntrack.open({ netns: ns.name });
    const wrong: string[] = [];
    for (const [label, fn] of [
      ['delete(Object.create({ source }))', () => ct.delete(Object.create({ source: '10.1.0.1' }))],
      ['delete(a class instance)', () => ct.delete(new (class { source = '10.1.0.1'; })())],
      ['delete({ source: Object.create({ not: ... }) })', () => ct.delete({ source: Object.create({ not: '10.1.0.1' }) })],
      ['countBy(Object.create({ key }))', () => ct.countBy(Object.create({ key: 'destination' }))],
      ['list({}, null)', () => ct.list({}, null as never)],
      ['list({}, { batchsize })', () => ct.list({}, { batchsize: 5 } as never)],
    ] as Array<[string, () => unknown]>) {
      const got = await outcome(fn);
      if (got !== 'ERR_CONNLIMIT_INVALID') wrong.push(`${label}: ${got}`);
    }
    assert.equal(wrong, [], wrong.join('\n'));
    const left = (await ns.run('conntrack', ['-L'])).stdout.split('\n').filter(Boolean);
    assert.is(left.length, 3, left.join('\n'));
    assert.is(await ct.count(), 3);
    await ct.close();
  } finally {
    await ns.destroy();
  }
});

test('paths longer than PATH_MAX and 1 MB option names are bad input, refused with a short message', async () => {
  const long = `/tmp/${'x/'.repeat(50_000)}`;
  for (const [label, fn] of [
    ['Firewall.open netns', () => Firewall.open({ netns: long })],
    ['Firewall.open lockPath', () => Firewall.open({ backend: 'legacy', lockPath: long })],
    ['Firewall.validate lockPath', () => Firewall.validate({ lockPath: long })],
    ['Conntrack.open netns', () => Conntrack.open({ netns: long })],
    ['Firewall.open with a 1 MB option name', () => Firewall.open({ ['o'.repeat(1 << 20)]: 1 } as never)],
    ['Conntrack.open with a 1 MB option name', () => Conntrack.open({ ['o'.repeat(1 << 20)]: 1 } as never)],
    ['watch with a 1 MB option name', async () => (await Conntrack.open()).watch({ ['o'.repeat(1 << 20)]: 1 } as never)],
  ] as Array<[string, () => Promise<unknown>]>) {
    let error: { code?: string; message?: string } = {};
    try {
      await fn();
    } catch (e) {
      error = e as typeof error;
    }
    assert.is(error.code, 'ERR_CONNLIMIT_INVALID', `${label}: ${String(error.message).slice(0, 100)}`);
    assert.ok(String(error.message).length < 400, label);
  }
});

test.run();
