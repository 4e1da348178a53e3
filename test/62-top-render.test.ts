// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6, no kernel: what `connlimit top` draws, from counts to lines. The live command is
// driven through a real pseudo-terminal in its own test; this pins the model and the layout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TopModel } from '../src/cli/top/model';
import { renderTop } from '../src/cli/top/render';

const at = new Date(2026, 10, 24, 20, 41, 5);
const counts = (entries: [string, number][]) => new Map(entries);

test('rows busiest first, IPv4 ties in numeric order; change since the previous refresh', () => {
  const model = new TopModel();
  model.update(counts([['10.0.0.9', 1], ['10.0.0.10', 3]]), at);
  const s = model.update(counts([['10.0.0.9', 2], ['10.0.0.10', 2], ['10.0.0.1', 5]]), at);
  assert.equal(s.rows.map((r) => [r.key, r.count, r.delta]), [
    ['10.0.0.1', 5, 5],
    ['10.0.0.9', 2, 1],
    ['10.0.0.10', 2, -1],
  ]);
  assert.is(s.total, 9);
  assert.is(s.clients, 3);
});

test('a client that leaves shows its drop once, then is forgotten with its history', () => {
  const model = new TopModel();
  model.update(counts([['a', 2]]), at);
  const dropped = model.update(counts([]), at);
  assert.equal(dropped.rows.map((r) => [r.key, r.count, r.delta, r.history]), [['a', 0, -2, [2, 0]]]);
  assert.is(dropped.clients, 0);
  assert.equal(model.update(counts([]), at).rows, []);
  assert.equal(model.update(counts([['a', 1]]), at).rows[0]?.history, [1], 'history starts again');
});

test('history keeps the last N refreshes', () => {
  const model = new TopModel(null, 3);
  let s = model.update(counts([['a', 1]]), at);
  for (const n of [2, 3, 4]) s = model.update(counts([['a', n]]), at);
  assert.equal(s.rows[0]?.history, [2, 3, 4]);
});

test('with a limit: bar against the limit, headroom, OVER; sparkline; header totals', () => {
  const model = new TopModel(4);
  model.update(counts([['127.0.1.10', 1]]), at);
  const lines = renderTop(model.update(counts([['127.0.1.10', 2], ['127.0.1.11', 4], ['127.0.1.12', 5]]), at), {
    width: 100,
    height: 10,
    title: 'tcp dport 22 by source/32',
  });
  assert.equal(lines, [
    'connlimit top · tcp dport 22 by source/32 · 3 clients, 11 connections · limit 4 · 20:41:05 · q quits',
    'CLIENT      CONNS     Δ  LOAD                 HISTORY',
    '127.0.1.12      5    +5  ██████████ OVER      █',
    '127.0.1.11      4    +4  ██████████ full      █',
    '127.0.1.10      2    +1  █████░░░░░ 2 left    ▃▅',
  ]);
});

test('fits the terminal: narrow drops columns, short shows how many rows are hidden', () => {
  const model = new TopModel();
  const many = counts(Array.from({ length: 30 }, (_, i) => [`10.0.${i}.0/24`, 30 - i] as [string, number]));
  const s = model.update(many, at);
  const short = renderTop(s, { width: 80, height: 6, title: 'x' });
  assert.is(short.length, 6);
  assert.is(short[5], '… 27 more');
  const narrow = renderTop(s, { width: 30, height: 4, title: 'a long title that will not fit' });
  for (const line of narrow) assert.ok(line.length <= 30, line);
  assert.is(narrow[1], 'CLIENT        CONNS     Δ');
  assert.is(renderTop(new TopModel().update(counts([]), at), { width: 80, height: 5, title: 'x' })[2], '(no connections)');
});

test.run();
