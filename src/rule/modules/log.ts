// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j LOG`: `struct xt_log_info` (linux/netfilter/xt_LOG.h), revision 0, as iptables 1.8.9's
 * libxt_LOG writes it (LOG_parse) and saves it (LOG_save). 32 bytes: level 0, logflags 1,
 * prefix[30] 2. The same blob on legacy and in iptables-nft's compat `target` expression
 * (NETFILTER-NOTES §10: never native in 1.8.9). The native nftables form writes nft's
 * `log prefix "P" level L flags ...` statement in place of the verdict (xlate_targets.cc).
 *
 * Stricter than the CLI: a prefix over 29 bytes is refused (the CLI cuts it silently, even inside
 * a UTF-8 character), and so are control characters in it (the CLI refuses only a newline, and
 * iptables-save prints the others raw); levels are decimal (the CLI takes `0x7` and `07` too).
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import { freeTextProblem } from '../comment';
import { saveString } from '../save-string';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { has, own } from './values';

/** Syslog level names `--log-level` takes (libxtables xtopt_parse_sysloglevel; `error` and `panic` are its deprecated aliases). */
export type LogLevelName = 'emerg' | 'alert' | 'crit' | 'error' | 'warning' | 'notice' | 'info' | 'debug' | 'panic';

/**
 * `-j LOG`. Listings give the level as its number and leave out 4 (warning, the default), as
 * iptables-save does; the flags appear only when set.
 *
 * @example { kind: 'log', prefix: 'SSH flood: ', level: 6, tcpOptions: true }
 */
export interface LogTarget {
  kind: 'log';
  /** `--log-prefix`: 1-29 bytes of UTF-8, no control characters. */
  prefix?: string;
  /** `--log-level`: 0-7 or a syslog level name. */
  level?: number | LogLevelName;
  /** `--log-tcp-sequence`, `--log-tcp-options`, `--log-ip-options`, `--log-uid`, `--log-macdecode` */
  tcpSequence?: boolean;
  tcpOptions?: boolean;
  ipOptions?: boolean;
  uid?: boolean;
  macDecode?: boolean;
}

declare module '../types' {
  interface ModuleTargetParts {
    log: LogTarget;
  }
}

const SIZE = 32;
const PREFIX_SIZE = 30;
const MAX_PREFIX_BYTES = PREFIX_SIZE - 1;
const DEFAULT_LEVEL = 4;

const LEVELS: Readonly<Record<LogLevelName, number>> = {
  emerg: 0, panic: 0, alert: 1, crit: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7,
};

type Flag = 'tcpSequence' | 'tcpOptions' | 'ipOptions' | 'uid' | 'macDecode';
/** The flags in save order with their options and XT_LOG_* bits (0x10 is XT_LOG_NFLOG, which the kernel refuses). */
const FLAGS: readonly (readonly [Flag, string, number])[] = [
  ['tcpSequence', '--log-tcp-sequence', 0x01],
  ['tcpOptions', '--log-tcp-options', 0x02],
  ['ipOptions', '--log-ip-options', 0x04],
  ['uid', '--log-uid', 0x08],
  ['macDecode', '--log-macdecode', 0x20],
];
const FLAG_MASK = FLAGS.reduce((m, [, , bit]) => m | bit, 0);

/** Why `text` can't be a log prefix, or null (the CLI refuses only an empty one and a newline). */
function prefixProblem(text: string): string | null {
  if (text === '') return 'an empty log prefix (leave it out instead)';
  return freeTextProblem(text, 'a log prefix', MAX_PREFIX_BYTES);
}

/** The normalized part: level as a number and only when not the default, flags only when set. */
function normalized(prefix: string | undefined, level: number, flags: ReadonlySet<Flag>): LogTarget {
  const part: LogTarget = { kind: 'log' };
  if (prefix !== undefined) part.prefix = prefix;
  if (level !== DEFAULT_LEVEL) part.level = level;
  for (const [key] of FLAGS) if (flags.has(key)) part[key] = true;
  return part;
}

interface Draft {
  prefix?: string;
  level?: number;
  flags: Set<Flag>;
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  const v = values[0]!;
  if (opt === '--log-prefix') {
    const p = prefixProblem(v);
    if (p) ctx.fail(p, 0);
    d.prefix = v;
  } else if (opt === '--log-level') {
    const level = parseDecimal(v, 7) ?? (Object.prototype.hasOwnProperty.call(LEVELS, v) ? LEVELS[v as LogLevelName] : undefined);
    if (level === undefined) ctx.fail(`unknown log level ${quote(v)}: use 0-7 or ${Object.keys(LEVELS).join(', ')}${numberHint(v)}`, 0);
    d.level = level;
  } else {
    d.flags.add(FLAGS.find(([, name]) => name === opt)![0]);
  }
}

const KEYS = new Set(['kind', 'prefix', 'level', ...FLAGS.map(([key]) => key)]);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): LogTarget | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  let prefix: string | undefined;
  if (has(o, 'prefix')) {
    prefix = c.string(own(o, 'prefix'), `${path}.prefix`, 'a log prefix');
    const p = prefix === undefined ? null : prefixProblem(prefix);
    if (p) c.add(`${path}.prefix`, p);
    ok &&= prefix !== undefined && !p;
  }
  let level = DEFAULT_LEVEL;
  if (has(o, 'level')) {
    const v = own(o, 'level');
    const named = typeof v === 'string' && Object.prototype.hasOwnProperty.call(LEVELS, v) ? LEVELS[v as LogLevelName] : undefined;
    const n = named ?? (typeof v === 'number' ? c.int(v, `${path}.level`, 0, 7, 'a syslog level') : c.add(`${path}.level`, `expected 0-7 or one of ${Object.keys(LEVELS).join(', ')}`));
    if (n === undefined) ok = false;
    else level = n;
  }
  const flags = new Set<Flag>();
  for (const [key] of FLAGS) {
    if (!has(o, key)) continue;
    const v = own(o, key);
    if (typeof v !== 'boolean') {
      c.add(`${path}.${key}`, 'expected true or false');
      ok = false;
    } else if (v) flags.add(key);
  }
  return ok ? normalized(prefix, level, flags) : undefined;
}

function encode(part: LogTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  b[1] = FLAGS.reduce((m, [key, , bit]) => (part[key] ? m | bit : m), 0);
  b[0] = typeof part.level === 'number' ? part.level : part.level === undefined ? DEFAULT_LEVEL : LEVELS[part.level];
  if (part.prefix !== undefined) b.write(part.prefix, 2, MAX_PREFIX_BYTES, 'utf8');
  return b;
}

function decode(d: Buffer, _family: Family): LogTarget | null {
  if (d.length !== SIZE || d[1]! & ~FLAG_MASK || d[0]! > 7) return null;
  const field = d.subarray(2);
  const end = field.indexOf(0);
  if (end === -1) return null;
  const prefix = field.subarray(0, end).toString('utf8');
  if (end > 0 && prefixProblem(prefix)) return null;
  return normalized(end > 0 ? prefix : undefined, d[0]!, new Set(FLAGS.filter(([, , bit]) => d[1]! & bit).map(([key]) => key)));
}

function render(part: LogTarget): string[] {
  const out = ['-j', 'LOG'];
  if (part.prefix !== undefined) out.push('--log-prefix', saveString(part.prefix));
  const level = encode(part)[0]!;
  if (level !== DEFAULT_LEVEL) out.push('--log-level', String(level));
  for (const [key, name] of FLAGS) if (part[key]) out.push(name);
  return out;
}

export const log: CompatModule<LogTarget, Draft> = {
  name: 'LOG',
  kind: 'log',
  type: 'target',
  xtName: 'LOG',
  revision: 0,
  families: ['ipv4', 'ipv6'],
  options: [
    { name: '--log-prefix', args: 1, invertible: false },
    { name: '--log-level', args: 1, invertible: false },
    ...FLAGS.map(([, name]) => ({ name, args: 0 as const, invertible: false })),
  ],
  start: () => ({ flags: new Set(), seen: new Set() }),
  option,
  finish: (d) => normalized(d.prefix, d.level ?? DEFAULT_LEVEL, d.flags),
  validate,
  render,
  encode,
  decode,
  nftables: () => null,
};
