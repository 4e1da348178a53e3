// SPDX-License-Identifier: GPL-2.0-or-later
// The iptables CLI of one backend as the oracle of the kernel tests (30 and 50, 73 and 77): its
// command names, its save without timestamps, the equivalence of what it and the library write,
// and the check every refusal test makes (the typed error, and the table as the CLI prints it
// unmoved). One helper, so that the legacy tests and their nf_tables twins assert the same things.
import * as assert from 'uvu/assert';
import { Firewall, type Backend, type Family, type TableName } from '../../src/index';
import { rejects } from './assert';
import { createNetns, type Netns } from './netns';
import { argv } from './rule-tables';

/** What a refused call rejected with. */
export type Refusal = { code?: string; message: string; errno?: string; hint?: string };

export function iptablesOracle(backend: Backend) {
  /** `iptables-legacy`, `ip6tables-nft`, ... */
  const cli = (family: Family = 'ipv4') => `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}`;
  const saveCli = (family: Family = 'ipv4') => `${cli(family)}-save`;

  /** `iptables-<backend>-save -t TABLE` without its timestamp comments. */
  async function save(ns: Netns, family: Family = 'ipv4', table = 'filter'): Promise<string> {
    const r = await ns.run(saveCli(family), ['-t', table]);
    return r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  }

  /** Asserts code, errno and message of a refused call, and that the filter table did not move. */
  async function refused(ns: Netns, call: () => Promise<unknown>, code: string, errno: string | undefined, message: RegExp): Promise<Refusal> {
    const before = await save(ns);
    const e = (await rejects(call(), code)) as Refusal;
    if (errno !== undefined) assert.is(e.errno, errno, e.message);
    assert.match(e.message, message);
    assert.is(await save(ns), before, 'the table changed');
    return e;
  }

  /**
   * The CLI writes `rules` (chain, iptables arguments) into a LIMITS chain in one namespace, the
   * library into another: both save identically, the library renders either table as the CLI
   * saves it, the CLI deletes each of our rules with the same arguments (legacy compares the
   * bytes), and we delete each of its rules with the same text. `table` is where (default filter).
   */
  /** `prepare` runs first in each namespace (side 0: the CLI's, 1: the library's), e.g. to create ipset sets. */
  async function sameAsCli(
    family: Family,
    rules: ReadonlyArray<readonly [string, string]>,
    table: TableName = 'filter',
    prepare?: (ns: Netns, side: 0 | 1) => Promise<void>,
  ): Promise<void> {
    const viaCli = await createNetns();
    const viaLib = await createNetns();
    try {
      await prepare?.(viaCli, 0);
      await prepare?.(viaLib, 1);
      const t = ['-t', table];
      await viaCli.run(cli(family), [...t, '-N', 'LIMITS']);
      for (const [chain, rule] of rules) await viaCli.run(cli(family), ['-w', ...t, '-A', chain, ...argv(rule)]);

      const fw = await Firewall.open({ family, backend, table, netns: viaLib.name });
      await fw.createChain('LIMITS');
      for (const [chain, rule] of rules) await fw.append(chain, rule);

      const expected = await save(viaCli, family, table);
      assert.is(await save(viaLib, family, table), expected);
      // Our own rendering of the table equals the CLI's.
      assert.is((await fw.save()).trim(), expected.trim());
      // What the CLI wrote, read through the library, renders the same.
      const other = await Firewall.open({ family, backend, table, netns: viaCli.name });
      assert.is((await other.save()).trim(), expected.trim());

      for (const [chain, rule] of rules) {
        const r = await viaLib.exec(cli(family), ['-w', ...t, '-D', chain, ...argv(rule)]);
        assert.is(r.code, 0, `${cli(family)} -t ${table} -D ${chain} ${rule}: ${r.stderr}`);
      }
      assert.is((await fw.list()).length, 0);
      for (const [chain, rule] of rules) await other.delete(chain, rule);
      assert.is((await other.list()).length, 0);
      await other.close();
      await fw.close();
    } finally {
      await viaCli.destroy();
      await viaLib.destroy();
    }
  }

  /**
   * The not-found refusals both backends make alike, each leaving the table as it was: a missing
   * chain (as target, as jump, to delete, rename, flush or check), a missing rule, a position
   * past the end, and in a transaction the failing step with "nothing was applied".
   */
  async function refusesWhatIsMissing(ns: Netns): Promise<void> {
    const fw = await Firewall.open({ backend, netns: ns.name });
    await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
    for (const call of [
      () => fw.append('NOPE', '-j DROP'),
      () => fw.append('INPUT', '-j NOPE'),
      () => fw.deleteChain('NOPE'),
      () => fw.renameChain('NOPE', 'X'),
      () => fw.flush('NOPE'),
      () => fw.check('NOPE', '-j DROP'),
    ]) {
      await refused(ns, call, 'ERR_CONNLIMIT_NOT_FOUND', 'ENOENT', /no chain 'NOPE'/);
    }
    await refused(ns, () => fw.delete('INPUT', '-p tcp --dport 2 -j DROP'), 'ERR_CONNLIMIT_NOT_FOUND', 'ENOENT', /no matching rule in chain 'INPUT'/);
    await refused(ns, () => fw.delete('INPUT', 2), 'ERR_CONNLIMIT_NOT_FOUND', 'E2BIG', /no rule at that position/);
    await refused(ns, () => fw.replace('INPUT', 2, '-j DROP'), 'ERR_CONNLIMIT_NOT_FOUND', 'E2BIG', /no rule at that position/);
    await refused(ns, () => fw.insert('INPUT', 3, '-j DROP'), 'ERR_CONNLIMIT_NOT_FOUND', 'E2BIG', /no rule at that position/);
    await refused(
      ns,
      () => fw.transaction((tx) => void tx.append('INPUT', '-j ACCEPT').delete('INPUT', '-j REJECT')),
      'ERR_CONNLIMIT_NOT_FOUND',
      'ENOENT',
      /step 2 of 2: delete INPUT; nothing was applied/,
    );
    await fw.close();
  }

  /** A chain that still has rules is not deleted: ERR_CONNLIMIT_IN_USE with ENOTEMPTY and the flush hint. */
  async function refusesDeletingNonEmptyChain(ns: Netns, fw: Firewall): Promise<void> {
    await fw.createChain('FULL');
    await fw.append('FULL', '-j DROP');
    const f = await refused(ns, () => fw.deleteChain('FULL'), 'ERR_CONNLIMIT_IN_USE', 'ENOTEMPTY', /not empty/);
    assert.match(f.hint ?? '', /flush it first/);
  }

  return { cli, saveCli, save, sameAsCli, refused, refusesWhatIsMissing, refusesDeletingNonEmptyChain };
}
