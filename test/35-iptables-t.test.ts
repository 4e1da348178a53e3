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
import { Firewall, type Family, type RuleSpec, type TableName } from '../src/index';
import { normalizeRule, parseRule, renderRule, validateRuleForChain } from '../src/rule/index';
import { catchError, rejects } from './helpers/assert';
import { iptablesOracle } from './helpers/iptables-oracle';
import { type Netns, withNetns } from './helpers/netns';

/** The .t files; iptables-test.py runs libxt_ and libipt_ files with iptables, libip6t_ with ip6tables. */
const FILES = [
  'libxt_conntrack.t',
  'libxt_state.t',
  'libxt_iprange.t',
  'libxt_recent.t',
  'libxt_hashlimit.t',
  'libxt_time.t',
  'libxt_multiport.t',
  'libipt_icmp.t',
  'libip6t_icmp6.t',
  'libxt_mac.t',
  'libipt_LOG.t',
  'libip6t_LOG.t',
  'libxt_limit.t',
  'libxt_mark.t',
  'libxt_MARK.t',
  'libxt_CONNMARK.t',
  'libxt_NFLOG.t',
  'libxt_set.t',
  'libxt_SET.t',
  'libxt_pkttype.t',
  'libxt_length.t',
  'libipt_ttl.t',
  'libxt_tcpmss.t',
  'libxt_CT.t',
  'libxt_NOTRACK.t',
  'libxt_NFQUEUE.t',
  'libxt_SYNPROXY.t',
  'libxt_TCPMSS.t',
];

/**
 * OK cases our deliberate strictness refuses (README, "Stricter than the CLI"), with the reason:
 * each is checked as a FAIL case (refused with ERR_CONNLIMIT_INVALID) and left out of the CLI
 * comparison.
 */
const REFUSED_OK: Readonly<Record<string, ReadonlyArray<readonly [RegExp, string]>>> = {
  'libxt_NFLOG.t': [
    [/--nflog-range/, '--nflog-range never worked (the CLI warns) and iptables-nft drops it: --nflog-size'],
    [/--nflog-prefix x{64}/, 'a prefix over 63 bytes: legacy cuts it to 63, iptables-nft keeps it whole'],
  ],
};

/**
 * FAIL cases refused when written rather than when parsed, with the code they get: a rule
 * parses without a namespace, so a set that doesn't exist (`-m set --match-set foo src,dst`) is
 * found missing when the firewall looks up its index, before anything is written.
 */
const REFUSED_AT_WRITE: Record<string, string> = { 'libxt_set.t': 'ERR_CONNLIMIT_NOT_FOUND', 'libxt_SET.t': 'ERR_CONNLIMIT_NOT_FOUND' };

interface Case {
  /** The table of the file's `*TABLE` line before it; filter without one. */
  table: TableName;
  chain: string;
  rule: string;
  /** The save text (without `-A CHAIN`), for OK cases. */
  saved: string;
  ok: boolean;
  line: number;
}

/** Whether a FAIL case parses, to be refused at the write (REFUSED_AT_WRITE). */
function atWrite(file: string, c: Case, family: Family): boolean {
  if (!(file in REFUSED_AT_WRITE)) return false;
  try {
    parseRule(c.rule, family);
    return true;
  } catch {
    return false;
  }
}

function families(file: string): Family[] {
  return file.startsWith('libip6t_') ? ['ipv6'] : ['ipv4'];
}

function readCases(file: string): Case[] {
  const text = readFileSync(join(__dirname, 'fixtures', 'iptables-t', file), 'utf8');
  const cases: Case[] = [];
  let chains: string[] = [];
  let table: TableName = 'filter';
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    // `@CMD` lines run a command for the cases after them (nfct objects); libxt_CT.t keeps those cases commented out.
    if (line === '' || line.startsWith('#') || line.startsWith('@')) return;
    if (line.startsWith(':')) {
      chains = line.slice(1).split(',');
      return;
    }
    if (line.startsWith('*')) {
      table = line.slice(1) as TableName;
      return;
    }
    const [rule, expected, result] = line.split(';');
    if (rule === undefined || expected === undefined || (result !== 'OK' && result !== 'FAIL')) throw new Error(`${file}:${i + 1}: not a case: ${line}`);
    const ok = result === 'OK' && !(REFUSED_OK[file] ?? []).some(([re]) => re.test(rule));
    for (const chain of chains) cases.push({ table, chain, rule, saved: expected === '=' || expected === '' ? rule : expected, ok, line: i + 1 });
  });
  return cases;
}

for (const file of FILES) {
  const cases = readCases(file);
  for (const family of families(file)) {
    test(`${file} (${family}): every FAIL case is refused with ERR_CONNLIMIT_INVALID, every OK case renders as the file saves it`, () => {
      for (const c of cases) {
        if (c.ok) assert.is(renderRule(parseRule(c.rule, family), family), c.saved, `${file}:${c.line}`);
        else if (!atWrite(file, c, family)) assert.is(catchError(() => parseRule(c.rule, family)).code, 'ERR_CONNLIMIT_INVALID', `${file}:${c.line} ${c.rule}`);
      }
    });
    const later = cases.filter((c) => !c.ok && atWrite(file, c, family));
    if (later.length) {
      for (const backend of ['legacy', 'nft'] as const) {
        test(`${file} (${family}, ${backend}): the FAIL cases that parse are refused at the write with ${REFUSED_AT_WRITE[file]}, nothing written`, () =>
          withNetns(async (ns) => {
            const fw = await Firewall.open({ family, backend, netns: ns.name });
            for (const c of later) await rejects(fw.append(c.chain, c.rule), REFUSED_AT_WRITE[file]!);
            assert.is((await fw.list()).length, 0);
            await fw.close();
          }));
      }
    }
    for (const backend of ['legacy', 'nft'] as const) {
      test(`${file} (${family}, ${backend}): every OK case saves exactly as the CLI's; each side deletes the other's`, async () => {
        for (const table of new Set(cases.map((c) => c.table))) {
          const ok = cases.filter((c) => c.ok && c.table === table);
          await iptablesOracle(backend).sameAsCli(family, ok.map((c) => [c.chain, c.rule] as const), table);
        }
      });
    }
  }
}

/**
 * Spellings the .t files leave out: `-p` loading icmp/icmp6 without `-m`, names the CLI turns
 * into numbers, `!`, the long option names, IPv6 and the 15-slot limit with ranges.
 */
const MORE: Record<Family, ReadonlyArray<readonly [string, string]>> = {
  ipv4: [
    ['INPUT', '-p icmp --icmp-type echo-request -j ACCEPT'],
    ['INPUT', '-p icmp ! --icmp-type fragmentation-needed -j DROP'],
    ['INPUT', '-p 1 -m icmp --icmp-type 255 -j ACCEPT'],
    ['INPUT', '-p icmp --icmp-type Port-Unreachable -m connlimit --connlimit-above 2 -j DROP'],
    ['INPUT', '-p tcp -m multiport ! --destination-ports 22,80:89,443 -j DROP'],
    ['INPUT', '-p tcp -m multiport --source-ports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15 -j ACCEPT'],
    ['FORWARD', '-m mac ! --mac-source a:b:c:d:e:f -j DROP'],
    ['INPUT', '-m mark ! --mark 0x1/0xff -j CONNMARK --save-mark --mask 0xff --right-shift-mark 8'],
  ],
  ipv6: [
    ['INPUT', '-p icmpv6 --icmpv6-type echo-request -j ACCEPT'],
    ['INPUT', '-p ipv6-icmp ! --icmpv6-type neighbour-solicitation -j DROP'],
    ['INPUT', '-p udp -m multiport --ports 53,1024:65535 -j ACCEPT'],
    ['INPUT', '-m mac --mac-source 42:01:02:03:04:05 -j ACCEPT'],
    ['INPUT', '-m mark --mark 7 -j NFLOG --nflog-prefix "v6 in" --nflog-group 2 --nflog-size 0 --nflog-threshold 3'],
    ['OUTPUT', '-m mark ! --mark 0x10/0xf0 -j MARK --and-mark 0xf'],
    ['OUTPUT', '-j MARK --xor-mark 0x5'],
    ['OUTPUT', '-j CONNMARK --set-mark 0x3/0xf'],
  ],
};
for (const family of ['ipv4', 'ipv6'] as const) {
  for (const backend of ['legacy', 'nft'] as const) {
    test(`more multiport, icmp, icmp6, mac, mark, MARK, CONNMARK and NFLOG spellings (${family}, ${backend}): saved exactly as the CLI's`, () =>
      iptablesOracle(backend).sameAsCli(family, MORE[family]));
  }
}

/**
 * `-m set` and `-j SET` spellings (libxt_set.t and libxt_SET.t have only FAIL cases). The sets are made with the CLI's ipset
 * in each namespace, in the opposite order on the two sides: the indexes differ, only the names
 * agree, so equal saves mean the library looked the indexes up by name and named them back.
 */
const SET_RULES: Record<Family, ReadonlyArray<readonly [string, string]>> = {
  ipv4: [
    ['INPUT', '-m set --match-set ban src -j DROP'],
    ['INPUT', '-m set ! --match-set vip src,dst --return-nomatch ! --update-counters ! --update-subcounters --packets-gt 10 ! --bytes-eq 5 -j ACCEPT'],
    ['FORWARD', '-m set --match-set vip dst,dst,src,src,dst,src --packets-lt 3 --bytes-gt 99 -j DROP'],
    ['LIMITS', '-m set --match-set ban src --update-counters ! --packets-eq 7 -j RETURN'],
    ['INPUT', '-p tcp -m connlimit --connlimit-above 10 --connlimit-mask 32 --connlimit-saddr -j SET --add-set ban src'],
    ['INPUT', '-j SET --add-set vip src,dst --exist --timeout 600 --del-set ban src'],
    ['FORWARD', '-j SET --del-set vip dst,dst,src,src,dst,src'],
    ['OUTPUT', '-m set --match-set ban dst -j SET --add-set ban dst --timeout 0'],
    ['LIMITS', '-j SET --add-set vip src --timeout 4294967294'],
  ],
  ipv6: [
    ['INPUT', '-m set --match-set ban src -j DROP'],
    ['OUTPUT', '-m set ! --match-set vip dst --bytes-lt 1000 -j ACCEPT'],
    ['INPUT', '-j SET --add-set ban src --exist'],
    ['OUTPUT', '-j SET --del-set vip dst'],
  ],
};
/** `--map-set` is mangle only; `--map-prio`/`--map-queue` only in FORWARD, OUTPUT, POSTROUTING. */
const SET_MAP_RULES: ReadonlyArray<readonly [string, string]> = [
  ['PREROUTING', '-j SET --map-set vip src --map-mark'],
  ['POSTROUTING', '-j SET --add-set ban dst --map-set vip dst,src --map-mark --map-prio --map-queue'],
  ['OUTPUT', '-j SET --map-set ban dst --map-queue'],
];
for (const family of ['ipv4', 'ipv6'] as const) {
  const sets = async (ns: Netns, side: 0 | 1): Promise<void> => {
    const names = side === 0 ? ['other', 'ban', 'vip'] : ['vip', 'ban'];
    for (const name of names) await ns.run('ipset', ['create', name, 'hash:ip', 'family', family === 'ipv6' ? 'inet6' : 'inet', 'counters']);
  };
  for (const backend of ['legacy', 'nft'] as const) {
    test(`set spellings (${family}, ${backend}): saved exactly as the CLI's though the sets' indexes differ`, () =>
      iptablesOracle(backend).sameAsCli(family, SET_RULES[family], 'filter', sets));
    test(`SET --map-set spellings (${family}, ${backend}, mangle): saved exactly as the CLI's`, () =>
      iptablesOracle(backend).sameAsCli(family, SET_MAP_RULES, 'mangle', sets));
  }
}

/**
 * CT, NOTRACK, NFQUEUE, SYNPROXY and TCPMSS spellings the .t files leave out: IPv6, a helper
 * (built into the test kernel), zones by mark and direction, typical real-rule forms.
 */
const MORE_TARGETS: ReadonlyArray<readonly [Family, TableName, ReadonlyArray<readonly [string, string]>]> = [
  ['ipv4', 'raw', [
    ['PREROUTING', '-p tcp -m tcp --dport 21 -j CT --helper ftp'],
    ['PREROUTING', '-p tcp -m tcp --syn -j CT --notrack'],
    ['OUTPUT', '-j CT --zone mark'],
    ['OUTPUT', '-j CT --zone-orig 7 --expevents new'],
    ['PREROUTING', '-i lo -j CT --zone-reply mark --ctevents new,destroy,natseqinfo,secmark'],
    ['PREROUTING', '-p udp -m udp --dport 53 -j NOTRACK'],
  ]],
  ['ipv6', 'raw', [
    ['PREROUTING', '-p tcp -m tcp --dport 21 -j CT --helper ftp --zone 3'],
    ['OUTPUT', '-j NOTRACK'],
  ]],
  ['ipv6', 'filter', [
    ['INPUT', '-p tcp -m tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1440 --ecn'],
    ['FORWARD', '-p tcp -j SYNPROXY'],
    ['INPUT', '-p udp -m udp --dport 53 -j NFQUEUE --queue-num 65535 --queue-bypass'],
    ['OUTPUT', '-j NFQUEUE --queue-balance 2:3 --queue-cpu-fanout'],
  ]],
  ['ipv6', 'mangle', [
    ['FORWARD', '-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu'],
    ['POSTROUTING', '-o lo -p tcp -m tcp --syn -j TCPMSS --set-mss 65495'],
  ]],
  ['ipv4', 'mangle', [
    ['PREROUTING', '-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400'],
  ]],
];
for (const [family, table, rules] of MORE_TARGETS) {
  for (const backend of ['legacy', 'nft'] as const) {
    test(`more CT, NOTRACK, NFQUEUE, SYNPROXY and TCPMSS spellings (${family} ${table}, ${backend}): saved exactly as the CLI's`, () =>
      iptablesOracle(backend).sameAsCli(family, rules, table));
  }
}

test('SET refused where the kernel refuses it (--map-set outside mangle, --map-prio/--map-queue outside FORWARD, OUTPUT, POSTROUTING) and naming a missing set; nothing written', () =>
  withNetns(async (ns) => {
    await ns.run('ipset', ['create', 'ban', 'hash:ip']);
    await ns.run('ipset', ['create', 'ban6', 'hash:ip', 'family', 'inet6']);
    for (const backend of ['legacy', 'nft'] as const) {
      const filter = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
      await rejects(filter.append('INPUT', '-j SET --map-set ban src --map-mark'), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.append('INPUT', '-j SET --add-set ban6 src'), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.append('INPUT', '-j SET --add-set ban src --del-set nosuch src'), 'ERR_CONNLIMIT_NOT_FOUND');
      assert.is((await filter.list()).length, 0, backend);
      await filter.close();
      const mangle = await Firewall.open({ family: 'ipv4', backend, table: 'mangle', netns: ns.name });
      await rejects(mangle.append('INPUT', '-j SET --map-set ban src --map-prio'), 'ERR_CONNLIMIT_INVALID');
      await rejects(mangle.append('PREROUTING', { target: { kind: 'set', map: { set: 'ban', dirs: ['src'], queue: true } } }), 'ERR_CONNLIMIT_INVALID');
      assert.is((await mangle.list()).length, 0, backend);
      await mangle.close();
    }
  }));

test('the new targets refused where the kernel refuses them: table, chain, protocol, SYN match; nothing written', () =>
  withNetns(async (ns) => {
    for (const backend of ['legacy', 'nft'] as const) {
      const filter = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
      await rejects(filter.append('INPUT', '-j CT --notrack'), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.append('INPUT', '-j NOTRACK'), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.append('OUTPUT', '-p tcp -j SYNPROXY'), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.append('INPUT', '-p udp -j SYNPROXY'), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.append('FORWARD', { protocol: 'tcp', target: { kind: 'tcpmss', mss: 1400 } }), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.append('INPUT', '-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu'), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.append('INPUT', { target: { kind: 'notrack' } }), 'ERR_CONNLIMIT_INVALID');
      await rejects(filter.apply({ chains: { UNTRACK: ['-j CT --notrack'] } }), 'ERR_CONNLIMIT_INVALID');
      assert.is((await filter.list()).length, 0, backend);
      await filter.close();
      const raw = await Firewall.open({ family: 'ipv4', backend, table: 'raw', netns: ns.name });
      await rejects(raw.append('OUTPUT', '-j CT --helper ftp'), 'ERR_CONNLIMIT_INVALID');
      await rejects(raw.append('OUTPUT', { target: { kind: 'ct', zone: { id: 0, direction: 'reply' } } }), 'ERR_CONNLIMIT_INVALID');
      assert.is((await raw.list()).length, 0, backend);
      await raw.close();
    }
  }));

test('typed CT, NOTRACK, NFQUEUE, SYNPROXY and TCPMSS targets: the text spelling the same bytes', () => {
  const pairs: Array<[Family, string, unknown]> = [
    ['ipv4', '-j CT --notrack --zone-orig mark', { kind: 'ct', notrack: true, zone: { id: 'mark', direction: 'original' } }],
    ['ipv4', '-p udp -j CT --helper tftp --ctevents destroy,new', { kind: 'ct', helper: 'tftp', ctevents: ['new', 'destroy'] }],
    ['ipv6', '-j NOTRACK', { kind: 'notrack' }],
    ['ipv4', '-j NFQUEUE --queue-balance 1:4 --queue-bypass', { kind: 'nfqueue', queue: { from: 1, to: 4 }, bypass: true }],
    ['ipv4', '-j NFQUEUE', { kind: 'nfqueue', queue: 0 }],
    ['ipv6', '-p tcp -j SYNPROXY --mss 1460 --wscale 7', { kind: 'synproxy', wscale: 7, mss: 1460 }],
    ['ipv4', '-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu', { kind: 'tcpmss', mss: 'clamp-to-pmtu' }],
  ];
  for (const [family, text, target] of pairs) {
    const parsed = parseRule(text, family);
    const proto = /-p (\w+)/.exec(text)?.[1];
    const spec = { ...(proto ? { protocol: proto } : {}), ...(text.includes('--syn') ? { syn: true } : {}), target };
    const typed = normalizeRule(spec as never, family);
    assert.equal(typed.target, parsed.target, text);
  }
  const e = catchError(() => normalizeRule({ target: { kind: 'nfqueue', queue: { from: 5, to: 5 }, cpuFanout: 1 } } as never, 'ipv4'));
  assert.equal(e.issues?.map((i) => i.path), ['target.queue', 'target.cpuFanout']);
});

/** pkttype, length and tcpmss in IPv6 (their .t files run in IPv4 only), names in other case, typed parts. */
const MORE_SMALL: Record<Family, ReadonlyArray<readonly [string, string]>> = {
  ipv4: [
    ['INPUT', '-m pkttype --pkt-type BroadCast -j DROP'],
    ['INPUT', '-m ttl --ttl 64 -m length ! --length 1400: -j ACCEPT'],
    ['FORWARD', '-p tcp --syn -m tcpmss ! --mss :535 -j DROP'],
  ],
  ipv6: [
    ['INPUT', '-m pkttype ! --pkt-type multicast -j ACCEPT'],
    ['OUTPUT', '-m length --length 0:1280 -j ACCEPT'],
    ['FORWARD', '-p tcp -m tcpmss --mss 1220:1440 -j RETURN'],
  ],
};
for (const family of ['ipv4', 'ipv6'] as const) {
  for (const backend of ['legacy', 'nft'] as const) {
    test(`more pkttype, length, ttl and tcpmss spellings (${family}, ${backend}): saved exactly as the CLI's`, () =>
      iptablesOracle(backend).sameAsCli(family, MORE_SMALL[family]));
  }
}

test('typed pkttype, length, ttl and tcpmss parts: the text spelling the same bytes; problems by path', () => {
  const pairs: Array<[Family, string, unknown]> = [
    ['ipv6', '-m pkttype ! --pkt-type Unicast', { kind: 'pkttype', type: { not: 'unicast' } }],
    ['ipv4', '-m length --length :2', { kind: 'length', length: { from: 0, to: 2 } }],
    ['ipv4', '-m length --length 7:7', { kind: 'length', length: 7 }],
    ['ipv4', '-m ttl ! --ttl-eq 1', { kind: 'ttl', op: 'ne', value: 1 }],
    ['ipv6', '-p tcp -m tcpmss ! --mss 536:', { kind: 'tcpmss', mss: { not: { from: 536, to: 65535 } } }],
  ];
  for (const [family, text, part] of pairs) {
    const parsed = parseRule(text, family);
    const spec = text.startsWith('-p tcp') ? { protocol: 'tcp', matches: [part] } : { matches: [part] };
    const typed = normalizeRule(spec as never, family);
    assert.equal(typed.matches, parsed.matches, text);
    assert.is(renderRule(typed, family), renderRule(parsed, family), text);
  }
  const e = catchError(() =>
    normalizeRule({ matches: [{ kind: 'pkttype', type: 'anycast' }, { kind: 'length', length: { from: 9, to: 1 } }, { kind: 'ttl', op: 'gt', value: 255 }] } as never, 'ipv4'),
  );
  assert.equal(e.issues?.map((i) => i.path), ['matches[0].type', 'matches[1].length', 'matches[2]']);
  assert.is(catchError(() => parseRule('-m ttl --ttl-eq 1', 'ipv6')).code, 'ERR_CONNLIMIT_INVALID');
});

test('typed set parts: the text spelling the same bytes and saved the same; problems by path', () => {
  const pairs: Array<[Family, string, unknown]> = [
    ['ipv4', '-m set --match-set ban src', { kind: 'set', set: 'ban', dirs: ['src'] }],
    ['ipv6', '-m set ! --match-set vip dst,src --return-nomatch ! --update-subcounters ! --packets-eq 3 --bytes-lt 9', { kind: 'set', set: { not: 'vip' }, dirs: ['dst', 'src'], bytes: { op: 'lt', value: 9 }, packets: { op: 'ne', value: 3 }, updateSubcounters: false, returnNomatch: true }],
    ['ipv4', '-m set --match-set ban src --update-counters', { kind: 'set', set: 'ban', dirs: ['src'], updateCounters: true }],
  ];
  for (const [family, text, part] of pairs) {
    const parsed = parseRule(text, family);
    const typed = normalizeRule({ matches: [part] } as never, family);
    assert.equal(typed.matches, parsed.matches, text);
    assert.is(renderRule(typed, family), renderRule(parsed, family), text);
  }
  const e = catchError(() => normalizeRule({ matches: [{ kind: 'set', set: '', dirs: ['up'], packets: { op: 'eq', value: -1 } }] } as never, 'ipv4'));
  assert.equal(e.issues?.map((i) => i.path), ['matches[0].set', 'matches[0].dirs', 'matches[0].packets.value']);
});

test('typed multiport, icmp, icmp6 and mac parts: names normalized, the text spelling the same bytes, problems by path', () => {
  const same = (typed: RuleSpec, text: string, family: Family): void =>
    assert.equal(normalizeRule(typed, family), parseRule(text, family), text);
  same({ protocol: 'tcp', matches: [{ kind: 'multiport', dports: { not: [22, { from: 80, to: 89 }] } }] }, '-p tcp -m multiport ! --dports 22,80:89', 'ipv4');
  same({ protocol: 'icmp', matches: [{ kind: 'icmp', type: 'echo-request' as never }] }, '-p icmp --icmp-type 8', 'ipv4');
  same({ protocol: 'icmp', matches: [{ kind: 'icmp', type: 255 }] }, '-p icmp --icmp-type any', 'ipv4');
  same({ protocol: 'icmp', matches: [{ kind: 'icmp', type: { not: { type: 3, code: 4 } } }] }, '-p icmp ! --icmp-type fragmentation-needed', 'ipv4');
  same({ protocol: 'icmpv6', matches: [{ kind: 'icmp6', type: 'neighbor-advertisement' as never }] }, '-p icmpv6 --icmpv6-type 136', 'ipv6');
  same({ matches: [{ kind: 'mac', source: 'a:b:c:d:e:f' }] }, '-m mac --mac-source 0A:0B:0C:0D:0E:0F', 'ipv6');
  const e = catchError(() =>
    normalizeRule({
      protocol: 'tcp',
      matches: [
        { kind: 'multiport', dports: [80, { from: 90, to: 80 }], sports: [1] },
        { kind: 'icmp', type: 'echo-req' },
        { kind: 'mac', source: { not: '42:01' } },
      ],
    } as never, 'ipv4'),
  );
  assert.equal(e.issues?.map((i) => i.path), ['matches[0]', 'matches[1].type', 'matches[1].kind', 'matches[2].source.not']);
});

test('mac is refused in OUTPUT before the kernel (xt_mac allows PREROUTING, INPUT, FORWARD)', () => {
  const rule = parseRule('-m mac --mac-source 42:01:02:03:04:05 -j DROP', 'ipv4');
  assert.is(catchError(() => validateRuleForChain(rule, 'OUTPUT')).path, 'rule.matches[0]');
  validateRuleForChain(rule, 'INPUT');
  validateRuleForChain(rule, 'LIMITS');
});

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
    const e = await rejects(fw.append('INPUT', '-m recent --set -j DROP'), 'ERR_CONNLIMIT_INVALID');
    assert.match((e as Error).message, /match recent is not available in the native nftables form \(it has no translation here\).*backend 'nft'/);
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '');
    await fw.close();
  }));

test('recent, hashlimit, iprange and time: the typed spelling writes the bytes of the text it stands for', () => {
  const pairs: Array<[Family, string, unknown]> = [
    ['ipv4', '-m recent --update --seconds 60 --hitcount 4 --name SSH', { kind: 'recent', command: 'update', seconds: 60, hitCount: 4, name: 'SSH' }],
    ['ipv4', '-m recent ! --rcheck --name DEFAULT --rsource', { kind: 'recent', command: { not: 'rcheck' } }],
    ['ipv6', '-m recent --set --rdest --mask ffff:ffff::', { kind: 'recent', command: 'set', side: 'dest', mask: 'ffff:ffff::' }],
    ['ipv4', '-m hashlimit --hashlimit-above 25/min --hashlimit-burst 100 --hashlimit-mode dstport,srcip --hashlimit-name web', { kind: 'hashlimit', rate: '25/minute', above: true, burst: 100, mode: ['srcip', 'dstport'], name: 'web' }],
    ['ipv4', '-m hashlimit ! --hashlimit-above 4kb/s --hashlimit-burst 400kb --hashlimit-name b', { kind: 'hashlimit', rate: '4kb/s', burst: '400kb', name: 'b' }],
    ['ipv6', '-m hashlimit --hashlimit-upto 10 --hashlimit-srcmask 64 --hashlimit-name v6 --hashlimit-rate-match', { kind: 'hashlimit', rate: '10/second', srcMask: 64, name: 'v6', rateMatch: true }],
    ['ipv4', '-m iprange ! --dst-range 10.0.0.1-10.0.0.9 --src-range 10.1.0.1', { kind: 'iprange', source: '10.1.0.1-10.1.0.1', destination: { not: '10.0.0.1-10.0.0.9' } }],
    ['ipv4', '-m mark ! --mark 0x10/240', { kind: 'mark', mark: { not: 16 }, mask: 0xf0 }],
    ['ipv6', '-m mark --mark 4294967295', { kind: 'mark', mark: 0xffffffff, mask: 0xffffffff }],
    ['ipv4', '-m time --timestart 9:00 --timestop 17:00 ! --weekdays Sat,Sun --kerneltz', { kind: 'time', timeStart: '09:00', timeStop: '17:00:00', weekdays: { not: ['Sun', 'Sat'] }, kernelTz: true }],
  ];
  for (const [family, text, part] of pairs) {
    const parsed = parseRule(text, family);
    const typed = normalizeRule({ matches: [part] } as never, family);
    assert.equal(typed.matches, parsed.matches, text);
    assert.is(renderRule(typed, family), renderRule(parsed, family), text);
  }
});

test('MARK, CONNMARK and NFLOG: the typed target writes the bytes of the text it stands for', () => {
  const pairs: Array<[Family, string, unknown]> = [
    ['ipv4', '-j MARK --or-mark 0x4', { kind: 'mark', value: 4, mask: 4 }],
    ['ipv6', '-j MARK --set-mark 1', { kind: 'mark', value: 1 }],
    ['ipv4', '-j CONNMARK --restore-mark --mask 0xff', { kind: 'connmark', mode: 'restore', nfmask: 0xff, ctmask: 0xff }],
    ['ipv4', '-j CONNMARK --save-mark --right-shift-mark 8', { kind: 'connmark', mode: 'save', rightShift: 8 }],
    ['ipv6', '-j CONNMARK --and-mark 0xff', { kind: 'connmark', mode: 'set', value: 0, ctmask: 0xffffff00 }],
    ['ipv4', '-j NFLOG --nflog-group 5 --nflog-prefix "nf pfx" --nflog-size 128', { kind: 'nflog', group: 5, prefix: 'nf pfx', size: 128 }],
    ['ipv4', '-j NFLOG --nflog-group 0 --nflog-threshold 0', { kind: 'nflog' }],
  ];
  for (const [family, text, target] of pairs) {
    const parsed = parseRule(text, family);
    const typed = normalizeRule({ target } as never, family);
    assert.equal(typed.target, parsed.target, text);
    assert.is(renderRule(typed, family), renderRule(parsed, family), text);
  }
  const e = catchError(() => normalizeRule({ target: { kind: 'connmark', mode: 'set', nfmask: 1, leftShift: 40 } } as never, 'ipv4'));
  assert.equal(e.issues?.map((i) => i.path), ['target.value', 'target.nfmask', 'target.leftShift']);
});

test("nftables: recent, hashlimit, time and multiport are refused by name, pointing to backend 'nft'", () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    for (const [name, text] of [
      ['recent', '-m recent --set'], ['hashlimit', '-m hashlimit --hashlimit-upto 1/sec --hashlimit-name a'],
      ['time', '-m time --monthdays 1'], ['multiport', '-p tcp -m multiport --ports 80,443'],
    ]) {
      const e = await rejects(fw.append('INPUT', `${text} -j DROP`), 'ERR_CONNLIMIT_INVALID');
      assert.match((e as Error).message, new RegExp(`match ${name} is not available in the native nftables form.*backend 'nft'`));
    }
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '');
    await fw.close();
  }));

test.run();
