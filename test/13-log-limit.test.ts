// SPDX-License-Identifier: GPL-2.0-or-later
// The LOG target and limit match modules without a kernel: their typed spelling, normalization
// (equal meaning, equal part and bytes), the paths of typed problems, and which bytes a listing
// decodes (only what encodes back to the very same bytes; the rest stays opaque).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeRule, parseRule, renderRule, toRuleSpec } from '../src/rule/index';
import { catchError } from './helpers/assert';

test('limit: rates that are the same kernel period are the same part, printed as iptables-save prints them', () => {
  const a = normalizeRule({ matches: [{ kind: 'limit', rate: 120, per: 'hour' }] }, 'ipv4');
  const b = parseRule('-m limit --limit 2/m', 'ipv4');
  assert.equal(a, b);
  assert.equal(toRuleSpec(a, 'ipv4').matches, [{ kind: 'limit', rate: 2, per: 'minute' }]);
  assert.is(renderRule(parseRule('-m limit --limit 999/minute --limit-burst 5', 'ipv6'), 'ipv6'), '-m limit --limit 1000/min');
  // No --limit is the CLI's 3/hour; a bare count is per second.
  assert.equal(toRuleSpec(parseRule('-m limit', 'ipv4'), 'ipv4').matches, [{ kind: 'limit', rate: 3, per: 'hour' }]);
  assert.equal(toRuleSpec(parseRule('-m limit --limit 7', 'ipv4'), 'ipv4').matches, [{ kind: 'limit', rate: 7, per: 'second' }]);
});

test('limit: bytes a listing cannot say as a part stay opaque', () => {
  const blob = (avg: number, burst: number, tail = 0) => {
    const d = Buffer.alloc(40);
    d.writeUInt32LE(avg, 0);
    d.writeUInt32LE(burst, 4);
    d[8] = tail;
    return { kind: 'opaque' as const, name: 'limit', revision: 0, data: d };
  };
  const listed = (m: ReturnType<typeof blob>) => toRuleSpec({ ...parseRule('-j ACCEPT', 'ipv4'), matches: [m] }, 'ipv4').matches?.[0]?.kind;
  assert.is(listed(blob(24000, 100)), 'limit');
  // 24001 prints as 35998/day, which is 24001 again; 500000000 prints as 1/day, which is 864000000.
  assert.is(listed(blob(24001, 100)), 'limit');
  assert.is(listed(blob(500000000, 100)), 'opaque');
  assert.is(listed(blob(24000, 0)), 'opaque');
  assert.is(listed(blob(24000, 5, 1)), 'opaque');
});

test('log: names and numbers give the same part; the default level and unset flags leave no trace', () => {
  const a = parseRule('-j LOG --log-prefix "x: " --log-level warning --log-ip-options', 'ipv4');
  const b = normalizeRule({ target: { kind: 'log', prefix: 'x: ', level: 4, ipOptions: true, uid: false } }, 'ipv4');
  assert.equal(a, b);
  assert.equal(toRuleSpec(a, 'ipv4').target, { kind: 'log', prefix: 'x: ', ipOptions: true });
  assert.is(renderRule(parseRule('-j LOG --log-level panic --log-prefix \'a "b\' --log-macdecode --log-tcp-sequence', 'ipv6'), 'ipv6'),
    '-j LOG --log-prefix "a \\"b" --log-level 0 --log-tcp-sequence --log-macdecode');
  // A prefix may start with '-' or be '!': getopt takes the next word whatever it is.
  assert.equal(toRuleSpec(parseRule('-j LOG --log-prefix -x-', 'ipv4'), 'ipv4').target, { kind: 'log', prefix: '-x-' });
});

test('log and limit: typed problems carry their paths; options need their module first', () => {
  const e = catchError(() => normalizeRule({ matches: [{ kind: 'limit', rate: 1, per: 'week', burst: 1.5 }], target: { kind: 'log', prefix: 'a\nb', level: 8, tcpOptions: 'yes' } } as never, 'ipv4'));
  assert.equal(e.issues?.map((i) => i.path), ['matches[0].per', 'matches[0].burst', 'target.prefix', 'target.level', 'target.tcpOptions']);
  assert.match((catchError(() => parseRule('--log-prefix x -j LOG', 'ipv4')) as Error).message, /--log-prefix needs -j LOG before it/);
  assert.match((catchError(() => parseRule('--limit 1/s -m limit', 'ipv4')) as Error).message, /--limit needs -m limit before it/);
  assert.match((catchError(() => parseRule('-g LOG', 'ipv4')) as Error).message, /-g takes a user chain/);
});

test.run();
