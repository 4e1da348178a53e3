// SPDX-License-Identifier: GPL-2.0-or-later
// fw.apply()/keep()/removeOwned() against the kernel, legacy and nft, in throwaway namespaces:
// jumps placed after another program's rule, named by its comment or by the whole rule (foreign
// rules before, between and after ours byte for byte; a moved anchor re-placed by keep(); a
// missing one a typed error naming the place, nothing applied), and ownership recorded in the
// chains' names (`owner: web` → `web-...`), so removeOwned('web') takes exactly the owner's
// chains and the jumps into them without the file. The native form: removeOwned(owner) deletes
// its tables; `owner` and anchors have no place there. Oracle: the backend's save, `nft list`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, formatPlan, type Backend, type DesiredState, type Keeper } from '../src/index';
import { iptablesOracle } from './helpers/iptables-oracle';
import { withNetns, type Netns } from './helpers/netns';
import { until } from './helpers/until';

const ANCHORED: DesiredState = {
  chains: { A: ['-p tcp --dport 7082 -m connlimit --connlimit-above 2 -j DROP'], B: ['-j RETURN'], C: ['-j RETURN'], D: ['-j RETURN'] },
  jumps: [
    { from: 'INPUT', to: 'A', position: 'first' },
    { from: 'INPUT', to: 'B', position: { after: { comment: 'allow-ssh' } } },
    { from: 'INPUT', to: 'C', position: { after: { rule: '-s 10.5.5.5/32 -j ACCEPT' } } },
    { from: 'INPUT', to: 'D', position: { after: { comment: 'allow-ssh' } } },
  ],
};
const SSH = ['-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'allow-ssh', '-j', 'ACCEPT'];
const OURS = /^(-A [ABCD] |:[ABCD] )|-j [ABCD]$/;

const strip = (save: string) => save.replace(/\[\d+:\d+\]/g, '[-]');
const lines = (save: string) => strip(save).split('\n');
const foreign = (save: string) => lines(save).filter((l) => !OURS.test(l));
const input = (save: string) => lines(save).filter((l) => l.startsWith('-A INPUT'));


/** What a call rejected with. */
async function refusal(call: Promise<unknown>): Promise<{ code?: string; message: string }> {
  const e = (await call.then(() => null, (x: unknown) => x)) as { code?: string; message: string } | null;
  assert.ok(e, 'the call went through');
  return e as { code?: string; message: string };
}

for (const backend of ['legacy', 'nft'] as Backend[]) {
  const { cli, save } = iptablesOracle(backend);
  const ipt = (ns: Netns, ...args: string[]) => ns.run(cli(), args);

  test(`${backend}: jumps after a rule named by comment or whole; foreign rules before, between and after stay; a moved anchor is followed; a missing one is a typed error naming the place`, () =>
    withNetns(async (ns) => {
      await ipt(ns, '-A', 'INPUT', '-s', '10.9.9.9/32', '-j', 'DROP');
      await ipt(ns, '-A', 'INPUT', ...SSH);
      await ipt(ns, '-A', 'INPUT', '-s', '10.5.5.5/32', '-j', 'ACCEPT');
      await ipt(ns, '-A', 'INPUT', '-d', '10.4.4.4/32', '-j', 'DROP');
      const before = strip(await save(ns));
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        const dry = await fw.apply(ANCHORED, { dryRun: true });
        const b = dry.chains.INPUT?.insert.find((r) => r.rule === '-A INPUT -j B');
        assert.equal(b?.after, { position: 3, rule: '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment allow-ssh -j ACCEPT' }, formatPlan(dry));
        assert.match(formatPlan(dry), /\+ \[4\] -A INPUT -j B\n {4}after \[3\] -A INPUT -p tcp -m tcp --dport 22 -m comment --comment allow-ssh -j ACCEPT\n/);
        assert.is(strip(await save(ns)), before, 'a dry run changed the table');

        assert.ok((await fw.apply(ANCHORED)).committed);
        const want = [
          '-A INPUT -j A',
          '-A INPUT -s 10.9.9.9/32 -j DROP',
          '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment allow-ssh -j ACCEPT',
          '-A INPUT -j B',
          '-A INPUT -j D',
          '-A INPUT -s 10.5.5.5/32 -j ACCEPT',
          '-A INPUT -j C',
          '-A INPUT -d 10.4.4.4/32 -j DROP',
        ];
        assert.equal(input(await save(ns)), want);
        assert.equal(foreign(await save(ns)), foreign(before), 'foreign rules changed');
        assert.not.ok((await fw.apply(ANCHORED)).commit, 'a re-apply commits');

        // The anchor moves below our jumps: they follow it, in the state's order; nothing else moves.
        await ipt(ns, '-D', 'INPUT', ...SSH);
        await ipt(ns, '-A', 'INPUT', ...SSH);
        const moved = await fw.apply(ANCHORED);
        assert.equal(moved.chains.INPUT?.delete.map((r) => r.rule), ['-A INPUT -j B', '-A INPUT -j D'], formatPlan(moved));
        assert.equal(input(await save(ns)).slice(-3), [want[2], want[3], want[4]]);
        assert.equal(input(await save(ns)).slice(0, 5), [want[0], want[1], want[5], want[6], want[7]]);
        // Moved up, above our jumps: they are still after it, so nothing is done.
        await ipt(ns, '-D', 'INPUT', ...SSH);
        await ipt(ns, '-I', 'INPUT', '1', ...SSH);
        assert.not.ok((await fw.apply(ANCHORED)).commit);
        // A second copy above the anchor goes; the one below stays where it is.
        await ipt(ns, '-I', 'INPUT', '1', '-j', 'B');
        const twice = input(await save(ns));
        const copy = await fw.apply(ANCHORED);
        assert.equal(copy.chains.INPUT?.delete, [{ position: 1, rule: '-A INPUT -j B' }], formatPlan(copy));
        assert.is(copy.chains.INPUT?.insert.length, 0);
        assert.equal(input(await save(ns)), twice.slice(1));

        // Gone: the place in the state is named, nothing is applied (a change elsewhere included).
        await ipt(ns, '-D', 'INPUT', ...SSH);
        await ipt(ns, '-F', 'A');
        const table = await save(ns);
        const gone = await refusal(fw.apply(ANCHORED));
        assert.is(gone.code, 'ERR_CONNLIMIT_NOT_FOUND', gone.message);
        assert.match(gone.message, /^jumps\[1\]\.position\.after\.comment: no rule in chain INPUT carries the comment 'allow-ssh'/);
        assert.is(await save(ns), table, 'a refused apply changed the table');
        await ipt(ns, '-D', 'INPUT', '-s', '10.5.5.5/32', '-j', 'ACCEPT');
        await ipt(ns, '-A', 'INPUT', ...SSH);
        const noRule = await refusal(fw.apply(ANCHORED));
        assert.match(noRule.message, /^jumps\[2\]\.position\.after\.rule: no rule in chain INPUT is '-A INPUT -s 10\.5\.5\.5\/32 -j ACCEPT'/);

        // Removal takes every jump and chain; the table is as it was before (the foreign rules put back in their order).
        assert.ok((await fw.removeOwned(ANCHORED)).committed);
        await ipt(ns, '-D', 'INPUT', ...SSH);
        await ipt(ns, '-I', 'INPUT', '2', ...SSH);
        await ipt(ns, '-I', 'INPUT', '3', '-s', '10.5.5.5/32', '-j', 'ACCEPT');
        assert.is(strip(await save(ns)), before);
      } finally {
        await fw.close();
      }
    }));

  test(`${backend}: keep() re-places a jump whose anchor moved, and reports an anchor gone as an error naming the place until it is back`, () =>
    withNetns(async (ns) => {
      await ipt(ns, '-A', 'INPUT', ...SSH);
      await ipt(ns, '-A', 'INPUT', '-s', '10.5.5.5/32', '-j', 'ACCEPT');
      const fw = await Firewall.open({ backend, netns: ns.name });
      let keeper: Keeper | null = null;
      try {
        keeper = await fw.keep(ANCHORED, { intervalMs: 100 });
        const errors: Error[] = [];
        keeper.on('error', (e) => errors.push(e));
        const placed = async () => {
          const rules = input(await save(ns));
          const anchor = rules.findIndex((l) => l.includes('allow-ssh'));
          return anchor >= 0 && rules[anchor + 1] === '-A INPUT -j B' && rules[anchor + 2] === '-A INPUT -j D';
        };
        assert.ok(await placed());
        await ipt(ns, '-D', 'INPUT', ...SSH);
        await ipt(ns, '-A', 'INPUT', ...SSH);
        await until('B and D after the moved anchor', placed);
        await until('the repair reported', () => (keeper as Keeper).repairs >= 1);

        await ipt(ns, '-D', 'INPUT', ...SSH);
        await until('the missing anchor reported', () => errors.length > 0);
        assert.is((errors[0] as { code?: string }).code, 'ERR_CONNLIMIT_NOT_FOUND');
        assert.match(errors[0]?.message ?? '', /^jumps\[1\]\.position\.after\.comment: /);
        await ipt(ns, '-I', 'INPUT', '1', '-p', 'udp', '--dport', '9', '-j', 'ACCEPT');
        await ipt(ns, '-A', 'INPUT', ...SSH);
        await until('B and D after the anchor put back', placed);
        // A jump placed first is not moved for a rule another program put above it.
        assert.equal(input(await save(ns)).slice(0, 2), ['-A INPUT -p udp -m udp --dport 9 -j ACCEPT', '-A INPUT -j A']);
      } finally {
        await keeper?.close();
        await fw.close();
      }
    }));

  test(`${backend}: owner 'web' names its chains web-...; apply drops a chain the state no longer lists; removeOwned('web') without the state takes exactly its chains and jumps`, () =>
    withNetns(async (ns) => {
      // Foreign chains whose names look close: another owner's, a case apart, a prefix without the dash.
      await ipt(ns, '-A', 'INPUT', '-s', '10.9.9.9/32', '-j', 'DROP');
      for (const c of ['webx-FOO', 'WEB-BAR', 'web']) {
        await ipt(ns, '-N', c);
        await ipt(ns, '-A', c, '-j', 'RETURN');
        await ipt(ns, '-A', 'INPUT', '-j', c);
      }
      const before = strip(await save(ns));
      const web: DesiredState = {
        owner: 'web',
        chains: { 'web-LIMITS': ['-p tcp --dport 7082 -m connlimit --connlimit-above 2 -j DROP', '-j web-LOGS'], 'web-LOGS': ['-j RETURN'] },
        jumps: [
          { from: 'INPUT', to: 'web-LIMITS', position: 'first' },
          { from: 'OUTPUT', to: 'web-LOGS', position: 'last' },
        ],
      };
      const api: DesiredState = { owner: 'api', chains: { 'api-IN': ['-j RETURN'] }, jumps: [{ from: 'INPUT', to: 'api-IN', position: 'last' }] };
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        await fw.apply(web);
        await fw.apply(api);
        const withApi = strip(await save(ns));

        // The state drops web-LOGS: it is the owner's by name, so it goes, with its jump.
        const smaller: DesiredState = { owner: 'web', chains: { 'web-LIMITS': ['-j RETURN'] }, jumps: [web.jumps?.[0] as NonNullable<DesiredState['jumps']>[number]] };
        const dropped = await fw.apply(smaller);
        assert.ok(dropped.chains['web-LOGS']?.remove, formatPlan(dropped));
        assert.equal(dropped.chains.OUTPUT?.delete.map((r) => r.rule), ['-A OUTPUT -j web-LOGS']);
        assert.not.match(await save(ns), /web-LOGS/);
        await fw.apply(web);
        assert.is(strip(await save(ns)), withApi);

        // The jump into web-LIMITS deleted by hand: the chain is still found by its name.
        await ipt(ns, '-D', 'INPUT', '-j', 'web-LIMITS');
        const dry = await fw.removeOwned('web', { dryRun: true });
        assert.equal(Object.keys(dry.chains).sort(), ['OUTPUT', 'web-LIMITS', 'web-LOGS']);
        const removed = await fw.removeOwned('web');
        assert.ok(removed.committed);
        assert.not.match(await save(ns), /web-L/);
        assert.not.ok((await fw.removeOwned('web')).commit, 'a second removal commits');
        assert.match(await save(ns), /-A INPUT -j api-IN/);
        assert.ok((await fw.removeOwned('api')).committed);
        assert.is(strip(await save(ns)), before, 'the table is not as before the first apply');

        for (const [bad, place] of [
          ['web-api', /^owner: /],
          ['', /^owner: /],
          [7, /^desired: /],
        ] as const) {
          const e = await refusal(fw.removeOwned(bad as string));
          assert.is(e.code, 'ERR_CONNLIMIT_INVALID');
          assert.match(e.message, place);
        }
        const unprefixed = await refusal(fw.apply({ owner: 'web', chains: { 'web-A': [], LIMITS: [] } }));
        assert.match(unprefixed.message, /^chains\.LIMITS: the chains of owner 'web' are named 'web-\.\.\.'/);
        assert.is(strip(await save(ns)), before);
      } finally {
        await fw.close();
      }
    }));
}

test('native form: removeOwned(owner) deletes the tables of the form; an owner or an anchor in a state is refused by place', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const tables = async () => (await ns.run('nft', ['list', 'tables'])).stdout.split('\n').filter((l) => /connlimit/.test(l));
    try {
      await ns.run('nft', ['add', 'table', 'inet', 'theirs']);
      await fw.apply({ chains: { INPUT: ['-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j DROP'] } });
      assert.equal(await tables(), ['table ip connlimit']);
      const e = await refusal(fw.apply({ owner: 'web', chains: { INPUT: [] } }));
      assert.match(e.message, /^owner: the native nftables form/);
      const j = await refusal(fw.apply({ chains: { INPUT: [] }, jumps: [{ from: 'INPUT', to: 'INPUT', position: { after: { comment: 'x' } } }] }));
      assert.match(j.message, /^jumps: /);
      const removed = await fw.removeOwned('web');
      assert.ok(removed.committed);
      assert.equal(await tables(), []);
      assert.match((await ns.run('nft', ['list', 'tables'])).stdout, /table inet theirs/);
    } finally {
      await fw.close();
    }
  }));

test('anchors and owners are checked before anything is read: shapes, comments, rules outside the language, our own jumps as anchors', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ after: 'allow-ssh' }, /^jumps\[0\]\.position\.after: expected \{ comment: NAME \} or \{ rule: RULE \}/],
    [{ after: { comment: 'a', rule: '-j ACCEPT' } }, /^jumps\[0\]\.position\.after: /],
    [{ before: { comment: 'a' } }, /^jumps\[0\]\.position\.before: unknown key/],
    [{ after: { comment: '' } }, /^jumps\[0\]\.position\.after\.comment: /],
    [{ after: { comment: 'a\nb' } }, /^jumps\[0\]\.position\.after\.comment: /],
    [{ after: { rule: '-p tcp --frobnicate 1 -j ACCEPT' } }, /^jumps\[0\]\.position\.after\.rule: rule/],
    [{ after: { rule: '-j LIMITS' } }, /^jumps\[0\]\.position\.after\.rule: is a jump into 'LIMITS', a chain this state owns/],
    ['middle', /^jumps\[0\]\.position: expected 'first', 'last' or/],
  ];
  for (const [position, message] of bad) {
    const desired = { chains: { LIMITS: [] }, jumps: [{ from: 'INPUT', to: 'LIMITS', position }] } as unknown as DesiredState;
    try {
      Firewall.validateDesired({ backend: 'legacy' }, desired);
      assert.unreachable(`accepted ${JSON.stringify(position)}`);
    } catch (e) {
      assert.is((e as { code?: string }).code, 'ERR_CONNLIMIT_INVALID', String(e));
      assert.match((e as Error).message, message);
    }
  }
  Firewall.validateDesired({ backend: 'nft' }, { owner: 'web_1', chains: { 'web_1-X': [] }, jumps: [{ from: 'FORWARD', to: 'web_1-X', position: { after: { rule: { target: { kind: 'accept' } } } } }] });
});

test.run();
