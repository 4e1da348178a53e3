// SPDX-License-Identifier: GPL-2.0-or-later
// Rows of fw.apply()/fw.keep() (issue 19, docs/apply.md): re-applying an unchanged 1k-rule
// desired state (target: no kernel write, under 5 ms) on each backend; a one-rule change to it on
// nft beside a single append (target: within 2×); the legacy keeper's periodic check, which is
// that same dry run; and how long after a foreign `iptables -F INPUT` the keeper has repaired it.
import { benchNetns, cell, interleave, k, ms, ratio, sleep, table } from './lib.mjs';
import { settle } from './nft.mjs';

const SIZE = 1000;
const rule = (i) => `-p tcp --syn --dport ${1 + i} -m connlimit --connlimit-above 2 -j REJECT`;

/** `n` owned rules in LIMITS and a jump from INPUT; on the native form its INPUT chain. */
function desired(backend, n, changed = -1) {
  const rules = Array.from({ length: n }, (_, i) => rule(i === changed ? 60000 : i));
  if (backend === 'nftables') return { chains: { INPUT: rules } };
  return { chains: { LIMITS: rules }, jumps: [{ from: 'INPUT', to: 'LIMITS' }] };
}

/** Unchanged re-apply (and, on nft, a one-rule change beside an append) in one namespace. */
async function applyRow(ctx, backend, n, rounds) {
  const ns = await benchNetns(ctx.tmp);
  const fw = await ctx.Firewall.open({ backend, netns: ns.path, lockPath: ns.lockPath });
  try {
    const a = desired(backend, n);
    const b = desired(backend, n, Math.floor(n / 2));
    let current = a;
    await fw.apply(current);
    let wrote = 0;
    // Alone: a variant that commits between its rounds would make every re-apply read again.
    const same = await interleave(
      {
        // The state the table holds, applied again as a caller would: a fresh object.
        unchanged: async () => {
          if ((await fw.apply(structuredClone(current))).commit) wrote++;
        },
      },
      rounds,
    );
    if (backend !== 'nft') return { ...same, wrote };
    // The append goes to a second namespace: a commit of its own in this one would move the
    // generation id, and every apply() would then dump the table again (which is the cost of a
    // change after a foreign commit, not of a change to our own last state).
    const other = await benchNetns(ctx.tmp);
    const fw2 = await ctx.Firewall.open({ backend, netns: other.path, lockPath: other.lockPath });
    let r;
    try {
      await fw2.apply(a);
      r = await interleave(
        {
          oneChange: async () => {
            current = current === a ? b : a;
            await fw.apply(current);
          },
          append: () => fw2.append('LIMITS', rule(60001)),
        },
        rounds,
        {
          // Both variants delete a connlimit rule (the change takes one out; the append's is
          // deleted here), which the kernel destroys after an RCU grace period that nft_compat
          // makes the namespace's next batch with an xtables match wait for (nft.mjs settle).
          // Rounds alternate the order, so the variant that ended a round began the next right
          // after its own delete: without the settle it paid that wait (10-25 ms) every other
          // round, the other variant having run in between the rest of the time (both bimodal).
          between: async (name) => {
            if (name === 'append') await fw2.delete('LIMITS', rule(60001));
            await settle(1);
          },
        },
      );
    } finally {
      await fw2.close();
      await other.done();
    }
    return { ...same, ...r, wrote };
  } finally {
    await fw.close();
    await ns.done();
  }
}

/** From the end of a foreign `iptables-nft -F INPUT` (or -legacy) to the keeper's 'applied'. */
async function repairRow(ctx, backend, rounds, intervalMs) {
  const ns = await benchNetns(ctx.tmp);
  const fw = await ctx.Firewall.open({ backend, netns: ns.path, lockPath: ns.lockPath });
  const keeper = await fw.keep(desired(backend, 10), { intervalMs });
  try {
    const samples = [];
    for (let r = 0; r < rounds; r++) {
      const repaired = new Promise((resolve) => keeper.once('applied', resolve));
      await ns.exec(`iptables-${backend}`, ['-F', 'INPUT']);
      const t0 = performance.now();
      await repaired;
      samples.push(performance.now() - t0);
      await sleep(20);
    }
    samples.sort((x, y) => x - y);
    const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
    return { median: q(0.5), p90: q(0.9), n: samples.length };
  } finally {
    await keeper.close();
    await fw.close();
    await ns.done();
  }
}

export async function run(ctx) {
  const targets = [];
  const rounds = ctx.quick ? 3 : 31;
  const rows = [];
  const byBackend = {};
  for (const backend of ['legacy', 'nft', 'nftables']) {
    ctx.log(`apply: re-applying an unchanged ${k(SIZE)}-rule state, backend ${backend}`);
    const r = await applyRow(ctx, backend, SIZE, rounds);
    byBackend[backend] = r;
    rows.push([backend, cell(r.unchanged), r.wrote === 0 ? 'none' : `${r.wrote} commits`, r.oneChange ? cell(r.oneChange) : '-', r.append ? cell(r.append) : '-', r.oneChange ? ratio(r.oneChange.median, r.append.median) : '-', r.unchanged.n]);
  }
  for (const [backend, r] of Object.entries(byBackend)) {
    targets.push({
      target: `re-applying an unchanged ${k(SIZE)}-rule desired state, backend ${backend}: no kernel write, under 5 ms`,
      measured: `${ms(r.unchanged.median)} median, ${r.wrote === 0 ? 'no commit' : `${r.wrote} commits`}`,
      met: r.wrote === 0 && r.unchanged.median < 5,
      why: 'A state apply() last found in place is known again by its text; then one look at the table\'s version (nf_tables: the generation id; legacy: one GET_INFO + GET_ENTRIES getsockopt, hashed without counters) answers it, with no listing and no plan. Anything committed since (by anyone) means the full read and plan.',
    });
  }
  const nft = byBackend.nft;
  targets.push({
    target: `a one-rule change to a ${k(SIZE)}-rule desired state on nft within 2× of a single append`,
    measured: ratio(nft.oneChange.median, nft.append.median),
    met: nft.oneChange.median / nft.append.median <= 2,
    why: 'Until 2026-12-07 the row read anywhere from 0.51× to 20×: each variant deletes a connlimit rule, nft_compat makes the namespace\'s next batch with an xtables match wait out the RCU grace period of that rule\'s destruction (10-25 ms here), and the variant that began a round followed its own delete. Both now settle after their delete (as rows 1, 2 and 13 do), so the row measures the change: in the unsettled run 17 of 31 changes and 16 of 31 appends took 7-26 ms, settled none of the appends and 5 of 31 changes over 5 ms (load 6-8, 2026-12-07T09:00Z). What is left is the change\'s own cost. Until 2026-12-07T10:30Z that was the main thread\'s work over all 1k rules although one changed (~2.8 ms of process CPU a change against an append\'s ~1.1 ms wall; 2.43-3.39× then). Now a change costs one identity pass over the rules beyond what changed: each rule of the state found by its place and text in the last state of the chain (no key built, no parse), the chain\'s equal ends counted, not stepped (identity first, the addon\'s comparison only for the differing middle), rules packed for comparison once a process, set indexes looked up only for rules naming sets, the known table keeping the listed rules it already holds, the extensions of an error\'s hints worked out when one comes (`npm run bench -- --only apply` alternating main\'s code and this, 5 runs each: main 2.25-3.99 ms a change, 2.23-3.39×; this 1.59-2.11 ms, 1.60-2.13× (1.60-1.73× in the 3 runs at load 0.6-1.7, 2026-12-07T10:33Z; 1.64× and 2.13× at load 2.3-4.2); appends 0.95-1.2 ms throughout). A CPU profile of 200 settled changes (dist/, 2026-12-07T10:31Z) puts the rest in the two changed rules\' text rendered for the plan (~0.12 ms), the replace op packed (~0.15-0.2 ms, op-pack.ts), the one comparison of the differing pair through the addon (~0.07 ms), the state copied and keyed for the unchanged path (~0.13 ms), the state checked (~0.1 ms) and the addon calls of the commit and the generation look. A change after a foreign commit is planned from a dump of the table (1k rules decoded): tens of ms.',
  });
  const repairs = [];
  for (const [backend, intervalMs] of [['nft', null], ['legacy', 1000]]) {
    ctx.log(`apply: keep() repairing a foreign -F INPUT, backend ${backend}`);
    const r = await repairRow(ctx, backend, ctx.quick ? 3 : 15, intervalMs ?? 1000);
    repairs.push([backend, backend === 'nft' ? 'ruleset notification, debounceMs 50' : `periodic check, intervalMs ${intervalMs}`, cell(r), r.n]);
  }
  return {
    sections: [
      {
        heading: `apply · re-applying a ${k(SIZE)}-rule desired state; a one-rule change beside an append (nft)`,
        table: table(['backend', 'unchanged re-apply (= a keeper\'s check of an unchanged table)', 'kernel writes', 'one-rule change', 'single append', 'change / append', 'n'], rows),
        notes: [
          `fw.apply(state) with ${k(SIZE)} connlimit rules in an owned chain LIMITS and a jump from INPUT (the native form: its INPUT chain), in a namespace holding nothing else. unchanged: the same state again (a fresh copy), timed alone; it must commit nothing (the "kernel writes" column counts plans that did). A keeper's check is this same call as a dry run, so on legacy the column is also the cost of one periodic check of a table nobody changed: one GET_INFO and one GET_ENTRIES getsockopt in the pool, the entries hashed without their counters. A table that changed costs a full read and plan instead (the nft one-rule change column gives its order).`,
          'nft only: one-rule change alternates two states differing in the middle rule (one rule out, one in, one batch), each planned from the table as the previous commit left it (known at the generation id that commit produced: no dump; the rules parsed once, compared by identity). single append is fw.append(\'LIMITS\', rule) on a handle of the same state in a second namespace (so this one\'s generation id moves only with the changes), deleted again untimed between rounds. After each call of either variant the kernel is left to destroy the deleted connlimit rule (an RCU grace period that the next batch with an xtables match would wait for). Variants interleaved.',
        ],
      },
      {
        heading: 'apply · keep(): from a foreign `iptables -F INPUT` to the repair',
        table: table(['backend', 'trigger', 'exit of iptables -F → applied', 'n'], repairs),
        notes: ['A 10-rule state kept; the clock starts when the iptables process has exited (its commit is in) and stops at the keeper\'s \'applied\' event. Legacy: the check runs every intervalMs, so the wait is spread over 0..intervalMs plus one check and one commit.'],
      },
    ],
    targets,
  };
}
