// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 5: a legacy restore without noflush writes the whole table itself (native/core/legacy/
// table_image, table_replace), not through libiptc. Oracle: libiptc's own writing of the same
// chains, which restore --noflush still uses: the text restored with --noflush into a fresh
// namespace (empty built-in chains, the same policies) must leave the kernel the same table as
// the whole-table write leaves in a namespace that held other rules, user chains and policies
// before. Compared as the kernel holds them: the table's version (a hash of its hooks, entry
// count and every entry's bytes but the counters, IPT_SO_GET_ENTRIES) and `iptables-save -c`
// (the counters). A built-in chain the text gives no policy keeps its policy, and its counters
// start again at zero, as libiptc 1.8.9 leaves them; the other tables are untouched.
// test-timeout-seconds: 600
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, type Family, type TableName } from '../src/index';
import type { NativeTable } from '../src/native-types';
import { rejects } from './helpers/assert';
import { withNetns, type Netns } from './helpers/netns';
import { readCorpus, cliRefuses } from './helpers/real-rules';
import { argv, IPV4_RULES, IPV6_RULES } from './helpers/rule-tables';

const cli = (family: Family) => (family === 'ipv4' ? 'iptables-legacy' : 'ip6tables-legacy');
const fixture = (name: string): string => readFileSync(join(__dirname, 'fixtures', 'restore', `${name}.rules`), 'utf8');
const tableOf = (text: string): TableName => (/^\*(\w+)$/m.exec(text)?.[1] ?? 'filter') as TableName;
const OTHER_TABLES: TableName[] = ['filter', 'mangle', 'raw', 'nat'];

/** What the namespace of the whole-table write holds before: rules, user chains, policies, in every table. */
async function fill(ns: Netns, family: Family): Promise<void> {
  for (const table of OTHER_TABLES) {
    if (family === 'ipv6' && table === 'nat') continue;
    const chain = table === 'filter' || table === 'mangle' ? 'INPUT' : table === 'raw' ? 'PREROUTING' : 'OUTPUT';
    for (const args of [['-N', 'OLD'], ['-N', 'KEEP'], ['-A', chain, '-p', 'tcp', '--dport', '25', '-j', 'OLD'], ['-A', 'OLD', '-j', 'RETURN']])
      await ns.run(cli(family), ['-w', '-t', table, ...args]);
  }
  await ns.run(cli(family), ['-w', '-P', 'FORWARD', 'DROP']);
}

/**
 * A datagram to a closed port on lo: the rule lets it out, the INPUT policy counts it in, and
 * the OUTPUT policy (DROP) counts the ICMP refusal going back.
 */
async function traffic(ns: Netns, family: Family): Promise<void> {
  await ns.run(cli(family), ['-w', '-A', 'OUTPUT', '-p', 'udp', '--dport', '9', '-j', 'ACCEPT']);
  const [type, host] = family === 'ipv4' ? ['udp4', '127.0.0.1'] : ['udp6', '::1'];
  await ns.run(process.execPath, ['-e', `const s = require('dgram').createSocket('${type}'); s.send('x', 9, '${host}', () => s.close())`]);
}

async function withTable<T>(ns: Netns, family: Family, table: TableName, fn: (fw: Firewall) => Promise<T>): Promise<T> {
  const fw = await Firewall.open({ backend: 'legacy', family, table, netns: ns.path });
  try {
    return await fn(fw);
  } finally {
    await fw.close();
  }
}

const version = (fw: Firewall): Promise<string> => (fw as unknown as { native: NativeTable }).native.version();
const saveC = async (ns: Netns, family: Family, table: string): Promise<string> =>
  (await ns.run(`${cli(family)}-save`, ['-c', '-t', table])).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');

/**
 * Restores `text` whole in a filled namespace and with --noflush (libiptc) in a fresh one given
 * the filled one's FORWARD policy: the same table, entry for entry; the other tables as before.
 */
async function sameAsLibiptc(text: string, family: Family): Promise<string> {
  const table = tableOf(text);
  return withNetns((whole) =>
    withNetns(async (viaLibiptc) => {
      await fill(whole, family);
      await viaLibiptc.run(cli(family), ['-w', '-P', 'FORWARD', 'DROP']);
      const others = OTHER_TABLES.filter((t) => t !== table && !(family === 'ipv6' && t === 'nat'));
      const before = await Promise.all(others.map((t) => saveC(whole, family, t)));
      await withTable(whole, family, table, (fw) => fw.restore(text));
      await withTable(viaLibiptc, family, table, (fw) => fw.restore(text, { noflush: true }));
      const [a, b] = await Promise.all([whole, viaLibiptc].map((ns) => withTable(ns, family, table, version)));
      const saved = await saveC(whole, family, table);
      assert.is(saved, await saveC(viaLibiptc, family, table));
      assert.is(a, b, 'the kernel holds other entries');
      assert.equal(await Promise.all(others.map((t) => saveC(whole, family, t))), before, 'another table changed');
      return saved;
    }),
  );
}

/** A saved filter table: three policies, a user chain LIMITS jumped to from INPUT, `size` connlimit rules (row 11's). */
function savedTable(size: number): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':LIMITS - [0:0]', '-A INPUT -p tcp -j LIMITS'];
  for (let i = 0; i < size; i++) lines.push(`-A LIMITS -s 10.${(i >> 8) & 255}.${i & 255}.0/24 -p tcp -m tcp --dport ${1 + (i % 60000)} -m connlimit --connlimit-above 10 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with tcp-reset`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** User chains declared out of order, jumps and gotos between them, empty ones, rules without a target, kept policies. */
const CHAINS = `*filter
:INPUT DROP [0:0]
:zeta - [0:0]
:Alpha - [0:0]
:EMPTY - [0:0]
:_under - [0:0]
:beta-2 - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22
-A INPUT -j zeta
-A INPUT -g Alpha
-A INPUT -p udp -j EMPTY
-A zeta -s 192.0.2.0/24 -j beta-2
-A zeta -j RETURN
-A Alpha -p tcp -m connlimit --connlimit-above 3 -j REJECT --reject-with tcp-reset
-A Alpha -g _under
-A Alpha -m comment --comment "no target"
-A _under -j QUEUE
-A beta-2 -j EMPTY
-A beta-2 -d 198.51.100.7/32 -j DROP
-A OUTPUT -o lo -j ACCEPT
COMMIT
`;

test('legacy ipv4: the 10k-rule table of bench row 11 is written as libiptc writes it', async () => {
  assert.match(await sameAsLibiptc(savedTable(10000), 'ipv4'), /--dport 10000 /);
});

for (const family of ['ipv4', 'ipv6'] as Family[]) {
  test(`legacy ${family}: user chains out of order, jumps, gotos, empty chains, fall-through rules`, async () => {
    const text = family === 'ipv4' ? CHAINS : CHAINS.replace('192.0.2.0/24', '2001:db8::/32').replace('198.51.100.7/32', '2001:db8::7/128');
    assert.match(await sameAsLibiptc(text, family), /-A INPUT -g Alpha/);
  });

  test(`legacy ${family}: the broad rule table of test 30/50, as the CLI saved it`, () =>
    withNetns(async (filled) => {
      await filled.run(cli(family), ['-N', 'LIMITS']);
      for (const [chain, rule] of family === 'ipv4' ? IPV4_RULES : IPV6_RULES) await filled.run(cli(family), ['-w', '-A', chain, ...argv(rule)]);
      await filled.run(cli(family), ['-P', 'OUTPUT', 'DROP']);
      const text = (await filled.run(`${cli(family)}-save`, ['-t', 'filter'])).stdout;
      await sameAsLibiptc(text, family);
    }),
  );

  test(`legacy ${family}: the real-rules corpus lines restore takes, in one filter table`, async () => {
    const lines = readCorpus().filter((l) => l.family === family && l.table === 'filter' && !cliRefuses(l) && ['INPUT', 'FORWARD', 'OUTPUT'].includes(l.chain));
    const accepted = lines.filter((l) => {
      try {
        Firewall.validateRestore({ backend: 'legacy' }, `*filter\n-A ${l.chain} ${l.rule}\nCOMMIT\n`);
        return true;
      } catch {
        return false;
      }
    });
    // Lines the kernel then refuses (a set or chain they name that is not here) are left out:
    // each appended alone in a namespace of its own first.
    const rules = await withNetns((probe) =>
      withTable(probe, family, 'filter', async (fw) => {
        const kept: string[] = [];
        for (const l of accepted) if (await fw.append(l.chain, l.rule).then(() => true, () => false)) kept.push(`-A ${l.chain} ${l.rule}`);
        return kept;
      }),
    );
    assert.ok(rules.length >= (family === 'ipv4' ? 300 : 8), `${rules.length} of ${accepted.length} lines`);
    await sameAsLibiptc(`*filter\n${rules.join('\n')}\nCOMMIT\n`, family);
  });

  test(`legacy ${family}: the hand-written restore fixtures`, async () => {
    for (const file of ['policies', 'user-chains', 'connlimit', 'mangle']) {
      if (family === 'ipv6' && file !== 'mangle') continue;
      await sameAsLibiptc(fixture(file), family);
    }
  });

  test(`legacy ${family}: a policy the text leaves unsaid keeps its verdict; every counter starts again at zero, as libiptc 1.8.9 leaves them`, () =>
    withNetns(async (ns) => {
      await fill(ns, family);
      await ns.run(cli(family), ['-w', '-P', 'OUTPUT', 'DROP']);
      await traffic(ns, family);
      const counters = async (chain: string) => {
        const line = (await saveC(ns, family, 'filter')).split('\n').find((l) => l.startsWith(`:${chain} `)) ?? '';
        const m = /\[(\d+):(\d+)\]/.exec(line);
        return m ? [Number(m[1]), Number(m[2])] : [-1, -1];
      };
      assert.ok((await counters('OUTPUT'))[0] > 0, 'OUTPUT counted nothing');
      assert.ok((await counters('INPUT'))[0] > 0, 'INPUT counted nothing');
      // libiptc 1.8.9 maps a kept policy's counters COUNTER_MAP_ZEROED: what passed between its
      // read and its replace, nothing here (a later libiptc carries them over).
      await withTable(ns, family, 'filter', (fw) => fw.restore('*filter\n:INPUT ACCEPT [5:5]\n:FORWARD - [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n'));
      assert.equal(await counters('OUTPUT'), [0, 0]);
      assert.equal(await counters('INPUT'), [0, 0]);
      const saved = await saveC(ns, family, 'filter');
      assert.match(saved, /^:OUTPUT DROP /m);
      assert.match(saved, /^:FORWARD DROP /m);
      assert.match(saved, /^:INPUT ACCEPT /m);
      assert.not.match(saved, /OLD|KEEP/);
    }),
  );
}

test('legacy: a writer that ignores the lock, between the entry count read and the replace: EAGAIN, written again from a fresh count', () =>
  withNetns(async (ns) => {
    const text = savedTable(2000);
    await withTable(ns, 'ipv4', 'filter', async (fw) => {
      await fw.restore(text);
      const rogue = ns.exec('sh', ['-c', 'for i in $(seq 1 100); do XTABLES_LOCKFILE=/tmp/cl-rogue-$$.lock iptables-legacy -w -A OUTPUT -m comment --comment rogue-$i -j ACCEPT || echo FAIL $i; done'], { timeoutMs: 50_000 });
      const outcomes: string[] = [];
      let done = false;
      void rogue.finally(() => (done = true));
      // A kernel answer but EAGAIN's (the retries exhausted: ERR_CONNLIMIT_BUSY) would be a bug.
      while (!done || outcomes.length < 5) outcomes.push(await fw.restore(text).then(() => 'ok', (e: { code?: string }) => e.code ?? 'error'));
      await rogue;
      assert.ok(outcomes.every((o) => o === 'ok' || o === 'ERR_CONNLIMIT_BUSY'), outcomes.join(' '));
      assert.ok(outcomes.filter((o) => o === 'ok').length * 2 >= outcomes.length, outcomes.join(' '));
      await fw.restore(text);
    });
    const saved = await saveC(ns, 'ipv4', 'filter');
    assert.is(saved.split('\n').filter((l) => l.includes('-A LIMITS ')).length, 2000);
    assert.not.match(saved, /rogue/);
  }),
);

test('legacy: a whole-table write refuses as libiptc does, typed, naming the line; nothing is applied', () =>
  withNetns(async (ns) => {
    await fill(ns, 'ipv4');
    const before = await saveC(ns, 'ipv4', 'filter');
    const cases: Array<[string, string, RegExp]> = [
      ['*filter\n:A - [0:0]\n-A A -j B\n:B - [0:0]\nCOMMIT\n', 'ERR_CONNLIMIT_NOT_FOUND', /\[line 3: '-A A -j B'; nothing was applied\]/],
      ['*filter\n:A - [0:0]\n-A INPUT -j A\n-A A -j A\nCOMMIT\n', 'ERR_CONNLIMIT_KERNEL', /jump in a loop/],
    ];
    for (const [text, code, message] of cases) {
      const e = await rejects(withTable(ns, 'ipv4', 'filter', (fw) => fw.restore(text)), code);
      assert.match(e.message, message);
      assert.is(await saveC(ns, 'ipv4', 'filter'), before, 'the table changed');
    }
  }),
);

test.run();
