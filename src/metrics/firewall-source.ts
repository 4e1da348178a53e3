// SPDX-License-Identifier: GPL-2.0-or-later
/** Rule counters and limits of one Firewall's table, as metric families. */
import type { Firewall } from '../firewall';
import type { ListedRule } from '../rule/types';
import type { MetricDescriptor, MetricFamily, MetricSource } from './family';
import { ruleIds } from './rule-id';

export interface FirewallMetricsOptions {
  /**
   * Which rules to export: only those with a connlimit match (default), or every rule of the
   * table (a big table makes a big scrape).
   */
  rules?: 'connlimit' | 'all';
}

const PACKETS: MetricDescriptor = { name: 'connlimit_rule_packets_total', type: 'counter', help: 'Packets that matched the rule.' };
const BYTES: MetricDescriptor = { name: 'connlimit_rule_bytes_total', type: 'counter', help: 'Bytes that matched the rule.' };
const LIMIT: MetricDescriptor = { name: 'connlimit_rule_limit', type: 'gauge', help: 'The connection limit of a connlimit rule, per client address block.' };
const POSITION: MetricDescriptor = { name: 'connlimit_rule_position', type: 'gauge', help: 'The 1-based position of the rule in its chain (iptables -L --line-numbers).' };

/** `--connlimit-above` / `--connlimit-upto`: the option's own spelling. */
const MODE = { above: 'above', upTo: 'upto' } as const;

function identity(fw: Firewall, listed: ListedRule, ruleId: string): Record<string, string> {
  return { family: fw.family, table: fw.table, chain: listed.chain, rule_id: ruleId };
}

/**
 * Exports `connlimit_rule_packets_total`, `connlimit_rule_bytes_total`, for connlimit rules
 * `connlimit_rule_limit` (the N of `--connlimit-above/-upto N`, with `mode` above|upto, `mask`
 * and `key`), and `connlimit_rule_position`. Series are keyed by `rule_id` (a hash of the
 * rule's text), not its position, so inserting a rule starts no new series for the others.
 * Reads the table once per scrape; the Firewall stays the caller's to close.
 * @example registerMetrics(registry, [firewallMetrics(fw)])
 */
export function firewallMetrics(fw: Firewall, options: FirewallMetricsOptions = {}): MetricSource {
  const which = options.rules ?? 'connlimit';
  if (which !== 'connlimit' && which !== 'all') throw new TypeError(`rules: expected 'connlimit' or 'all', got ${String(which)}`);
  return {
    name: `firewall ${fw.family}/${fw.table}${fw.netns ? ` in ${fw.netns}` : ''}`,
    families: [PACKETS, BYTES, LIMIT, POSITION],
    async collect(): Promise<MetricFamily[]> {
      const all = await fw.list();
      // Ids over the whole table, so `--rules all` and the default give a rule the same id.
      const ids = ruleIds(all);
      const packets: MetricFamily = { ...PACKETS, samples: [] };
      const bytes: MetricFamily = { ...BYTES, samples: [] };
      const limit: MetricFamily = { ...LIMIT, samples: [] };
      const position: MetricFamily = { ...POSITION, samples: [] };
      all.forEach((r, i) => {
        if (which === 'connlimit' && r.rule.connlimit === undefined) return;
        const id = identity(fw, r, ids[i] as string);
        // The rule as iptables-save prints it, without `-A CHAIN`: what an operator greps for.
        const labels: Record<string, string> = { ...id, rule: r.text.replace(/^-A \S+ ?/, '') };
        if (r.rule.comment !== undefined) labels.comment = r.rule.comment;
        packets.samples.push({ labels, value: r.packets });
        bytes.samples.push({ labels, value: r.bytes });
        position.samples.push({ labels: id, value: r.position });
        const c = r.rule.connlimit;
        if (c !== undefined) {
          const mask = String(c.maskBits ?? (fw.family === 'ipv4' ? 32 : 128));
          limit.samples.push({ labels: { ...labels, mode: MODE[c.kind], mask, key: c.key ?? 'source' }, value: c.count });
        }
      });
      return [packets, bytes, limit, position];
    },
  };
}
