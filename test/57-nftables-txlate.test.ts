// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the native nftables form (backend 'nftables') writes each compat module as
// `iptables-translate` 1.8.9 renders it. The oracle is iptables' own `.txlate` files at v1.8.9
// (test/fixtures/iptables-txlate/, SOURCE.md there): for every case of every file, the
// iptables line goes through the library into a throwaway namespace, and what `nft list chain`
// shows of our chain must be what it shows of the expected nft text, which nft itself writes
// into a chain of a reference table in the same namespace: the same rule text, and the same
// expressions as the kernel dumps them (`nft --debug=netlink list chain`). Then list() must read
// the rule back into typed parts (no `opaque`), check() must find it by its line, by the listed
// part and by renderRule's text, and delete() by its line must remove it.
//
// Normalised, and only this:
// - the table and chain: ours is `connlimit`/INPUT (or FORWARD, OUTPUT: the case's chain), the
//   reference's `ref`/`C`; only the rule lines are compared;
// - counters: `counter packets N bytes M` is `counter` (and `[ counter pkts N bytes M ]`);
// - the verdict: the native form's verdicts are final ones (DROP, REJECT; README), so a match's
//   case ending in `-j ACCEPT`, `-j LOG` or no target is applied with `-j DROP`, and its expected
//   `accept`, `log` or nothing after `counter` becomes `drop`. The targets' own files (LOG,
//   NFLOG, MARK, CONNMARK, TCPMSS: statements that let the packet go on) are applied as they are.
// Cases adapted to our deliberate strictness (README), and cases refused, are in EXCEPTIONS,
// each with the reason.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, renderRule } from '../src/index';
import { rejects } from './helpers/assert';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';

type Family = 'ipv4' | 'ipv6';

interface TxlateCase {
  file: string;
  family: Family;
  /** The iptables arguments after `iptables-translate`, as the file has them. */
  args: string;
  /** The expected rule's text after `add rule ip filter CHAIN` (or `insert rule ...`). */
  nft: string;
}

const DIR = join(__dirname, 'fixtures', 'iptables-txlate');

function readCases(file: string): TxlateCase[] {
  const out: TxlateCase[] = [];
  let pending: { family: Family; args: string } | null = null;
  for (const line of readFileSync(join(DIR, `${file}.txlate`), 'utf8').split('\n')) {
    const t = /^(ip6?)tables-translate (.*)$/.exec(line);
    if (t) {
      pending = { family: t[1] === 'ip6' ? 'ipv6' : 'ipv4', args: t[2]! };
      continue;
    }
    const n = /^nft '(?:add|insert) rule ip6? \S+ \S+ (.*)'$/.exec(line);
    if (n && pending) {
      out.push({ file, ...pending, nft: n[1]! });
      pending = null;
    }
  }
  return out;
}

/** Files whose module the native form does not write: every case refused, naming this. */
const REFUSED_FILES: Record<string, RegExp> = {
  // `queue` is a verdict: the reader's accept would end our chain only (docs/nft.md).
  libxt_NFQUEUE: /-j NFQUEUE is not available in the native nftables form here \(the reader's accept would end evaluation of our table only.*backend 'nft'/,
};

type Exception =
  | { why: string; refused: RegExp }
  | { why: string; args: string; nft: string };

// nft 1.0.6 itself refuses `ct original proto-src 443-444` ("Can't parse symbolic invalid expressions").
const PORTS_REFUSED: Exception = {
  why: "the translation of conntrack's ports is text nft 1.0.6 cannot parse",
  refused: /match conntrack is not available in the native nftables form \(nft 1\.0\.6 cannot parse the translation of conntrack's port options.*backend 'nft'/,
};
/** The mangle PREROUTING cases of a target's file, run in INPUT (our tables hook INPUT, FORWARD and OUTPUT only): the statement is the same. */
const inInput = (file: string, cases: Record<string, string>): [string, Exception][] =>
  Object.entries(cases).map(([args, nft]) => [
    args,
    { why: `${file} in INPUT: the native form's tables have no PREROUTING`, args: args.replace(/-A PREROUTING +/, '-A INPUT '), nft },
  ]);
/** By file, then by the case's arguments exactly as the file has them. */
const EXCEPTIONS: Record<string, Record<string, Exception>> = {
  libxt_time: {
    '-A INPUT -p icmp --icmp-type echo-request -m time --weekdays Sa,Su -j REJECT': { why: 'weekday names are whole (README)', refused: /bad --weekdays day 'Sa'/ },
  },
  libxt_MARK: Object.fromEntries(
    inInput('MARK', {
      '-t mangle -A PREROUTING -j MARK --set-mark 0x64': '',
      '-t mangle -A PREROUTING -j MARK --and-mark 0x64': '',
      '-t mangle -A PREROUTING -j MARK --or-mark 0x64': '',
    }),
  ),
  libxt_CONNMARK: Object.fromEntries(
    inInput('CONNMARK', {
      '-t mangle -A PREROUTING -j CONNMARK --set-mark 0': '',
      '-t mangle -A PREROUTING -j CONNMARK --set-mark 0x16': '',
      // 1.8.9 renders `ct mark xor 0x16 and 0xffffffed`, which xors before masking: nft folds it into
      // `ct mark xor 0x4`, not what CONNMARK does ((ctmark & ~0x12) ^ 0x16). We write that, as nft sends its text.
      '-t mangle -A PREROUTING -j CONNMARK --set-xmark 0x16/0x12': 'counter ct mark set ct mark and 0xffffffed xor 0x16',
      '-t mangle -A PREROUTING -j CONNMARK --and-mark 0x16': '',
      '-t mangle -A PREROUTING -j CONNMARK --or-mark 0x16': '',
      '-t mangle -A PREROUTING -j CONNMARK --save-mark': '',
      '-t mangle -A PREROUTING -j CONNMARK --restore-mark': '',
      // --set-mark 0x23/0x42 is --set-xmark 0x23/0x63: the same fold as above, then the shift.
      '-t mangle -A PREROUTING  -j CONNMARK --set-mark 0x23/0x42 --right-shift-mark 5': 'counter ct mark set ( ct mark and 0xffffff9c xor 0x23 ) >> 5',
    }),
  ),
  libxt_hashlimit: {
    // The other case (packets, an expiry of 300 s) is written as the meter 1.8.9 renders.
    '-A OUTPUT -m tcp -p tcp --dport 443 -m hashlimit --hashlimit-above 20kb/s --hashlimit-burst 1mb --hashlimit-mode dstip --hashlimit-name https --hashlimit-dstmask 24 -m state --state NEW -j DROP': {
      why: 'a byte rate: the meter was measured to mean the same for packets only (docs/modules.md)',
      refused: /match hashlimit is not available in the native nftables form \(a byte rate.*backend 'nft'/,
    },
  },
  libxt_NFQUEUE: {
    '-t nat -A PREROUTING -p tcp --dport 80 -j NFQUEUE --queue-num 30': {
      why: "the native form's tables hook INPUT, FORWARD and OUTPUT (the chain is refused before the target)",
      refused: /base chains INPUT, FORWARD, OUTPUT only, not 'PREROUTING'/,
    },
  },
  libxt_conntrack: {
    '-t filter -A INPUT -m conntrack --ctproto tcp --ctorigsrcport 443:444 -j ACCEPT': PORTS_REFUSED,
    '-t filter -A INPUT -m conntrack --ctstate NEW --ctproto tcp --ctorigsrc 192.168.0.1 --ctorigdst 192.168.0.1 --ctreplsrc 192.168.0.1 --ctrepldst 192.168.0.1 --ctorigsrcport 12 --ctorigdstport 14 --ctreplsrcport 16 --ctrepldstport 18 --ctexpire 10 --ctstatus SEEN_REPLY --ctdir ORIGINAL -j ACCEPT':
      PORTS_REFUSED,
  },
  libipt_icmp: Object.fromEntries(
    ['--icmp-type echo-reply', '--icmp-type 3', '! --icmp-type 3', '--icmp-type any'].map((opt) => {
      const args = `-t filter -A INPUT -m icmp ${opt} -j ACCEPT`;
      // -p icmp changes nothing in the translation: iptables-translate leaves `ip protocol icmp` out for an icmp match.
      return [args, { why: '-m icmp needs -p icmp (the kernel refuses it without)', args: `-t filter -A INPUT -p icmp -m icmp ${opt} -j ACCEPT`, nft: '' }];
    }),
  ),
  libip6t_icmp6: Object.fromEntries(
    ['--icmpv6-type 1', '--icmpv6-type neighbour-advertisement', '! --icmpv6-type packet-too-big'].map((opt) => {
      const args = `-t filter -A INPUT -m icmp6 ${opt} -j LOG`;
      // ip6tables-translate then prints `meta l4proto ipv6-icmp` first, which nft sends and lists as the same rule.
      return [args, { why: '-m icmp6 needs -p ipv6-icmp (the kernel refuses it without)', args: `-t filter -A INPUT -p ipv6-icmp -m icmp6 ${opt} -j LOG`, nft: '' }];
    }),
  ),
  libxt_multiport: {
    // 1.8.9 writes `tcp sport . tcp dport { 0-65535 . 10, 10 . 0-65535 }`, and drops `!` and splits ranges for others.
    '-t filter -I INPUT -p tcp -m multiport --ports 10': {
      why: '--ports has no translation that means it in one lookup',
      refused: /match multiport is not available in the native nftables form \(--ports has no translation.*backend 'nft'/,
    },
  },
  libxt_limit: {
    '-A INPUT -m limit --limit 10/s --limit-burst 0': { why: 'a burst of 0 is refused (xt_limit refuses it: "Overflow, try lower")', refused: /burst/ },
  },
  libxt_length: {
    '-A INPUT -p icmp -m length --length 86:0xffff -j DROP': { why: 'numbers are decimal (README)', args: '-A INPUT -p icmp -m length --length 86:65535 -j DROP', nft: '' },
  },
  libxt_tcpmss: Object.fromEntries(
    [['--mss 42', '42'], ['! --mss 42', '!= 42'], ['--mss 42:1024', '42-1024'], ['! --mss 1461:65535', '!= 1461-65535']].map(([opt, size]) => [
      `-A INPUT -m tcpmss ${opt}`,
      // With -p tcp, iptables-translate 1.8.9 prints `ip protocol tcp` first; nft's tcp option load has no protocol test of its own.
      { why: '-m tcpmss needs -p tcp (the kernel refuses it without)', args: `-A INPUT -p tcp -m tcpmss ${opt}`, nft: `ip protocol tcp tcp option maxseg size ${size} counter` },
    ]),
  ),
};

/** Cases no .txlate file has: `state` (translated by conntrack's code) and `recent`/`set` (no translation). */
const EXTRA: { case: TxlateCase; refused?: RegExp }[] = [
  // iptables-translate 1.8.9 prints these (run on the dev VM).
  { case: { file: 'state', family: 'ipv4', args: '-A INPUT -m state --state ESTABLISHED,RELATED -j DROP', nft: 'ct state related,established counter drop' } },
  { case: { file: 'state', family: 'ipv6', args: '-A INPUT -m state ! --state INVALID,UNTRACKED -j DROP', nft: 'ct state ! invalid,untracked counter drop' } },
  { case: { file: 'state', family: 'ipv4', args: '-A INPUT -p tcp --syn --dport 22 -m conntrack --ctstate NEW -j REJECT', nft: 'tcp dport 22 tcp flags & (fin|syn|rst|ack) == syn ct state new counter reject' } },
  // The txlate file's all-options case without its ports (which nft cannot parse), and prefixes off a byte boundary.
  {
    case: {
      file: 'conntrack',
      family: 'ipv4',
      args: '-A INPUT -m conntrack --ctstate NEW --ctproto tcp --ctorigsrc 192.168.0.1 --ctorigdst 192.168.0.1 --ctreplsrc 192.168.0.1 --ctrepldst 192.168.0.1 --ctexpire 10 --ctstatus SEEN_REPLY --ctdir ORIGINAL -j DROP',
      nft: 'ct direction original ct original protocol 6 ct state new ct status seen-reply ct expiration 10 ct original saddr 192.168.0.1 ct original daddr 192.168.0.1 ct reply saddr 192.168.0.1 ct reply daddr 192.168.0.1 counter drop',
    },
  },
  { case: { file: 'conntrack', family: 'ipv4', args: '-A INPUT -m conntrack --ctdir REPLY ! --ctproto 17 ! --ctorigdst 10.96.0.0/12 --ctexpire 5:60 -j DROP', nft: 'ct direction reply ct reply protocol != 17 ct expiration 5-60 ct original daddr != 10.96.0.0/12 counter drop' } },
  { case: { file: 'conntrack', family: 'ipv6', args: '-A INPUT -m conntrack ! --ctstatus ASSURED --ctreplsrc 2001:db8::/60 ! --ctexpire 30 -j DROP', nft: 'ct status ! assured ct expiration != 30 ct reply saddr 2001:db8::/60 counter drop' } },
  // libxt_conntrack 1.8.9 renders these as `ct status snat` (it drops NEW, and the `!`).
  { case: { file: 'conntrack', family: 'ipv4', args: '-A INPUT -m conntrack --ctstate NEW,SNAT -j DROP', nft: '' }, refused: /--ctstate SNAT or DNAT translates alone and not negated only.*backend 'nft'/ },
  { case: { file: 'conntrack', family: 'ipv4', args: '-A INPUT -m conntrack ! --ctstate DNAT -j DROP', nft: '' }, refused: /--ctstate SNAT or DNAT translates alone and not negated only.*backend 'nft'/ },
  { case: { file: 'conntrack', family: 'ipv4', args: '-A INPUT -m conntrack --ctorigsrc 10.100.2.131/16 -j DROP', nft: '' }, refused: /--ctorigsrc with host bits set under its mask has no translation nft keeps.*backend 'nft'/ },
  { case: { file: 'conntrack', family: 'ipv4', args: '-A INPUT -m conntrack --ctorigsrc 10.1.0.0/255.0.255.0 -j DROP', nft: '' }, refused: /--ctorigsrc with a mask that is no prefix.*backend 'nft'/ },
  { case: { file: 'recent', family: 'ipv4', args: '-A INPUT -m recent --set -j DROP', nft: '' }, refused: /match recent is not available in the native nftables form \(it has no translation here\).*backend 'nft'/ },
  // One dimension is `ip saddr @x` (test 59, with a client set of the table); two are refused.
  { case: { file: 'set', family: 'ipv4', args: '-A INPUT -m set --match-set x src,dst -j DROP', nft: '' }, refused: /-m set with src,dst is not available in the native nftables form.*backend 'nft'/ },
];

/** The library's line and the expected nft body, the verdict normalised as the header says. */
function normalise(args: string, nft: string, targetUnderTest: boolean): { chain: string; line: string; nft: string } {
  const chain = /-[AI] (\S+)/.exec(args)![1]!;
  let line = args.replace(/^(-t \S+ )?-[AI] \S+ /, '');
  if (targetUnderTest) return { chain, line, nft };
  if (/ -j (ACCEPT|LOG)$/.test(line)) line = line.replace(/ -j (ACCEPT|LOG)$/, ' -j DROP');
  else if (!/(^| )-j /.test(line)) line += ' -j DROP';
  return { chain, line, nft: nft.replace(/ counter( accept| log)?$/, ' counter drop') };
}

const ruleLines = (listing: string): string[] =>
  listing
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(table|chain|type) |^}$/.test(l))
    .map((l) => l.replace(/counter packets \d+ bytes \d+/, 'counter'));

const exprLines = (debug: string): string[] =>
  debug
    .split('\n')
    .filter((l) => l.startsWith('  ['))
    .map((l) => l.trim().replace(/\[ counter pkts \d+ bytes \d+ \]/, '[ counter ]'));

const nftFamily = (f: Family) => (f === 'ipv4' ? 'ip' : 'ip6');

/** What nft writes for `body` in the reference chain, as text and as the kernel's expressions. */
async function reference(ns: Netns, family: Family, body: string): Promise<{ text: string[]; exprs: string[] }> {
  const fam = nftFamily(family);
  await ns.run('nft', ['flush', 'chain', fam, 'ref', 'C']);
  await ns.run('nft', [`add rule ${fam} ref C ${body}`]);
  return {
    text: ruleLines((await ns.run('nft', ['list', 'chain', fam, 'ref', 'C'])).stdout),
    exprs: exprLines((await ns.run('nft', ['--debug=netlink', 'list', 'chain', fam, 'ref', 'C'])).stdout),
  };
}

async function ours(ns: Netns, family: Family, chain: string): Promise<{ text: string[]; exprs: string[] }> {
  const fam = nftFamily(family);
  return {
    text: ruleLines((await ns.run('nft', ['list', 'chain', fam, 'connlimit', chain])).stdout),
    exprs: exprLines((await ns.run('nft', ['--debug=netlink', 'list', 'chain', fam, 'connlimit', chain])).stdout),
  };
}

/** Runs one case: refused with its message, or written as the translation and read back. */
async function runCase(ns: Netns, fws: Record<Family, Firewall>, c: TxlateCase, refused: RegExp | undefined, counts: { ok: number; refused: number }): Promise<void> {
  const what = `${c.file}: ${c.args}`;
  const fw = fws[c.family];
  const { chain, line, nft } = normalise(c.args, c.nft, /^lib(xt|ipt|ip6t)_[A-Z]+$/.test(c.file));
  if (refused) {
    const e = await rejects(fw.append(chain, line), (err) => err.code === 'ERR_CONNLIMIT_INVALID', what);
    assert.match(e.message, refused, `${what}: ${e.message}`);
    assert.equal(await fw.list(), [], `${what}: nothing written`);
    counts.refused++;
    return;
  }
  await fw.append(chain, line);
  const want = await reference(ns, c.family, nft);
  const got = await ours(ns, c.family, chain);
  assert.equal(got.text, want.text, `${what}: nft list`);
  assert.equal(got.exprs, want.exprs, `${what}: expressions`);
  // Read back into typed parts, found again by every spelling, deleted by the line.
  const listed = await fw.list(chain);
  assert.is(listed.length, 1, what);
  assert.not.match(JSON.stringify(listed[0]!.rule, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)), /"opaque"/, `${what}: no opaque part`);
  assert.ok(await fw.check(chain, line), `${what}: check by line`);
  assert.ok(await fw.check(chain, listed[0]!.rule), `${what}: check by listed part`);
  assert.ok(await fw.check(chain, renderRule(listed[0]!.rule, { family: c.family })), `${what}: check by renderRule`);
  assert.is(await fw.delete(chain, line), 1, `${what}: delete by line`);
  assert.equal(await fw.list(chain), [], `${what}: deleted`);
  counts.ok++;
}

async function withForms(fn: (ns: Netns, fws: Record<Family, Firewall>) => Promise<void>): Promise<void> {
  await withNetns(async (ns) => {
    for (const fam of ['ip', 'ip6']) {
      await ns.run('nft', ['add', 'table', fam, 'ref']);
      await ns.run('nft', ['add', 'chain', fam, 'ref', 'C']);
    }
    const fws = {
      ipv4: await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name }),
      ipv6: await Firewall.open({ family: 'ipv6', backend: 'nftables', netns: ns.name }),
    };
    try {
      await fn(ns, fws);
    } finally {
      await fws.ipv4.close();
      await fws.ipv6.close();
    }
  });
}

const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.txlate'))
  .map((f) => f.slice(0, -'.txlate'.length))
  .sort();

for (const file of FILES) {
  test(`${file}.txlate: every case as the translation renders it, or refused with the reason`, () =>
    withForms(async (ns, fws) => {
      const cases = readCases(file);
      assert.ok(cases.length > 0, file);
      const counts = { ok: 0, refused: 0 };
      const used = new Set<string>();
      for (const c of cases) {
        const x = EXCEPTIONS[file]?.[c.args];
        if (x) used.add(c.args);
        if (x && 'refused' in x) await runCase(ns, fws, c, x.refused, counts);
        else if (x) await runCase(ns, fws, { ...c, args: x.args, nft: x.nft || c.nft }, undefined, counts);
        else await runCase(ns, fws, c, REFUSED_FILES[file], counts);
      }
      // Every exception names a case the file has.
      assert.equal(Object.keys(EXCEPTIONS[file] ?? {}).filter((k) => !used.has(k)), [], `${file}: stale exceptions`);
      assert.is(counts.ok + counts.refused, cases.length);
      if (!REFUSED_FILES[file]) assert.ok(counts.ok > 0, `${file}: some case written`);
    }));
}

test('state, recent and set (no .txlate file), and more conntrack: state as conntrack translates it, recent and set refused', () =>
  withForms(async (ns, fws) => {
    const counts = { ok: 0, refused: 0 };
    for (const x of EXTRA) await runCase(ns, fws, x.case, x.refused, counts);
    assert.equal(counts, { ok: 6, refused: 6 });
  }));

test('`ct state` reads back as -m conntrack --ctstate, whichever module wrote it; -m state deletes it', () =>
  withForms(async (_ns, fws) => {
    await fws.ipv4.append('INPUT', '-m state --state NEW -j DROP');
    const [r] = await fws.ipv4.list('INPUT');
    assert.equal(r!.rule.matches, [{ kind: 'conntrack', state: ['NEW'] }]);
    assert.ok(await fws.ipv4.check('INPUT', '-m conntrack --ctstate NEW -j DROP'));
    assert.is(await fws.ipv4.delete('INPUT', '-m state --state NEW -j DROP'), 1);
  }));

test('typed parts go in and come back as they were', () =>
  withForms(async (_ns, fws) => {
    const typed = [
      { kind: 'conntrack', state: { not: ['INVALID'] }, direction: 'REPLY', expire: { from: 5, to: 60 } },
      { kind: 'mark', mark: { not: 1 }, mask: 0xff },
      { kind: 'limit', rate: 25, per: 'minute', burst: 100 },
      { kind: 'iprange', source: '10.0.0.1-10.0.0.9', destination: { not: '10.1.0.0-10.1.0.255' } },
      { kind: 'pkttype', type: 'broadcast' },
      { kind: 'length', length: { from: 0, to: 128 } },
      { kind: 'ttl', op: 'lt', value: 2 },
      { kind: 'time', timeStart: '22:00:00', timeStop: '06:00:00', weekdays: ['Sun'], dateStart: '2021-03-04T05:06:07' },
      // Several weekdays: an anonymous set, its days listed in xt's order (Monday first).
      { kind: 'time', timeStart: '08:00:00', weekdays: ['Mon', 'Sat', 'Sun'] },
      // Past INT_MAX seconds, as xt_time's u32 holds it.
      { kind: 'time', dateStop: '2038-06-01T00:00:00' },
    ];
    for (const m of typed) {
      const rule = { matches: [m], target: { kind: 'drop' } } as never;
      await fws.ipv4.append('INPUT', rule);
      const [r] = await fws.ipv4.list('INPUT');
      assert.equal(r!.rule.matches, [m], JSON.stringify(m));
      assert.is(await fws.ipv4.delete('INPUT', rule), 1);
    }
    const targets = [
      { kind: 'log', prefix: 'x: ', level: 6, tcpOptions: true },
      { kind: 'nflog', group: 3, size: 64 },
      { kind: 'mark', value: 1, mask: 0xff },
      { kind: 'connmark', mode: 'set', value: 0x23, ctmask: 0x63, rightShift: 5 },
      { kind: 'connmark', mode: 'restore', ctmask: 0xffffffff, nfmask: 0xffffffff },
    ];
    for (const t of targets) {
      const rule = { protocol: 'tcp', target: t } as never;
      await fws.ipv6.append('OUTPUT', rule);
      const [r] = await fws.ipv6.list('OUTPUT');
      assert.equal(r!.rule.target, t, JSON.stringify(t));
      assert.is(await fws.ipv6.delete('OUTPUT', rule), 1);
    }
  }));

test('multiport lists: a list of two or more is an anonymous set, born and gone with its rule (delete, replace); one entry reads back as --dport', () =>
  withForms(async (ns, fws) => {
    const fw = fws.ipv4;
    const anon = async () => (await ns.run('nft', ['--debug=netlink', 'list', 'ruleset'])).stdout.match(/__set\d+/g) ?? [];
    // Typed: written sorted and merged, as nft writes the list; read back so.
    const typed = { protocol: 'udp', matches: [{ kind: 'multiport', sports: { not: [5353, 53, { from: 1000, to: 2000 }, { from: 2001, to: 2100 }] } }], target: { kind: 'drop' } } as never;
    await fw.append('INPUT', typed);
    const [r] = await fw.list('INPUT');
    assert.equal(r!.rule.matches, [{ kind: 'multiport', sports: { not: [53, 5353, { from: 1000, to: 2100 }].sort((a, b) => (typeof a === 'number' ? a : a.from) - (typeof b === 'number' ? b : b.from)) } }]);
    assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout, /udp sport != \{ 53, 1000-2100, 5353 \} counter/);
    assert.ok(await fw.check('INPUT', typed), 'check by the typed rule as given');
    assert.ok(await fw.check('INPUT', '-p udp -m multiport ! --sports 53,1000:2100,5353 -j DROP'), 'check by the line it reads back as');
    // Beside connlimit's own set: two sets in one batch.
    const both = '-p tcp -m multiport --dports 22,80:89 -m connlimit --connlimit-above 2 -j REJECT';
    await fw.append('INPUT', both);
    assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout, /tcp dport \{ 22, 80-89 \} add @connlimit0 \{ ip saddr ct count over 2 \} counter packets 0 bytes 0 reject/);
    const listed = (await fw.list('INPUT'))[1]!;
    assert.match(renderRule(listed.rule, { family: 'ipv4' }), /-m multiport --dports 22,80:89 -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT/);
    assert.ok(await fw.check('INPUT', both));
    assert.is(new Set(await anon()).size, 2);
    // Replaced: the old rule's sets go with it, the new one's come.
    await fw.replace('INPUT', 2, '-p tcp -m multiport --dports 7,8 -j DROP');
    assert.is(new Set(await anon()).size, 2);
    assert.equal((await ns.run('nft', ['list', 'sets', 'ip'])).stdout.match(/set \S+/g) ?? [], [], "connlimit's set gone too");
    assert.ok(await fw.check('INPUT', '-p tcp -m multiport --dports 8,7 -j DROP'));
    assert.is(await fw.delete('INPUT', '-p tcp -m multiport --dports 7,8 -j DROP'), 2, 'its position');
    assert.is(await fw.delete('INPUT', typed), 1);
    assert.equal(await anon(), [], 'no anonymous set left');
    assert.equal((await ns.run('nft', ['list', 'sets', 'ip'])).stdout.match(/set \S+/g) ?? [], [], 'no set left');
    // A typed rule may hold several lists: a set each, in one batch.
    const two = { protocol: 'tcp', matches: [{ kind: 'multiport', dports: [1, 100] }, { kind: 'multiport', sports: { not: [2, 200] } }], target: { kind: 'drop' } } as never;
    await fw.append('INPUT', two);
    assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout, /tcp dport \{ 1, 100 \} tcp sport != \{ 2, 200 \} counter/);
    assert.equal((await fw.list('INPUT'))[0]!.rule.matches, [{ kind: 'multiport', dports: [1, 100] }, { kind: 'multiport', sports: { not: [2, 200] } }]);
    assert.is(await anon().then((a) => new Set(a).size), 2);
    assert.is(await fw.delete('INPUT', two), 1);
    assert.equal(await anon(), []);
    // IPv6: the same set, after `meta l4proto tcp`.
    const v6 = '-p tcp -m multiport --dports 80,443,8000:8080 -j DROP';
    await fws.ipv6.append('INPUT', v6);
    assert.match((await ns.run('nft', ['list', 'chain', 'ip6', 'connlimit', 'INPUT'])).stdout, /tcp dport \{ 80, 443, 8000-8080 \} counter/);
    assert.ok(renderRule((await fws.ipv6.list('INPUT'))[0]!.rule, { family: 'ipv6' }).endsWith(v6));
    assert.is(await fws.ipv6.delete('INPUT', v6), 1);
    // One port or range is nft's comparison (`tcp dport 80-88`): the same expressions as --dport.
    await fw.append('INPUT', '-p tcp -m multiport --dports 80:88 -j DROP');
    const one = renderRule((await fw.list('INPUT'))[0]!.rule, { family: 'ipv4' });
    assert.ok(/-p tcp -m tcp --dport 80:88 -j DROP/.test(one) && !/multiport/.test(one), one);
    assert.is(await fw.delete('INPUT', '-p tcp -m multiport --dports 80:88 -j DROP'), 1);
    assert.equal(await fw.list(), []);
  }));

test('several weekdays: `meta day { ... }`, an anonymous set born and gone with its rule; `! --weekdays` is the complement\'s set', () =>
  withForms(async (ns, fws) => {
    const fw = fws.ipv4;
    const anon = async () => new Set((await ns.run('nft', ['--debug=netlink', 'list', 'ruleset'])).stdout.match(/__set\d+/g) ?? []).size;
    const chain = async (family: 'ip' | 'ip6') => (await ns.run('nft', ['list', 'chain', family, 'connlimit', 'INPUT'])).stdout;
    await fw.append('INPUT', '-p tcp --dport 22 -m time ! --weekdays Sat,Sun -j DROP');
    assert.match(await chain('ip'), /tcp dport 22 meta day \{ "Monday", "Tuesday", "Wednesday", "Thursday", "Friday" \} counter/);
    const [r] = await fw.list('INPUT');
    assert.equal(r!.rule.matches?.at(-1), { kind: 'time', weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] });
    assert.ok(await fw.check('INPUT', '-p tcp --dport 22 -m time --weekdays Mon,Tue,Wed,Thu,Fri -j DROP'), 'check by the line it reads back as');
    assert.is(await anon(), 1);
    // Beside a multiport list and connlimit's set: three sets in one batch; replaced, they go and come.
    const both = '-p tcp -m multiport --dports 80,443 -m time --timestart 08:00 --weekdays Sun,Sat -m connlimit --connlimit-above 2 -j REJECT';
    await fw.append('INPUT', both);
    assert.match(await chain('ip'), /tcp dport \{ 80, 443 \} meta hour "08:00"-"23:59:59" meta day \{ "Sunday", "Saturday" \} add @connlimit0/);
    assert.ok(await fw.check('INPUT', both));
    assert.is(await anon(), 3);
    await fw.replace('INPUT', 2, '-m time --weekdays Wed,Thu -j DROP');
    assert.is(await anon(), 2);
    assert.ok(await fw.check('INPUT', '-m time --weekdays Thu,Wed -j DROP'));
    assert.is(await fw.delete('INPUT', '-m time --weekdays Wed,Thu -j DROP'), 2, 'its position');
    assert.is(await fw.delete('INPUT', '-p tcp --dport 22 -m time ! --weekdays Sat,Sun -j DROP'), 1);
    assert.is(await anon(), 0, 'no anonymous set left');
    // IPv6: the same set.
    const v6 = '-m time --weekdays Mon,Sun -j DROP';
    await fws.ipv6.append('INPUT', v6);
    assert.match(await chain('ip6'), /meta day \{ "Sunday", "Monday" \} counter/);
    assert.ok(renderRule((await fws.ipv6.list('INPUT'))[0]!.rule, { family: 'ipv6' }).includes('-m time --weekdays Mon,Sun'));
    assert.is(await fws.ipv6.delete('INPUT', v6), 1);
    assert.equal(await fw.list(), []);
  }));

test('real traffic: --ctstate NEW with connlimit refuses the third connection of a client; ESTABLISHED traffic flows', () =>
  withForms(async (ns, fws) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7356, '127.0.0.1');
      await fws.ipv4.append('INPUT', '-p tcp --dport 7356 -m conntrack --ctstate NEW -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      // A DROP of everything established would stall the connections above: `ct state` must mean it.
      await fws.ipv4.append('INPUT', '-p tcp --dport 7357 -m state --state ESTABLISHED -j DROP');
      const opts = { host: '127.0.0.1', port: 7356 };
      const got = await peer.connectMany(3, { ...opts, localAddress: '127.0.1.10' });
      assert.equal(got.map((x) => x.result), ['ok', 'ok', 'refused']);
      assert.equal((await peer.connectMany(1, { ...opts, localAddress: '127.0.1.11' })).map((x) => x.result), ['ok']);
      assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout, /tcp dport 7356 ct state new add @connlimit0 \{ ip saddr ct count over 2 \} counter packets [1-9]\d* bytes \d+ reject with tcp reset/);
    } finally {
      await peer.exit();
    }
  }));

test.run();
