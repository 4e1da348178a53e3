// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Draws a TopSnapshot as plain lines that fit a width and height: a header, one row per client
 * (busiest first) with its count, change, a load bar (against the limit when there is one, else
 * against the busiest client) and a sparkline of its recent counts. No escape codes here: the
 * terminal session decides how lines reach the screen.
 */
import type { TopRow, TopSnapshot } from './model';

const SPARKS = '▁▂▃▄▅▆▇█';
const BAR_WIDTH = 10;

export interface RenderOptions {
  width: number;
  height: number;
  /** What is counted, e.g. "tcp dport 22 by source/32". */
  title: string;
}

function sparkline(history: number[], max: number): string {
  if (max <= 0) return SPARKS[0]!.repeat(history.length);
  return history.map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.round((v / max) * (SPARKS.length - 1)))]).join('');
}

function bar(count: number, of: number): string {
  const filled = of <= 0 ? 0 : Math.min(BAR_WIDTH, Math.round((count / of) * BAR_WIDTH));
  return '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
}

function headroom(count: number, limit: number): string {
  return count > limit ? 'OVER' : count === limit ? 'full' : `${limit - count} left`;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : n === 0 ? '' : String(n);
}

const fit = (text: string, width: number) => (text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text);

export function renderTop(s: TopSnapshot, o: RenderOptions): string[] {
  const time = s.at.toTimeString().slice(0, 8);
  const limit = s.limit === null ? '' : ` · limit ${s.limit}`;
  const header = `connlimit top · ${o.title} · ${s.clients} client${s.clients === 1 ? '' : 's'}, ${s.total} connection${s.total === 1 ? '' : 's'}${limit} · ${time} · q quits`;
  const keyWidth = Math.max(6, ...s.rows.map((r) => r.key.length));
  const maxCount = Math.max(0, ...s.rows.map((r) => r.count));
  const scale = s.limit ?? maxCount;
  const showLoad = o.width >= keyWidth + 16 + BAR_WIDTH + 10;
  const showHistory = o.width >= keyWidth + 16 + BAR_WIDTH + 10 + 8;

  const row = (r: TopRow) => {
    let line = `${r.key.padEnd(keyWidth)} ${String(r.count).padStart(6)} ${signed(r.delta).padStart(5)}`;
    if (showLoad) line += `  ${bar(r.count, scale)} ${(s.limit === null ? '' : headroom(r.count, s.limit)).padEnd(8)}`;
    if (showHistory) line += `  ${sparkline(r.history, Math.max(scale, ...r.history))}`;
    return fit(line, o.width);
  };

  let columns = `${'CLIENT'.padEnd(keyWidth)} ${'CONNS'.padStart(6)} ${'Δ'.padStart(5)}`;
  if (showLoad) columns += `  ${'LOAD'.padEnd(BAR_WIDTH + 9)}`;
  if (showHistory) columns += '  HISTORY';
  const lines = [fit(header, o.width), fit(columns.trimEnd(), o.width)];
  const room = Math.max(0, o.height - lines.length);
  if (s.rows.length === 0) {
    lines.push('(no connections)');
  } else if (s.rows.length <= room) {
    lines.push(...s.rows.map(row));
  } else {
    lines.push(...s.rows.slice(0, Math.max(0, room - 1)).map(row));
    lines.push(`… ${s.rows.length - Math.max(0, room - 1)} more`);
  }
  return lines.slice(0, Math.max(1, o.height));
}
