// SPDX-License-Identifier: GPL-2.0-or-later
// Reader for the legacy golden fixtures written by scripts/capture-golden.sh.
//
// A fixture is `#` header lines (`# key: value`), then the rule's bytes as hex,
// 4 bytes per line, with `# @offset ...` marker lines in between. Header keys
// read here: command, args (JSON array), family, chain, save, masked (repeated:
// `offset length what`). Unknown keys are kept in `header`.

import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

/** Folder holding `<name>.hex` legacy fixtures. */
export const LEGACY_FIXTURE_DIR = resolve(__dirname, '..', 'fixtures', 'legacy');

// The fixtures were captured in throwaway network namespaces (unshare -n); reading them
// touches no kernel.

/** One recorded rule blob (`ipt_entry`/`ip6t_entry` + matches + target). */
export interface Golden {
  name: string;
  /** The exact command that produced the bytes (shell-quoted). */
  command: string;
  /** Rule arguments after `-A <chain>`, e.g. `['-p','tcp','--syn',...]`. */
  args: string[];
  family: 'ipv4' | 'ipv6';
  /** Chain the rule was appended to (`INPUT`, except `OUTPUT` for rules using `-o`). */
  chain: string;
  /** The rule as `iptables-legacy-save` printed it right after the capture. */
  save: string;
  bytes: Buffer;
  /** `[offset, length]` ranges that vary per run and are ignored by {@link maskedEqual}. */
  maskedRanges: Array<[number, number]>;
  /** Every `# key: value` header line; repeated keys keep the last value. */
  header: Record<string, string>;
}

/**
 * Reads `test/fixtures/legacy/<name>.hex`.
 * @example const g = readGolden('seed-reject'); assert.ok(maskedEqual(encode(spec), g));
 */
export function readGolden(name: string, dir: string = LEGACY_FIXTURE_DIR): Golden {
  const file = resolve(dir, `${name}.hex`);
  const text = readFileSync(file, 'utf8');
  const header: Record<string, string> = {};
  const maskedRanges: Array<[number, number]> = [];
  const words: string[] = [];
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*([A-Za-z][\w-]*):\s?(.*)$/.exec(line);
      if (!m) return;
      const key = m[1]!;
      const value = m[2]!;
      header[key] = value;
      if (key === 'masked') {
        const r = /^(\d+)\s+(\d+)/.exec(value);
        if (!r) throw new Error(`${file}:${idx + 1}: bad masked range '${value}'`);
        maskedRanges.push([Number(r[1]), Number(r[2])]);
      }
      return;
    }
    if (!/^[0-9a-fA-F]{2,8}$/.test(line) || line.length % 2 !== 0) {
      throw new Error(`${file}:${idx + 1}: expected hex bytes, got '${line}'`);
    }
    words.push(line);
  });
  const family = header.family;
  if (family !== 'ipv4' && family !== 'ipv6') {
    throw new Error(`${file}: header 'family' must be ipv4 or ipv6, got '${family}'`);
  }
  if (header.command === undefined) throw new Error(`${file}: header has no 'command'`);
  const args: unknown = header.args === undefined ? [] : JSON.parse(header.args);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    throw new Error(`${file}: header 'args' must be a JSON array of strings`);
  }
  const bytes = Buffer.from(words.join(''), 'hex');
  for (const [off, len] of maskedRanges) {
    if (off + len > bytes.length) throw new Error(`${file}: masked range ${off}+${len} is past the end (${bytes.length})`);
  }
  return {
    name,
    command: header.command,
    args: args as string[],
    family,
    chain: header.chain ?? 'INPUT',
    save: header.save ?? '',
    bytes,
    maskedRanges,
    header,
  };
}

/** Names of every fixture in `dir` (without `.hex`), sorted. */
export function listGoldens(dir: string = LEGACY_FIXTURE_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hex'))
    .map((f) => f.slice(0, -'.hex'.length))
    .sort();
}

/** `offsetof(target_offset)` in `ipt_entry` / `ip6t_entry` (measured by capture-golden.sh). */
const TARGET_OFFSET_FIELD = { ipv4: 88, ipv6: 140 } as const;
/** Verdicts libiptc's `iptcc_map_target` writes for standard target names (`-NF_x - 1`, `XT_RETURN`). */
const STANDARD_VERDICTS: Record<string, number> = { ACCEPT: -2, DROP: -1, QUEUE: -4, RETURN: -5 };
const XT_EXTENSION_MAXNAMELEN = 29;

/**
 * Returns a copy of `entry` as libiptc sends it to the kernel: a 40-byte target
 * named ACCEPT/DROP/QUEUE/RETURN becomes the standard target (name `""`,
 * revision 0, `verdict` set), as `iptcc_standard_map()` does at
 * `iptc_append_entry` time (libiptc/libiptc.c @1.8.9).
 *
 * The fixtures hold the bytes *after* that mapping (they are cut from
 * `IPT_SO_SET_REPLACE`), while the entry our encoder hands to
 * `iptc_append_entry` names the verdict, exactly like the iptables CLI does.
 * Apply this to the encoder's output before {@link maskedEqual} for rules with
 * `-j ACCEPT|DROP|RETURN`; extension targets (REJECT) are left untouched.
 */
export function libiptcStandardMap(entry: Buffer | Uint8Array, family: 'ipv4' | 'ipv6'): Buffer {
  const out = Buffer.from(entry);
  const t = out.readUInt16LE(TARGET_OFFSET_FIELD[family]);
  if (t + 40 > out.length || out.readUInt16LE(t) !== 40) return out;
  const nameBytes = out.subarray(t + 2, t + 2 + XT_EXTENSION_MAXNAMELEN);
  const name = nameBytes.toString('latin1').split('\0', 1)[0]!;
  const verdict = STANDARD_VERDICTS[name];
  if (verdict === undefined) return out;
  nameBytes.fill(0);
  out[t + 31] = 0;
  out.writeInt32LE(verdict, t + 32);
  return out;
}

function isMasked(offset: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  return ranges.some(([o, l]) => offset >= o && offset < o + l);
}

/** True when `actual` has the golden length and equal bytes outside the masked ranges. */
export function maskedEqual(actual: Buffer | Uint8Array, golden: Pick<Golden, 'bytes' | 'maskedRanges'>): boolean {
  return describeMismatch(actual, golden) === null;
}

/**
 * Null when {@link maskedEqual} holds; otherwise a readable report: length
 * difference and the differing 4-byte words (offset, expected, actual), the
 * first 16 of them. Use as the assertion message.
 */
export function describeMismatch(
  actual: Buffer | Uint8Array,
  golden: Pick<Golden, 'bytes' | 'maskedRanges'>,
): string | null {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const g = golden.bytes;
  const lines: string[] = [];
  if (a.length !== g.length) lines.push(`length: expected ${g.length}, got ${a.length}`);
  const n = Math.max(a.length, g.length);
  let diffs = 0;
  for (let word = 0; word < n; word += 4) {
    let differs = false;
    for (let i = word; i < word + 4 && i < n; i++) {
      if (isMasked(i, golden.maskedRanges)) continue;
      if (i >= a.length || i >= g.length || a[i] !== g[i]) differs = true;
    }
    if (!differs) continue;
    diffs++;
    if (diffs <= 16) {
      const hex = (b: Buffer) => b.subarray(word, Math.min(word + 4, b.length)).toString('hex') || '--';
      lines.push(`@${word}: expected ${hex(g)}, got ${hex(a)}`);
    }
  }
  if (diffs > 16) lines.push(`... ${diffs - 16} more differing words`);
  return lines.length === 0 ? null : lines.join('\n');
}
