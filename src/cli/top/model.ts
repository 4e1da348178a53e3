// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What `connlimit top` shows, independent of the terminal: per client, the count now, its
 * change since the previous refresh, a short history for the sparkline, and the limit when a
 * rule was given. Clients that drop to zero stay one refresh (showing the drop), then leave.
 */

export interface TopRow {
  key: string;
  count: number;
  /** Change since the previous refresh. */
  delta: number;
  /** Oldest first, at most `historyLength` counts, one per refresh. */
  history: number[];
}

export interface TopSnapshot {
  rows: TopRow[];
  /** Sum of every client's count, not only the rows shown. */
  total: number;
  clients: number;
  limit: number | null;
  at: Date;
}

export class TopModel {
  private readonly history = new Map<string, number[]>();
  private last = new Map<string, number>();

  constructor(
    private readonly limit: number | null = null,
    private readonly historyLength = 20,
  ) {}

  /** Takes the counts of one refresh and returns the rows, busiest first (ties by key). */
  update(counts: ReadonlyMap<string, number>, at = new Date()): TopSnapshot {
    const rows: TopRow[] = [];
    let total = 0;
    for (const [key, count] of counts) {
      total += count;
      rows.push({ key, count, delta: count - (this.last.get(key) ?? 0), history: this.push(key, count) });
    }
    for (const [key, before] of this.last) {
      if (!counts.has(key)) rows.push({ key, count: 0, delta: -before, history: this.push(key, 0) });
    }
    // History lives as long as the row: a client gone for a whole refresh is forgotten.
    for (const key of [...this.history.keys()]) {
      if (!counts.has(key) && !this.last.has(key)) this.history.delete(key);
    }
    this.last = new Map([...counts].filter(([, c]) => c > 0));
    rows.sort((a, b) => b.count - a.count || compareKeys(a.key, b.key));
    return { rows, total, clients: counts.size, limit: this.limit, at };
  }

  private push(key: string, count: number): number[] {
    const h = this.history.get(key) ?? [];
    h.push(count);
    if (h.length > this.historyLength) h.shift();
    this.history.set(key, h);
    return [...h];
  }
}

/** Addresses in numeric order where both are IPv4 (so 10.0.0.9 before 10.0.0.10), else text order. */
function compareKeys(a: string, b: string): number {
  const na = ipv4Number(a);
  const nb = ipv4Number(b);
  if (na !== null && nb !== null) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

function ipv4Number(key: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/\d+)?$/.exec(key);
  return m ? ((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]) : null;
}
