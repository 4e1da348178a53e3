// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `watch`'s threshold alerts, held down: a crossing is printed only once it has lasted `holdMs`.
 * A refused connection attempt makes a conntrack entry that lives for an instant (the SYN is
 * tracked, then reset), so a client at its limit would otherwise print "above" and "below" for
 * every attempt it makes. A key that crosses back within the hold prints nothing.
 */

export type CrossingKind = 'above' | 'below';

export class CrossingHold {
  /** Keys last printed as above; every other key stands below. */
  private readonly above = new Set<string>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  /**
   * @param countOf the key's count now: a held crossing is printed with the count it has when
   * the hold ends, an unheld one with the count the watch reported it at
   */
  constructor(
    private readonly holdMs: number,
    private readonly countOf: (key: string) => number,
    private readonly print: (kind: CrossingKind, key: string, count: number) => void,
  ) {}

  /** A crossing as the watch reported it. */
  crossing(kind: CrossingKind, key: string, count: number): void {
    const shown: CrossingKind = this.above.has(key) ? 'above' : 'below';
    const timer = this.pending.get(key);
    if (kind === shown) {
      // Back where it was last printed before the hold ran out: nothing happened worth a line.
      if (timer) clearTimeout(timer);
      this.pending.delete(key);
      return;
    }
    if (timer) return;
    if (this.holdMs === 0) {
      this.settle(kind, key, count);
      return;
    }
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        this.settle(kind, key, this.countOf(key));
      }, this.holdMs),
    );
  }

  /** Drops the crossings still on hold (the watch is ending). */
  close(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private settle(kind: CrossingKind, key: string, count: number): void {
    if (kind === 'above') this.above.add(key);
    else this.above.delete(key);
    this.print(kind, key, count);
  }
}
