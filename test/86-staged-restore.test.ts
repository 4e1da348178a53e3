// SPDX-License-Identifier: GPL-2.0-or-later
// A legacy restore without noflush stages its table replace: the batch is packed in commit order
// (the plan made first, src/restore/rule-lines.ts packRestoreBatch) and each slice's ops go to
// the pool as they are packed (native/core/legacy/staged_image), which encodes them while the
// main thread parses on. Proven here: that batch is byte for byte what restoreBatch() writes
// from the same plan and the lines packed alone (the nft path's reference), and so is what the
// slices handed over add up to; the kernel then holds the same table as after a commit of the
// whole batch at once; a refusal in a late slice (the kernel's, or the rule language's) is
// typed, names its line and leaves the table untouched; restores racing on one handle settle,
// also with one pool thread.
// test-timeout-seconds: 300
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, Transaction } from '../src/firewall';
import type { NativeLegacyTable, NativeOp } from '../src/native-types';
import type { OpWriter } from '../src/op-pack';
import { planRestore } from '../src/restore/plan';
import { packRestoreBatch, packRuleLines, restoreBatch, type RuleLineOp } from '../src/restore/rule-lines';
import { parseSaveText, type SaveSection } from '../src/restore/save-text';
import { TableShape } from '../src/table-shape';
import { rejects } from './helpers/assert';
import { withNetns, type Netns } from './helpers/netns';

/** Row 11's table (`size` saved connlimit rules in LIMITS), with `extra` lines at its end. */
function savedTable(size: number, extra: string[] = []): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':LIMITS - [0:0]', '-A INPUT -p tcp -j LIMITS'];
  for (let i = 0; i < size; i++) lines.push(`-A LIMITS -p tcp -m tcp --dport ${1024 + (i % 60000)} --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable`);
  lines.push(...extra, 'COMMIT', '');
  return lines.join('\n');
}

/** Chains declared between rules, jumps, a rule of another shape every 97 lines, several chains interleaved. */
function mixedTable(size: number): string {
  const lines = ['*filter', ':INPUT DROP [0:0]', '-A INPUT -i lo -j ACCEPT', ':B - [0:0]', ':A - [0:0]', '-A INPUT -p tcp -j A'];
  for (let i = 0; i < size; i++) {
    const chain = i % 3 === 0 ? 'B' : 'A';
    lines.push(i % 97 === 0 ? `-A ${chain} -s 10.0.${i & 255}.0/24 -m comment --comment "r ${i}" -j RETURN` : `-A ${chain} -p udp -m udp --sport ${i % 65536} -j DROP`);
    if (i === size >> 1) lines.push(':C - [0:0]', '-A A -j C');
  }
  lines.push('-A C -j B', ':OUTPUT ACCEPT [0:0]', 'COMMIT', '');
  return lines.join('\n');
}

/** A section's rule lines as restore() packs them: a transaction's checks, one per packing. */
function ruleOps(section: SaveSection): RuleLineOp {
  const tx = new Transaction(new TableShape('ipv4', 'legacy', section.table));
  const { rules } = section;
  return (i: number, out: OpWriter) => {
    const chain = rules.chain(i);
    const rule = rules.rule(i);
    return tx.writeAppend(chain, rule, out, () => tx.appendOp(chain, rule));
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

for (const [name, text] of [
  ['row 11, 10k rules', savedTable(10000)],
  ['chains declared between rules, other shapes', mixedTable(6000)],
  ['one small slice', savedTable(3)],
] as const) {
  for (const noflush of [false, true]) {
    test(`packed in commit order = restoreBatch's bytes = the slices handed over (${name}${noflush ? ', noflush' : ''})`, async () => {
      const section = parseSaveText(text)[0] as SaveSection;
      const plan = planRestore(null, section, noflush, 'legacy');
      const slices: Uint8Array[] = [];
      let header: Uint8Array | null = null;
      const streamed = await packRestoreBatch('ipv4', section.rules, plan.ops, ruleOps(section), (out, from) => {
        const bytes = out.finish();
        header ??= bytes.slice(0, 2);
        assert.ok(from >= 2 && from <= bytes.length);
        slices.push(bytes.slice(from));
      });
      const reference = restoreBatch('ipv4', plan.ops as (NativeOp | number)[], await packRuleLines('ipv4', section.rules, ruleOps(section)));
      assert.is(hex(streamed), hex(reference));
      assert.is(hex(Buffer.concat([header ?? new Uint8Array(0), ...slices])), hex(streamed), 'the slices are not the batch');
      if (section.rules.length > 5000) assert.ok(slices.length > 1, `one slice for ${section.rules.length} lines`);
    });
  }
}

const native = (fw: Firewall): NativeLegacyTable => (fw as unknown as { native: NativeLegacyTable }).native;
const open = (ns: Netns): Promise<Firewall> => Firewall.open({ backend: 'legacy', family: 'ipv4', netns: ns.path });

test('legacy: a staged replace leaves the table a commit of the whole batch at once leaves', () =>
  withNetns((staged) =>
    withNetns(async (whole) => {
      for (const text of [savedTable(10000), mixedTable(6000)]) {
        const section = parseSaveText(text)[0] as SaveSection;
        const plan = planRestore(null, section, false, 'legacy');
        const batch = await packRestoreBatch('ipv4', section.rules, plan.ops, ruleOps(section), null);
        const [a, b] = [await open(staged), await open(whole)];
        try {
          await a.restore(text);
          await native(b).commit(batch);
          assert.is(await native(a).version(), await native(b).version(), 'the kernel holds other entries');
        } finally {
          await a.close();
          await b.close();
        }
      }
      const saved = (await staged.run('iptables-legacy-save', ['-t', 'filter'])).stdout;
      assert.is(saved.split('\n').filter((l) => l.startsWith('-A B ')).length, 2000);
    }),
  ),
);

test('legacy: a refusal in a late slice is typed and names its line; the table is untouched', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-w', '-N', 'OLD']);
    await ns.run('iptables-legacy', ['-w', '-A', 'INPUT', '-j', 'OLD']);
    const fw = await open(ns);
    try {
      const before = await native(fw).version();
      const cases: Array<[string, string, RegExp]> = [
        // The kernel's: the pool finds no chain MISSING when it applies the last slice.
        [savedTable(8000, ['-A LIMITS -j MISSING']), 'ERR_CONNLIMIT_NOT_FOUND', /\[line 8007: '-A LIMITS -j MISSING'; nothing was applied\]/],
        // The rule language's: the main thread refuses the line while earlier slices are staged.
        [savedTable(8000, ['-A LIMITS -m statistic --mode random --probability 0.5 -j DROP']), 'ERR_CONNLIMIT_INVALID', /line 8007/],
      ];
      for (const [text, code, message] of cases) {
        const e = await rejects(fw.restore(text), code);
        assert.match(e.message, message);
        assert.is(await native(fw).version(), before, 'the table changed');
      }
      await fw.restore(savedTable(100));
      assert.is.not(await native(fw).version(), before);
    } finally {
      await fw.close();
    }
  }),
);

test('legacy: restores racing on one handle all settle, the last one in the table', () =>
  withNetns(async (ns) => {
    const fw = await open(ns);
    try {
      const texts = [savedTable(4000), mixedTable(3000), savedTable(4000, ['-A LIMITS -j MISSING']), savedTable(2500)];
      const outcomes = await Promise.all(texts.map((t) => fw.restore(t).then(() => 'ok', (e: { code?: string }) => e.code ?? 'error')));
      assert.equal(outcomes, ['ok', 'ok', 'ERR_CONNLIMIT_NOT_FOUND', 'ok']);
      const saved = (await ns.run('iptables-legacy-save', ['-t', 'filter'])).stdout;
      assert.is(saved.split('\n').filter((l) => l.startsWith('-A LIMITS ')).length, 2500);
    } finally {
      await fw.close();
    }
  }),
);

test('legacy: with one pool thread (UV_THREADPOOL_SIZE=1), staged restores and a read between them all complete', () =>
  withNetns((ns) => {
    // The stageOps works, both commits and the list share the one thread: none may wait for another.
    const child = `
      const { Firewall } = require(${JSON.stringify(join(__dirname, '..', 'src', 'index.ts'))});
      (async () => {
        const fw = await Firewall.open({ backend: 'legacy', family: 'ipv4', netns: ${JSON.stringify(ns.path)} });
        const rule = (i) => '-A LIMITS -p tcp -m tcp --dport ' + (1024 + i) + ' -m connlimit --connlimit-above 2 -j DROP';
        const text = ['*filter', ':LIMITS - [0:0]', ...Array.from({ length: 6000 }, (_, i) => rule(i)), 'COMMIT', ''].join('\\n');
        await Promise.all([fw.restore(text), fw.restore(text), fw.list()]);
        await fw.close();
        console.log('restored');
      })();`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', child], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, UV_THREADPOOL_SIZE: '1' } });
    assert.is(r.stdout?.trim(), 'restored', `${r.error ?? r.signal ?? r.status}: ${r.stderr}`);
  }),
);

test.run();
