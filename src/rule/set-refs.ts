// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Rules that refer to ipset sets (`-m set`, `-j SET`) hold each set's kernel index, which only the
 * namespace's ipset knows (CompatModule.setIndexOffsets). A rule from parse or validate carries
 * the names and IPSET_INVALID_ID; before it goes to the addon the firewall writes the indexes
 * (`withSetIndexes`), as libxt_set's parser does; a listing's indexes are named back
 * (`nameListedSets`) so that render and to-spec show the set, as iptables-save does.
 */
import { NotFoundError, ValidationError } from '../errors';
import { quote } from '../echo';
import type { NativeChain, NativeMatch, NativeRule, NativeTarget } from '../native-types';
import { setIndexOffsets } from './modules';
import { get16, put16 } from './modules/values';
import type { Family } from './types';

/** A set's index and family (NFPROTO_*) in the namespace, or null when there is no such set. */
export type SetIndexLookup = (name: string) => Promise<{ index: number; family: number } | null>;
/** The name of the set at an index, or null. */
export type SetNameLookup = (index: number) => Promise<string | null>;

const NFPROTO: Record<Family, number> = { ipv4: 2, ipv6: 10 };
const NFPROTO_UNSPEC = 0;
const IPSET_INVALID_ID = 0xffff;

type SetExt = { kind: 'opaque'; name: string; revision: number; data: Buffer; sets: string[] };

function refersToSets(x: NativeMatch | NativeTarget): x is SetExt {
  return x.kind === 'opaque' && x.sets !== undefined && x.sets.length > 0;
}

/** Whether a rule names sets whose indexes must be looked up before it is written (`-m set`, `-j SET`). */
export function hasSetRefs(rule: NativeRule): boolean {
  return rule.matches.some(refersToSets) || refersToSets(rule.target);
}

/**
 * The rule with the index of every set it names written into its blobs (new buffers; the
 * rule given is not changed). An empty name is a place the extension names no set (`-j SET`
 * without `--del-set`): it keeps IPSET_INVALID_ID.
 * @throws {ERR_CONNLIMIT_NOT_FOUND} no set of that name in the namespace (as the CLI: "Set X doesn't exist")
 * @throws {ERR_CONNLIMIT_INVALID} a set of the other family
 */
export async function withSetIndexes(rule: NativeRule, family: Family, lookup: SetIndexLookup): Promise<NativeRule> {
  const matches: NativeMatch[] = [];
  for (const m of rule.matches) matches.push(refersToSets(m) ? await indexed('match', m, family, lookup) : m);
  const target = refersToSets(rule.target) ? await indexed('target', rule.target, family, lookup) : rule.target;
  return { ...rule, matches, target };
}

async function indexed(type: 'match' | 'target', x: SetExt, family: Family, lookup: SetIndexLookup): Promise<SetExt> {
  const data = Buffer.from(x.data);
  const offsets = setIndexOffsets(type, x);
  for (const [i, name] of x.sets.entries()) {
    if (name === '') continue;
    const found = await lookup(name);
    if (!found) throw new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no ipset set ${quote(name)} in the namespace: create it first (Sets.create, \`connlimit set create\`)`);
    if (found.family !== NFPROTO[family] && found.family !== NFPROTO_UNSPEC) {
      throw new ValidationError([{ path: type === 'match' ? 'rule.matches' : 'rule.target', message: `set ${quote(name)} is ${family === 'ipv4' ? 'IPv6' : 'IPv4'}: an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} rule can't use it` }]);
    }
    put16(data, offsets[i]!, found.index);
  }
  return { ...x, data };
}

/** The set types whose keys are one address: what a native-form lookup of one address can match. */
const ONE_ADDRESS_TYPES: readonly string[] = ['hash:ip', 'hash:net'];

/**
 * A native-form rule (`ip saddr @NAME`) as it is, once every set it names is one of `names`,
 * the client sets of its table, and of a type whose keys are one address (`typeOf` reads it).
 * The kernel would refuse either with a bare errno (ENOENT; ENODATA for a lookup that reads
 * key bytes no expression loaded).
 * @throws {ERR_CONNLIMIT_NOT_FOUND} no such set in the native form's table
 * @throws {ERR_CONNLIMIT_INVALID} a set whose keys are more than an address (hash:ip,port, ...)
 */
export async function withNamedSets(rule: NativeRule, names: readonly string[], typeOf: (name: string) => Promise<string>): Promise<NativeRule> {
  for (const m of rule.matches) {
    if (!refersToSets(m)) continue;
    for (const name of m.sets) {
      if (!names.includes(name)) {
        throw new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no set ${quote(name)} in the native nftables form's table: create it first (Sets.open({ backend: 'nftables' }), \`connlimit set create --backend nftables\`)`);
      }
      const type = await typeOf(name);
      if (!ONE_ADDRESS_TYPES.includes(type)) {
        throw new ValidationError([
          {
            path: 'rule.matches',
            message: `set ${quote(name)} is ${type}: the native nftables form looks up one address (\`ip saddr @NAME\`), and ${type} keys hold more; -m set takes hash:ip and hash:net sets there (use backend 'nft' for the others)`,
          },
        ]);
      }
    }
  }
  return rule;
}

/** Whether any listed rule holds set indexes (then nameListedSets has work). */
export function listsSetRefs(chains: readonly NativeChain[]): boolean {
  const holds = (type: 'match' | 'target', x: NativeMatch | NativeTarget): boolean => x.kind === 'opaque' && setIndexOffsets(type, x).length > 0;
  return chains.some((c) => c.rules.some((r) => r.rule.matches.some((m) => holds('match', m)) || holds('target', r.rule.target)));
}

/**
 * Names the sets of every listed rule's blobs (`sets` on the extension), in place; '' where
 * the blob holds IPSET_INVALID_ID (no set named there). An index no set has (destroyed under
 * us: the kernel forbids it while referenced) leaves the extension opaque.
 */
export async function nameListedSets(chains: readonly NativeChain[], lookup: SetNameLookup): Promise<void> {
  const names = new Map<number, string | null>();
  const name = async (type: 'match' | 'target', x: NativeMatch | NativeTarget): Promise<void> => {
    if (x.kind !== 'opaque') return;
    const offsets = setIndexOffsets(type, x);
    if (offsets.length === 0 || offsets.some((o) => o + 2 > x.data.length)) return;
    const sets: string[] = [];
    for (const off of offsets) {
      const index = get16(x.data, off);
      if (index === IPSET_INVALID_ID) {
        sets.push('');
        continue;
      }
      if (!names.has(index)) names.set(index, await lookup(index));
      const found = names.get(index);
      if (found) sets.push(found);
    }
    if (sets.length === offsets.length) x.sets = sets;
  };
  for (const c of chains) {
    for (const r of c.rules) {
      for (const m of r.rule.matches) await name('match', m);
      await name('target', r.rule.target);
    }
  }
}
