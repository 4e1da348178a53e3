// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `count`, `watch` and `top`: conntrack counts per client, once, as a stream of changes, or as
 * a live full-screen view. On the public API only (Conntrack, countBy/countFor, watch/watchFor).
 */
import { Conntrack, type ConntrackWatch, type Family } from '../index';
import type { CommonOptions } from './args';
import { parseCtInvocation, type CtInvocation } from './ct-args';
import { EXIT } from './exit-codes';
import { usageError } from './usage-error';
import { CrossingHold } from './crossing-hold';
import { untilStopped } from './until-stopped';
import { TopModel } from './top/model';
import { renderTop } from './top/render';
import { openScreen } from './top/screen';

export const CT_COMMANDS = new Set(['count', 'watch', 'top']);

const time = () => new Date().toTimeString().slice(0, 8);

async function open(common: CommonOptions): Promise<Conntrack> {
  return Conntrack.open(common.netns === undefined ? {} : { netns: common.netns });
}

function familyOf(common: CommonOptions): Family | undefined {
  return common.family as Family | undefined;
}

/** ct-args parses the options of all three commands: each refuses those of the others. */
function refuseOptions(rest: string[], names: string[], command: string): void {
  for (const name of names) {
    if (rest.some((t) => t === `--${name}` || t.startsWith(`--${name}=`))) usageError(`--${name}`, `belongs to ${name === 'hold' ? 'watch' : 'watch and top'}, not ${command}`);
  }
}

/** What is counted, for headers: "tcp dport 22 by source/24", or the rule. */
function describeCount(inv: CtInvocation): string {
  if (inv.rule !== undefined) return inv.rule;
  const { live, ...filter } = inv.filter;
  const parts = Object.entries(filter).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  const mask = inv.mask === undefined ? '' : `/${inv.mask}`;
  return `${live ? 'live ' : ''}${parts.length ? `${parts.join(' ')} ` : ''}by ${inv.by}${mask}`;
}

/** The invocation's watch. The Conntrack that makes it is closed at once: the watch has sockets of its own. */
async function openWatch(inv: CtInvocation, common: CommonOptions): Promise<ConntrackWatch> {
  const ct = await open(common);
  try {
    return watchOf(ct, inv, common);
  } finally {
    await ct.close();
  }
}

function watchOf(ct: Conntrack, inv: CtInvocation, common: CommonOptions): ConntrackWatch {
  const family = familyOf(common);
  if (inv.rule !== undefined) {
    return ct.watchFor(inv.rule, { ...(family ? { family } : {}), ...(inv.threshold !== undefined ? { threshold: inv.threshold } : {}) });
  }
  return ct.watch({
    ...inv.filter,
    key: inv.by,
    ...(inv.mask !== undefined ? { mask: inv.mask } : {}),
    ...(inv.mask6 !== undefined ? { mask6: inv.mask6 } : {}),
    ...(inv.threshold !== undefined ? { threshold: inv.threshold } : {}),
  });
}

export interface CtOutput {
  text: string;
  json: unknown;
}

/** `count`: the total, per key with --by/--mask/--top, or per key of a rule with --rule. */
export async function runCount(common: CommonOptions, rest: string[]): Promise<CtOutput> {
  const inv = parseCtInvocation(rest, common);
  refuseOptions(rest, ['threshold', 'interval', 'hold'], 'count');
  const perKey = inv.rule !== undefined || rest.some((t) => /^--(by|mask|mask6|top)(=|$)/.test(t));
  const ct = await open(common);
  try {
    if (inv.rule !== undefined) {
      const family = familyOf(common);
      const rows = [...(await ct.countFor(inv.rule, family ? { family } : {}))]
        .map(([key, r]) => ({ key, ...r }))
        .sort((a, b) => b.count - a.count);
      const shown = inv.top === undefined ? rows : rows.slice(0, inv.top);
      const width = Math.max(6, ...shown.map((r) => r.key.length));
      const lines = [`${'CLIENT'.padEnd(width)} ${'COUNT'.padStart(6)} ${'LIMIT'.padStart(6)} ${'LEFT'.padStart(6)}`];
      for (const r of shown) lines.push(`${r.key.padEnd(width)} ${String(r.count).padStart(6)} ${String(r.limit).padStart(6)} ${String(r.headroom).padStart(6)}`);
      return { text: lines.join('\n'), json: { ok: true, clients: shown } };
    }
    if (!perKey) {
      // Every entry, unfiltered: the table's own count, no dump.
      const empty = Object.keys(inv.filter).length === 0;
      const count = empty ? await ct.count() : [...(await ct.countBy(inv.filter)).values()].reduce((a, n) => a + n, 0);
      return { text: String(count), json: { ok: true, count } };
    }
    const counts = await ct.countBy({
      ...inv.filter,
      key: inv.by,
      ...(inv.mask !== undefined ? { mask: inv.mask } : {}),
      ...(inv.mask6 !== undefined ? { mask6: inv.mask6 } : {}),
      ...(inv.top !== undefined ? { top: inv.top } : {}),
    });
    const rows = [...counts].map(([key, count]) => ({ key, count }));
    return { text: rows.map((r) => `${String(r.count).padStart(7)} ${r.key}`).join('\n'), json: { ok: true, clients: rows } };
  } finally {
    await ct.close();
  }
}

/** `watch`: one line (or NDJSON object) per change, crossing and overrun, until Ctrl-C. */
export async function runWatch(common: CommonOptions, rest: string[]): Promise<number> {
  const inv = parseCtInvocation(rest, common);
  const watch = await openWatch(inv, common);
  const write = (human: string, json: object) =>
    process.stdout.write(common.json ? `${JSON.stringify({ time: new Date().toISOString(), ...json })}\n` : `${time()} ${human}\n`);
  watch.on('change', (c) => write(`${c.key} ${c.count} (${c.delta > 0 ? '+' : ''}${c.delta}) ${c.event}`, { type: 'change', ...c }));
  const hold = new CrossingHold(
    inv.holdMs,
    (key) => watch.counts().get(key) ?? 0,
    (type, key, count) => write(`${key} ${type} ${count}`, { type, key, count }),
  );
  watch.on('above', (c) => hold.crossing('above', c.key, c.count));
  watch.on('below', (c) => hold.crossing('below', c.key, c.count));
  watch.on('overrun', (o) => write(`overrun: events were lost, counts repaired from a dump (${o.overrunsTotal} so far)`, { type: 'overrun', ...o }));
  const stopped = untilStopped();
  const failed = new Promise<never>((_, reject) => watch.once('error', reject));
  try {
    await Promise.race([watch.ready, failed]);
    // Scripts learn that the watch is live (subscribed, initial counts out) from this line.
    if (common.json) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), type: 'ready', clients: watch.counts().size })}\n`);
    else process.stderr.write(`connlimit: watching ${describeCount(inv)}; Ctrl-C ends\n`);
    await Promise.race([stopped.done, failed]);
  } finally {
    stopped.stop();
    hold.close();
    await watch.close();
  }
  return EXIT.ok;
}

/** `top`: the busiest clients, full screen on a terminal, periodic lines otherwise. */
export async function runTop(common: CommonOptions, rest: string[]): Promise<number> {
  const inv = parseCtInvocation(rest, common);
  refuseOptions(rest, ['hold'], 'top');
  const watch = await openWatch(inv, common);
  const model = new TopModel(watch.limit);
  const title = describeCount(inv);
  const stopped = untilStopped();
  const failed = new Promise<never>((_, reject) => watch.once('error', reject));
  const tty = process.stdout.isTTY === true;
  const screen = tty ? openScreen(process.stdout, process.stdin, { onQuit: stopped.stop, onResize: () => draw(false) }) : null;
  let last = model.update(new Map());
  function draw(tick: boolean): void {
    if (tick) last = model.update(watch.counts());
    if (screen) {
      screen.draw(renderTop(last, { width: screen.width, height: screen.height, title }));
    } else if (tick) {
      const shown = last.rows.slice(0, inv.top ?? 10).map((r) => `${r.key}=${r.count}`);
      const line = common.json
        ? JSON.stringify({ time: last.at.toISOString(), total: last.total, clients: last.clients, top: last.rows.slice(0, inv.top ?? 10).map(({ key, count, delta }) => ({ key, count, delta })) })
        : `${time()} ${last.total} connections, ${last.clients} clients${shown.length ? `: ${shown.join(' ')}` : ''}`;
      process.stdout.write(`${line}\n`);
    }
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([watch.ready, failed]);
    draw(true);
    timer = setInterval(() => draw(true), inv.intervalMs);
    await Promise.race([stopped.done, failed]);
  } finally {
    if (timer) clearInterval(timer);
    stopped.stop();
    screen?.close();
    await watch.close();
  }
  return EXIT.ok;
}
