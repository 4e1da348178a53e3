// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j CONNMARK`: `struct xt_connmark_tginfo2` (linux/netfilter/xt_connmark.h), revision 2, as
 * iptables 1.8.9's libxt_CONNMARK writes it (connmark_tg_parse_v2) and saves it
 * (connmark_tg_save_v2). Layout: ctmark 0, ctmask 4, nfmask 8 (host order), shift_dir 12,
 * shift_bits 13, mode 14, 1 byte of padding; 16 bytes. The CLI starts both masks at 0xffffffff.
 * The same blob on legacy and in iptables-nft's compat `target` expression (NETFILTER-NOTES §10);
 * the native nftables form writes `ct mark set ...` in place of the verdict (see `nftables` below).
 *
 * Modes: set (`ctmark = (ctmark & ~ctmask) ^ value`), save (packet mark to connection mark:
 * `ctmark = (ctmark & ~ctmask) ^ (mark & nfmask)`) and restore (the other way, masks swapped).
 *
 * Stricter than the CLI: values are decimal or 0x hex (the CLI's strtoul also reads octal);
 * `--mask`, `--nfmask` and `--ctmask` go with `--save-mark`/`--restore-mark` only (the CLI takes
 * them after `--set-xmark` too and quietly overwrites its mask); a shift is 1-32 and given once
 * (a shift of 0 does nothing; the CLI keeps the last of left and right).
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get32, has, own, put32 } from './values';
import { FULL_MASK, XMARK_OPTIONS, badMark, checkMark, markHex, parseMark, xmarkOf } from './marks';

declare module '../types' {
  interface ModuleTargetParts {
    connmark: ConnmarkTarget;
  }
}

export type ConnmarkMode = 'set' | 'save' | 'restore';

/**
 * `-j CONNMARK`. Listings give every mask, as iptables-save prints them; `value` only for 'set',
 * `nfmask` only for 'save' and 'restore'.
 *
 * @example { kind: 'connmark', mode: 'restore' }
 * @example { kind: 'connmark', mode: 'save', nfmask: 0xff, ctmask: 0xff }
 * @example { kind: 'connmark', mode: 'set', value: 0x3, ctmask: 0xffffffff }
 */
export interface ConnmarkTarget {
  kind: 'connmark';
  mode: ConnmarkMode;
  /** 'set': xored into the connection mark after clearing ctmask's bits (`--set-xmark V/M`; the CLI's --set-mark, --and-mark, --or-mark, --xor-mark are such pairs). */
  value?: number;
  /** Bits of the connection mark changed; default 0xffffffff. */
  ctmask?: number;
  /** 'save' and 'restore': bits of the packet mark used or changed; default 0xffffffff. */
  nfmask?: number;
  /** `--left-shift-mark` / `--right-shift-mark`: 1-32 bits (the value shifted on its way). */
  leftShift?: number;
  rightShift?: number;
}

const SIZE = 16;
const MODES: readonly ConnmarkMode[] = ['set', 'save', 'restore'];
const SHIFT_RIGHT = 1;
const MAX_SHIFT = 32;

function normalized(mode: ConnmarkMode, value: number, ctmask: number, nfmask: number, shift: { right: boolean; bits: number } | null): ConnmarkTarget {
  const p: ConnmarkTarget = { kind: 'connmark', mode };
  if (mode === 'set') p.value = value;
  p.ctmask = ctmask;
  if (mode !== 'set') p.nfmask = nfmask;
  if (shift) p[shift.right ? 'rightShift' : 'leftShift'] = shift.bits;
  return p;
}

interface Draft {
  mode: ConnmarkMode | null;
  value: number;
  ctmask: number | null;
  nfmask: number | null;
  shift: { right: boolean; bits: number } | null;
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  const v = values[0] ?? '';
  if ((XMARK_OPTIONS as readonly string[]).includes(opt) || opt === '--save-mark' || opt === '--restore-mark') {
    if (d.mode !== null) ctx.fail(`${opt}: CONNMARK takes one operation (${XMARK_OPTIONS.join(', ')}, --save-mark or --restore-mark)`);
    if (opt === '--save-mark' || opt === '--restore-mark') {
      d.mode = opt === '--save-mark' ? 'save' : 'restore';
      return;
    }
    const x = xmarkOf(opt, v);
    if (x === null) return ctx.fail(badMark(v, opt.startsWith('--set-') ? 'a mark or mark/mask' : `a mark (${quote(opt)} takes no mask)`), 0);
    d.mode = 'set';
    d.value = x.value;
    d.ctmask = x.mask;
    return;
  }
  if (opt === '--left-shift-mark' || opt === '--right-shift-mark') {
    if (d.shift !== null) ctx.fail('give --left-shift-mark or --right-shift-mark, once');
    const bits = parseDecimal(v, MAX_SHIFT);
    if (bits === null || bits === 0) ctx.fail(`${quote(v)} is not a shift 1-${MAX_SHIFT}${numberHint(v)}`, 0);
    d.shift = { right: opt === '--right-shift-mark', bits };
    return;
  }
  // --mask, --nfmask, --ctmask
  const m = parseMark(v);
  if (m === null) return ctx.fail(badMark(v, 'a mask'), 0);
  if (opt === '--mask' ? d.seen.has('--nfmask') || d.seen.has('--ctmask') : d.seen.has('--mask')) ctx.fail('--mask sets both masks: give it or --nfmask/--ctmask');
  if (opt !== '--ctmask') d.nfmask = m;
  if (opt !== '--nfmask') d.ctmask = m;
}

function finish(d: Draft, ctx: ParseContext): ConnmarkTarget {
  if (d.mode === null) return ctx.fail(`-j CONNMARK needs one of ${XMARK_OPTIONS.join(', ')}, --save-mark or --restore-mark`);
  if (d.mode === 'set' && ['--mask', '--nfmask', '--ctmask'].some((o) => d.seen.has(o))) {
    return ctx.fail('--mask, --nfmask and --ctmask go with --save-mark or --restore-mark (give the mask of a set as VALUE/MASK)');
  }
  return normalized(d.mode, d.value, d.ctmask ?? FULL_MASK, d.nfmask ?? FULL_MASK, d.shift);
}

const KEYS = new Set(['kind', 'mode', 'value', 'ctmask', 'nfmask', 'leftShift', 'rightShift']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): ConnmarkTarget | undefined {
  c.keys(o, KEYS, path);
  const m = own(o, 'mode');
  const mode = MODES.includes(m as ConnmarkMode) ? (m as ConnmarkMode) : c.add(`${path}.mode`, `expected one of ${MODES.join(', ')}`);
  let ok = mode !== undefined;
  let value = 0;
  if (mode === 'set') {
    const v = checkMark(c, own(o, 'value'), `${path}.value`);
    ok &&= v !== undefined;
    value = v ?? 0;
  } else if (mode && has(o, 'value')) ok = !!c.add(`${path}.value`, `only mode 'set' takes a value`);
  const ctmask = has(o, 'ctmask') ? checkMark(c, own(o, 'ctmask'), `${path}.ctmask`, 'a mask') : FULL_MASK;
  let nfmask: number | undefined = FULL_MASK;
  if (has(o, 'nfmask')) nfmask = mode === 'set' ? c.add(`${path}.nfmask`, `mode 'set' takes no nfmask`) : checkMark(c, own(o, 'nfmask'), `${path}.nfmask`, 'a mask');
  let shift: { right: boolean; bits: number } | null = null;
  if (has(o, 'leftShift') && has(o, 'rightShift')) ok = !!c.add(path, 'give leftShift or rightShift, not both');
  for (const key of ['leftShift', 'rightShift'] as const) {
    if (!has(o, key)) continue;
    const bits = c.int(own(o, key), `${path}.${key}`, 1, MAX_SHIFT, 'a shift');
    if (bits === undefined) ok = false;
    else shift = { right: key === 'rightShift', bits };
  }
  return ok && ctmask !== undefined && nfmask !== undefined ? normalized(mode!, value, ctmask, nfmask, shift) : undefined;
}

function encode(p: ConnmarkTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  put32(b, 0, p.mode === 'set' ? p.value ?? 0 : 0);
  put32(b, 4, p.ctmask ?? FULL_MASK);
  put32(b, 8, p.mode === 'set' ? FULL_MASK : p.nfmask ?? FULL_MASK);
  b[12] = p.rightShift !== undefined ? SHIFT_RIGHT : 0;
  b[13] = p.rightShift ?? p.leftShift ?? 0;
  b[14] = MODES.indexOf(p.mode);
  return b;
}

function decode(d: Buffer, _family: Family): ConnmarkTarget | null {
  const mode = MODES[d[14]!];
  if (d.length !== SIZE || mode === undefined || d[12]! > SHIFT_RIGHT || d[13]! > MAX_SHIFT || d[15] !== 0) return null;
  const shift = d[13] === 0 ? null : { right: d[12] === SHIFT_RIGHT, bits: d[13]! };
  return normalized(mode, get32(d, 0), get32(d, 4), get32(d, 8), shift);
}

function render(p: ConnmarkTarget): string[] {
  const out = ['-j', 'CONNMARK'];
  const ctmask = markHex(p.ctmask ?? FULL_MASK);
  if (p.mode === 'set') out.push('--set-xmark', `${markHex(p.value ?? 0)}/${ctmask}`);
  else out.push(p.mode === 'save' ? '--save-mark' : '--restore-mark', '--nfmask', markHex(p.nfmask ?? FULL_MASK), '--ctmask', ctmask);
  if (p.leftShift !== undefined) out.push('--left-shift-mark', String(p.leftShift));
  if (p.rightShift !== undefined) out.push('--right-shift-mark', String(p.rightShift));
  return out;
}

/**
 * The native nftables form writes CONNMARK as `ct mark set ...` (native/core/nft/native/xlate_targets.cc):
 * null when that says this part, else why not. A masked --set-xmark is written as CONNMARK
 * computes it, `ct mark and ~MASK xor VALUE` (1.8.9 renders `ct mark xor VALUE and ~MASK`, which
 * nft 1.0.6 folds into `ct mark xor (VALUE & ~MASK)`, the mask gone); the masked save and restore have no statement that keeps
 * the mark's other bits (1.8.9's `ct mark set mark and MASK` clears them).
 */
function nftables(p: ConnmarkTarget): string | null {
  const shifted = p.leftShift !== undefined || p.rightShift !== undefined;
  if (p.mode === 'set') return (p.ctmask ?? FULL_MASK) === FULL_MASK && shifted ? 'a shifted --set-xmark VALUE/0xffffffff is a constant: give the shifted value' : null;
  if ((p.ctmask ?? FULL_MASK) !== FULL_MASK || (p.nfmask ?? FULL_MASK) !== FULL_MASK) {
    return `--${p.mode}-mark with a mask: no nft statement keeps the other bits of the mark it sets (iptables-translate 1.8.9's \`... and MASK\` clears them)`;
  }
  return null;
}

export const connmarkTarget: CompatModule<ConnmarkTarget, Draft> = {
  name: 'CONNMARK',
  kind: 'connmark',
  type: 'target',
  xtName: 'CONNMARK',
  revision: 2,
  families: ['ipv4', 'ipv6'],
  options: [
    ...XMARK_OPTIONS.map((name) => ({ name, args: 1 as const, invertible: false })),
    { name: '--save-mark', args: 0, invertible: false },
    { name: '--restore-mark', args: 0, invertible: false },
    { name: '--mask', args: 1, invertible: false },
    { name: '--nfmask', args: 1, invertible: false },
    { name: '--ctmask', args: 1, invertible: false },
    { name: '--left-shift-mark', args: 1, invertible: false },
    { name: '--right-shift-mark', args: 1, invertible: false },
  ],
  start: () => ({ mode: null, value: 0, ctmask: null, nfmask: null, shift: null, seen: new Set() }),
  option,
  finish,
  validate,
  render,
  encode,
  decode,
  nftables,
};
