// SPDX-License-Identifier: GPL-2.0-or-later
// iptables' own extension test cases (extensions/*.t at v1.8.9, test/fixtures/iptables-t) for
// the compat modules of src/rule/modules, on legacy and on nft: every OK case goes through the
// CLI in one throwaway namespace and through the library in another and both save identically
// (test/helpers/iptables-oracle sameAsCli: also our rendering of either table, and each side
// deleting the other's rules); its save text is the one the .t file expects; every FAIL case is
// refused with ERR_CONNLIMIT_INVALID before anything touches the kernel. A new module adds its
// .t file to FILES.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, type Family } from '../src/index';
import { normalizeRule, parseRule, renderRule } from '../src/rule/index';
import { catchError, rejects } from './helpers/assert';
import { iptablesOracle } from './helpers/iptables-oracle';
import { withNetns } from './helpers/netns';

/** The .t files; iptables-test.py runs libxt_ and libipt_ files with iptables, libip6t_ with ip6tables. */
const FILES = ['libxt_conntrack.t', 'libxt_state.t'];

interface Case {
  chain: string;
  rule: string;
  /** The save text (without `-A CHAIN`), for OK cases. */
  saved: string;
  ok: boolean;
  line: number;
}

function families(file: string): Family[] {
  return file.startsWith('libip6t_') ? ['ipv6'] : ['ipv4'];
}

function readCases(file: string): Case[] {
  const text = readFileSync(join(__dirname, 'fixtures', 'iptables-t', file), 'utf8');
  const cases: Case[] = [];
  let chains: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith(':')) {
      chains = line.slice(1).split(',');
      return;
    }
    if (line.startsWith('*')) throw new Error(`${file}:${i + 1}: table ${line}: only the filter table is run so far`);
    const [rule, expected, result] = line.split(';');
    if (rule === undefined || expected === undefined || (result !== 'OK' && result !== 'FAIL')) throw new Error(`${file}:${i + 1}: not a case: ${line}`);
    for (const chain of chains) cases.push({ chain, rule, saved: expected === '=' || expected === '' ? rule : expected, ok: result === 'OK', line: i + 1 });
  });
  return cases;
}

for (const file of FILES) {
  const cases = readCases(file);
  for (const family of families(file)) {
    test(`${file} (${family}): every FAIL case is refused with ERR_CONNLIMIT_INVALID, every OK case renders as the file saves it`, () => {
      for (const c of cases) {
        if (c.ok) assert.is(renderRule(parseRule(c.rule, family), family), c.saved, `${file}:${c.line}`);
        else assert.is(catchError(() => parseRule(c.rule, family)).code, 'ERR_CONNLIMIT_INVALID', `${file}:${c.line} ${c.rule}`);
      }
    });
    for (const backend of ['legacy', 'nft'] as const) {
      test(`${file} (${family}, ${backend}): every OK case saves exactly as the CLI's; each side deletes the other's`, () =>
        iptablesOracle(backend).sameAsCli(family, cases.filter((c) => c.ok).map((c) => [c.chain, c.rule] as const)));
    }
  }
}

test('a typed module part reports every problem with its field path, before the kernel', () => {
  const e = catchError(() =>
    normalizeRule({ matches: [{ kind: 'conntrack', state: ['NEW', 'LATER'], origSource: 'host.example', expire: { from: 9, to: 1 } }] } as never, 'ipv4'),
  );
  assert.is(e.code, 'ERR_CONNLIMIT_INVALID');
  assert.equal(e.issues?.map((i) => i.path), ['matches[0].state[1]', 'matches[0].origSource', 'matches[0].expire']);
  assert.equal(catchError(() => normalizeRule({ matches: [{ kind: 'conntrack' }] }, 'ipv4')).path, 'matches[0]');
  assert.equal(catchError(() => normalizeRule({ matches: [{ kind: 'state', state: ['SNAT'] }] } as never, 'ipv4')).path, 'matches[0].state[0]');
});

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: a module's rule lists as its typed part, and check/ensure/delete take either spelling`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ backend, netns: ns.name });
      const text = '-p tcp --dport 22 -m conntrack --ctstate NEW -m connlimit --connlimit-above 2 -j REJECT';
      await fw.append('INPUT', text);
      await fw.append('INPUT', '-m state --state RELATED,ESTABLISHED -j ACCEPT');
      const [first, second] = await fw.list('INPUT');
      assert.equal(first!.rule.matches?.[0], { kind: 'conntrack', state: ['NEW'] });
      assert.equal(second!.rule, { matches: [{ kind: 'state', state: ['RELATED', 'ESTABLISHED'] }], target: { kind: 'accept' } });
      assert.is(second!.text, '-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT');
      // The typed spelling in another order of states is the same bytes: found, not added twice.
      assert.ok(await fw.check('INPUT', { matches: [{ kind: 'state', state: ['ESTABLISHED', 'RELATED'] }], target: { kind: 'accept' } }));
      assert.is(await fw.ensure('INPUT', '-m state --state ESTABLISHED,RELATED -j ACCEPT'), false);
      // A listed rule goes back as it came.
      assert.ok(await fw.check('INPUT', first!));
      await fw.delete('INPUT', first!.rule);
      await fw.delete('INPUT', '-m state --state RELATED,ESTABLISHED -j ACCEPT');
      assert.is((await fw.list('INPUT')).length, 0);
      await fw.close();
    }));
}

test("nftables: a module without a native translation is refused by name, pointing to backend 'nft'", () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const e = await rejects(fw.append('INPUT', '-m state --state NEW -j DROP'), 'ERR_CONNLIMIT_INVALID');
    assert.match((e as Error).message, /match state is not available in the native nftables form.*backend 'nft'/);
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '');
    await fw.close();
  }));

test.run();
