// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `connlimit set create|add|del|test|ls|flush|destroy|rename|swap ...` and the everyday
 * shortcut `connlimit ban ADDR [--for 10m]` / `unban ADDR` over a default set: client sets
 * (ipset) on the public API only (Sets). `ban` manages membership only; the one rule that makes
 * it bite is printed by `connlimit ban --help` and documented in docs/sets.md.
 */
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { isConnlimitError, Sets, type Family } from '../index';
import { argumentsError, joinValues, type CommonOptions } from './args';
import { EXIT } from './exit-codes';
import { listSet } from './set-ls';
import { usageError } from './usage-error';

export const SET_COMMANDS = new Set(['set', 'ban', 'unban']);

/** The default ban sets: hash:ip with timeout support, one per family. */
export const BAN_SET = { ipv4: 'connlimit-ban', ipv6: 'connlimit-ban6' } as const;

export interface SetOutput {
  text: string;
  json: unknown;
  exitCode: number;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** '600', '30s', '10m', '2h', '1d' as seconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m) usageError(option, `${JSON.stringify(text)}: a duration is N, Ns, Nm, Nh or Nd`);
  return Number(m[1]) * (UNITS[m[2] || 's'] as number);
}

function parse(rest: string[], options: Record<string, { type: 'string' | 'boolean' }>) {
  try {
    return parseArgs({ args: joinValues(rest, options), options, strict: true, allowPositionals: true });
  } catch (e) {
    return argumentsError(e);
  }
}

/** `family` overrides --family (ban: the address's); on --backend nftables it picks the table (ip or ip6). */
async function withSets<T>(common: CommonOptions, work: (sets: Sets) => Promise<T>, family = common.family as Family | undefined): Promise<T> {
  const backend = common.backend === 'nftables' || common.backend === 'legacy' || common.backend === 'nft' ? common.backend : undefined;
  const sets = await Sets.open({
    ...(common.netns === undefined ? {} : { netns: common.netns }),
    ...(family === undefined ? {} : { family }),
    ...(backend === undefined ? {} : { backend }),
  });
  try {
    return await work(sets);
  } finally {
    await sets.close();
  }
}

function done(json: unknown = { ok: true }): SetOutput {
  return { text: '', json, exitCode: EXIT.ok };
}

function need(args: string[], count: number, usage: string): string[] {
  if (args.length !== count) usageError('arguments', `usage: connlimit ${usage}`);
  return args;
}

export async function runSetCommand(command: string, common: CommonOptions, rest: string[]): Promise<SetOutput> {
  if (command === 'ban' || command === 'unban') return runBan(command, common, rest);
  const [sub = '', ...after] = rest;
  switch (sub) {
    case 'create': {
      const { values, positionals } = parse(after, {
        timeout: { type: 'string' },
        maxelem: { type: 'string' },
        hashsize: { type: 'string' },
        counters: { type: 'boolean' },
        comment: { type: 'boolean' },
        exist: { type: 'boolean' },
      });
      const [name, type] = need(positionals, 2, 'set create NAME TYPE [--timeout T] [--maxelem N] [--hashsize N] [--counters] [--comment] [--exist]');
      const number = (v: string | boolean | undefined, o: string) => (typeof v === 'string' ? (/^\d+$/.test(v) ? Number(v) : usageError(o, 'must be a whole number')) : undefined);
      await withSets(common, (s) =>
        s.create(name as string, {
          type: type as 'hash:ip',
          ...(typeof values.timeout === 'string' ? { timeout: parseDuration(values.timeout, '--timeout') } : {}),
          ...(values.maxelem !== undefined ? { maxelem: number(values.maxelem, '--maxelem') as number } : {}),
          ...(values.hashsize !== undefined ? { hashsize: number(values.hashsize, '--hashsize') as number } : {}),
          counters: values.counters === true,
          comment: values.comment === true,
          exist: values.exist === true,
        }),
      );
      return done();
    }
    case 'add':
    case 'del': {
      const { values, positionals } = parse(after, { timeout: { type: 'string' }, comment: { type: 'string' }, exist: { type: 'boolean' }, nomatch: { type: 'boolean' } });
      const [name, entry] = need(positionals, 2, `set ${sub} NAME ENTRY${sub === 'add' ? ' [--timeout T] [--comment TEXT] [--nomatch]' : ''} [--exist]`);
      if (sub === 'del' && (values.timeout !== undefined || values.comment !== undefined || values.nomatch !== undefined)) {
        usageError('arguments', '--timeout, --comment and --nomatch belong to set add');
      }
      await withSets(common, (s) =>
        sub === 'add'
          ? s.add(name as string, entry as string, {
              exist: values.exist === true,
              ...(typeof values.timeout === 'string' ? { timeout: parseDuration(values.timeout, '--timeout') } : {}),
              ...(typeof values.comment === 'string' ? { comment: values.comment } : {}),
              ...(values.nomatch === true ? { nomatch: true } : {}),
            })
          : s.delete(name as string, entry as string, { exist: values.exist === true }),
      );
      return done();
    }
    case 'test': {
      const { values, positionals } = parse(after, { nomatch: { type: 'boolean' } });
      const [name, entry] = need(positionals, 2, 'set test NAME ENTRY [--nomatch]');
      const found = await withSets(common, (s) => s.test(name as string, entry as string, values.nomatch === true ? { nomatch: true } : {}));
      return { text: `${entry} is ${found ? '' : 'NOT '}in set ${name}`, json: { ok: true, in: found }, exitCode: found ? EXIT.ok : EXIT.failure };
    }
    case 'ls': {
      const names = parse(after, {}).positionals;
      if (names.length > 1) usageError('arguments', 'usage: connlimit set ls [NAME]');
      if (names.length === 0) {
        const all = await withSets(common, (s) => s.names());
        return { text: all.join('\n'), json: { ok: true, sets: all }, exitCode: EXIT.ok };
      }
      // Written as it streams (set-ls.ts): nothing left for main to print.
      return { text: '', json: null, exitCode: await withSets(common, (s) => listSet(s, names[0] as string, common.json)) };
    }
    case 'flush':
    case 'destroy': {
      const { values, positionals } = parse(after, sub === 'destroy' ? { exist: { type: 'boolean' } } : {});
      const [name] = need(positionals, 1, `set ${sub} NAME`);
      await withSets(common, (s) => (sub === 'flush' ? s.flush(name as string) : s.destroy(name as string, { exist: values.exist === true })));
      return done();
    }
    case 'rename':
    case 'swap': {
      const [a, b] = need(parse(after, {}).positionals, 2, `set ${sub} NAME NAME2`);
      await withSets(common, (s) => (sub === 'rename' ? s.rename(a as string, b as string) : s.swap(a as string, b as string)));
      return done();
    }
    default:
      return usageError('arguments', `unknown set command ${JSON.stringify(sub)} (create, add, del, test, ls, flush, destroy, rename, swap)`);
  }
}

async function runBan(command: 'ban' | 'unban', common: CommonOptions, rest: string[]): Promise<SetOutput> {
  const { values, positionals } = parse(rest, command === 'ban' ? { for: { type: 'string' }, set: { type: 'string' } } : { set: { type: 'string' } });
  const [address] = need(positionals, 1, `${command} ADDR${command === 'ban' ? ' [--for DURATION]' : ''} [--set NAME]`);
  const family: Family = isIP(address as string) === 6 ? 'ipv6' : 'ipv4';
  const set = typeof values.set === 'string' ? values.set : BAN_SET[family];
  if (command === 'ban') {
    const seconds = typeof values.for === 'string' ? parseDuration(values.for, '--for') : 0;
    await withSets(common, async (s) => {
      // timeout 0: timeout support, entries permanent unless banned --for a while.
      await s.ensure(set, { type: 'hash:ip', family, timeout: 0 });
      await s.add(set, address as string, { timeout: seconds, exist: true });
    }, family);
    const until = seconds ? ` for ${seconds}s` : '';
    return { text: `banned ${address}${until} (set ${set})`, json: { ok: true, banned: address, set, timeout: seconds }, exitCode: EXIT.ok };
  }
  const removed = await withSets(common, async (s) => {
    try {
      await s.delete(set, address as string);
      return true;
    } catch (e) {
      if (isConnlimitError(e) && e.code === 'ERR_CONNLIMIT_NOT_FOUND') return false;
      throw e;
    }
  }, family);
  return { text: removed ? `unbanned ${address}` : `${address} was not banned`, json: { ok: true, unbanned: address, set, removed }, exitCode: EXIT.ok };
}
