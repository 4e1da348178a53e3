// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * normalizeRule (the typed spelling), validateChainName, validatePosition, toRuleSpec and
 * toNativeRule, table-driven. Error rows assert the code and the field paths, never messages.
 * Inputs are deliberately mistyped: callers may be plain JavaScript or JSON.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { catchError } from './helpers/assert';
import type { NativeMatch, NativeRule } from '../src/native-types';
import {
  normalizeRule,
  parseRule,
  toNativeRule,
  toRuleSpec,
  validateChainName,
  validatePosition,
  validateRuleForChain,
} from '../src/rule/index';
import type { Family, OpaqueExtension, RuleSpec } from '../src/rule/types';
import { snapshot } from '../src/rule/snapshot';

// ---------------------------------------------------------------------------------------------
// helpers

/** Plain data for deep equality: buffers as hex. */
function shape(r: NativeRule): unknown {
  const a = (x: NativeRule['src']) => x && { addr: x.addr.toString('hex'), mask: x.mask.toString('hex'), invert: x.invert };
  const m = (x: NativeMatch) => (x.kind === 'opaque' ? { ...x, data: x.data.toString('hex') } : x);
  const t = r.target.kind === 'opaque' ? { ...r.target, data: r.target.data.toString('hex') } : r.target;
  return { ...r, src: a(r.src), dst: a(r.dst), matches: r.matches.map(m), target: t };
}

function rule(over: Record<string, unknown> = {}): unknown {
  return {
    protocol: 0, invProtocol: false, src: null, dst: null, inInterface: null, outInterface: null,
    fragment: null, matches: [], target: { kind: 'none' }, ...over,
  };
}

function tcp(over: Partial<Extract<NativeMatch, { kind: 'tcp' }>> = {}): NativeMatch {
  return {
    kind: 'tcp', sport: [0, 65535], dport: [0, 65535], option: 0, flagMask: 0, flagCompare: 0,
    invSport: false, invDport: false, invFlags: false, invOption: false, ...over,
  };
}


/** Anything: these tests feed what a JavaScript caller might. */
const spec = (v: unknown): RuleSpec => v as RuleSpec;

// ---------------------------------------------------------------------------------------------
// accepted specs

const GOOD: { name: string; input: unknown; family?: Family; expect: unknown }[] = [
  { name: 'empty object', input: {}, expect: rule() },
  { name: 'undefined fields are absent', input: { protocol: undefined, target: undefined }, expect: rule() },
  { name: 'object without prototype', input: Object.assign(Object.create(null), { protocol: 'udp' }), expect: rule({ protocol: 17 }) },
  { name: 'protocol name', input: { protocol: 'tcp' }, expect: rule({ protocol: 6 }) },
  { name: 'protocol number', input: { protocol: 47 }, expect: rule({ protocol: 47 }) },
  { name: 'negated protocol', input: { protocol: { not: 'udp' } }, expect: rule({ protocol: 17, invProtocol: true }) },
  { name: 'protocol all', input: { protocol: 'all' }, expect: rule() },
  { name: 'ipv6-icmp', input: { protocol: 'ipv6-icmp' }, family: 'ipv6', expect: rule({ protocol: 58 }) },
  { name: 'source cidr masked', input: { source: '10.1.2.3/24' }, expect: rule({ src: { addr: '0a010200', mask: 'ffffff00', invert: false } }) },
  { name: 'negated destination', input: { destination: { not: '10.0.0.1' } }, expect: rule({ dst: { addr: '0a000001', mask: 'ffffffff', invert: true } }) },
  { name: 'any source is no source', input: { source: '0.0.0.0/0' }, expect: rule() },
  { name: 'ipv6 source', input: { source: '2001:db8::/32' }, family: 'ipv6', expect: rule({ src: { addr: '20010db8' + '0'.repeat(24), mask: 'ffffffff' + '0'.repeat(24), invert: false } }) },
  { name: 'interfaces', input: { inInterface: 'eth+', outInterface: { not: 'lo' } }, expect: rule({ inInterface: { name: 'eth', wildcard: true, invert: false }, outInterface: { name: 'lo', wildcard: false, invert: true } }) },
  { name: 'fragment', input: { fragment: false }, expect: rule({ fragment: false }) },
  { name: 'dport', input: { protocol: 'tcp', dport: 22 }, expect: rule({ protocol: 6, matches: [tcp({ dport: [22, 22] })] }) },
  { name: 'port range and negation', input: { protocol: 'tcp', sport: { from: 1024, to: 65535 }, dport: { not: 22 } }, expect: rule({ protocol: 6, matches: [tcp({ sport: [1024, 65535], dport: [22, 22], invDport: true })] }) },
  { name: 'udp ports', input: { protocol: 'udp', dport: { not: { from: 1, to: 2 } } }, expect: rule({ protocol: 17, matches: [{ kind: 'udp', sport: [0, 65535], dport: [1, 2], invSport: false, invDport: true }] }) },
  { name: 'syn', input: { protocol: 'tcp', syn: true }, expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x17, flagCompare: 0x02 })] }) },
  { name: 'not syn', input: { protocol: 'tcp', syn: false }, expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x17, flagCompare: 0x02, invFlags: true })] }) },
  { name: 'tcp flags', input: { protocol: 'tcp', tcpFlags: { not: { mask: ['SYN', 'RST'], set: ['RST'] } } }, expect: rule({ protocol: 6, matches: [tcp({ flagMask: 0x06, flagCompare: 0x04, invFlags: true })] }) },
  { name: 'tcp option', input: { protocol: 'tcp', tcpOption: { not: 8 } }, expect: rule({ protocol: 6, matches: [tcp({ option: 8, invOption: true })] }) },
  { name: 'connlimit above', input: { connlimit: { kind: 'above', count: 2 } }, expect: rule({ matches: [{ kind: 'connlimit', limit: 2, invert: false, daddr: false, maskBits: null }] }) },
  { name: 'connlimit upTo, mask, destination', input: { connlimit: { kind: 'upTo', count: 0, maskBits: 24, key: 'destination' } }, expect: rule({ matches: [{ kind: 'connlimit', limit: 0, invert: true, daddr: true, maskBits: 24 }] }) },
  { name: 'connlimit source key and max count', input: { connlimit: { kind: 'above', count: 4294967295, key: 'source', maskBits: 32 } }, expect: rule({ matches: [{ kind: 'connlimit', limit: 4294967295, invert: false, daddr: false, maskBits: 32 }] }) },
  { name: 'connlimit ipv6 mask 128', input: { connlimit: { kind: 'above', count: 1, maskBits: 128 } }, family: 'ipv6', expect: rule({ matches: [{ kind: 'connlimit', limit: 1, invert: false, daddr: false, maskBits: 128 }] }) },
  { name: 'comment with shell text', input: { comment: '22; rm -rf / $(reboot) `id`' }, expect: rule({ matches: [{ kind: 'comment', comment: '22; rm -rf / $(reboot) `id`' }] }) },
  { name: 'comment of 255 bytes', input: { comment: 'é'.repeat(127) + 'x' }, expect: rule({ matches: [{ kind: 'comment', comment: 'é'.repeat(127) + 'x' }] }) },
  {
    name: 'canonical match order whatever the key order',
    input: { comment: 'c', matches: [{ kind: 'opaque', name: 'mark', revision: 1, data: new Uint8Array(8) }], connlimit: { kind: 'above', count: 3 }, dport: 80, protocol: 'tcp' },
    expect: rule({
      protocol: 6,
      matches: [
        tcp({ dport: [80, 80] }),
        { kind: 'connlimit', limit: 3, invert: false, daddr: false, maskBits: null },
        { kind: 'comment', comment: 'c' },
        { kind: 'opaque', name: 'mark', revision: 1, data: '0000000000000000' },
      ],
    }),
  },
  { name: 'accept', input: { target: { kind: 'accept' } }, expect: rule({ target: { kind: 'verdict', verdict: 'ACCEPT' } }) },
  { name: 'drop', input: { target: { kind: 'drop' } }, expect: rule({ target: { kind: 'verdict', verdict: 'DROP' } }) },
  { name: 'return', input: { target: { kind: 'return' } }, expect: rule({ target: { kind: 'verdict', verdict: 'RETURN' } }) },
  { name: 'queue', input: { target: { kind: 'queue' } }, expect: rule({ target: { kind: 'verdict', verdict: 'QUEUE' } }) },
  { name: 'reject default v4', input: { target: { kind: 'reject' } }, expect: rule({ target: { kind: 'reject', with: 'icmp-port-unreachable' } }) },
  { name: 'reject default v6', input: { target: { kind: 'reject' } }, family: 'ipv6', expect: rule({ target: { kind: 'reject', with: 'icmp6-port-unreachable' } }) },
  { name: 'reject tcp-reset', input: { protocol: 'tcp', target: { kind: 'reject', with: 'tcp-reset' } }, expect: rule({ protocol: 6, target: { kind: 'reject', with: 'tcp-reset' } }) },
  { name: 'reject tcp-reset by number', input: { protocol: 6, target: { kind: 'reject', with: 'tcp-reset' } }, expect: rule({ protocol: 6, target: { kind: 'reject', with: 'tcp-reset' } }) },
  { name: 'reject v6 type', input: { target: { kind: 'reject', with: 'icmp6-adm-prohibited' } }, family: 'ipv6', expect: rule({ target: { kind: 'reject', with: 'icmp6-adm-prohibited' } }) },
  { name: 'jump', input: { target: { kind: 'jump', chain: 'CL_SSH' } }, expect: rule({ target: { kind: 'jump', chain: 'CL_SSH' } }) },
  { name: 'goto', input: { target: { kind: 'goto', chain: 'a.b:c@d+e-f' } }, expect: rule({ target: { kind: 'goto', chain: 'a.b:c@d+e-f' } }) },
  { name: 'opaque target', input: { target: { kind: 'opaque', name: 'LOG', revision: 0, data: Buffer.alloc(8, 1) } }, expect: rule({ target: { kind: 'opaque', name: 'LOG', revision: 0, data: '0101010101010101' } }) },
];

for (const row of GOOD) {
  test(`normalize ok: ${row.name}`, () => {
    assert.equal(shape(normalizeRule(spec(row.input), row.family ?? 'ipv4')), row.expect);
  });
}

test('normalize copies opaque bytes (later changes by the caller do not leak in)', () => {
  const data = new Uint8Array(8);
  const r = normalizeRule({ matches: [{ kind: 'opaque', name: 'x', revision: 0, data }] }, 'ipv4');
  data[0] = 9;
  const m = r.matches[0];
  assert.ok(m && m.kind === 'opaque' && Buffer.isBuffer(m.data) && m.data[0] === 0);
});

test('normalize ignores a polluted Object.prototype', () => {
  Object.defineProperty(Object.prototype, 'comment', { value: 'polluted', configurable: true, enumerable: false, writable: true });
  try {
    assert.equal(normalizeRule({}, 'ipv4').matches, []);
  } finally {
    delete (Object.prototype as Record<string, unknown>).comment;
  }
});

// ---------------------------------------------------------------------------------------------
// refused specs

interface BadRow {
  name: string;
  input: unknown;
  family?: Family;
  /** Every path that must be reported; the first is the error's own `path`. */
  expect: string[];
}

const rows: BadRow[] = [];
function bad(name: string, input: unknown, paths: string | string[], family?: Family): void {
  rows.push({ name, input, family, expect: Array.isArray(paths) ? paths : [paths] });
}

// the rule itself
bad('null', null, 'rule');
bad('undefined', undefined, 'rule');
bad('a string through normalizeRule', '-j ACCEPT', 'rule');
bad('a number', 42, 'rule');
bad('an array', [], 'rule');
bad('bytes', Buffer.alloc(4), 'rule');
bad('unknown key', { foo: 1 }, 'foo');
bad('misspelled key', { protocol: 'tcp', Dport: 22 }, 'Dport');
bad('__proto__ from JSON', JSON.parse('{"__proto__":{"x":1}}'), '__proto__');
bad('constructor from JSON', JSON.parse('{"constructor":{"prototype":{"x":1}}}'), 'constructor');
bad('prototype key', { prototype: {} }, 'prototype');
bad('__proto__ inside connlimit', { connlimit: JSON.parse('{"kind":"above","count":1,"__proto__":{"y":1}}') }, 'connlimit.__proto__');
bad('__proto__ inside target', { target: JSON.parse('{"kind":"accept","__proto__":{}}') }, 'target.__proto__');
bad('__proto__ inside a negation', { protocol: JSON.parse('{"not":"tcp","__proto__":{}}') }, 'protocol.__proto__');
bad('__proto__ inside a port range', { protocol: 'tcp', dport: JSON.parse('{"from":1,"to":2,"__proto__":{"from":0}}') }, 'dport.__proto__');
bad('__proto__ inside an opaque match', { matches: [JSON.parse('{"kind":"opaque","name":"x","revision":0,"__proto__":{}}')] }, ['matches[0].__proto__', 'matches[0].data']);
// protocol
bad('unknown protocol', { protocol: 'foo' }, 'protocol');
bad('protocol in upper case', { protocol: 'TCP' }, 'protocol');
bad('netbase-only protocol name', { protocol: 'igmp' }, 'protocol');
bad('protocol 256', { protocol: 256 }, 'protocol');
bad('negative protocol', { protocol: -1 }, 'protocol');
bad('fractional protocol', { protocol: 1.5 }, 'protocol');
bad('NaN protocol', { protocol: NaN }, 'protocol');
bad('Infinity protocol', { protocol: Infinity }, 'protocol');
bad('boolean protocol', { protocol: true }, 'protocol');
bad('null protocol', { protocol: null }, 'protocol');
bad('array protocol', { protocol: ['tcp'] }, 'protocol');
bad('protocol with injection', { protocol: 'tcp; reboot' }, 'protocol');
bad('not all never matches', { protocol: { not: 'all' } }, 'protocol.not');
bad('not 0 never matches', { protocol: { not: 0 } }, 'protocol.not');
bad('negation with an extra key', { protocol: { not: 'tcp', also: 'udp' } }, 'protocol.also');
bad('negated wrong type', { protocol: { not: {} } }, 'protocol.not');
bad('ipv6 extension header ah', { protocol: 'ah' }, 'protocol', 'ipv6');
bad('ipv6 extension header 44', { protocol: 44 }, 'protocol', 'ipv6');
// addresses
bad('number as address', { source: 42 }, 'source');
bad('ipv6 address in ipv4 rule', { source: '::1' }, 'source');
bad('ipv4 address in ipv6 rule', { destination: '10.0.0.1' }, 'destination', 'ipv6');
bad('prefix over 32', { source: '1.2.3.4/33' }, 'source');
bad('prefix over 128', { source: '::/129' }, 'source', 'ipv6');
bad('host name', { source: 'localhost' }, 'source');
bad('comma list', { destination: '1.2.3.4,5.6.7.8' }, 'destination');
bad('empty address', { source: '' }, 'source');
bad('address with injection', { source: '1.2.3.4/24; reboot' }, 'source');
bad('command substitution as address', { source: '$(reboot)' }, 'source');
bad('negated number address', { source: { not: 5 } }, 'source.not');
bad('address object', { source: { addr: '1.2.3.4' } }, 'source');
// interfaces
bad('interface with a semicolon', { inInterface: 'a;b' }, 'inInterface');
bad('interface of 16 characters', { inInterface: '1234567890123456' }, 'inInterface');
bad('empty interface', { outInterface: '' }, 'outInterface');
bad('negated +', { inInterface: { not: '+' } }, 'inInterface.not');
bad('number interface', { inInterface: 5 }, 'inInterface');
bad('interface with a trailing space', { inInterface: 'eth0 ' }, 'inInterface');
bad('interface with backticks', { outInterface: '`id`' }, 'outInterface');
bad('interface with command substitution', { outInterface: '$(reboot)' }, 'outInterface');
bad('interface with a NUL', { inInterface: 'eth\0' }, 'inInterface');
// fragment
bad('fragment as a string', { fragment: 'yes' }, 'fragment');
bad('fragment as a number', { fragment: 1 }, 'fragment');
bad('fragment on ipv6', { fragment: true }, 'fragment', 'ipv6');
// ports
bad('sport without a protocol', { sport: 22 }, 'sport');
bad('dport with icmp', { protocol: 'icmp', dport: 22 }, 'dport');
bad('dport with not tcp', { protocol: { not: 'tcp' }, dport: 22 }, 'dport');
bad('dport with protocol all', { protocol: 'all', dport: 22 }, 'dport');
bad('port 65536', { protocol: 'tcp', dport: 65536 }, 'dport');
bad('negative port', { protocol: 'tcp', dport: -1 }, 'dport');
bad('fractional port', { protocol: 'tcp', dport: 1.5 }, 'dport');
bad('NaN port', { protocol: 'tcp', dport: NaN }, 'dport');
bad('Infinity port', { protocol: 'udp', sport: Infinity }, 'sport');
bad('-Infinity port', { protocol: 'udp', sport: -Infinity }, 'sport');
bad('port as a string', { protocol: 'tcp', dport: '22' }, 'dport');
bad('port with injection', { protocol: 'tcp', dport: '22; rm -rf /' }, 'dport');
bad('null port', { protocol: 'tcp', dport: null }, 'dport');
bad('port array', { protocol: 'tcp', dport: [22] }, 'dport');
bad('backwards range', { protocol: 'tcp', dport: { from: 80, to: 22 } }, 'dport');
bad('range without to', { protocol: 'tcp', dport: { from: 1 } }, 'dport.to');
bad('range with string ends', { protocol: 'tcp', dport: { from: '1', to: '2' } }, ['dport.from', 'dport.to']);
bad('range with an extra key', { protocol: 'tcp', dport: { from: 1, to: 2, step: 1 } }, 'dport.step');
bad('range over 65535', { protocol: 'udp', dport: { from: 1, to: 70000 } }, 'dport.to');
bad('not every port', { protocol: 'tcp', dport: { not: { from: 0, to: 65535 } } }, 'dport.not');
bad('bigint port', { protocol: 'tcp', dport: 22n }, 'dport');
// tcp flags and options
bad('syn as a string', { protocol: 'tcp', syn: 'true' }, 'syn');
bad('syn with udp', { protocol: 'udp', syn: true }, 'syn');
bad('syn without protocol', { syn: true }, 'syn');
bad('syn and tcpFlags', { protocol: 'tcp', syn: true, tcpFlags: { mask: ['SYN'], set: ['SYN'] } }, 'tcpFlags');
bad('set outside mask', { protocol: 'tcp', tcpFlags: { mask: ['SYN'], set: ['ACK'] } }, 'tcpFlags.set');
bad('lower-case flag', { protocol: 'tcp', tcpFlags: { mask: ['syn'], set: [] } }, 'tcpFlags.mask[0]');
bad('ALL is syntax, not a flag', { protocol: 'tcp', tcpFlags: { mask: ['ALL'], set: [] } }, 'tcpFlags.mask[0]');
bad('unknown flag in set', { protocol: 'tcp', tcpFlags: { mask: ['SYN'], set: ['SYN', 'ECE'] } }, 'tcpFlags.set[1]');
bad('mask as a string', { protocol: 'tcp', tcpFlags: { mask: 'SYN', set: [] } }, 'tcpFlags.mask');
bad('missing set', { protocol: 'tcp', tcpFlags: { mask: ['SYN'] } }, 'tcpFlags.set');
bad('flags extra key', { protocol: 'tcp', tcpFlags: { mask: [], set: [], compare: [] } }, 'tcpFlags.compare');
bad('flags with udp', { protocol: 'udp', tcpFlags: { mask: [], set: [] } }, 'tcpFlags');
bad('flags as a string', { protocol: 'tcp', tcpFlags: 'SYN,ACK SYN' }, 'tcpFlags');
bad('negated flags with a bad flag', { protocol: 'tcp', tcpFlags: { not: { mask: ['FOO'], set: [] } } }, 'tcpFlags.not.mask[0]');
bad('tcp option 0', { protocol: 'tcp', tcpOption: 0 }, 'tcpOption');
bad('tcp option 256', { protocol: 'tcp', tcpOption: 256 }, 'tcpOption');
bad('fractional tcp option', { protocol: 'tcp', tcpOption: 1.5 }, 'tcpOption');
bad('tcp option as a string', { protocol: 'tcp', tcpOption: '2' }, 'tcpOption');
bad('tcp option with udp', { protocol: 'udp', tcpOption: 2 }, 'tcpOption');
// connlimit
bad('connlimit as a string', { connlimit: 'above 2' }, 'connlimit');
bad('connlimit as an array', { connlimit: [] }, 'connlimit');
bad('unknown connlimit kind', { connlimit: { kind: 'over', count: 1 } }, 'connlimit.kind');
bad('connlimit kind in other case', { connlimit: { kind: 'upto', count: 1 } }, 'connlimit.kind');
bad('connlimit without kind', { connlimit: { count: 1 } }, 'connlimit.kind');
bad('connlimit without count', { connlimit: { kind: 'above' } }, 'connlimit.count');
bad('negative count', { connlimit: { kind: 'above', count: -1 } }, 'connlimit.count');
bad('fractional count', { connlimit: { kind: 'above', count: 1.5 } }, 'connlimit.count');
bad('NaN count', { connlimit: { kind: 'above', count: NaN } }, 'connlimit.count');
bad('Infinity count', { connlimit: { kind: 'upTo', count: Infinity } }, 'connlimit.count');
bad('count over uint32', { connlimit: { kind: 'above', count: 4294967296 } }, 'connlimit.count');
bad('count as a string', { connlimit: { kind: 'above', count: '2' } }, 'connlimit.count');
bad('count as a bigint', { connlimit: { kind: 'above', count: 2n } }, 'connlimit.count');
bad('null count', { connlimit: { kind: 'above', count: null } }, 'connlimit.count');
bad('count with injection', { connlimit: { kind: 'above', count: '2; reboot' } }, 'connlimit.count');
bad('mask 33 on ipv4', { connlimit: { kind: 'above', count: 1, maskBits: 33 } }, 'connlimit.maskBits');
bad('mask 129 on ipv6', { connlimit: { kind: 'above', count: 1, maskBits: 129 } }, 'connlimit.maskBits', 'ipv6');
bad('negative mask', { connlimit: { kind: 'above', count: 1, maskBits: -1 } }, 'connlimit.maskBits');
bad('fractional mask', { connlimit: { kind: 'above', count: 1, maskBits: 24.5 } }, 'connlimit.maskBits');
bad('mask as a string', { connlimit: { kind: 'above', count: 1, maskBits: '24' } }, 'connlimit.maskBits');
bad('null mask', { connlimit: { kind: 'above', count: 1, maskBits: null } }, 'connlimit.maskBits');
bad('unknown key value', { connlimit: { kind: 'above', count: 1, key: 'src' } }, 'connlimit.key');
bad('unknown connlimit field', { connlimit: { kind: 'above', count: 1, mask: 24 } }, 'connlimit.mask');
bad('everything wrong in connlimit', { connlimit: { kind: 1, count: -1, maskBits: 999, key: 0 } }, ['connlimit.kind', 'connlimit.count', 'connlimit.maskBits', 'connlimit.key']);
// comment
bad('comment of 256 bytes', { comment: 'x'.repeat(256) }, 'comment');
bad('comment of 256 bytes of utf-8', { comment: 'é'.repeat(128) }, 'comment');
bad('comment with NUL', { comment: 'a\0b' }, 'comment');
bad('comment with a newline', { comment: 'a\nb' }, 'comment');
bad('comment with a tab', { comment: 'a\tb' }, 'comment');
bad('comment with a C1 control', { comment: '\u0085' }, 'comment');
bad('comment with a lone surrogate', { comment: 'a\ud800b' }, 'comment');
bad('comment as a number', { comment: 5 }, 'comment');
bad('comment as an array', { comment: ['a'] }, 'comment');
// opaque matches
bad('matches not an array', { matches: {} }, 'matches');
bad('null opaque match', { matches: [null] }, 'matches[0]');
bad('empty opaque match', { matches: [{}] }, ['matches[0].kind', 'matches[0].name', 'matches[0].revision', 'matches[0].data']);
bad('opaque data as an array', { matches: [{ kind: 'opaque', name: 'x', revision: 0, data: [1, 2] }] }, 'matches[0].data');
bad('opaque data not aligned', { matches: [{ kind: 'opaque', name: 'x', revision: 0, data: new Uint8Array(7) }] }, 'matches[0].data');
bad('opaque data too long', { matches: [{ kind: 'opaque', name: 'x', revision: 0, data: new Uint8Array(65504) }] }, 'matches[0].data');
bad('opaque revision 256', { matches: [{ kind: 'opaque', name: 'x', revision: 256, data: new Uint8Array(8) }] }, 'matches[0].revision');
bad('opaque negative revision', { matches: [{ kind: 'opaque', name: 'x', revision: -1, data: new Uint8Array(8) }] }, 'matches[0].revision');
bad('opaque fractional revision', { matches: [{ kind: 'opaque', name: 'x', revision: 0.5, data: new Uint8Array(8) }] }, 'matches[0].revision');
bad('opaque empty name', { matches: [{ kind: 'opaque', name: '', revision: 0, data: new Uint8Array(8) }] }, 'matches[0].name');
bad('opaque name with a space', { matches: [{ kind: 'opaque', name: 'a b', revision: 0, data: new Uint8Array(8) }] }, 'matches[0].name');
bad('opaque name of 29 characters', { matches: [{ kind: 'opaque', name: 'x'.repeat(29), revision: 0, data: new Uint8Array(8) }] }, 'matches[0].name');
bad('opaque name as a number', { matches: [{ kind: 'opaque', name: 5, revision: 0, data: new Uint8Array(8) }] }, 'matches[0].name');
bad('opaque wrong kind', { matches: [{ kind: 'tcp', name: 'tcp', revision: 0, data: new Uint8Array(8) }] }, 'matches[0].kind');
bad('opaque extra key', { matches: [{ kind: 'opaque', name: 'x', revision: 0, data: new Uint8Array(8), size: 8 }] }, 'matches[0].size');
bad('second opaque match bad', { matches: [{ kind: 'opaque', name: 'x', revision: 0, data: new Uint8Array(8) }, { kind: 'opaque', name: 'y;z', revision: 0, data: new Uint8Array(8) }] }, 'matches[1].name');
// targets
bad('target as a string', { target: 'accept' }, 'target');
bad('target null', { target: null }, 'target');
bad('target kind in upper case', { target: { kind: 'ACCEPT' } }, 'target.kind');
bad('unknown target kind', { target: { kind: 'tee' } }, 'target.kind');
bad('target without kind', { target: {} }, 'target.kind');
bad('verdict with a chain', { target: { kind: 'accept', chain: 'x' } }, 'target.chain');
bad('jump without chain', { target: { kind: 'jump' } }, 'target.chain');
bad('jump to INPUT', { target: { kind: 'jump', chain: 'INPUT' } }, 'target.chain');
bad('goto OUTPUT', { target: { kind: 'goto', chain: 'OUTPUT' } }, 'target.chain');
bad('goto ACCEPT', { target: { kind: 'goto', chain: 'ACCEPT' } }, 'target.chain');
bad('jump to REJECT', { target: { kind: 'jump', chain: 'REJECT' } }, 'target.chain');
bad('jump to a lower-case verdict', { target: { kind: 'jump', chain: 'drop' } }, 'target.chain');
bad('jump to LOG', { target: { kind: 'jump', chain: 'LOG' } }, 'target.chain');
bad('chain of 29 characters', { target: { kind: 'jump', chain: 'C'.repeat(29) } }, 'target.chain');
bad('empty chain', { target: { kind: 'jump', chain: '' } }, 'target.chain');
bad('chain with a semicolon', { target: { kind: 'jump', chain: 'a;b' } }, 'target.chain');
bad('chain with command substitution', { target: { kind: 'goto', chain: '$(reboot)' } }, 'target.chain');
bad('chain with backticks', { target: { kind: 'jump', chain: '`id`' } }, 'target.chain');
bad('chain with and-and', { target: { kind: 'jump', chain: 'a&&b' } }, 'target.chain');
bad('chain with a pipe', { target: { kind: 'jump', chain: 'a|b' } }, 'target.chain');
bad('chain starting with a dash', { target: { kind: 'jump', chain: '-x' } }, 'target.chain');
bad('chain starting with !', { target: { kind: 'jump', chain: '!x' } }, 'target.chain');
bad('chain as a number', { target: { kind: 'jump', chain: 5 } }, 'target.chain');
bad('tcp-reset without tcp', { target: { kind: 'reject', with: 'tcp-reset' } }, 'target.with');
bad('tcp-reset with not tcp', { protocol: { not: 'tcp' }, target: { kind: 'reject', with: 'tcp-reset' } }, 'target.with');
bad('tcp-reset with udp', { protocol: 'udp', target: { kind: 'reject', with: 'tcp-reset' } }, 'target.with', 'ipv6');
bad('echo reply', { target: { kind: 'reject', with: 'icmp-echo-reply' } }, 'target.with');
bad('CLI alias is not a typed name', { target: { kind: 'reject', with: 'port-unreach' } }, 'target.with');
bad('ipv4 type on ipv6', { target: { kind: 'reject', with: 'icmp-port-unreachable' } }, 'target.with', 'ipv6');
bad('ipv6 type on ipv4', { target: { kind: 'reject', with: 'icmp6-no-route' } }, 'target.with');
bad('reject with a number', { target: { kind: 'reject', with: 3 } }, 'target.with');
bad('reject with extra key and bad type', { target: { kind: 'reject', with: 'x', code: 3 } }, ['target.code', 'target.with']);
bad('opaque target named like a verdict', { target: { kind: 'opaque', name: 'ACCEPT', revision: 0, data: new Uint8Array(8) } }, 'target.name');
bad('opaque target without data', { target: { kind: 'opaque', name: 'LOG', revision: 0 } }, 'target.data');
// everything at once
bad(
  'all problems are collected',
  { foo: 1, protocol: 'tcp', dport: 70000, connlimit: { kind: 'above', count: -1 }, comment: 'a\0', target: { kind: 'jump', chain: 'INPUT' } },
  ['foo', 'dport', 'connlimit.count', 'comment', 'target.chain'],
);
bad('unknown family', {}, 'family', 'ipv5' as Family);

test('at least 150 refused specs here', () => {
  assert.ok(rows.length >= 150, String(rows.length));
});

for (const row of rows) {
  test(`normalize refuses: ${row.name}`, () => {
    const e = catchError(() => normalizeRule(spec(row.input), row.family ?? 'ipv4'));
    assert.is(e.code, 'ERR_CONNLIMIT_INVALID');
    assert.is(e.path, row.expect[0]);
    assert.equal(e.issues?.map((i) => i.path), row.expect);
  });
}

// ---------------------------------------------------------------------------------------------
// validateChainName, validatePosition, validateRuleForChain

const CHAINS_OK: { name: string; input: string; expect: string }[] = [
  { name: 'built-in', input: 'INPUT', expect: 'INPUT' },
  { name: 'user chain', input: 'CL_SSH', expect: 'CL_SSH' },
  { name: 'punctuation', input: 'a.b:c@d+e-f', expect: 'a.b:c@d+e-f' },
  { name: 'digit first', input: '1chain', expect: '1chain' },
  { name: '28 characters', input: 'c'.repeat(28), expect: 'c'.repeat(28) },
  { name: 'lower-case verdict word is a user chain', input: 'accept', expect: 'accept' },
];
for (const row of CHAINS_OK) {
  test(`validateChainName ok: ${row.name}`, () => {
    assert.is(validateChainName(row.input), row.expect);
  });
}

const CHAINS_BAD: { name: string; input: unknown; path?: string; expect: string }[] = [
  { name: 'empty', input: '', expect: 'chain' },
  { name: '29 characters', input: 'c'.repeat(29), expect: 'chain' },
  { name: 'space', input: 'a b', expect: 'chain' },
  { name: 'leading dash', input: '-x', expect: 'chain' },
  { name: 'leading !', input: '!x', expect: 'chain' },
  { name: 'leading dot', input: '.x', expect: 'chain' },
  { name: 'ACCEPT', input: 'ACCEPT', expect: 'chain' },
  { name: 'REJECT', input: 'REJECT', expect: 'chain' },
  { name: 'LOG', input: 'LOG', expect: 'chain' },
  { name: 'ERROR (libiptc internal)', input: 'ERROR', expect: 'chain' },
  { name: 'number', input: 5, expect: 'chain' },
  { name: 'null', input: null, expect: 'chain' },
  { name: 'semicolon', input: 'a;b', expect: 'chain' },
  { name: 'command substitution', input: '$(x)', expect: 'chain' },
  { name: 'backticks', input: '`x`', expect: 'chain' },
  { name: 'non-ascii', input: 'é', expect: 'chain' },
  { name: 'NUL', input: 'a\0b', expect: 'chain' },
  { name: 'custom path', input: 'a b', path: 'to', expect: 'to' },
];
for (const row of CHAINS_BAD) {
  test(`validateChainName refuses: ${row.name}`, () => {
    const e = catchError(() => (row.path ? validateChainName(row.input, row.path) : validateChainName(row.input)));
    assert.is(e.code, 'ERR_CONNLIMIT_INVALID');
    assert.is(e.path, row.expect);
  });
}

test("validateChainName's message states the README's rule (1–28 characters, which, which first)", () => {
  const messageOf = (name: string) => (catchError(() => validateChainName(name)) as unknown as Error).message;
  assert.match(messageOf('.x'), /letters, digits and _ \. : @ \+ -, starting with a letter, digit or _/);
  assert.match(messageOf('c'.repeat(29)), /longer than 28 characters/);
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  assert.match(readme, /Chain names are 1–28 characters of\s+`\[A-Za-z0-9_\.:@\+-\]`, not starting with `-`, `\.`, `:`, `@` or `\+`/);
});

for (const n of [1, 5, 2147483647]) {
  test(`validatePosition ok: ${n}`, () => {
    assert.is(validatePosition(n, 'position'), n);
  });
}

const POSITIONS_BAD: { name: string; input: unknown; expect: string }[] = [
  { name: 'zero', input: 0, expect: 'position' },
  { name: 'negative', input: -1, expect: 'position' },
  { name: 'fractional', input: 1.5, expect: 'position' },
  { name: 'NaN', input: NaN, expect: 'position' },
  { name: 'Infinity', input: Infinity, expect: 'position' },
  { name: 'string', input: '1', expect: 'position' },
  { name: 'null', input: null, expect: 'position' },
  { name: 'bigint', input: 1n, expect: 'position' },
  { name: 'over int32', input: 2147483648, expect: 'position' },
];
for (const row of POSITIONS_BAD) {
  test(`validatePosition refuses: ${row.name}`, () => {
    const e = catchError(() => validatePosition(row.input, 'position'));
    assert.is(e.code, 'ERR_CONNLIMIT_INVALID');
    assert.is(e.path, row.expect);
  });
}

test('validateRuleForChain: -o in INPUT and -i in OUTPUT', () => {
  const out = normalizeRule({ outInterface: 'eth0' }, 'ipv4');
  const inn = normalizeRule({ inInterface: 'eth0' }, 'ipv4');
  assert.is(catchError(() => validateRuleForChain(out, 'INPUT')).path, 'rule.outInterface');
  assert.is(catchError(() => validateRuleForChain(inn, 'POSTROUTING', 'spec')).path, 'spec.inInterface');
  validateRuleForChain(out, 'FORWARD');
  validateRuleForChain(inn, 'MYCHAIN');
});

// ---------------------------------------------------------------------------------------------
// toRuleSpec and toNativeRule

const SPECS: { name: string; input: string; family?: Family; expect: RuleSpec }[] = [
  { name: 'empty', input: '', expect: {} },
  {
    name: 'man page recipe',
    input: '-p tcp --syn --dport 23 -m connlimit --connlimit-above 2 -j REJECT',
    expect: { protocol: 'tcp', dport: 23, syn: true, connlimit: { kind: 'above', count: 2 }, target: { kind: 'reject', with: 'icmp-port-unreachable' } },
  },
  {
    name: 'upto with mask and daddr',
    input: '-m connlimit --connlimit-upto 5 --connlimit-mask 24 --connlimit-daddr -j ACCEPT',
    expect: { connlimit: { kind: 'upTo', count: 5, maskBits: 24, key: 'destination' }, target: { kind: 'accept' } },
  },
  { name: 'not syn', input: '-p tcp ! --syn', expect: { protocol: 'tcp', syn: false } },
  { name: 'other flags', input: '-p tcp ! --tcp-flags SYN,ACK SYN', expect: { protocol: 'tcp', tcpFlags: { not: { mask: ['SYN', 'ACK'], set: ['SYN'] } } } },
  { name: 'ports', input: '-p udp ! --sport 1:2 --dport 53', expect: { protocol: 'udp', sport: { not: { from: 1, to: 2 } }, dport: 53 } },
  { name: 'tcp option', input: '-p tcp --tcp-option 2', expect: { protocol: 'tcp', tcpOption: 2 } },
  {
    name: 'addresses and interfaces',
    input: '! -s 10.1.2.3/24 -d 10.0.0.1/255.0.255.0 -i eth+ ! -o lo -f',
    expect: { source: { not: '10.1.2.0/24' }, destination: '10.0.0.0/255.0.255.0', inInterface: 'eth+', outInterface: { not: 'lo' }, fragment: true },
  },
  { name: 'ipv6 address', input: '-s 2001:db8::1/64', family: 'ipv6', expect: { source: '2001:db8::/64' } },
  { name: 'protocol words', input: '-p ipv6-icmp', family: 'ipv6', expect: { protocol: 'icmpv6' } },
  { name: 'protocol mh', input: '-p mobility-header', family: 'ipv6', expect: { protocol: 'mh' } },
  { name: 'protocol without a word', input: '! -p igmp', expect: { protocol: { not: 2 } } },
  { name: 'comment', input: '-m comment --comment "a b"', expect: { comment: 'a b' } },
  { name: 'jump and goto', input: '-g CL', expect: { target: { kind: 'goto', chain: 'CL' } } },
  { name: 'return', input: '-j RETURN', expect: { target: { kind: 'return' } } },
];
for (const row of SPECS) {
  test(`toRuleSpec: ${row.name}`, () => {
    const family = row.family ?? 'ipv4';
    const r = parseRule(row.input, family);
    const s = toRuleSpec(r, family);
    assert.equal(s, row.expect);
    assert.equal(shape(normalizeRule(s, family)), shape(r), 'normalizeRule(toRuleSpec(r)) is r');
  });
}

test('toRuleSpec: a match out of canonical order is listed as opaque bytes', () => {
  const r = parseRule('-p tcp -m connlimit --connlimit-above 2 --dport 22', 'ipv4');
  const s = toRuleSpec(r, 'ipv4');
  assert.equal(s.connlimit, { kind: 'above', count: 2 });
  assert.is(s.dport, undefined);
  assert.is(s.matches?.length, 1);
  const m = s.matches![0]! as OpaqueExtension;
  assert.is(m.name, 'tcp');
  assert.is(m.revision, 0);
  // struct xt_tcp in host order (x86: little-endian): spts 0..65535, dpts 22..22.
  assert.is(Buffer.from(m.data).toString('hex'), '0000ffff16001600' + '00'.repeat(8));
  const back = normalizeRule(s, 'ipv4');
  assert.equal(back.matches.map((x) => x.kind), ['connlimit', 'opaque']);
});

test('toRuleSpec: a second comment and connlimit become opaque bytes', () => {
  const r: NativeRule = {
    protocol: 0, invProtocol: false, src: null, dst: null, inInterface: null, outInterface: null, fragment: null,
    matches: [
      { kind: 'connlimit', limit: 2, invert: false, daddr: false, maskBits: null },
      { kind: 'comment', comment: 'one' },
      { kind: 'comment', comment: 'two' },
      { kind: 'connlimit', limit: 3, invert: true, daddr: true, maskBits: 24 },
    ],
    target: { kind: 'none' },
  };
  const s = toRuleSpec(r, 'ipv4');
  const opaque = s.matches as OpaqueExtension[] | undefined;
  assert.is(s.comment, 'one');
  assert.equal(opaque?.map((m) => [m.name, m.revision, m.data.length]), [['comment', 0, 256], ['connlimit', 1, 32]]);
  assert.is(Buffer.from(opaque![0]!.data).subarray(0, 4).toString('hex'), '74776f00');
  // xt_connlimit_info: mask (24 bits over 16 bytes), limit 3, flags INVERT|DADDR, 8 zero bytes.
  assert.is(Buffer.from(opaque![1]!.data).toString('hex'), 'ffffff00' + '00'.repeat(12) + '03000000' + '03000000' + '00'.repeat(8));
});

test('toRuleSpec: opaque extensions pass through', () => {
  const r: NativeRule = {
    protocol: 6, invProtocol: false, src: null, dst: null, inInterface: null, outInterface: null, fragment: null,
    matches: [{ kind: 'opaque', name: 'conntrack', revision: 3, data: Buffer.alloc(8, 7) }],
    target: { kind: 'opaque', name: 'LOG', revision: 0, data: Buffer.alloc(8, 1) },
  };
  const s = toRuleSpec(r, 'ipv4');
  assert.is((s.matches?.[0] as OpaqueExtension | undefined)?.name, 'conntrack');
  assert.is(s.target?.kind, 'opaque');
  assert.equal(shape(normalizeRule(s, 'ipv4')), shape(r));
});

test('-j SET: the typed spelling and the text write the same bytes, and a listing names the sets back', () => {
  const text = '-j SET --add-set ban src,dst --exist --timeout 60 --del-set vip dst --map-set qos src --map-mark --map-queue';
  const typed = {
    target: { kind: 'set', add: { set: 'ban', dirs: ['src', 'dst'], exist: true, timeout: 60 }, del: { set: 'vip', dirs: ['dst'] }, map: { set: 'qos', dirs: ['src'], queue: true, mark: true } },
  } as const;
  const a = toNativeRule(text, 'ipv4');
  assert.equal(shape(a), shape(toNativeRule(typed as unknown as RuleSpec, 'ipv4')));
  assert.equal(a.target.kind === 'opaque' && a.target.sets, ['ban', 'vip', 'qos']);
  // As listed: the kernel's indexes in the blob, named back (src/rule/set-refs.ts) or not.
  const data = Buffer.from((a.target as { data: Buffer }).data);
  data.writeUInt16LE(1, 0), data.writeUInt16LE(2, 4), data.writeUInt16LE(3, 8);
  const listed = { ...a, target: { ...a.target, data } } as NativeRule;
  const bare = { ...a, target: { ...a.target, data, sets: undefined } } as NativeRule;
  assert.is(toRuleSpec(bare, 'ipv4').target?.kind, 'opaque');
  assert.equal(toRuleSpec(listed, 'ipv4').target, { kind: 'set', add: { set: 'ban', dirs: ['src', 'dst'], exist: true, timeout: 60 }, del: { set: 'vip', dirs: ['dst'] }, map: { set: 'qos', dirs: ['src'], mark: true, queue: true } });
  const add = toNativeRule('-j SET --add-set ban src', 'ipv6');
  assert.equal(add.target.kind === 'opaque' && add.target.sets, ['ban', '', '']);
  // Parsed, before the firewall writes the indexes: still the typed target (parseRule, renderRule).
  assert.equal(toRuleSpec(a, 'ipv4').target, toRuleSpec(listed, 'ipv4').target);
  assert.equal(toRuleSpec(add, 'ipv6').target, { kind: 'set', add: { set: 'ban', dirs: ['src'] } });
});

test('toNativeRule: dispatches on the input', () => {
  const a = toNativeRule('-p tcp --dport 22 -j ACCEPT', 'ipv4');
  const b = toNativeRule({ protocol: 'tcp', dport: 22, target: { kind: 'accept' } }, 'ipv4');
  assert.equal(shape(a), shape(b));
});

test('toNativeRule: refuses an unknown family', () => {
  const e = catchError(() => toNativeRule('-j ACCEPT', 'inet' as Family));
  assert.is(e.code, 'ERR_CONNLIMIT_INVALID');
  assert.is(e.path, 'family');
});

// ---------------------------------------------------------------------------------------------
// plain data only: what a prototype supplies is never silently dropped

class Limits {
  get connlimit() {
    return { kind: 'above', count: 2 };
  }
  get target() {
    return { kind: 'drop' };
  }
}
class DropTarget {
  kind = 'drop';
}
class Flags {
  mask = ['SYN'];
  set = ['SYN'];
}
class FlagList extends Array<string> {}
const HOLE: string[] = [];
HOLE[1] = 'SYN';

/** [label, rule, path of the refusal]: each object is one a reader of own keys would have misread. */
const NON_PLAIN: Array<[string, unknown, string]> = [
  ['the target on the prototype (Object.create)', Object.assign(Object.create({ target: { kind: 'drop' } }), { connlimit: { kind: 'above', count: 2 } }), 'rule'],
  ['a class instance with getters', new Limits(), 'rule'],
  ['a Date', new Date(), 'rule'],
  ['a Map', new Map([['target', { kind: 'drop' }]]), 'rule'],
  ['a boxed string', new String('-j DROP'), 'rule'],
  ['connlimit from a prototype', { connlimit: Object.create({ kind: 'above', count: 2 }), target: { kind: 'drop' } }, 'connlimit'],
  ['target as a class instance', { connlimit: { kind: 'above', count: 2 }, target: new DropTarget() }, 'target'],
  ['tcpFlags as a class instance', { protocol: 'tcp', tcpFlags: new Flags() }, 'tcpFlags'],
  ['negated tcpFlags from a prototype', { protocol: 'tcp', tcpFlags: { not: Object.create({ mask: ['SYN'], set: [] }) } }, 'tcpFlags.not'],
  ['tcpFlags.mask an Array subclass', { protocol: 'tcp', tcpFlags: { mask: FlagList.from(['SYN']), set: [] } }, 'tcpFlags.mask'],
  ['a hole in tcpFlags.mask', { protocol: 'tcp', tcpFlags: { mask: HOLE, set: [] } }, 'tcpFlags.mask[0]'],
  ['a port range from a prototype', { protocol: 'tcp', dport: Object.create({ from: 1, to: 1023 }) }, 'dport'],
  ['a negation from a prototype', { protocol: Object.create({ not: 'tcp' }) }, 'protocol'],
  ['an opaque match as a class instance', { matches: [new (class { kind = 'opaque'; name = 'mark'; revision = 0; data = new Uint8Array(8) })()] }, 'matches[0]'],
];

for (const [label, input, path] of NON_PLAIN) {
  test(`plain data only: ${label} is refused at ${path}`, () => {
    for (const read of [toNativeRule, normalizeRule]) {
      const e = catchError(() => read(input as RuleSpec, 'ipv4'));
      assert.is(e.code, 'ERR_CONNLIMIT_INVALID', read.name);
      assert.is(e.path, path, read.name);
    }
  });
}

test('plain data only: null-prototype objects at any depth, JSON, and hidden own fields are read whole', () => {
  const bare = <T extends object>(o: T): T => Object.assign(Object.create(null) as T, o);
  const want = toNativeRule({ protocol: 'tcp', dport: { from: 1, to: 1023 }, connlimit: { kind: 'above', count: 2 }, target: { kind: 'drop' } }, 'ipv4');
  assert.equal(toNativeRule(bare({ protocol: 'tcp', dport: bare({ from: 1, to: 1023 }), connlimit: bare({ kind: 'above', count: 2 }), target: bare({ kind: 'drop' }) }) as RuleSpec, 'ipv4'), want);
  assert.equal(toNativeRule(JSON.parse('{"protocol":"tcp","dport":{"from":1,"to":1023},"connlimit":{"kind":"above","count":2},"target":{"kind":"drop"}}'), 'ipv4'), want);
  // `rule.target` reads a non-enumerable own field; so do we.
  const hidden = Object.defineProperty({ protocol: 'tcp', dport: { from: 1, to: 1023 }, connlimit: { kind: 'above', count: 2 } }, 'target', { value: { kind: 'drop' } });
  assert.equal(toNativeRule(hidden as RuleSpec, 'ipv4'), want);
});

test("a typed rule's connlimit and target are read one field at a time: each field once, every problem at its path, module and opaque targets as before", () => {
  let reads = 0;
  /** `o` with `key` behind a getter that counts its reads. */
  const counted = <T extends object>(o: T, key: keyof T & string): T => {
    const value = o[key];
    return Object.defineProperty({ ...o }, key, { enumerable: true, get: () => (reads++, value) });
  };
  const text = '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 --connlimit-mask 24 -j REJECT --reject-with tcp-reset';
  const typed = { protocol: 'tcp', syn: true, dport: 22, connlimit: counted({ kind: 'above', count: 2, maskBits: 24 }, 'count'), target: counted({ kind: 'reject', with: 'tcp-reset' }, 'with') };
  assert.equal(toNativeRule(typed as RuleSpec, 'ipv4'), toNativeRule(text, 'ipv4'));
  assert.is(reads, 2, 'connlimit.count and target.with were each read once');
  // The same fields through normalizeRule, given copies (snapshot()) rather than the caller's objects.
  assert.equal(normalizeRule(snapshot(typed, 'rule') as RuleSpec, 'ipv4'), toNativeRule(text, 'ipv4'));
  assert.equal(toNativeRule({ target: { kind: 'log', prefix: 'x' } }, 'ipv4'), toNativeRule('-j LOG --log-prefix x', 'ipv4'));
  const opaque = toNativeRule('-j LOG --log-prefix x', 'ipv4').target as { name: string; revision: number; data: Buffer };
  assert.equal(toNativeRule({ target: { kind: 'opaque', name: opaque.name, revision: opaque.revision, data: opaque.data } }, 'ipv4').target, opaque);
  const e = catchError(() => toNativeRule({ connlimit: { kind: 'sideways', count: 2, extra: 1 }, target: { kind: 'drop', chain: 'X' } } as unknown as RuleSpec, 'ipv4'));
  assert.equal(
    (e as unknown as { issues: Array<{ path: string }> }).issues.map((i) => i.path),
    ['connlimit.extra', 'connlimit.kind', 'target.chain'],
  );
  const thrown = catchError(() => toNativeRule({ target: Object.defineProperty({ kind: 'reject' }, 'with', { enumerable: true, get: () => { throw new Error('no'); } }) } as RuleSpec, 'ipv4'));
  assert.is(thrown.path, 'target.with');
  const list = catchError(() => toNativeRule({ connlimit: [1] } as unknown as RuleSpec, 'ipv4')) as unknown as { message: string };
  assert.is(list.message, 'connlimit: expected { kind, count, maskBits?, key? }, got an array');
});

test('plain data only: a polluted Array.prototype cannot fill a hole', () => {
  Object.defineProperty(Array.prototype, 0, { value: 'SYN', configurable: true, writable: true });
  try {
    const e = catchError(() => toNativeRule({ protocol: 'tcp', tcpFlags: { mask: HOLE, set: [] } } as RuleSpec, 'ipv4'));
    assert.is(e.path, 'tcpFlags.mask[0]');
  } finally {
    delete (Array.prototype as unknown as Record<number, unknown>)[0];
  }
});

test('messages quote caller input cut to 64 characters with its size', () => {
  const mb = 'k'.repeat(1 << 20);
  for (const [what, fn] of [
    ['unknown key', () => toNativeRule({ [mb]: 1 } as RuleSpec, 'ipv4')],
    ['chain name', () => validateChainName(mb)],
    ['jump chain', () => toNativeRule({ target: { kind: 'jump', chain: mb } }, 'ipv4')],
    ['source', () => toNativeRule({ source: mb }, 'ipv4')],
    ['protocol', () => toNativeRule({ protocol: mb as never }, 'ipv4')],
    ['interface', () => toNativeRule({ inInterface: mb }, 'ipv4')],
    ['reject type', () => toNativeRule({ target: { kind: 'reject', with: mb as never } }, 'ipv4')],
  ] as Array<[string, () => unknown]>) {
    const e = catchError(fn) as { code?: string; message?: string; path?: string };
    assert.is(e.code, 'ERR_CONNLIMIT_INVALID', what);
    assert.ok(String(e.message).length < 500, `${what}: a message of ${String(e.message).length} characters`);
    assert.match(String(e.message), /…['"]? \(1048576 bytes\)/, what);
  }
});

test('typed rules share, frozen, the parts that hold nothing of their own (protocol, target, every port)', () => {
  const a = normalizeRule({ protocol: 'tcp', syn: true, dport: 22, connlimit: { kind: 'above', count: 2 }, target: { kind: 'reject' } }, 'ipv4');
  const b = normalizeRule({ protocol: 'tcp', dport: 80, target: { kind: 'reject' } }, 'ipv4');
  const c = normalizeRule({ protocol: 'tcp', target: { kind: 'accept' } }, 'ipv4');
  const d = normalizeRule({ protocol: 'tcp', dport: { not: 443 }, target: { kind: 'accept' } }, 'ipv4');
  assert.is(a.target, b.target);
  assert.ok(Object.isFrozen(a.target));
  assert.equal(a.target, { kind: 'reject', with: 'icmp-port-unreachable' });
  assert.equal(c.target, { kind: 'verdict', verdict: 'ACCEPT' });
  assert.ok(Object.isFrozen(c.target));
  const [tcpA, tcpB] = [a.matches[0], b.matches[0]] as Extract<NativeMatch, { kind: 'tcp' }>[];
  assert.is(tcpA.sport, tcpB.sport);
  assert.ok(Object.isFrozen(tcpA.sport));
  assert.equal([...tcpA.sport], [0, 65535]);
  assert.equal(tcpA.dport, [22, 22]);
  const tcpD = d.matches[0] as Extract<NativeMatch, { kind: 'tcp' }>;
  assert.equal([tcpD.dport, tcpD.invDport, tcpD.invSport], [[443, 443], true, false]);
  assert.equal(normalizeRule({ protocol: { not: 'udp' }, target: { kind: 'drop' } }, 'ipv4').invProtocol, true);
  assert.equal(normalizeRule({ target: { kind: 'drop' } }, 'ipv4').target, { kind: 'verdict', verdict: 'DROP' });
  assert.equal(normalizeRule({ protocol: 'udp' }, 'ipv4').target, { kind: 'none' });
});

test.run();
