// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 4 (client sets, beside test 48): a `-m set` rule written through the library does what
// it says, on both backends that write xt matches. Real TCP on loopback inside a throwaway
// namespace: the rule is refused while its set is missing (the index is looked up by name
// first) or of the other family; `connlimit ban` then makes the set and bans a client, whose
// connections are reset until `connlimit unban`; the listing names the set, the set can't be
// destroyed while the rule refers to it, and apply() finds the rule it wrote. A connlimit rule
// with `-j SET --add-set` bans the client that opens one connection too many.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, Sets } from '../src/index';
import { rejects } from './helpers/assert';
import { execResult, withNetns, type ExecResult } from './helpers/netns';
import { startPeer } from './helpers/tcp';

const cliMain = join(__dirname, '..', 'src', 'cli', 'main.ts');
const env = { ...process.env, NODE_OPTIONS: '' };

function cli(args: string[]): Promise<ExecResult> {
  return execResult(process.execPath, ['--import', 'tsx', cliMain, ...args], { env, timeoutMs: 30_000 });
}

const RULE = '-p tcp -m set --match-set connlimit-ban src -j REJECT --reject-with tcp-reset';

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: a set rule written through the library refuses a banned client until it is unbanned`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
      try {
        const { port } = await peer.listen(0, '127.0.0.1');
        const from = (localAddress: string) => peer.connect({ host: '127.0.0.1', port, localAddress, timeoutMs: 2000 }).then((r) => r.result);
        const banned = '127.0.6.10';
        // No set yet: refused by name before anything is written.
        await rejects(fw.append('INPUT', RULE), 'ERR_CONNLIMIT_NOT_FOUND');
        assert.is((await fw.list()).length, 0);

        const ban = await cli(['ban', banned, '--netns', ns.name]);
        assert.is(ban.code, 0, ban.stderr);
        // A set of the other family is refused by name, as the CLI does ("The protocol family of set ...").
        const ban6 = await cli(['ban', '2001:db8::7', '--netns', ns.name]);
        assert.is(ban6.code, 0, ban6.stderr);
        await rejects(fw.append('INPUT', '-m set --match-set connlimit-ban6 src -j DROP'), 'ERR_CONNLIMIT_INVALID');
        await fw.append('INPUT', RULE);
        const [listed] = await fw.list('INPUT');
        assert.equal(listed!.rule.matches, [{ kind: 'set', set: 'connlimit-ban', dirs: ['src'] }]);
        assert.is(listed!.text, `-A INPUT ${RULE}`);

        assert.is(await from(banned), 'refused');
        assert.is(await from('127.0.6.11'), 'ok', 'others pass');
        const sets = await Sets.open({ netns: ns.name });
        await rejects(sets.destroy('connlimit-ban'), 'ERR_CONNLIMIT_IN_USE');
        await sets.close();

        const unban = await cli(['unban', banned, '--netns', ns.name]);
        assert.is(unban.code, 0, unban.stderr);
        assert.is(await from(banned), 'ok');

        // The listed rule and the text both find the rule by its bytes (the set's index).
        assert.ok(await fw.check('INPUT', listed!));
        assert.is(await fw.ensure('INPUT', RULE), false);
        await fw.delete('INPUT', RULE);
        assert.is((await fw.list()).length, 0);

        // apply() compares a desired set rule with the kernel's by its bytes, index included.
        const desired = { chains: { BANS: ['-m set --match-set connlimit-ban src -j DROP'] } };
        assert.is((await fw.apply(desired)).committed, true);
        assert.is((await fw.apply(desired)).committed, false);
        assert.is((await fw.list('BANS'))[0]!.text, '-A BANS -m set --match-set connlimit-ban src -j DROP');
        await fw.removeOwned(desired);
      } finally {
        await fw.close();
        await peer.exit();
      }
    }));
}

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: connlimit with -j SET --add-set puts a client that opens its 3rd connection in the set, and the set rule before it then drops the client`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      const sets = await Sets.open({ netns: ns.name });
      const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
      try {
        const { port } = await peer.listen(0, '127.0.0.1');
        const opts = (localAddress: string) => ({ host: '127.0.0.1', port, localAddress, timeoutMs: 1500 });
        const greedy = '127.0.6.20';
        await sets.create('banned', { type: 'hash:ip' });
        await fw.append('INPUT', `-p tcp --syn --dport ${port} -m set --match-set banned src -j DROP`);
        const BAN = `-p tcp -m tcp --dport ${port} --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j SET --add-set banned src`;
        await fw.append('INPUT', BAN);
        const listed = (await fw.list('INPUT'))[1]!;
        assert.is(listed.text, `-A INPUT ${BAN}`);
        assert.equal(listed.rule.target, { kind: 'set', add: { set: 'banned', dirs: ['src'] } });

        // SET lets the packet go on: the 3rd connection itself is made, and bans its client.
        assert.equal((await peer.connectMany(2, opts(greedy))).map((r) => r.result), ['ok', 'ok']);
        assert.is(await sets.test('banned', greedy), false, 'two connections are within the limit');
        assert.is((await peer.connect(opts(greedy))).result, 'ok');
        assert.is(await sets.test('banned', greedy), true, 'the 3rd connection put the client in the set');
        assert.is((await peer.connect(opts(greedy))).result, 'timeout', 'the set rule drops the banned client');
        assert.is((await peer.connect(opts('127.0.6.21'))).result, 'ok', 'others pass');
        assert.is(await sets.test('banned', '127.0.6.21'), false);

        // The rule is found by its bytes (the set's index) and the set is in use while it stands.
        assert.ok(await fw.check('INPUT', listed));
        await rejects(sets.destroy('banned'), 'ERR_CONNLIMIT_IN_USE');
      } finally {
        await fw.close();
        await sets.close();
        await peer.exit();
      }
    }));
}

test.run();
