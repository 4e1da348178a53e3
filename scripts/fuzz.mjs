// SPDX-License-Identifier: GPL-2.0-or-later
// The long form of test/70-hostile-input's fuzz loop. Random typed specs (with opaque matches
// and targets) and random iptables-syntax strings, seeded: every draw must render or throw a
// ValidationError, and what renders must parse back to the same text. A sample of what passes
// validation (no opaque parts: those are trusted bytes by design) is appended in a throwaway
// network namespace, where the kernel must take every one and iptables-legacy-save must print
// what we render.
//
// Usage: node --import tsx scripts/fuzz.mjs   (root; env FUZZ_SEED, FUZZ_ITERATIONS per kind
//        and family, default 50000 -> 100,000 specs + 100,000 strings; FUZZ_APPLY, default 2000)
import { Firewall, parseRule, renderRule } from '../src/index.ts';
import { FUZZ_SETS, randomSpec, randomText, rng } from '../test/helpers/fuzz-gen.ts';
import { createNetns } from '../test/helpers/netns.ts';

const seed = Number(process.env.FUZZ_SEED ?? 20261124);
const iterations = Number(process.env.FUZZ_ITERATIONS ?? 50000);
const applyMax = Number(process.env.FUZZ_APPLY ?? 2000);
const r = rng(seed);
// A built-in chain the rule may go to: -i and -o together only fit FORWARD.
const chainFor = (text) => (/(^| )-o /.test(text) ? (/(^| )-i /.test(text) ? 'FORWARD' : 'OUTPUT') : 'INPUT');
const t0 = Date.now();
const stats = { draws: 0, valid: 0, invalid: 0, other: 0, roundtrip: 0, opaque: 0 };
const failures = [];
const sample = [];
const show = (v) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `<${x.length} bytes>` : x));

for (let i = 0; i < iterations; i++) {
  for (const family of ['ipv4', 'ipv6']) {
    for (const [kind, input] of [['spec', randomSpec(r, family, true)], ['text', randomText(r, family)]]) {
      stats.draws++;
      let text;
      try {
        text = renderRule(input, { family });
      } catch (e) {
        if (e?.code === 'ERR_CONNLIMIT_INVALID') stats.invalid++;
        else {
          stats.other++;
          failures.push(`#${i} ${family} ${kind} ${show(input)}: ${e?.code ?? e?.name} ${e?.message}`);
        }
        continue;
      }
      stats.valid++;
      const opaque = kind === 'spec' && (input.matches !== undefined || input.target?.kind === 'opaque');
      // Opaque parts render as '[undecoded: ...]', which is for reading, not for parsing back.
      if (opaque) {
        stats.opaque++;
        continue;
      }
      let again;
      try {
        again = renderRule(text, { family });
      } catch (e) {
        again = `${e?.code} ${e?.message}`;
      }
      if (again !== text) {
        stats.roundtrip++;
        failures.push(`#${i} ${family} round trip: ${text} -> ${again}`);
        continue;
      }
      if (sample.length < applyMax && r() < 0.25) sample.push({ family, input, text, chain: chainFor(text) });
    }
  }
}
const validateMs = Date.now() - t0;

const ns = await createNetns();
let applied = 0;
try {
  const fws = { ipv4: await Firewall.open({ backend: 'legacy', netns: ns.name }), ipv6: await Firewall.open({ backend: 'legacy', family: 'ipv6', netns: ns.name }) };
  for (const fw of Object.values(fws)) await fw.createChain('LIMITS');
  // The sets a valid -j SET draw names, so that it reaches the kernel.
  for (const [family, set] of Object.entries(FUZZ_SETS)) await ns.run('ipset', ['create', set, 'hash:ip', 'family', family === 'ipv6' ? 'inet6' : 'inet']);
  for (let start = 0; start < sample.length; start += 200) {
    for (const a of sample.slice(start, start + 200)) {
      try {
        await fws[a.family].append(a.chain, a.input);
        applied++;
      } catch (e) {
        // Our own pre-check (the jump target must exist) stops these before the kernel.
        if (e?.code === 'ERR_CONNLIMIT_NOT_FOUND' && /-[jg] \S+$/.test(a.text) && !/-[jg] LIMITS$/.test(a.text)) continue;
        // And --map-set outside mangle (the sample goes to filter), a set of the other family.
        if (e?.code === 'ERR_CONNLIMIT_INVALID' && (/ --map-set /.test(a.text) || /rule can't use it/.test(e.message))) continue;
        failures.push(`kernel refused ${a.family} ${a.chain} ${a.text}: ${e?.code} ${e?.message}`);
      }
    }
    for (const [family, fw] of Object.entries(fws)) {
      const cli = family === 'ipv4' ? 'iptables-legacy-save' : 'ip6tables-legacy-save';
      const theirs = (await ns.run(cli, ['-t', 'filter'])).stdout.split('\n').filter((l) => l.startsWith('-A'));
      const ours = (await fw.save()).split('\n').filter((l) => l.startsWith('-A'));
      if (theirs.join('\n') !== ours.join('\n')) failures.push(`${family}: iptables-legacy-save differs from our rendering`);
      await fw.flush();
    }
  }
  for (const fw of Object.values(fws)) await fw.close();
} finally {
  await ns.destroy();
}

console.log(JSON.stringify({ seed, ...stats, validateMs, sampled: sample.length, applied, totalMs: Date.now() - t0, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) }));
if (failures.length) {
  console.error(`${failures.length} failures; first 20:\n${failures.slice(0, 20).join('\n')}`);
  process.exit(1);
}
