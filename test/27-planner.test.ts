// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 2: the one nf_tables planner and its commit driver on recorded bytes, no kernel. The
// replies iptables-nft-save and `nft list ruleset` got for a ruleset (scripts/capture-plan-state.sh,
// test/fixtures/plan/) stand for the kernel; the addon's _planNft plans the ops on them, runs the
// driver's retry loop against them, and returns every batch it sent. Each op kind of both forms,
// the native form's table lifecycle, and a stale generation id retried from a fresh read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import type { NativeOp } from '../src/native-types';
import { packOps } from '../src/op-pack';
import { toNativeRule } from '../src/rule/index';

const DIR = join(__dirname, 'fixtures', 'plan');

function recording(name: string): Buffer {
  const hex = readFileSync(join(DIR, `${name}.hex`), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .join('');
  return Buffer.from(hex, 'hex');
}

// nf_tables message types (include/uapi/linux/netfilter/nf_tables.h), NFNL_SUBSYS_NFTABLES << 8.
const T = { NEWTABLE: 0, DELTABLE: 2, NEWCHAIN: 3, DELCHAIN: 5, NEWRULE: 6, DELRULE: 8, NEWSET: 9, DELSET: 11, NEWGEN: 15 };
const NAMES = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k]));
const NLM_F_REPLACE = 0x100;
const NLM_F_APPEND = 0x800;

interface Msg {
  type: string;
  flags: number;
  attrs: Map<number, Buffer>;
}

function messages(bytes: Buffer): Msg[] {
  const out: Msg[] = [];
  for (let off = 0; off + 16 <= bytes.length; ) {
    const len = bytes.readUInt32LE(off);
    const type = bytes.readUInt16LE(off + 4);
    const attrs = new Map<number, Buffer>();
    for (let a = off + 20; a + 4 <= off + len; ) {
      const alen = bytes.readUInt16LE(a);
      const atype = bytes.readUInt16LE(a + 2) & 0x3fff;
      if (!attrs.has(atype)) attrs.set(atype, bytes.subarray(a + 4, a + alen));
      a += (alen + 3) & ~3;
    }
    const name = type === 16 ? 'BEGIN' : type === 17 ? 'END' : (NAMES[type & 0xff] ?? String(type));
    out.push({ type: name, flags: bytes.readUInt16LE(off + 6), attrs });
    off += (len + 3) & ~3;
  }
  return out;
}

const str = (b: Buffer | undefined) => (b ? b.subarray(0, b.indexOf(0)).toString() : undefined);
const u64 = (b: Buffer | undefined) => (b ? b.readBigUInt64BE(0) : undefined);
const genOf = (batch: Buffer) => messages(batch)[0].attrs.get(1)!.readUInt32BE(0);

// The rules of a recording, in dump order: [table, chain, handle] (NFTA_RULE_TABLE/CHAIN/HANDLE).
function recordedRules(name: string): Array<[string, string, bigint]> {
  const seen = new Set<string>();
  const out: Array<[string, string, bigint]> = [];
  for (const m of messages(recording(name))) {
    if (m.type !== 'NEWRULE') continue;
    const r: [string, string, bigint] = [str(m.attrs.get(1))!, str(m.attrs.get(2))!, u64(m.attrs.get(3))!];
    if (seen.has(r.join())) continue;
    seen.add(r.join());
    out.push(r);
  }
  return out;
}

function recordedGen(name: string): number {
  const gen = messages(recording(name)).find((m) => m.type === 'NEWGEN')!;
  return gen.attrs.get(1)!.readUInt32BE(0);
}

function plan(form: 'nft' | 'nftables', names: string[], ops: NativeOp[], table = form === 'nft' ? 'filter' : 'connlimit') {
  const r = binding()._planNft(form, 'ipv4', table, names.map(recording), packOps('ipv4', ops));
  return { ...r, msgs: r.batches.map((b) => messages(b).filter((m) => m.type !== 'BEGIN' && m.type !== 'END')) };
}

const kinds = (msgs: Msg[]) => msgs.map((m) => m.type);
const rule = (text: string) => toNativeRule(text, 'ipv4');
const DROP = rule('-s 10.0.0.0/8 -j DROP');
const LIMIT = rule('-p tcp --dport 22 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');

// ---- iptables-nft's form: filter with INPUT [connlimit REJECT, -s 10/8 DROP], LIMITS [RETURN] ----

const C = 'compat-ipv4';
const [c0, c1, cLimits] = recordedRules(C);

test('compat: the recording holds INPUT\'s two rules and LIMITS\' one', () => {
  assert.equal([c0[1], c1[1], cLimits[1]], ['INPUT', 'INPUT', 'LIMITS']);
});

test('compat append: one NEWRULE, appended, under the recorded generation id; nothing created', () => {
  const r = plan('nft', [C], [{ op: 'append', chain: 'INPUT', rule: DROP }]);
  assert.is(r.attempts, 1);
  assert.is(genOf(r.batches[0]), recordedGen(C));
  assert.equal(kinds(r.msgs[0]), ['NEWRULE']);
  assert.ok(r.msgs[0][0].flags & NLM_F_APPEND);
  assert.is(u64(r.msgs[0][0].attrs.get(6)), undefined);
});

test('compat append to a table not yet created: NEWTABLE, NEWCHAIN, NEWRULE', () => {
  const genOnly = recording(C).subarray(0, recording(C).readUInt32LE(0));
  const r = binding()._planNft('nft', 'ipv4', 'filter', [genOnly], packOps('ipv4', [{ op: 'append', chain: 'INPUT', rule: DROP }]));
  assert.equal(kinds(messages(r.batches[0])), ['BEGIN', 'NEWTABLE', 'NEWCHAIN', 'NEWRULE', 'END']);
});

test('compat insert at position 2: before the recorded second rule (its handle as position)', () => {
  const r = plan('nft', [C], [{ op: 'insert', chain: 'INPUT', index: 1, rule: DROP }]);
  assert.equal(kinds(r.msgs[0]), ['NEWRULE']);
  assert.is(u64(r.msgs[0][0].attrs.get(6)), c1[2]);
  assert.equal([...r.results], [1, 1]);
});

test('compat replace: NEWRULE with NLM_F_REPLACE and the replaced rule\'s handle', () => {
  const r = plan('nft', [C], [{ op: 'replace', chain: 'INPUT', index: 0, rule: DROP }]);
  assert.ok(r.msgs[0][0].flags & NLM_F_REPLACE);
  assert.is(u64(r.msgs[0][0].attrs.get(3)), c0[2]);
});

test('compat delete by position and by spec: DELRULE with the recorded handle', () => {
  const at = plan('nft', [C], [{ op: 'deleteAt', chain: 'INPUT', index: 1 }]);
  assert.equal(kinds(at.msgs[0]), ['DELRULE']);
  assert.is(u64(at.msgs[0][0].attrs.get(3)), c1[2]);
  const spec = plan('nft', [C], [{ op: 'delete', chain: 'INPUT', rule: DROP }]);
  assert.is(u64(spec.msgs[0][0].attrs.get(3)), c1[2]);
  assert.equal([...spec.results], [1, 1]);
});

test('compat check (ensure of a rule that is there): no batch, found at its position', () => {
  const r = plan('nft', [C], [{ op: 'ensure', chain: 'INPUT', rule: DROP }]);
  assert.is(r.batches.length, 0);
  assert.equal([...r.results], [0, 1]);
});

test('compat refusals name the op: no such rule, no such position', () => {
  const other = rule('-s 192.0.2.1 -j DROP');
  assert.throws(() => plan('nft', [C], [{ op: 'append', chain: 'INPUT', rule: DROP }, { op: 'delete', chain: 'INPUT', rule: other }]),
    (e: { errno?: number; opIndex?: number }) => e.opIndex === 1);
  assert.throws(() => plan('nft', [C], [{ op: 'deleteAt', chain: 'INPUT', index: 5 }]));
});

test('compat flush: one DELRULE for the chain, or for the table', () => {
  const chain = plan('nft', [C], [{ op: 'flush', chain: 'INPUT' }]);
  assert.equal(kinds(chain.msgs[0]), ['DELRULE']);
  assert.is(str(chain.msgs[0][0].attrs.get(2)), 'INPUT');
  assert.is(chain.msgs[0][0].attrs.get(3), undefined);
  const all = plan('nft', [C], [{ op: 'flush', chain: null }]);
  assert.equal(kinds(all.msgs[0]), ['DELRULE']);
  assert.is(all.msgs[0][0].attrs.get(2), undefined);
});

test('compat chains: create, delete (after its flush), rename by handle, policy', () => {
  const r = plan('nft', [C], [
    { op: 'createChain', chain: 'NEW' },
    { op: 'flush', chain: 'LIMITS' },
    { op: 'deleteChain', chain: 'LIMITS' },
  ]);
  assert.equal(kinds(r.msgs[0]), ['NEWCHAIN', 'DELRULE', 'DELCHAIN']);
  assert.is(str(r.msgs[0][0].attrs.get(3)), 'NEW');
  assert.throws(() => plan('nft', [C], [{ op: 'deleteChain', chain: 'LIMITS' }]));  // not empty
  const renamed = plan('nft', [C], [{ op: 'renameChain', chain: 'LIMITS', to: 'L2' }]);
  assert.equal(kinds(renamed.msgs[0]), ['NEWCHAIN']);
  assert.ok(u64(renamed.msgs[0][0].attrs.get(2))! > 0n);
  assert.is(str(renamed.msgs[0][0].attrs.get(3)), 'L2');
  const policy = plan('nft', [C], [{ op: 'setPolicy', chain: 'INPUT', policy: 'DROP' }]);
  assert.equal(kinds(policy.msgs[0]), ['NEWCHAIN']);
  assert.is(policy.msgs[0][0].attrs.get(5)!.readUInt32BE(0), 0);  // NF_DROP
});

test('compat stale generation: refused, then redone from the fresh read (its new first rule)', () => {
  const later = recordedRules('compat-ipv4-later');
  const r = plan('nft', [C, 'compat-ipv4-later'], [{ op: 'deleteAt', chain: 'INPUT', index: 0 }]);
  assert.is(r.attempts, 2);
  assert.equal(r.batches.map(genOf), [recordedGen(C), recordedGen('compat-ipv4-later')]);
  assert.is(u64(r.msgs[0][0].attrs.get(3)), c0[2]);
  assert.is(u64(r.msgs[1][0].attrs.get(3)), later[0][2]);
  assert.is.not(later[0][2], c0[2]);
});

// ---- the native form: connlimit [INPUT: connlimit rule with set connlimit0, DROP], connlimit_1 [INPUT: one] ----

const N = 'native-ipv4';
const [n0, n1, n2] = recordedRules(N);
const tableOf = (m: Msg) => str(m.attrs.get(1));

test('native: the recording holds two tables, three rules', () => {
  assert.equal([n0[0], n1[0], n2[0]], ['connlimit', 'connlimit', 'connlimit_1']);
});

test('native append: into the last table holding rules, with its set', () => {
  const r = plan('nftables', [N], [{ op: 'append', chain: 'INPUT', rule: LIMIT }]);
  assert.equal(kinds(r.msgs[0]), ['NEWSET', 'NEWRULE']);
  assert.equal(r.msgs[0].map(tableOf), ['connlimit_1', 'connlimit_1']);
});

test('native insert, replace, delete by position and by spec: in the table of the rule they name', () => {
  const ins = plan('nftables', [N], [{ op: 'insert', chain: 'INPUT', index: 2, rule: DROP }]);
  assert.equal(kinds(ins.msgs[0]), ['NEWRULE']);
  assert.is(tableOf(ins.msgs[0][0]), 'connlimit_1');
  assert.is(u64(ins.msgs[0][0].attrs.get(6)), n2[2]);
  const rep = plan('nftables', [N], [{ op: 'replace', chain: 'INPUT', index: 0, rule: DROP }]);
  assert.equal(kinds(rep.msgs[0]), ['NEWRULE', 'DELSET']);  // the replaced rule's set goes after it
  assert.is(u64(rep.msgs[0][0].attrs.get(3)), n0[2]);
  assert.is(str(rep.msgs[0][1].attrs.get(2)), 'connlimit0');
  const at = plan('nftables', [N], [{ op: 'deleteAt', chain: 'INPUT', index: 0 }]);
  assert.equal(kinds(at.msgs[0]), ['DELRULE', 'DELSET']);
  const spec = plan('nftables', [N], [{ op: 'delete', chain: 'INPUT', rule: DROP }]);
  assert.equal(kinds(spec.msgs[0]), ['DELRULE']);
  assert.is(u64(spec.msgs[0][0].attrs.get(3)), n1[2]);
  const found = plan('nftables', [N], [{ op: 'ensure', chain: 'INPUT', rule: DROP }]);
  assert.is(found.batches.length, 0);
  assert.equal([...found.results], [0, 1]);
});

test('native tables come and go: the batch that empties connlimit_1 deletes it; connlimit stays', () => {
  const last = plan('nftables', [N], [{ op: 'deleteAt', chain: 'INPUT', index: 2 }]);
  assert.equal(kinds(last.msgs[0]), ['DELTABLE']);
  assert.is(str(last.msgs[0][0].attrs.get(1)), 'connlimit_1');
  const chain = plan('nftables', [N], [{ op: 'flush', chain: 'INPUT' }]);
  assert.equal(kinds(chain.msgs[0]), ['DELRULE', 'DELSET', 'DELRULE', 'DELTABLE']);
  const all = plan('nftables', [N], [{ op: 'flush', chain: null }]);
  assert.equal(kinds(all.msgs[0]), ['DELTABLE', 'DELTABLE']);
  assert.equal(all.msgs[0].map((m) => str(m.attrs.get(1))), ['connlimit', 'connlimit_1']);
  // Emptied and refilled in one batch: the rule goes to connlimit, created by nothing new.
  const refill = plan('nftables', [N], [{ op: 'flush', chain: null }, { op: 'append', chain: 'INPUT', rule: DROP }]);
  assert.equal(kinds(refill.msgs[0]), ['DELRULE', 'DELSET', 'DELRULE', 'NEWRULE', 'DELTABLE']);
  assert.is(tableOf(refill.msgs[0][3]), 'connlimit');
});

test('native form refuses user chains and policies before planning anything', () => {
  assert.throws(() => plan('nftables', [N], [{ op: 'createChain', chain: 'NEW' }]));
  assert.throws(() => plan('nftables', [N], [{ op: 'setPolicy', chain: 'INPUT', policy: 'DROP' }]));
});

test('native stale generation: refused, then redone from the fresh read', () => {
  const r = plan('nftables', [N, 'native-ipv4-later'], [{ op: 'append', chain: 'INPUT', rule: DROP }]);
  assert.is(r.attempts, 2);
  assert.equal(r.batches.map(genOf), [recordedGen(N), recordedGen('native-ipv4-later')]);
  assert.equal(kinds(r.msgs[1]), ['NEWRULE']);
});

test.run();
