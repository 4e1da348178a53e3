// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Firewall: rules of one table, in one family and network namespace, written fork-free.
 * TypeScript validates and normalizes (src/rule/*); the addon does the kernel work in the
 * libuv pool (native/core/legacy/iptc_table.cc): one lock, one read, one commit per transaction,
 * and per group of single-op calls queued behind each other (src/group-commit.ts).
 */
import { performance } from 'node:perf_hooks';
import { binding } from './binding';
import { ClosedError, fromNative, invalid, NotFoundError, ValidationError, type NativeErrorContext } from './errors';
import { chooseBackend, systemIptablesBackend } from './backend-detect';
import type { NativeBackendUsage, NativeChain, NativeIptablesNftTable, NativeLegacyTable, NativeNftablesTable, NativeOp, NativeOpResults, NativeRule, NativeTable } from './native-types';
import { OpWriter, packRule, type OpMarks } from './op-pack';
import { prepareOps, type SliceDone } from './op-slices';
import { readCommonValues } from './rule/parse';
import { toNativeRule } from './rule/index';
import { snapshot } from './rule/snapshot';
import { renderRule } from './rule/render';
import { addRuleExtensions, toRuleSpec } from './rule/to-spec';
import type { Family, ListedChain, ListedRule, RuleInput } from './rule/types';
import { describe, validateChainName, validatePosition, validateRuleForChain } from './rule/validate';
import { checkNftablesRule, refuseInNftables } from './rule/nftables-form';
import { BUILTIN_CHAINS, TableShape, type Backend, type TableName } from './table-shape';
import { drained, joinGroup, serialize } from './serial-queue';
import { commitGroup } from './group-commit';
import { groupOwner, type GroupSettings } from './group-owner';
import { MAX_PATH_BYTES, resolveNetns } from './netns';
import { quote } from './echo';
import { jsonSafe } from './listed-json';
import { checkLockFile } from './lock-file';
import { checkDesired, ownerOnly, type CheckedDesired, type DesiredState, RuleMemo } from './apply/desired';
import { planApply, planRemove, sameRuleOf, type ApplyPlan, type Planned } from './apply/plan';
import { checkKeepOptions, Keeper, type KeepOptions } from './apply/keep';
import { afterOps, withOwned } from './apply/after-ops';
import { hasSetRefs, listsSetRefs, nameListedSets, withNamedSets, withSetIndexes } from './rule/set-refs';
import { Sets } from './sets/sets';
import { lineText, parseSaveText, type SaveSection } from './restore/save-text';
import { atLine, packRestoreBatch, packRuleLines, restoreBatch, type RuleLineOp } from './restore/rule-lines';
import { planRestore } from './restore/plan';
import { checkRestoreOptions, type RestoreOptions, type RestoreResult } from './restore/options';

export type { Backend, TableName } from './table-shape';
export type { RestoreOptions, RestoreResult } from './restore/options';
export type Policy = 'ACCEPT' | 'DROP';

export interface ApplyOptions {
  /** Work out and return the plan without committing anything. Default false. */
  dryRun?: boolean;
}

function checkApplyOptions(o: unknown): { dryRun: boolean } {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) invalid('options', 'must be an object');
  for (const k of Object.keys(o)) if (k !== 'dryRun') invalid(k, 'unknown option (known: dryRun)');
  const dryRun = (o as ApplyOptions).dryRun ?? false;
  if (typeof dryRun !== 'boolean') invalid('dryRun', `expected true or false, got ${describe(dryRun)}`);
  return { dryRun };
}

export interface FirewallOptions {
  /** Default 'ipv4'. */
  family?: Family;
  /**
   * Default 'auto': what the system's iptables uses for this table (order in docs/nft.md),
   * failing with ERR_CONNLIMIT_BACKEND_CONFLICT when both backends hold rules;
   * {@link Firewall.backend} says which it picked. 'legacy': x_tables through libiptc
   * (iptables-legacy). 'nft': nf_tables over netlink exactly as iptables-nft 1.8.9 writes it, so
   * `iptables-nft(-save)` sees our rules as its own.
   * 'nftables' (never picked by 'auto') writes connlimit the way `iptables-translate` renders it
   * (a dynamic set per rule, `ct count over N`) in nf_tables tables of our own (`connlimit`,
   * family ip/ip6), for hosts without xtables compat: table 'filter' only, DROP and REJECT
   * rules only (docs/nft.md, "The native nftables form").
   */
  backend?: Backend | 'auto';
  /** Default 'filter'. */
  table?: TableName;
  /** A network namespace: a name under /run/netns (as `ip netns add` makes) or a path such as /proc/PID/ns/net. */
  netns?: string;
  /** How long a write waits for the xtables lock before failing with ERR_CONNLIMIT_BUSY. Default 5000. */
  lockTimeoutMs?: number;
  /** The xtables lock file. Default $XTABLES_LOCKFILE or /run/xtables.lock, as iptables uses. */
  lockPath?: string;
}

/** The normalized form a listing produced, so a listed rule passed back is compared exactly as read. */
const listedNative = new WeakMap<ListedRule, NativeRule>();
/** Rule strings of one-op calls memoized per handle (Firewall.loneRules): as many as the full parser keeps. */
const LONE_RULES = 512;

function isListedRule(x: RuleInput): x is ListedRule {
  return typeof x === 'object' && x !== null && listedNative.has(x as ListedRule);
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as { then?: unknown }).then === 'function';
}


/** A desired state as text, to know it again; null when it can't be written as JSON. */
function stateKey(desired: unknown): string | null {
  try {
    return JSON.stringify(desired);
  } catch {
    return null;
  }
}

/** The function of transaction()/validate(): called with the Transaction that collects the changes. */
function checkBuild(build: unknown): void {
  if (typeof build !== 'function') invalid('build', `expected a function (tx) => { ... } that collects the changes, got ${describe(build)}`);
}

type CheckedOptions = Required<Omit<FirewallOptions, 'netns' | 'backend'>> & { backend: Backend | 'auto'; netnsPath: string | null };

function checkOptions(o: FirewallOptions): CheckedOptions {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) invalid('options', 'must be an object');
  o = snapshot(o, 'options');
  const known = new Set(['family', 'backend', 'table', 'netns', 'lockTimeoutMs', 'lockPath']);
  for (const k of Object.keys(o)) if (!known.has(k)) invalid(k, `unknown option (known: ${[...known].join(', ')})`);
  const family = o.family ?? 'ipv4';
  if (family !== 'ipv4' && family !== 'ipv6') invalid('family', "must be 'ipv4' or 'ipv6'");
  const backend = o.backend ?? 'auto';
  if (backend !== 'legacy' && backend !== 'nft' && backend !== 'nftables' && backend !== 'auto') {
    invalid('backend', `${quote(String(backend))} is not a backend; use 'legacy' (x_tables through libiptc), 'nft' (nf_tables as iptables-nft), 'nftables' (the native nftables form) or 'auto'`);
  }
  const table = o.table ?? 'filter';
  if (!Object.hasOwn(BUILTIN_CHAINS, table)) invalid('table', `must be one of ${Object.keys(BUILTIN_CHAINS).join(', ')}`);
  if (backend === 'nftables' && table !== 'filter') {
    invalid('table', `the native nftables form (backend 'nftables') filters in a table of its own and takes table 'filter' only, not ${quote(table)}`);
  }
  const lockTimeoutMs = o.lockTimeoutMs ?? 5000;
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0 || lockTimeoutMs > 600_000) {
    invalid('lockTimeoutMs', 'must be an integer number of milliseconds from 0 to 600000');
  }
  const lockPath = o.lockPath ?? (process.env.XTABLES_LOCKFILE || '/run/xtables.lock');
  if (typeof lockPath !== 'string' || lockPath.length === 0 || lockPath.includes('\0')) invalid('lockPath', 'must be a file path');
  if (Buffer.byteLength(lockPath, 'utf8') > MAX_PATH_BYTES) invalid('lockPath', `a path of ${Buffer.byteLength(lockPath, 'utf8')} bytes: longer than PATH_MAX`);
  return { family, backend, table, lockTimeoutMs, lockPath, netnsPath: resolveNetns(o.netns) };
}

/** One change as a transaction collects it: the op with its rule as the caller gave it. */
type Step = NativeOp extends infer O ? (O extends { rule: NativeRule } ? Omit<O, 'rule'> & { rule: RuleInput } : O) : never;

/**
 * Collects changes for one atomic commit; see {@link Firewall.transaction}. Each method checks
 * its chain name and position at once (ERR_CONNLIMIT_INVALID); rules are parsed and validated
 * after the transaction function returns, in slices between which the event loop runs, and a
 * bad rule rejects the transaction before anything reaches the kernel. A rule given as an
 * object is read then too: don't change it until the transaction settles.
 */
export class Transaction {
  // Two cells a step: an append's chain and rule, or another step's object and undefined. A
  // 10k-rule transaction then holds one array until its commit, not 10k objects that every
  // young-generation collection meanwhile would copy.
  private readonly cells: unknown[] = [];
  /** @internal Extensions the rules use, for error hints; filled as the steps are prepared. */
  readonly extensions = new Set<string>();
  /** The last append of a rule string of the common shape written whole, to copy for the next ones of its shape. */
  private written: { shape: number; chain: string; out: OpWriter; marks: OpMarks } | null = null;

  /** @internal */
  constructor(private readonly shape: TableShape) {}

  /** Append a rule to the end of a chain (`iptables -A`). */
  append(chain: string, rule: RuleInput): this {
    this.cells.push(this.shape.chain(chain), rule);
    return this;
  }

  /** Insert at a 1-based position, required (`iptables -I CHAIN N`; 1 puts it first). */
  insert(chain: string, position: number, rule: RuleInput): this {
    const index = validatePosition(position, 'position') - 1;
    this.push({ op: 'insert', chain: this.shape.chain(chain), index, rule });
    return this;
  }

  /** Replace the rule at a 1-based position (`iptables -R`). */
  replace(chain: string, position: number, rule: RuleInput): this {
    const index = validatePosition(position, 'position') - 1;
    this.push({ op: 'replace', chain: this.shape.chain(chain), index, rule });
    return this;
  }

  /** Delete the first rule equal in meaning to `rule`, or the rule at a 1-based position (`iptables -D`). */
  delete(chain: string, rule: RuleInput | number): this {
    const c = this.shape.chain(chain);
    if (typeof rule === 'number') this.push({ op: 'deleteAt', chain: c, index: validatePosition(rule, 'position') - 1 });
    else this.push({ op: 'delete', chain: c, rule });
    return this;
  }

  /** Append unless a rule equal in meaning is already in the chain. */
  ensure(chain: string, rule: RuleInput): this {
    this.push({ op: 'ensure', chain: this.shape.chain(chain), rule });
    return this;
  }

  /**
   * Delete every rule of a chain (`iptables -F CHAIN`), or, called with no argument at all, of
   * every chain (`iptables -F`). An explicit undefined or null is refused, not taken as "all".
   */
  flush(): this;
  flush(chain: string): this;
  flush(...args: [] | [chain: string]): this {
    this.push({ op: 'flush', chain: this.shape.chainOrAll(args, 'flush') });
    return this;
  }

  /**
   * Zero the packet and byte counters of a chain (`iptables -Z CHAIN`), or, called with no
   * argument at all, of every chain. An explicit undefined or null is refused.
   */
  zero(): this;
  zero(chain: string): this;
  zero(...args: [] | [chain: string]): this {
    if (this.shape.backend === 'nftables') refuseInNftables('zeroing counters');
    this.push({ op: 'zero', chain: this.shape.chainOrAll(args, 'zero') });
    return this;
  }

  /** Create a user chain (`iptables -N`). */
  createChain(chain: string): this {
    this.push({ op: 'createChain', chain: this.shape.userChain(chain) });
    return this;
  }

  /** Delete an empty, unreferenced user chain (`iptables -X CHAIN`). */
  deleteChain(chain: string): this {
    this.push({ op: 'deleteChain', chain: this.shape.userChain(chain) });
    return this;
  }

  /** Rename a user chain (`iptables -E`). */
  renameChain(chain: string, to: string): this {
    this.push({ op: 'renameChain', chain: this.shape.userChain(chain), to: this.shape.userChain(to, 'to') });
    return this;
  }

  /** Set a built-in chain's policy (`iptables -P`). */
  setPolicy(chain: string, policy: Policy): this {
    if (this.shape.backend === 'nftables') refuseInNftables('a chain policy');
    if (!this.shape.builtinChains.includes(chain)) invalid('chain', `policies belong to built-in chains (${this.shape.builtinChains.join(', ')})`);
    if (policy !== 'ACCEPT' && policy !== 'DROP') invalid('policy', "must be 'ACCEPT' or 'DROP'");
    this.push({ op: 'setPolicy', chain, policy });
    return this;
  }

  /**
   * @internal Step `i` in native form: its rule parsed, validated for its chain and table, or,
   * for a rule string `memo` holds for its chain, that rule (checked already, never mutated).
   * @throws {ERR_CONNLIMIT_INVALID} naming the step when the transaction has several
   */
  nativeOp(i: number, memo?: RuleMemo): NativeOp {
    const first = this.cells[2 * i];
    try {
      if (typeof first === 'string') return this.appendOp(first, this.cells[2 * i + 1] as RuleInput, memo);
      const step = first as Step;
      return 'rule' in step ? ({ ...step, rule: this.rule(step.chain, step.rule, memo) } as NativeOp) : step;
    } catch (e) {
      if (e instanceof ValidationError && this.size > 1) e.message += ` [${this.describeStep(i)}]`;
      throw e;
    }
  }

  /**
   * @internal Step `i` for a batch: written into `out` and null, or the op for the caller to
   * add (its sets' indexes looked up first). See {@link Transaction.writeAppend}.
   */
  writeOp(i: number, out: OpWriter): NativeOp | null {
    const first = this.cells[2 * i];
    const rule = this.cells[2 * i + 1];
    if (typeof first !== 'string' || typeof rule !== 'string') return this.nativeOp(i);
    return this.writeAppend(first, rule, out, () => this.nativeOp(i));
  }

  /**
   * @internal The append of `rule` to `chain` (checked already, as appendOp's) written into
   * `out`, or the op `build()` gives for the caller to add. A rule string of the shape of the
   * one written before it, into the same chain, is written as a copy of that one's bytes with
   * its own values (OpWriter.addPatched): parsing it would give that shape's rule with these
   * values, and the checks rule() makes look at nothing a value changes, so they would answer
   * as they did for that one. No rule is built for it, checked or packed: the main thread's part
   * of a 10k-rule transaction of one shape went from ~8.3 to ~5.5 ms (docs/threads.md). The
   * native form's checks are not of that kind, so its rules are always built.
   */
  writeAppend(chain: string, rule: string, out: OpWriter, build: () => NativeOp): NativeOp | null {
    if (this.shape.backend === 'nftables') return build();
    const values = readCommonValues(rule, this.shape.family);
    if (values === null) return build();
    const w = this.written;
    if (w !== null && w.shape === values.shape && w.chain === chain && w.out === out && OpWriter.fits(w.marks, values)) {
      out.addPatched(w.marks, values);
      return null;
    }
    // Parsed by filling in that same shape (readCommonValues says so), so its bytes are that
    // shape's with these values: the copy for the rules after it.
    const op = build();
    this.written = { shape: values.shape, chain, out, marks: out.addMarked(op) };
    return null;
  }

  /** @internal How many steps were collected. */
  get size(): number {
    return this.cells.length / 2;
  }

  /** @internal Step `i` for a message: `transaction step 3 of 10: append INPUT`. */
  describeStep(i: number): string {
    const first = this.cells[2 * i];
    const step = typeof first === 'string' ? { op: 'append', chain: first } : (first as Step | undefined);
    return `transaction step ${i + 1} of ${this.size}: ${step?.op} ${step?.chain ?? ''}`;
  }

  private push(step: Step): void {
    this.cells.push(step, undefined);
  }

  /**
   * @internal The append of `rule` to `chain` (a name checked already), checked as a step's
   * rule is, without keeping a step: restore() parses each line as it packs it.
   */
  appendOp(chain: string, rule: RuleInput, memo?: RuleMemo): NativeOp {
    return { op: 'append', chain, rule: this.rule(chain, rule, memo) };
  }

  private rule(chain: string, input: RuleInput, memo?: RuleMemo): NativeRule {
    const memoized = typeof input === 'string' ? memo?.get(chain, input) : undefined;
    const native = memoized ?? this.checkedRule(chain, input);
    if (memoized === undefined && typeof input === 'string') memo?.set(chain, input, native);
    addRuleExtensions(native, this.extensions);
    return native;
  }

  private checkedRule(chain: string, input: RuleInput): NativeRule {
    const native = isListedRule(input) ? (listedNative.get(input) as NativeRule) : toNativeRule(input as Exclude<RuleInput, ListedRule>, this.shape.family);
    validateRuleForChain(native, chain);
    if (this.shape.backend === 'nftables') checkNftablesRule(native, chain, this.shape.family);
    this.shape.targetFits(native);
    return native;
  }
}

/**
 * The rules of one table. Open with {@link Firewall.open}; close with {@link Firewall.close}.
 *
 * **Legacy caveat:** every commit to a legacy table makes the kernel rebuild every connlimit
 * match in it, so all connlimit counts in the table restart from zero, whoever commits (us,
 * iptables, Docker, fail2ban). Batch changes with {@link Firewall.transaction}; `ensure()` that
 * finds its rule does not commit.
 *
 * With `netns`, the handle is bound to the namespace it opened: once the name names another
 * namespace or none, every call rejects with ERR_CONNLIMIT_NETNS_GONE ({@link Firewall.netnsChanged}).
 *
 * @example
 * const fw = await Firewall.open({ family: 'ipv4', backend: 'legacy' });
 * await fw.append('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT');
 * await fw.close();
 */
export class Firewall {
  readonly family: Family;
  /** The backend in use: the one asked for, or what 'auto' picked. */
  readonly backend: Backend;
  readonly table: TableName;
  /** The namespace file path, or null for the caller's own namespace. */
  readonly netns: string | null;
  private readonly shape: TableShape;
  private readonly native: NativeTable;
  // The table's queue in this environment: backend, namespace identity, family, table. Known once
  // open() has opened the namespace (src/serial-queue.ts).
  private queueKey = '';
  private readonly groupSettings: GroupSettings;
  // The namespace's ipset, for the set indexes of `-m set` rules: opened by the first rule
  // that refers to a set (src/rule/set-refs.ts), closed with the firewall.
  private sets: Promise<Sets> | null = null;
  private readonly keepers = new Set<Keeper>();
  // The last desired state apply() found the table holding, and the table's version then: the
  // same state against the same version is answered without reading or planning.
  private verified: { key: string; version: string; plan: ApplyPlan } | null = null;
  // The table as apply() last knew it, at a version: on 'nft' as its last commit left it, at the
  // generation id that commit produced (the kernel's echo); on any backend as a plan with
  // nothing to change found it. The next apply() at that version plans from it without a dump.
  private known: { version: string; chains: NativeChain[] } | null = null;
  private readonly ruleMemo: RuleMemo = new RuleMemo();
  // The rule strings of the last one-op calls (append, insert, replace, delete, ensure, check),
  // parsed and checked for their chain: a service updating the same rules again and again
  // parses each once. Small: a caller writing ever new texts fills it, and it starts over.
  private readonly loneRules: RuleMemo = new RuleMemo(LONE_RULES);
  private closed = false;

  private constructor(o: CheckedOptions & { backend: Backend }, nft?: NativeIptablesNftTable) {
    this.family = o.family;
    this.backend = o.backend;
    this.table = o.table;
    this.netns = o.netnsPath;
    this.shape = new TableShape(o.family, o.backend, o.table);
    this.groupSettings = { backend: o.backend, lockPath: o.lockPath, lockTimeoutMs: o.lockTimeoutMs };
    this.native =
      o.backend === 'nft'
        ? (nft ?? new (binding().IptablesNftTable)({ family: o.family, table: o.table, netnsPath: o.netnsPath, lockTimeoutMs: o.lockTimeoutMs }))
        : o.backend === 'nftables'
          ? new (binding().NftablesTable)({ family: o.family, netnsPath: o.netnsPath, lockTimeoutMs: o.lockTimeoutMs })
          : new (binding().LegacyTable)({
            family: o.family,
            table: o.table,
            netnsPath: o.netnsPath,
            lockPath: o.lockPath,
            lockTimeoutMs: o.lockTimeoutMs,
          });
  }

  /**
   * Open a table. Checks, off the main thread, that the namespace exists and the table can be read.
   * @throws {ERR_CONNLIMIT_INVALID} bad options, a netns path that is not a network namespace,
   *   a lockPath that is not a regular file
   * @throws {ERR_CONNLIMIT_PERMISSION} no CAP_NET_ADMIN in the namespace
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such namespace
   * @throws {ERR_CONNLIMIT_UNSUPPORTED} the kernel lacks the table
   * @example const fw = await Firewall.open({ family: 'ipv6', netns: 'edge' });
   */
  static async open(options: FirewallOptions = {}): Promise<Firewall> {
    const o = checkOptions(options);
    await checkLockFile(o.lockPath);
    if (o.backend === 'auto') return Firewall.openAuto(o);
    return Firewall.start({ ...o, backend: o.backend });
  }

  private static async start(o: CheckedOptions & { backend: Backend }): Promise<Firewall> {
    const fw = new Firewall(o);
    try {
      await fw.native.open();
    } catch (e) {
      fw.native.close();
      throw fromNative(e, fw.context());
    }
    return fw.opened();
  }

  /** Keys the handle's queue by the namespace its native table opened (by nsfs inode, not by path). */
  private opened(): this {
    this.queueKey = `${this.backend}|${this.native.netnsId() || '-'}|${this.family}|${this.table}`;
    return this;
  }

  /** 'auto': probe both backends through an opened nf_tables handle, then keep it or switch to legacy. */
  private static async openAuto(o: CheckedOptions): Promise<Firewall> {
    const nft = new (binding().IptablesNftTable)({ family: o.family, table: o.table, netnsPath: o.netnsPath, lockTimeoutMs: o.lockTimeoutMs });
    const ctx = { table: o.table, family: o.family, netns: o.netnsPath, extensions: [] };
    let usage: NativeBackendUsage;
    try {
      await nft.open();
      usage = await nft.usage();
    } catch (e) {
      nft.close();
      throw fromNative(e, ctx);
    }
    let picked: Backend;
    try {
      picked = chooseBackend(usage, systemIptablesBackend(), `table ${o.table} (${o.family}) in ${o.netnsPath ?? 'this namespace'}`);
    } catch (e) {
      nft.close();
      throw e;
    }
    if (picked === 'nft') return new Firewall({ ...o, backend: 'nft' }, nft).opened();
    nft.close();
    return Firewall.start({ ...o, backend: 'legacy' });
  }

  /**
   * Append a rule (`iptables -A`).
   * @param rule iptables syntax, a typed {@link RuleSpec}, or a rule from {@link Firewall.list}
   * @throws {ERR_CONNLIMIT_INVALID} the rule or chain name is malformed (nothing was changed)
   * @throws {ERR_CONNLIMIT_NOT_FOUND} the chain, or the chain it jumps to, does not exist
   * @throws {ERR_CONNLIMIT_UNSUPPORTED} the kernel lacks a match or target (e.g. `modprobe xt_connlimit`)
   * @throws {ERR_CONNLIMIT_BUSY} the xtables lock stayed taken past lockTimeoutMs
   * @example await fw.append('INPUT', { protocol: 'tcp', syn: true, dport: 22, connlimit: { kind: 'above', count: 2 }, target: { kind: 'reject' } });
   */
  append(chain: string, rule: RuleInput): Promise<void> {
    return this.one((tx) => tx.append(chain, rule));
  }

  /** Insert at a 1-based position (`iptables -I CHAIN N`). Same errors as {@link Firewall.append}, and ERR_CONNLIMIT_NOT_FOUND past the chain's end. */
  insert(chain: string, position: number, rule: RuleInput): Promise<void> {
    return this.one((tx) => tx.insert(chain, position, rule));
  }

  /** Replace the rule at a 1-based position (`iptables -R`). */
  replace(chain: string, position: number, rule: RuleInput): Promise<void> {
    return this.one((tx) => tx.replace(chain, position, rule));
  }

  /**
   * Delete one rule (`iptables -D`): the first rule equal in meaning to `rule`, or the rule at a
   * 1-based position. Equal in meaning: an IPv4 connlimit without --connlimit-mask equals one
   * with `--connlimit-mask 32`, and match order does not matter (the CLI compares bytes).
   * @returns the 1-based position the rule had
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such rule, position or chain
   */
  async delete(chain: string, rule: RuleInput | number): Promise<number> {
    const r = await this.run((tx) => tx.delete(chain, rule));
    return (r?.[1] ?? 0) + 1;
  }

  /**
   * Append the rule unless a rule equal in meaning is already in the chain: idempotent start-up.
   * Finding it commits nothing (so no connlimit count is reset).
   * @returns true when the rule was appended, false when it was already there
   */
  async ensure(chain: string, rule: RuleInput): Promise<boolean> {
    const r = await this.run((tx) => tx.ensure(chain, rule));
    return r?.[0] === 1;
  }

  /**
   * Whether a rule equal in meaning is in the chain (`iptables -C`).
   * @throws {ERR_CONNLIMIT_NOT_FOUND} the chain does not exist
   */
  async check(chain: string, rule: RuleInput): Promise<boolean> {
    const tx = new Transaction(this.shape);
    tx.ensure(chain, rule);
    const op = tx.nativeOp(0, this.loneRules) as Extract<NativeOp, { op: 'ensure' }>;
    // Set indexes are looked up in the call's turn, so the call keeps its place in the queue.
    const index = await this.queued(async () => this.native.check(op.chain, packRule(this.family, await this.withSetIndexes(op.rule))), tx.extensions);
    return index >= 0;
  }

  /**
   * Delete every rule of a chain, or, called with no argument at all, of every chain. On backend
   * 'nftables' a table this leaves without rules is deleted in the same batch, and with no chain
   * none of ours is left (only one holding a chain someone else added); see {@link Firewall.destroy}.
   * @throws {ERR_CONNLIMIT_INVALID} an explicit undefined or null (a missing configuration
   *   value must not empty the table): call `flush()` for every chain
   */
  flush(): Promise<void>;
  flush(chain: string): Promise<void>;
  flush(...args: [] | [chain: string]): Promise<void> {
    return this.one((tx) => tx.flush(...(args as [string])));
  }

  /**
   * Zero packet and byte counters of a chain, or, called with no argument at all, of every chain.
   * @throws {ERR_CONNLIMIT_INVALID} an explicit undefined or null: call `zero()` for every chain
   */
  zero(): Promise<void>;
  zero(chain: string): Promise<void>;
  zero(...args: [] | [chain: string]): Promise<void> {
    return this.one((tx) => tx.zero(...(args as [string])));
  }

  /** Create a user chain. @throws {ERR_CONNLIMIT_EXISTS} it exists */
  createChain(chain: string): Promise<void> {
    return this.one((tx) => tx.createChain(chain));
  }

  /** Delete a user chain. @throws {ERR_CONNLIMIT_IN_USE} it has rules or is jumped to */
  deleteChain(chain: string): Promise<void> {
    return this.one((tx) => tx.deleteChain(chain));
  }

  /** Rename a user chain. */
  renameChain(chain: string, to: string): Promise<void> {
    return this.one((tx) => tx.renameChain(chain, to));
  }

  /** Set a built-in chain's policy. */
  setPolicy(chain: string, policy: Policy): Promise<void> {
    return this.one((tx) => tx.setPolicy(chain, policy));
  }

  /**
   * Apply many changes in one commit, atomically: all or none. The function collects changes
   * (it may be async, but the changes are applied only after it returns); if it throws, a rule
   * is invalid, or any change fails in the kernel, nothing is applied. Rules are parsed and
   * validated after the function returns, in slices of about half a millisecond with the event loop
   * running between them, so a 10,000-rule transaction does not stall other work; rule objects
   * are read then, so leave them unchanged until the returned promise settles. What the
   * function returns is awaited when it is a promise and otherwise ignored, so
   * `(tx) => tx.append(...)` type-checks as well as a block body.
   * @example
   * await fw.transaction((tx) => {
   *   tx.createChain('LIMITS');
   *   tx.append('LIMITS', '-p tcp --dport 443 -m connlimit --connlimit-above 64 --connlimit-mask 24 -j DROP');
   *   tx.insert('INPUT', 1, '-j LIMITS');
   * });
   */
  async transaction(build: (tx: Transaction) => unknown): Promise<void> {
    checkBuild(build);
    await this.run(build);
  }

  /**
   * Make the table hold a desired state: the chains the caller owns with their rules in order,
   * and the jumps into them from built-in chains (docs/apply.md). Reads the table, works out the
   * smallest change (rules already there and in place are left alone) and, unless `dryRun`,
   * commits it in one transaction. Nothing else is touched: other programs' rules, in the same
   * built-in chains too, stay byte for byte. When nothing differs nothing is committed, so on
   * legacy no connlimit count is reset; on 'nft' only the changed rules are sent.
   * A jump already in its chain is not moved; a jump into an owned chain that the state does
   * not list (or a second copy) is deleted. On the native form ('nftables') the tables are the
   * library's own: a state owns base chains (INPUT, FORWARD, OUTPUT) and has no jumps.
   * @returns the plan; `committed` says whether it was committed
   * @throws {ERR_CONNLIMIT_INVALID} a malformed state, naming the place (`chains.LIMITS[3]: ...`),
   *   before anything is read
   * @example
   * const plan = await fw.apply({
   *   chains: { LIMITS: ['-p tcp --syn --dport 22 -m connlimit --connlimit-above 4 -j REJECT'] },
   *   jumps: [{ from: 'INPUT', to: 'LIMITS', position: 'first' }],
   * }, { dryRun: true });
   * console.log(formatPlan(plan));
   */
  async apply(desired: DesiredState, options: ApplyOptions = {}): Promise<ApplyPlan> {
    const { dryRun } = checkApplyOptions(options);
    const frozen = snapshot(desired, 'desired');
    const key = stateKey(frozen);
    if (key !== null && this.verified?.key === key) {
      const known = this.verified;
      const same = await this.queued(async () => (await this.native.version()) === known.version);
      if (same) return { ...known.plan, chains: structuredClone(known.plan.chains) };
    }
    const checked = checkDesired(frozen, this.shape, this.ruleMemo);
    return this.planned(checked, (chains) => planApply(this.planContext(), chains, checked), dryRun, undefined, key);
  }

  /**
   * Remove what a desired state owns, in one transaction: every jump into its chains from the
   * built-in chains, then the chains. Given an owner's name instead (or a state with `owner`),
   * its chains are found by their names (`OWNER-...`), without the state. Chains already gone
   * are skipped; nothing there commits nothing. On the native form ('nftables') every table the
   * library created in this family goes, as {@link Firewall.destroy} deletes them.
   * @param desired the state, or the owner's name
   * @returns the plan of what was removed
   * @throws {ERR_CONNLIMIT_INVALID} as {@link Firewall.apply}; an owner's name that is none
   * @throws {ERR_CONNLIMIT_IN_USE} a chain the state does not own jumps into one it does (nothing is removed)
   * @example await fw.removeOwned('web'); // the chains web-..., and every jump into them
   */
  async removeOwned(desired: DesiredState | string, options: ApplyOptions = {}): Promise<ApplyPlan> {
    const { dryRun } = checkApplyOptions(options);
    const checked = typeof desired === 'string' ? ownerOnly(desired) : checkDesired(snapshot(desired, 'desired'), this.shape);
    // The native form's tables are the library's own: removing is deleting them, atomically.
    const destroy = this.backend === 'nftables' ? () => (this.native as NativeNftablesTable).destroy() : undefined;
    return this.planned(checked, (chains) => planRemove(this.planContext(), chains, checked), dryRun, destroy);
  }

  /**
   * Apply a desired state, then keep it: whenever the owned state drifts (someone flushed
   * INPUT, deleted the jump, edited or deleted an owned rule or chain) it is applied again
   * (docs/apply.md, "Keeping it"). On nf_tables the kernel's ruleset notifications say when the
   * table changed (no polling; the handle's own commits are skipped; a burst is one check after
   * `debounceMs`); on legacy the table is read every `intervalMs`. A check that finds nothing
   * to change commits nothing. Resolves once the state is applied and watched.
   * @returns the keeper: events 'drift' (before a repair), 'applied' (the repair's plan),
   *   'error'; `initial` is the first apply's plan. Stops on its close() and on this handle's.
   * @throws {ERR_CONNLIMIT_INVALID} as {@link Firewall.apply}, or bad options, before anything is touched
   * @example
   * const keeper = await fw.keep(desired, { onDrift: (d) => console.log(formatPlan(d.plan)) });
   * keeper.on('applied', (plan) => console.log(`repaired: ${plan.changes} changes`));
   * await keeper.close();
   */
  async keep(desired: DesiredState, options: KeepOptions = {}): Promise<Keeper> {
    if (this.closed) throw new ClosedError(`firewall handle for table ${this.table}`);
    const o = checkKeepOptions(options);
    const frozen = snapshot(desired, 'desired');
    checkDesired(frozen, this.shape);
    const native = this.native as Partial<NativeIptablesNftTable | NativeNftablesTable>;
    const keeper: Keeper = new Keeper(
      {
        backend: this.backend,
        family: this.family,
        table: this.table,
        netns: this.netns,
        // Checked again on every apply: the set indexes of `-m set` rules are written into it.
        apply: (dryRun) => this.apply(frozen, { dryRun }),
        port: () => (native.port ? native.port() : null),
        release: (k) => this.keepers.delete(k),
      },
      o,
    );
    this.keepers.add(keeper);
    await keeper.start();
    return keeper;
  }

  private planContext(): { backend: Backend; table: TableName; family: Family } {
    return { backend: this.backend, table: this.table, family: this.family };
  }

  /** Lists, plans and commits in one turn of the table's queue, so no call of ours lands between the read and the commit. */
  private async planned(checked: CheckedDesired, plan: (chains: NativeChain[]) => Planned, dryRun: boolean, commit?: () => Promise<unknown>, key: string | null = null): Promise<ApplyPlan> {
    // For an error's hints only: worked out when one comes.
    const extensions = (): Set<string> => {
      const names = new Set<string>();
      for (const rules of checked.chains.values()) for (const r of rules) addRuleExtensions(r, names);
      return names;
    };
    return this.queued(async () => {
      const namesSets = await this.desiredSetIndexes(checked);
      // Read before the listing: a commit in between makes the next look read again.
      // Not for rules naming sets: a set's index may move while the table does not.
      const cacheable = key !== null && !namesSets;
      const version = cacheable ? await this.native.version() : null;
      const known = this.known;
      this.known = null;
      let present: NativeChain[];
      if (known !== null && known.version === version) present = known.chains;
      else {
        present = await this.native.list();
        await this.nameSets(present);
      }
      const { plan: p, ops } = plan(present);
      if (ops.length === 0 && version !== null) {
        this.verified = { key: key as string, version, plan: p };
        this.known = { version, chains: withOwned(present, checked.chains) };
      }
      if (dryRun || ops.length === 0) return p;
      if (commit) await commit();
      else await this.native.commit(await prepareOps(this.family, ops.length, (i) => ops[i] as NativeOp));
      const committed = cacheable ? (this.native as Partial<NativeIptablesNftTable>).committedGeneration?.() : undefined;
      if (committed) {
        const after = afterOps(present, ops, sameRuleOf(this.family, this.backend));
        if (after) this.known = { version: String(committed), chains: withOwned(after, checked.chains) };
      }
      return { ...p, committed: true };
    }, extensions);
  }

  /**
   * Check options and changes exactly as {@link Firewall.open} and {@link Firewall.transaction}
   * check them, without opening anything: no namespace entered, no table read or created
   * (opening a legacy table loads it into the namespace). For configuration checks at start-up,
   * and tools that must refuse bad input before they open anything. What only the kernel knows
   * (whether a chain exists, a position is in range, the namespace is there) is not checked.
   * @param build collects changes as for {@link Firewall.transaction}; optional (options only)
   * @throws {ERR_CONNLIMIT_INVALID} bad options, a bad change (naming the step), a bad rule
   * @example await Firewall.validate({ backend: 'legacy' }, (tx) => tx.append('INPUT', '-p tcp --syn --dport 22 -j DROP'));
   */
  static async validate(options: FirewallOptions = {}, build?: (tx: Transaction) => unknown): Promise<void> {
    const o = checkOptions(options);
    if (build === undefined) return;
    checkBuild(build);
    const tx = new Transaction(new TableShape(o.family, o.backend, o.table));
    const built = build(tx);
    if (isThenable(built)) await built;
    for (let i = 0; i < tx.size; i++) tx.nativeOp(i);
  }

  /**
   * Check a desired state exactly as {@link Firewall.apply} checks it, without opening anything:
   * for tools that must refuse a bad file before they touch a namespace.
   * @throws {ERR_CONNLIMIT_INVALID} bad options, or a bad state naming the place (`chains.LIMITS[3]: ...`)
   */
  static validateDesired(options: FirewallOptions, desired: DesiredState): void {
    const o = checkOptions(options);
    checkDesired(snapshot(desired, 'desired'), new TableShape(o.family, o.backend, o.table));
  }

  /**
   * The rules of one chain, or of every chain in table order, decoded into typed rules,
   * including rules other programs wrote (unmodelled matches and targets come back opaque).
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such chain
   */
  async list(chain?: string): Promise<ListedRule[]> {
    if (chain !== undefined) validateChainName(chain, 'chain'); // list(undefined) lists all: reading is harmless
    const chains = await this.chains();
    if (chain === undefined) return chains.flatMap((c) => c.rules);
    const found = chains.find((c) => c.name === chain);
    if (!found) throw new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no chain ${quote(chain)} in table ${this.table}`);
    return found.rules;
  }

  /** Every chain of the table with its policy, counters and rules. */
  async chains(): Promise<ListedChain[]> {
    const raw = await this.queued(() => this.native.list());
    await this.nameSets(raw);
    return raw.map((c) => this.toListedChain(c));
  }

  /** The table as `iptables-save` prints it (without its two timestamp comment lines). */
  async save(): Promise<string> {
    const chains = await this.chains();
    const lines = [`*${this.table}`];
    for (const c of chains) lines.push(`:${c.name} ${c.policy ?? '-'} [${c.packets}:${c.bytes}]`);
    for (const c of chains) for (const r of c.rules) lines.push(r.text);
    lines.push('COMMIT', '');
    return lines.join('\n');
  }

  /**
   * Restore the table from iptables-save text (the format of /etc/iptables/rules.v4, and of
   * {@link Firewall.save}) as `iptables-restore` does, in one commit (legacy: one table
   * replace; nft: one batch): without `noflush` the table ends holding exactly the input's
   * chains, policies and rules; with it, rules are appended and only the user chains the input
   * declares are flushed (docs/restore.md). Rules go through the rule language: a line it does
   * not take, like any malformed line, rejects the call naming the line and its text, before
   * anything is written. Only this handle's table is restored; other tables in the
   * input are checked for structure and skipped (`otherTables`), as `iptables-restore -T` does.
   * Counters (`[packets:bytes]`) are read and ignored: the table's counters are not set.
   * @throws {ERR_CONNLIMIT_INVALID} path `line N`: a malformed line or a rule outside the
   *   language; path `text`: no section for this table; backend 'nftables'
   * @throws {ERR_CONNLIMIT_NOT_FOUND} a rule jumps to a chain that neither the input nor the
   *   table has (the message names the line; nothing was applied)
   * @example await fw.restore(readFileSync('/etc/iptables/rules.v4', 'utf8'));
   */
  async restore(text: string, options: RestoreOptions = {}): Promise<RestoreResult> {
    if (this.closed) throw new ClosedError(`firewall handle for table ${this.table}`);
    const { noflush } = checkRestoreOptions(options);
    const sections = parseSaveText(text);
    const section = Firewall.restoreSection(sections, this.table);
    const tx = Firewall.restoreChecks(section, this.shape);
    const { rules } = section;
    const toOp: RuleLineOp = (i, out) => {
      const chain = rules.chain(i);
      const rule = rules.rule(i);
      const op = tx.writeAppend(chain, rule, out, () => tx.appendOp(chain, rule));
      return op && this.withOpSetIndexes(op);
    };
    const result: RestoreResult = {
      table: this.table,
      chains: section.chains.length,
      rules: rules.length,
      otherTables: sections.filter((s) => s !== section).map((s) => s.table),
    };
    let lines: number[] = [];
    const where = (opIndex: number): string => {
      const line = lines[opIndex] ?? 0;
      return line === 0 ? 'while emptying the table before the input' : `line ${line}: ${quote(lineText(section, line))}`;
    };
    // Parsed and packed in slices from now on; a refused line rejects the call when its turn
    // comes, before anything is written (the table may have been listed meanwhile).
    if (this.backend === 'legacy') {
      // Legacy plans without the table's chains (src/restore/plan.ts), so its batch is packed in
      // commit order at once. Without noflush that batch is one table replace built from the
      // ops alone: staged, each slice's ops handed to the pool as they are packed, whose entries
      // are encoded there while the main thread parses on (docs/threads.md).
      const plan = planRestore(null, section, noflush, this.backend);
      lines = plan.lines;
      const native = this.native as NativeLegacyTable;
      const staged = noflush ? null : native.stageReplace(this.table, rules.length);
      const stage: SliceDone | null = staged && ((out, from) => native.stageOps(staged, out.finish(), from, out.length));
      const packing = packRestoreBatch(this.family, rules, plan.ops, toOp, stage);
      packing.catch(() => undefined); // reported by the queued call below
      return this.queued(async () => {
        const batch = await packing;
        if (staged) await native.commitStaged(staged);
        else if (plan.ops.length > 0) await native.commit(batch);
        return result;
      }, tx.extensions, where);
    }
    const packing = packRuleLines(this.family, rules, toOp);
    packing.catch(() => undefined); // reported by the queued call below
    return this.queued(async () => {
      // The plan needs the table's chains: listed in the pool while the main thread is still
      // parsing the rule lines.
      const listing = this.native.list(true);
      listing.catch(() => undefined); // awaited below, after the parse, which may fail first
      const appends = await packing;
      const { ops, lines: opLines } = planRestore(await listing, section, noflush, this.backend);
      lines = opLines;
      if (ops.length > 0) await this.native.commit(restoreBatch(this.family, ops, appends));
      return result;
    }, tx.extensions, where);
  }

  /**
   * Check iptables-save text exactly as {@link Firewall.restore} checks it, every table of it
   * (each with its own built-in chains and rules), without opening anything.
   * @returns the tables the input holds, in order
   * @throws {ERR_CONNLIMIT_INVALID} as {@link Firewall.restore}, naming the line
   */
  static validateRestore(options: FirewallOptions, text: string): TableName[] {
    const o = checkOptions(options);
    const sections = parseSaveText(text);
    for (const section of sections) {
      const tx = Firewall.restoreChecks(section, new TableShape(o.family, o.backend, section.table));
      const { rules } = section;
      for (let i = 0; i < rules.length; i++) atLine(rules, i, (j) => tx.appendOp(rules.chain(j), rules.rule(j)));
    }
    return sections.map((s) => s.table);
  }

  private static restoreSection(sections: SaveSection[], table: TableName): SaveSection {
    const section = sections.find((s) => s.table === table);
    if (section) return section;
    const held = sections.length > 0 ? `it holds ${sections.map((s) => `*${s.table}`).join(', ')}` : 'it holds no table';
    return invalid('text', `no *${table} section in the input to restore (${held})`);
  }

  /**
   * The transaction a section's rule lines are checked in (for their rules' extensions), after
   * checking every line's chain name: once per run of lines naming the same chain.
   */
  private static restoreChecks(section: SaveSection, shape: TableShape): Transaction {
    if (shape.backend === 'nftables') refuseInNftables('restoring iptables-save text');
    const { rules } = section;
    let checked: string | null = null;
    for (let i = 0; i < rules.length; i++) {
      const chain = rules.chain(i);
      if (chain !== checked) checked = atLine(rules, i, () => shape.chain(chain));
    }
    return new Transaction(shape);
  }

  /**
   * Backend 'nftables' only: delete every table the library owns in this family and namespace
   * (`connlimit`, `connlimit_1`, ...: rules, sets, chains, and anything added to them by hand)
   * in one batch, atomic in the kernel. The handle stays open: the next write creates
   * `connlimit` again. Other tables are not touched. (`flush()` with no chain also leaves no
   * table of ours behind, except one that holds a chain someone else added.)
   * @returns how many tables were deleted (0 when there were none)
   * @throws {ERR_CONNLIMIT_INVALID} on backends 'legacy' and 'nft', before anything is touched:
   *   they write into the iptables table shared with other programs, which the library does not own
   * @example await fw.destroy(); // `nft list tables` in the namespace shows none of ours
   */
  async destroy(): Promise<number> {
    if (this.closed) throw new ClosedError(`firewall handle for table ${this.table}`);
    if (this.backend !== 'nftables') {
      invalid('destroy', `backend '${this.backend}' writes into the iptables table '${this.table}', which other programs share and the library does not own, so there is nothing of its own to destroy: use flush() to delete the rules`);
    }
    const native = this.native as NativeNftablesTable;
    return this.queued(() => native.destroy());
  }

  /**
   * Whether the namespace this handle opened is no longer the one its `netns` name or path
   * names: true once `ip netns del` removed the name, or a new namespace took it (or the
   * process of a /proc/PID/ns/net path is gone). The handle stays bound to the namespace it
   * opened, by inode, and from then on every call rejects with ERR_CONNLIMIT_NETNS_GONE, so
   * nothing is written into an orphaned namespace; open a new handle to follow the name. False
   * without `netns`. One stat(2) in the libuv pool, not queued behind the table's calls.
   * @throws {ERR_CONNLIMIT_CLOSED} after close()
   */
  async netnsChanged(): Promise<boolean> {
    if (this.closed) throw new ClosedError(`firewall handle for table ${this.table}`);
    try {
      return await this.native.netnsChanged();
    } catch (e) {
      throw fromNative(e, this.context());
    }
  }

  /** Wait for queued calls, then release the handle. Idempotent; later calls fail with ERR_CONNLIMIT_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.keepers].map((k) => k.close()));
    await drained(this.queueKey);
    this.native.close();
    await this.sets?.then((sets) => sets.close(), () => undefined);
  }

  private clientSets(): Promise<Sets> {
    this.sets ??= Sets.open({ family: this.family, backend: this.backend, ...(this.netns !== null ? { netns: this.netns } : {}) });
    const opening = this.sets;
    opening.catch(() => {
      if (this.sets === opening) this.sets = null; // the next rule that needs it tries again
    });
    return opening;
  }

  /** Names the set indexes of listed rules (set-refs.ts), so they decode and render with the sets' names. */
  private async nameSets(chains: NativeChain[]): Promise<void> {
    // The native form's rules name their sets themselves (`ip saddr @NAME`): no index to name.
    if (this.backend === 'nftables' || !listsSetRefs(chains)) return;
    const sets = await this.clientSets();
    await nameListedSets(chains, (index) => sets.nameAt(index));
  }

  /**
   * Writes the set indexes of a desired state's rules (in place), so the plan compares them with
   * the kernel's bytes; whether any rule names a set. A chain naming none is left as it is (no
   * promise a rule).
   */
  private async desiredSetIndexes(checked: CheckedDesired): Promise<boolean> {
    let namesSets = false;
    for (const [chain, rules] of checked.chains) {
      if (!rules.some(hasSetRefs)) continue;
      namesSets = true;
      checked.chains.set(chain, await Promise.all(rules.map((r) => this.withSetIndexes(r))));
    }
    return namesSets;
  }

  /** The rule with its sets' kernel indexes written (set-refs.ts); the same rule when it names none. */
  private async withSetIndexes(rule: NativeRule): Promise<NativeRule> {
    if (!hasSetRefs(rule)) return rule;
    const sets = await this.clientSets();
    // The native form's rules name their sets (`ip saddr @NAME`): only that they exist, and are
    // sets of single addresses, is checked.
    if (this.backend === 'nftables') return withNamedSets(rule, await sets.names(), async (name) => (await sets.headerUncounted(name)).type);
    return withSetIndexes(rule, this.family, (name) => sets.indexOf(name));
  }

  /** An op, its rule with set indexes (a promise only when it names sets, so most ops stay synchronous). */
  private withOpSetIndexes(op: NativeOp): NativeOp | Promise<NativeOp> {
    if (!('rule' in op) || !hasSetRefs(op.rule)) return op;
    return this.withSetIndexes(op.rule).then((rule) => ({ ...op, rule }));
  }

  private toListedChain(c: NativeChain): ListedChain {
    const rules = c.rules.map((r, i): ListedRule => {
      const listed: ListedRule = {
        chain: c.name,
        position: i + 1,
        rule: toRuleSpec(r.rule, this.family),
        text: renderRule(r.rule, this.family, c.name),
        packets: r.packets,
        bytes: r.bytes,
      };
      listedNative.set(listed, r.rule);
      return jsonSafe(listed);
    });
    const policy = c.policy === 'ACCEPT' || c.policy === 'DROP' ? c.policy : null;
    return jsonSafe({ name: c.name, builtin: c.builtin, policy, packets: c.packets, bytes: c.bytes, references: c.references, rules });
  }

  private context(extensions?: Set<string> | (() => Set<string>)): NativeErrorContext {
    const names = typeof extensions === 'function' ? extensions() : extensions;
    return { table: this.table, family: this.family, netns: this.netns, extensions: names ? [...names] : [] };
  }

  private async one(build: (tx: Transaction) => unknown): Promise<void> {
    await this.run(build);
  }

  /**
   * Collects the transaction, then prepares its ops (src/op-slices.ts: the first slice now, the
   * rest between turns of the event loop) while it waits its turn in the table's queue, which
   * it joins at once so calls commit in the order they were made. A rule that fails validation
   * rejects the call before the commit starts.
   */
  private run(build: (tx: Transaction) => unknown): Promise<NativeOpResults | null> {
    // Not async: a lone op's call gets its group member's promise itself, not one that an async
    // function would wrap around it and settle two promise jobs later (docs/nft.md, "The
    // per-call fixed cost"). What throws here rejects, as it would have in an async function.
    try {
      if (this.closed) throw new ClosedError(`firewall handle for table ${this.table}`);
      const since = performance.now();
      const tx = new Transaction(this.shape);
      const built = build(tx);
      // A build that awaited (a turn of the loop since): the first slice gets a whole slice.
      if (isThenable(built)) return this.commitAfter(built, tx);
      return this.commitCollected(tx, since);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private async commitAfter(built: PromiseLike<unknown>, tx: Transaction): Promise<NativeOpResults | null> {
    await built;
    return this.commitCollected(tx, performance.now());
  }

  private commitCollected(tx: Transaction, since: number): Promise<NativeOpResults | null> {
    if (tx.size === 0) return Promise.resolve(null);
    // One op goes into a group commit, unless its rule names sets: their indexes are looked up
    // first (a wait the group's synchronous join can't take), so it commits on its own.
    const first = tx.size === 1 ? tx.nativeOp(0, this.loneRules) : null;
    if (first && !('rule' in first && hasSetRefs(first.rule))) return this.grouped(tx, first);
    const batch = prepareOps(this.family, tx.size, (i, out) => {
      const op = first ?? tx.writeOp(i, out);
      return op && this.withOpSetIndexes(op);
    }, since);
    batch.catch(() => undefined); // reported by the queued call below, when its turn comes
    return this.queued(async () => this.native.commit(await batch), tx.extensions, tx.size > 1 ? (opIndex) => tx.describeStep(opIndex) : undefined);
  }

  /**
   * A one-op call: its rule parsed and validated now (a bad one rejects at once), then it joins
   * the single-op calls queued behind the commit in flight, to be committed with them in one
   * commit and settled on its own (src/group-commit.ts).
   */
  private grouped(tx: Transaction, op: NativeOp): Promise<NativeOpResults> {
    if (this.closed) throw new ClosedError(`firewall handle for table ${this.table}`);
    return new Promise((resolve, reject) => {
      const member = { op, native: this.native, netns: this.netns, resolve, reject: (e: unknown) => reject(fromNative(e, this.context(tx.extensions))) };
      const owner = groupOwner(this, this.groupSettings, this.keepers.size > 0);
      joinGroup(this.queueKey, owner, member, (members) => commitGroup(this.family, members));
    });
  }

  /** @param where names the op a kernel error's `opIndex` points at, for its message */
  private async queued<T>(work: () => Promise<T>, extensions?: Set<string> | (() => Set<string>), where?: (opIndex: number) => string): Promise<T> {
    if (this.closed) throw new ClosedError(`firewall handle for table ${this.table}`);
    try {
      return await serialize(this.queueKey, work);
    } catch (e) {
      const error = fromNative(e, this.context(extensions));
      const opIndex = (e as { opIndex?: number }).opIndex;
      if (where && typeof opIndex === 'number') error.message += ` [${where(opIndex)}; nothing was applied]`;
      throw error;
    }
  }
}
