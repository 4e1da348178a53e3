// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What checking a change needs to know of a table, and nothing a handle would give: its family,
 * backend, name and built-in chains. A Firewall's transactions check against its own; and
 * Firewall.validate() checks against one made from options alone, so a tool can refuse bad
 * input before anything is opened (opening a legacy table creates it in the namespace).
 */
import { quote } from './echo';
import { invalid } from './errors';
import type { NativeRule } from './native-types';
import { tableProblem } from './rule/modules';
import { checkNftablesChain, refuseInNftables } from './rule/nftables-form';
import type { Family } from './rule/types';
import { validateChainName } from './rule/validate';

/**
 * `'legacy'`: x_tables through libiptc (iptables-legacy). `'nft'`: nf_tables as iptables-nft
 * writes it. `'nftables'`: the native nftables form, in a table of our own (docs/nft.md).
 */
export type Backend = 'legacy' | 'nft' | 'nftables';
export type TableName = 'filter' | 'mangle' | 'raw' | 'security' | 'nat';

/** The built-in chains of each table, in the kernel's hook order. */
export const BUILTIN_CHAINS: Record<TableName, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** @internal */
export class TableShape {
  readonly builtinChains: readonly string[];
  // The last name chain() took: a big transaction names one chain thousands of times.
  private lastChain: string | null = null;

  /** `backend` 'auto' ends as 'legacy' or 'nft', whose checks are the same. */
  constructor(
    readonly family: Family,
    readonly backend: Backend | 'auto',
    readonly table: TableName,
  ) {
    this.builtinChains = BUILTIN_CHAINS[table];
  }

  /** A chain name for rule operations. @throws {ERR_CONNLIMIT_INVALID} */
  chain(name: string, field = 'chain'): string {
    if (this.lastChain !== null && name === this.lastChain) return name;
    validateChainName(name, field);
    if (this.backend === 'nftables') checkNftablesChain(name, field);
    this.lastChain = name;
    return name;
  }

  /** A user chain name: not one of the table's built-in chains. @throws {ERR_CONNLIMIT_INVALID} */
  userChain(name: string, field = 'chain'): string {
    if (this.backend === 'nftables') refuseInNftables('a user chain');
    validateChainName(name, field);
    if (this.builtinChains.includes(name)) invalid(field, `${quote(name)} is a built-in chain of table ${this.table}`);
    return name;
  }

  /**
   * Refuses a rule whose target the kernel declares for other tables (EINVAL at the write):
   * REJECT outside filter, CT and NOTRACK outside raw (CompatModule.tables).
   * @throws {ERR_CONNLIMIT_INVALID} at `rule.target`
   */
  targetFits(rule: NativeRule, path = 'rule'): void {
    // ipt_REJECT/ip6t_REJECT declare table "filter".
    if (rule.target.kind === 'reject' && this.table !== 'filter') {
      invalid(`${path}.target`, `REJECT is only valid in the filter table, not ${this.table} (the kernel refuses it): use DROP or move the rule`);
    }
    const wrong = rule.target.kind === 'opaque' ? tableProblem('target', rule.target, this.table) : null;
    if (wrong) invalid(`${path}.target`, wrong);
  }

  /**
   * The chain of flush()/zero(), or null for every chain. Every chain only when the method was
   * called with no argument: `flush(config.chain)` with the key missing must not empty the table.
   * @throws {ERR_CONNLIMIT_INVALID} for an explicit undefined or null, or a bad name
   */
  chainOrAll(args: readonly unknown[], method: 'flush' | 'zero'): string | null {
    if (args.length === 0) return null;
    const chain = args[0];
    if (chain === undefined || chain === null) {
      const what = method === 'flush' ? 'delete the rules' : 'zero the counters';
      invalid('chain', `expected a chain name, got ${String(chain)}: to ${what} of every chain, call ${method}() with no argument`);
    }
    return this.chain(chain as string);
  }
}
