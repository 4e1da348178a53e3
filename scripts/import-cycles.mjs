// SPDX-License-Identifier: GPL-2.0-or-later
// Finds import cycles among the TypeScript files under a folder (default src/): every relative
// `import ... from`, `import type`, `export ... from`, `import('...')` and `require('...')` is
// an edge, type-only ones included, since a cycle of types is still two files that can only be
// read together. Prints each cycle as `a.ts -> b.ts -> a.ts` and exits 1 when there is one.
// Usage: node scripts/import-cycles.mjs [DIR]   (test/06 runs it over src/)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]*|\.{1,2})['"]/gm;

function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return tsFiles(path);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** './x' from a file: x.ts, or x/index.ts (as the compiler resolves it); null when neither exists. */
function resolveSpecifier(from, specifier) {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** The relative imports of every file, as a map from file to the files it imports. */
export function importGraph(root) {
  const graph = new Map();
  for (const file of tsFiles(root)) {
    const text = readFileSync(file, 'utf8');
    const targets = new Set();
    for (const m of text.matchAll(SPECIFIER)) {
      const target = resolveSpecifier(file, m[1]);
      if (target) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/**
 * The cycles a depth-first search meets, one per edge back into the files on its stack, each
 * once, as relative paths (the first repeated last). Empty exactly when the graph has no cycle;
 * not every cycle of a tangle is listed, but fixing those listed reveals the rest.
 */
export function findCycles(root) {
  const graph = importGraph(root);
  const cycles = new Map();
  const state = new Map(); // file -> 'open' while on the stack, 'done' after
  const stack = [];
  const visit = (file) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        // The same cycle found from another start is one cycle: key it by its smallest rotation.
        const start = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join('\n'), [...rotated, rotated[0]]);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return [...cycles.values()].map((c) => c.map((f) => relative(root, f)));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const root = resolve(process.argv[2] ?? join(dirname(new URL(import.meta.url).pathname), '..', 'src'));
  const cycles = findCycles(root);
  for (const c of cycles) console.log(c.join(' -> '));
  if (cycles.length) {
    console.error(`${cycles.length} import cycle(s) under ${root}`);
    process.exit(1);
  }
  console.error(`no import cycle under ${root}`);
}
