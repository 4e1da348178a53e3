// SPDX-License-Identifier: GPL-2.0-or-later
// The proofs of issue 19 that tests 39, 65, 81 and 82 leave open (docs/apply.md, "How it is
// proven"), in throwaway namespaces: apply to an empty namespace and removal (legacy: the table
// as before, empty; nft: the built-in chains the jumps needed are left empty, as iptables-nft -D
// leaves them); on the native form, real connections held through a re-apply and a one-rule
// change stay counted (the 3rd still refused); drift after `-F INPUT` and after `-D` of the jump
// repaired within the documented delay (debounceMs or intervalMs, plus one check and one
// commit, which the tests allow 2 s on the shared 2-core machine) on legacy, nft and the native form.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, type Backend, type DesiredState, type Keeper } from '../src/index';
import { iptablesOracle } from './helpers/iptables-oracle';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';
import { until } from './helpers/until';

const PORT = 7083;
const LIMIT = `-p tcp --syn --dport ${PORT} -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset`;
/** What the tests allow one check and one commit of a small state, beside the trigger's own delay. */
const CHECK_AND_COMMIT_MS = 2000;


const DESIRED: DesiredState = {
  chains: { LIMITS: [LIMIT, '-p udp --dport 53 -j ACCEPT'] },
  jumps: [{ from: 'INPUT', to: 'LIMITS', position: 'first' }],
};

for (const backend of ['legacy', 'nft'] as Backend[]) {
  const { cli, save } = iptablesOracle(backend);

  test(`${backend}: apply to an empty namespace, re-apply commits nothing, removal leaves no rule and no user chain`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        const first = await fw.apply(DESIRED);
        assert.ok(first.committed && first.chains.LIMITS?.create);
        assert.equal((await fw.list('LIMITS')).length, 2);
        assert.match(await save(ns), /\n-A INPUT -j LIMITS\n-A LIMITS /);
        assert.not.ok((await fw.apply(DESIRED)).commit);
        assert.ok((await fw.removeOwned(DESIRED)).committed);
        // Built-in chains only, empty, policy ACCEPT: what iptables-save prints of a table nobody wrote to.
        assert.is(await save(ns), '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
        if (backend === 'nft') {
          // The one base chain the jump needed stays, empty, as iptables-nft -D leaves it.
          const ruleset = (await ns.run('nft', ['list', 'ruleset'])).stdout.replace(/^#.*\n/gm, '');
          assert.is(ruleset, 'table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n');
        }
      } finally {
        await fw.close();
      }
    }));

  test(`${backend}: keep() repairs -F INPUT and -D of the jump within the documented delay`, () =>
    withNetns(async (ns) => {
      await ns.run(cli(), ['-A', 'INPUT', '-s', '10.9.9.9/32', '-j', 'DROP']);
      const fw = await Firewall.open({ backend, netns: ns.name });
      const intervalMs = 300;
      const debounceMs = 50;
      let keeper: Keeper | null = null;
      try {
        keeper = await fw.keep(DESIRED, { intervalMs, debounceMs });
        const applied: number[] = [];
        keeper.on('applied', () => applied.push(Date.now()));
        const trigger = backend === 'nft' ? debounceMs : intervalMs;
        for (const drift of [['-F', 'INPUT'], ['-D', 'INPUT', '-j', 'LIMITS']]) {
          const seen = applied.length;
          await ns.run(cli(), drift);
          const exited = Date.now();
          await until(`the repair of ${drift.join(' ')}`, () => applied.length > seen);
          const delay = (applied[seen] as number) - exited;
          assert.ok(delay <= trigger + CHECK_AND_COMMIT_MS, `${drift.join(' ')} repaired ${delay} ms after, documented ${trigger} ms + one check and commit`);
          assert.match(await save(ns), /\n-A INPUT -j LIMITS\n/);
        }
      } finally {
        await keeper?.close();
        await fw.close();
      }
    }));
}

test('native form: keep() repairs a flushed INPUT and a deleted rule within the documented delay', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const debounceMs = 50;
    let keeper: Keeper | null = null;
    try {
      keeper = await fw.keep({ chains: { INPUT: [LIMIT] } }, { debounceMs });
      const applied: number[] = [];
      keeper.on('applied', () => applied.push(Date.now()));
      const handle = async () => /dport .*# handle (\d+)$/m.exec((await ns.run('nft', ['-a', 'list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout)?.[1] ?? '';
      for (const drift of [async () => ['flush', 'chain', 'ip', 'connlimit', 'INPUT'], async () => ['delete', 'rule', 'ip', 'connlimit', 'INPUT', 'handle', await handle()]]) {
        const seen = applied.length;
        await ns.run('nft', await drift());
        const exited = Date.now();
        await until('the repair', () => applied.length > seen);
        const delay = (applied[seen] as number) - exited;
        assert.ok(delay <= debounceMs + CHECK_AND_COMMIT_MS, `repaired ${delay} ms after`);
        assert.is((await fw.list('INPUT')).length, 1);
      }
    } finally {
      await keeper?.close();
      await fw.close();
    }
  }));

test('native form: connections held through a re-apply and a one-rule change stay counted (the 3rd still refused)', () =>
  withNetns(async (ns: Netns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const peer = await startPeer(ns);
    const state = (other: number): DesiredState => ({ chains: { INPUT: [LIMIT, `-p tcp --syn --dport ${other} -m connlimit --connlimit-above 9 -j DROP`] } });
    try {
      await peer.listen(PORT, '127.0.0.1');
      assert.ok((await fw.apply(state(80))).committed);
      const opts = { host: '127.0.0.1', port: PORT, localAddress: '127.0.1.83' };
      assert.equal((await peer.connectMany(2, opts)).map((x) => x.result), ['ok', 'ok']);
      assert.not.ok((await fw.apply(state(80))).commit);
      assert.equal((await peer.connectMany(1, opts)).map((x) => x.result), ['refused'], 'a re-apply reset the count');
      const changed = await fw.apply(state(81));
      assert.is(changed.changes, 1);
      assert.is(changed.chains.INPUT?.unchanged, 1);
      assert.equal((await peer.connectMany(1, opts)).map((x) => x.result), ['refused'], 'a one-rule change reset the count of an unchanged rule');
    } finally {
      await peer.exit();
      await fw.close();
    }
  }));

test.run();
