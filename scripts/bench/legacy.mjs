// SPDX-License-Identifier: GPL-2.0-or-later
// Legacy (x_tables) rows 1-3: one append, one big transaction, one delete by spec; the library
// beside `iptables-legacy(-restore)` and the libiptc floor, interleaved in one namespace per row.
import * as path from 'node:path';
import { benchNetns, cell, floor, interleave, k, ms, ratio, table, writeEntries } from './lib.mjs';

/** The rule every row writes: a connlimit rule as a user would type it. */
export const RULE = '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT';
/** Rules already present: connlimit rules (they cost ~4× plain ones per table replace). */
export const filler = (i) => `-p tcp --syn --dport ${1024 + (i % 60000)} -m connlimit --connlimit-above 2 -j REJECT`;

/** Puts `n` connlimit rules into INPUT with one restore (setup, untimed). */
export async function prefill(ns, n) {
  if (n === 0) return;
  const lines = ['*filter'];
  for (let i = 0; i < n; i++) lines.push(`-A INPUT ${filler(i)}`);
  lines.push('COMMIT', '');
  await ns.exec('iptables-legacy-restore', ['-w', '--noflush'], lines.join('\n'));
}

async function openFw(ctx, ns) {
  return ctx.Firewall.open({ backend: 'legacy', family: 'ipv4', netns: ns.path, lockPath: ns.lockPath });
}

/** Row 1: one connlimit rule appended with N rules present. */
async function appendRow(ctx, size) {
  const ns = await benchNetns(ctx.tmp);
  try {
    await prefill(ns, size);
    const fw = await openFw(ctx, ns);
    const entry = writeEntries(path.join(ctx.tmp, `append-${ns.name}.bin`), ctx.binding, ctx.packRule, [RULE]);
    const variants = {
      library: () => fw.append('INPUT', RULE),
      cli: () => ns.exec('iptables-legacy', ['-w', '-A', 'INPUT', ...RULE.split(' ')]),
      floor: () => floor(ns, ctx.floorBin, 'append', 'filter', 'INPUT', entry),
    };
    // The spawn alone (`ip netns exec NS true`): how much of the CLI's time is not iptables.
    variants.spawn = () => ns.exec('true', []);
    const r = await interleave(variants, ctx.rounds(size), {
      // Back to N rules before the next call, so every call sees the same table.
      between: (name) => (name === 'spawn' ? undefined : fw.delete('INPUT', size + 1)),
    });
    await fw.close();
    return r;
  } finally {
    await ns.done();
  }
}

/** Row 2: N rules in one transaction, into an empty chain. */
async function transactionRow(ctx, size) {
  const ns = await benchNetns(ctx.tmp);
  try {
    const rules = Array.from({ length: size }, (_, i) => filler(i));
    const restore = ['*filter', ...rules.map((r) => `-A INPUT ${r}`), 'COMMIT', ''].join('\n');
    const entries = writeEntries(path.join(ctx.tmp, `batch-${ns.name}.bin`), ctx.binding, ctx.packRule, rules);
    const fw = await openFw(ctx, ns);
    const r = await interleave(
      {
        library: () =>
          fw.transaction((tx) => {
            for (const rule of rules) tx.append('INPUT', rule);
          }),
        cli: () => ns.exec('iptables-legacy-restore', ['-w', '--noflush'], restore),
        floor: () => floor(ns, ctx.floorBin, 'batch', 'filter', 'INPUT', entries),
      },
      ctx.rounds(size),
      { between: () => fw.flush('INPUT') },
    );
    await fw.close();
    return r;
  } finally {
    await ns.done();
  }
}

/** Row 3: delete by spec the last of N+1 rules (the whole chain is searched). */
async function deleteRow(ctx, size) {
  const ns = await benchNetns(ctx.tmp);
  try {
    await prefill(ns, size);
    const fw = await openFw(ctx, ns);
    await fw.append('INPUT', RULE);
    const entry = writeEntries(path.join(ctx.tmp, `delete-${ns.name}.bin`), ctx.binding, ctx.packRule, [RULE]);
    const r = await interleave(
      {
        library: () => fw.delete('INPUT', RULE),
        cli: () => ns.exec('iptables-legacy', ['-w', '-D', 'INPUT', ...RULE.split(' ')]),
        floor: () => floor(ns, ctx.floorBin, 'delete', 'filter', 'INPUT', entry),
      },
      ctx.rounds(size),
      { between: () => fw.append('INPUT', RULE) },
    );
    await fw.close();
    return r;
  } finally {
    await ns.done();
  }
}

export async function run(ctx) {
  const sections = [];
  const targets = [];

  const appendSizes = ctx.quick ? [0, 100] : [0, 1000, 10000];
  const appendRows = [];
  for (const size of appendSizes) {
    ctx.log(`row 1: append with ${k(size)} connlimit rules present`);
    const r = await appendRow(ctx, size);
    const bare = Math.max(r.cli.median - r.spawn.median, 0);
    appendRows.push([
      k(size), cell(r.library), cell(r.cli), cell(r.floor), ratio(r.library.median, r.floor.median), ratio(r.cli.median, r.library.median),
      ms(r.spawn.median), ratio(bare, r.library.median), r.library.n,
    ]);
    const within = r.library.median / r.floor.median;
    targets.push({
      target: `legacy append within 1.2× of the libiptc floor (${k(size)} rules)`,
      measured: ratio(r.library.median, r.floor.median),
      met: within <= 1.2,
      why:
        size >= 1000
          ? 'The kernel table replace dominates both sides; the difference is the fixed per-call cost below, within run-to-run noise on a loaded machine. A replace of 1,500 rules or more runs off the JavaScript thread\'s CPU (native/core/apart_from_js_thread.h); from 1,000, as until 2026-12-07T09Z, the 1k row paid that move on every call for a ~1.3 ms replace that could not break the 2 ms p99 target: paired (base and branch processes alternating, 10 each, load 7.5) 1.51× → 1.00× the floor, at real-time priority 1.14× both.'
          : 'Fixed per-call cost against a floor of ~0.05–0.15 ms. The libuv pool round trip is ~0.02–0.05 ms back to back but 0.1–0.4 ms when both threads were asleep (row 8b), and here every library call follows a child process, so it is usually the cold one. Besides it, on the main thread (~30 µs): promise and queue hops, the op read at the addon boundary (~7 µs: ~100 Node-API calls, whose per-call overhead, not key internalization, is the cost) and the worker\'s creation (~7 µs); in the pool, opening and closing the lock file (~5 µs) and /proc/thread-self/ns/net with two setns (~17 µs, ~14 µs of which a kept home-namespace fd would save). A rule text seen twice is no longer parsed (512 texts per family are remembered). The floor pays none of this; the off-main-thread design pays the round trip by construction.',
    });
    if (size === 0) {
      targets.push({
        target: 'legacy append ≥100× faster than the CLI on an empty table',
        measured: ratio(r.cli.median, r.library.median),
        met: r.cli.median / r.library.median >= 100,
        why: 'The CLI here includes `ip netns exec` (its own column in row 1); even the reference 1.3 ms CLI figure would need the library at 13 µs, below one pool round trip.',
      });
    }
  }
  sections.push({
    heading: 'Row 1 · one connlimit rule appended (legacy)',
    table: table(['rules present', 'library', 'iptables-legacy -A', 'libiptc floor', 'library / floor', 'CLI / library', '`ip netns exec` alone', '(CLI − that) / library', 'n'], appendRows),
    notes: [
      `Rule: \`${RULE}\`; the rules present are connlimit rules of the same shape. After each call the rule is deleted again (untimed), so every call sees the same table.`,
      'library: `await fw.append()` timed in Node (rule parsing, queue, libuv pool, xtables lock, setns, libiptc, commit). CLI: `ip netns exec NS iptables-legacy -w -A ...` timed around the child process. floor: scripts/bench/iptc-floor.c, iptc_init + iptc_append_entry + iptc_commit + iptc_free timed in-process, on the same entry bytes.',
      "`ip netns exec NS true` is timed in the same rounds: a CLI called from the caller's own namespace doesn't pay it, so `(CLI − that) / library` gives the CLI's time without it, over the library's.",
    ].filter(Boolean),
  });

  const txSizes = ctx.quick ? [100] : [1000, 10000];
  const txRows = [];
  for (const size of txSizes) {
    ctx.log(`row 2: ${k(size)} rules in one transaction`);
    const r = await transactionRow(ctx, size);
    txRows.push([k(size), cell(r.library), cell(r.cli), cell(r.floor), ratio(r.library.median, r.floor.median), ratio(r.cli.median, r.library.median), r.library.n]);
    if (size >= 10000 || ctx.quick) {
      targets.push({
        target: `${k(size)}-rule transaction within 1.2× of the libiptc floor`,
        measured: ratio(r.library.median, r.floor.median),
        met: r.library.median / r.floor.median <= 1.2,
        why: 'The floor is handed ready entry bytes. Since the packed op form (ops cross as one buffer, decoded in the pool) and the parser\'s fast path, the main thread spends ~1 µs parsing a rule of the common shape, ~0.4 µs when the rule before it had the same shape (only its value words are read then), and ~0.2 µs validating and packing it (it was ~3–6 µs and ~10–14 µs: ~100 Node-API calls per op). The pool\'s own work beside libiptc\'s is now small: it reads the packed ops one at a time into one reused op and encodes each entry into one reused buffer, re-encoding only the matches that differ from the previous rule\'s (decoding and encoding ~0.13 µs a rule, timed in a C++ loop over the addon\'s object files on this VM; it was ~0.4 µs, with 10k decoded ops allocated and freed per commit). What is left above the floor is the main thread\'s reading of the 10k strings, which must end before the commit starts, and the fixed per-call cost of row 1: collecting the steps, parsing, checking and packing them took ~8.3 ms, and ~5.5 ms since a rule of the shape of the one before is written as a patched copy of its bytes (fastest of 60 each, alternating in one process at real-time priority, 2026-12-07). Packing is ~0.17 µs a rule: writing the bytes in the switch on each kind, not through a lookup by name, measured no better.',
      });
      targets.push({
        target: `${k(size)}-rule transaction ≥2× faster than iptables-legacy-restore --noflush (issue 17)`,
        measured: ratio(r.cli.median, r.library.median),
        met: r.cli.median / r.library.median >= 2,
        why: 'As the floor target above: the pool\'s commit is libiptc\'s and the kernel\'s work (the CLI pays both) plus ~1.3 ms of decoding and encoding; the rest is the main thread reading the rule strings before the commit can start, which the CLI does in C within its own time. Profiled 2026-12-07 (perf over both threads and a cpu profile of the main thread, a 10k transaction in a loop in a throwaway namespace, load 5–9, fastest of 80 for the main thread): the main thread\'s part was ~9.6 ms, parsing ~4.3 (the common-shape fill and its garbage), packing ~2.0, the rest ~3.3 (collecting the steps, checking each rule for its chain and table, the slices); the pool\'s (timers in the pool, temporary, each adding a little) decoding ~0.5 ms, encoding the entries ~1.2, libiptc\'s appends ~1.0, then iptc_commit and the kernel\'s replace, which is the floor\'s own cost. Since then a rule string of the shape of the one before it, into the same chain, is written as a copy of that one\'s packed bytes with its values patched in: no rule object is built, checked or packed for it (src/firewall.ts writeAppend; test 18 proves the bytes equal). Paired at real-time priority as a stand-in for a quiet machine, one process alternating the build before and this one, 21 rounds, load ~5–7: 26.4 → 23.3 and 27.4 → 23.7 ms, CLI / library 1.86–2.01 → 2.14–2.28. Packing with one bounds check per part instead of per byte measured 2.05 → 1.93 ms (fastest of 60, paired, load ~9) and was not kept.',
      });
    }
  }
  sections.push({
    heading: 'Row 2 · N rules in one transaction (legacy)',
    table: table(['rules', 'library transaction', 'iptables-legacy-restore --noflush', 'libiptc floor', 'library / floor', 'CLI / library', 'n'], txRows),
    notes: [
      'Into an empty INPUT, flushed (untimed) after each call. library: `fw.transaction(tx => rules.forEach(r => tx.append("INPUT", r)))` with rules as iptables-syntax strings, so parsing them on the main thread is counted. floor: one iptc_init, N iptc_append_entry, one iptc_commit.',
    ],
  });

  const delSize = ctx.quick ? 100 : 10000;
  ctx.log(`row 3: delete by spec with ${k(delSize)} rules present`);
  const d = await deleteRow(ctx, delSize);
  sections.push({
    heading: 'Row 3 · delete by spec (legacy)',
    table: table(
      ['rules present', 'library', 'iptables-legacy -D', 'libiptc floor', 'library / floor', 'CLI / library', 'n'],
      [[k(delSize + 1), cell(d.library), cell(d.cli), cell(d.floor), ratio(d.library.median, d.floor.median), ratio(d.cli.median, d.library.median), d.library.n]],
    ),
    notes: [
      'The rule deleted is the last of the chain (the whole chain is searched), put back (untimed) after each call. The library compares rules by meaning (decoding each one); the floor is iptc_delete_entry with an all-ones mask (byte comparison, as the CLI does).',
    ],
  });

  return { sections, targets };
}
