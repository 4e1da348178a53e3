// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * fw.keep(): a desired state applied, then applied again whenever the owned state drifts
 * (docs/apply.md, "Keeping it"). What tells it the table changed:
 * - nf_tables ('nft', 'nftables'): the kernel's ruleset notifications, read by a thread of the
 *   addon (native/core/nft/ruleset_watcher.h); no polling. A commit of the handle's own socket
 *   (its netlink port id) is skipped at once; any other commit touching the table starts a
 *   check after `debounceMs`, so a burst of commits is one check.
 * - legacy: x_tables sends no notifications, so a check every `intervalMs`.
 * A check is a dry-run apply (one read of the table in the libuv pool, the plan in JS): a plan
 * that commits nothing is no drift, whoever committed. Checks run one at a time.
 */
import { EventEmitter } from 'node:events';
import { binding } from '../binding';
import { ClosedError, fromNative, invalid, NetnsGoneError } from '../errors';
import type { NativeRulesetGeneration, NativeRulesetWatch } from '../native-types';
import { describe } from '../rule/validate';
import type { Family } from '../rule/types';
import type { Backend } from '../table-shape';
import type { ApplyPlan } from './plan';

/** What a check found: the owned state differs from the desired one. */
export interface Drift {
  /** What started the check: a ruleset notification (nf_tables), lost notifications, or the periodic check (legacy). */
  trigger: 'notification' | 'overrun' | 'interval';
  /** The generation ids of the foreign commits that started it (nf_tables; empty otherwise). */
  generations: number[];
  /** The repair: what apply() would change now (`committed: false`). */
  plan: ApplyPlan;
}

export interface KeepOptions {
  /**
   * Called with each drift before it is repaired (after the 'drift' event). Returning false
   * (or a promise of false) leaves this drift unrepaired: report-only; anything else repairs.
   */
  onDrift?: (drift: Drift) => unknown;
  /** Legacy: how often the table is checked, in ms (100 to 3600000). Default 1000. */
  intervalMs?: number;
  /** nf_tables: how long after a foreign commit the check starts, so a burst is one check (0 to 60000). Default 50. */
  debounceMs?: number;
}

interface CheckedKeepOptions {
  onDrift: ((drift: Drift) => unknown) | null;
  intervalMs: number;
  debounceMs: number;
}

function integerIn(o: Record<string, unknown>, key: string, min: number, max: number, fallback: number): number {
  const v = o[key] ?? fallback;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) invalid(key, `expected an integer number of ms from ${min} to ${max}, got ${describe(v)}`);
  return v as number;
}

/** @throws {ERR_CONNLIMIT_INVALID} naming the option */
export function checkKeepOptions(o: unknown): CheckedKeepOptions {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) invalid('options', 'must be an object');
  const known = ['onDrift', 'intervalMs', 'debounceMs'];
  for (const k of Object.keys(o)) if (!known.includes(k)) invalid(k, `unknown option (known: ${known.join(', ')})`);
  const r = o as Record<string, unknown>;
  const onDrift = r.onDrift ?? null;
  if (onDrift !== null && typeof onDrift !== 'function') invalid('onDrift', `expected a function (drift) => ..., got ${describe(onDrift)}`);
  return {
    onDrift: onDrift as CheckedKeepOptions['onDrift'],
    intervalMs: integerIn(r, 'intervalMs', 100, 3_600_000, 1000),
    debounceMs: integerIn(r, 'debounceMs', 0, 60_000, 50),
  };
}

/** @internal What a Keeper needs of its Firewall. */
export interface KeepTarget {
  backend: Backend;
  family: Family;
  table: string;
  netns: string | null;
  /** apply() of the kept state: a dry run reads and plans only. */
  apply(dryRun: boolean): Promise<ApplyPlan>;
  /** The netlink port id of the handle's own socket, when it keeps one (nf_tables, both forms; 0 before its first call). */
  port(): number | null;
  /** The Firewall forgets the keeper (it closed). */
  release(keeper: Keeper): void;
}

export interface Keeper {
  on(event: 'drift', listener: (drift: Drift) => void): this;
  on(event: 'applied', listener: (plan: ApplyPlan) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'drift', listener: (drift: Drift) => void): this;
  once(event: 'applied', listener: (plan: ApplyPlan) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
}

/**
 * A kept desired state; built by {@link Firewall.keep}. Events: 'drift' (what changed, before
 * the repair), 'applied' (the repair's plan, committed), 'error' (a check or repair failed; the
 * next trigger tries again, unless the handle or its namespace is gone: then it closes),
 * 'close' (it stopped: its close(), the Firewall's, or such an error).
 */
export class Keeper extends EventEmitter {
  /** The plan of the first apply, made before keep() resolved. */
  initial!: ApplyPlan;
  /** How often the table was read to look for drift (one listing each), how often drift was found, and how often it was repaired. */
  checks = 0;
  drifts = 0;
  repairs = 0;
  private closed = false;
  private watch: NativeRulesetWatch | null = null;
  private timer: NodeJS.Timeout | null = null;
  private generations: number[] = [];
  private trigger: Drift['trigger'] | null = null;
  private running: Promise<void> | null = null;

  /** @internal */
  constructor(
    private readonly target: KeepTarget,
    private readonly options: CheckedKeepOptions,
  ) {
    super();
  }

  /** @internal Subscribes (nf_tables) before the first apply, so no drift in between is missed; then starts checking. */
  async start(): Promise<void> {
    try {
      if (this.target.backend !== 'legacy') await this.subscribe();
      this.initial = await this.target.apply(false);
    } catch (e) {
      await this.close();
      throw e;
    }
    if (this.target.backend === 'legacy') this.timer = setInterval(() => this.schedule('interval'), this.options.intervalMs);
  }

  private subscribe(): Promise<void> {
    return new Promise((resolve, reject) => {
      let ready = false;
      this.watch = new (binding().RulesetWatch)(
        {
          netns: this.target.netns,
          family: this.target.family,
          table: this.target.backend === 'nftables' ? 'connlimit' : this.target.table,
          tablePrefix: this.target.backend === 'nftables',
        },
        (error: unknown, g: NativeRulesetGeneration | null) => {
          if (this.closed) return;
          if (error !== null || g === null) {
            const e = fromNative(error, { table: this.target.table, family: this.target.family, netns: this.target.netns });
            // Before 'ready' the socket could not be opened: start() closes the keeper.
            if (!ready) reject(e);
            else this.fail(e, true);
            return;
          }
          if (g.kind === 'ready') {
            ready = true;
            resolve();
          } else this.notified(g);
        },
      );
    });
  }

  private notified(g: NativeRulesetGeneration): void {
    if (g.kind === 'overrun') return this.schedule('overrun');
    // Our own commit (the repair, or a call on the same handle) is no drift: skipped unread.
    const own = this.target.port();
    if (own && g.ports.every((p) => p === own)) return;
    this.generations.push(g.genid);
    this.schedule('notification');
  }

  /** A check after the debounce (nf_tables) or now (legacy); one at a time, and one more when asked meanwhile. */
  private schedule(trigger: Drift['trigger']): void {
    if (this.closed) return;
    if (this.trigger === null || trigger !== 'interval') this.trigger = trigger;
    if (this.running) return; // picked up when the check in flight ends
    if (trigger === 'interval') return this.run();
    if (this.timer === null) this.timer = setTimeout(() => ((this.timer = null), this.run()), this.options.debounceMs);
  }

  private run(): void {
    const trigger = this.trigger;
    if (trigger === null || this.closed) return;
    this.trigger = null;
    const generations = this.generations;
    this.generations = [];
    this.running = this.check(trigger, generations)
      .catch((e: unknown) => this.fail(e as Error, e instanceof ClosedError || e instanceof NetnsGoneError))
      .finally(() => {
        this.running = null;
        if (this.trigger !== null) this.schedule(this.trigger);
      });
  }

  private async check(trigger: Drift['trigger'], generations: number[]): Promise<void> {
    this.checks++;
    const plan = await this.target.apply(true);
    if (!plan.commit || this.closed) return;
    const drift: Drift = { trigger, generations, plan };
    this.drifts++;
    this.emit('drift', drift);
    if (this.options.onDrift && (await this.options.onDrift(drift)) === false) return;
    if (this.closed) return;
    const applied = await this.target.apply(false);
    if (!applied.committed) return;
    this.repairs++;
    if (!this.closed) this.emit('applied', applied);
  }

  private fail(e: Error, fatal: boolean): void {
    if (this.closed) return;
    this.emit('error', e);
    if (fatal) void this.close();
  }

  /** Stop keeping: no check or event after this resolves; the thread and its socket are gone. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    const watch = this.watch;
    this.watch = null;
    await watch?.close();
    await this.running?.catch(() => undefined);
    this.target.release(this);
    this.emit('close');
  }
}
