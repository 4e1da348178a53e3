// SPDX-License-Identifier: GPL-2.0-or-later
/** Rule counters and limits of one Firewall's table, as metric families. */
import type { Firewall } from '../firewall';
import type { ListedRule } from '../rule/types';
import type { MetricFamily } from './exposition';
import type { MetricSource } from './registry';

export interface FirewallMetricsOptions {
  /**
   * Which rules to export: only those with a connlimit match (default), or every rule of the
   * table (a big table makes a big scrape).
   */
  rules?: 'connlimit' | 'all';
}

function ruleLabels(fw: Firewall, listed: ListedRule): Record<string, string> {
  const labels: Record<string, string> = {
    family: fw.family,
    table: fw.table,
    chain: listed.chain,
    position: String(listed.position),
    // The rule as iptables-save prints it, without `-A CHAIN`: what an operator greps for.
    rule: listed.text.replace(/^-A \S+ ?/, ''),
  };
  if (listed.rule.comment !== undefined) labels.comment = listed.rule.comment;
  return labels;
}

/**
 * Exports `connlimit_rule_packets_total`, `connlimit_rule_bytes_total` and, for connlimit
 * rules, `connlimit_rule_limit` (the N of `--connlimit-above/-upto N`, with `mode`, `mask`
 * and `key`).
 * Reads the table once per scrape; the Firewall stays the caller's to close.
 * @example createMetrics([firewallMetrics(fw)])
 */
export function firewallMetrics(fw: Firewall, options: FirewallMetricsOptions = {}): MetricSource {
  const which = options.rules ?? 'connlimit';
  if (which !== 'connlimit' && which !== 'all') throw new TypeError(`rules: expected 'connlimit' or 'all', got ${String(which)}`);
  return {
    name: `firewall ${fw.family}/${fw.table}${fw.netns ? ` in ${fw.netns}` : ''}`,
    async collect(): Promise<MetricFamily[]> {
      const listed = (await fw.list()).filter((r) => which === 'all' || r.rule.connlimit !== undefined);
      const packets: MetricFamily = { name: 'connlimit_rule_packets', type: 'counter', help: 'Packets that matched the rule.', samples: [] };
      const bytes: MetricFamily = { name: 'connlimit_rule_bytes', type: 'counter', unit: 'bytes', help: 'Bytes that matched the rule.', samples: [] };
      const limit: MetricFamily = { name: 'connlimit_rule_limit', type: 'gauge', help: 'The connection limit of a connlimit rule, per client address block.', samples: [] };
      for (const r of listed) {
        const labels = ruleLabels(fw, r);
        packets.samples.push({ labels, value: r.packets });
        bytes.samples.push({ labels, value: r.bytes });
        const c = r.rule.connlimit;
        if (c !== undefined) {
          const mask = String(c.maskBits ?? (fw.family === 'ipv4' ? 32 : 128));
          limit.samples.push({ labels: { ...labels, mode: c.kind, mask, key: c.key ?? 'source' }, value: c.count });
        }
      }
      return [packets, bytes, limit];
    },
  };
}
