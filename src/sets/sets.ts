// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Client sets: the kernel's ipset sets of one network namespace, over nfnetlink, fork-free; or,
 * with `backend: 'nftables'`, nf_tables named sets in the native nftables form's table (./nftables.ts).
 * A rule refers to a set (`-m set --match-set NAME src`); changing who is in it is one netlink
 * message that touches no rule and resets no connlimit count. TypeScript checks every input
 * against the set's type and family first; the addon (native/core/ipset) runs each call on a
 * thread of the handle's own (docs/threads.md). Calls on one handle run one at a time, in call order.
 */
import { binding } from '../binding';
import { ClosedError, fromNative, invalid, ValidationError, type NativeErrorContext, type ValidationIssue } from '../errors';
import type { NativeIpsetHandle, NativeListedElement, NativeNftablesSetHandle, NativeSetElement, NativeSetHeader } from '../native-types';
import { resolveNetns } from '../netns';
import type { Family } from '../rule/types';
import { joinGroup, serialize } from '../serial-queue';
import type {
  AddOptions,
  CreateSetOptions,
  DeleteOptions,
  ListedSet,
  ListedSetEntry,
  ListEntriesOptions,
  SetEntryInput,
  SetHeaderInfo,
  SetsOptions,
  TestOptions,
} from './types';
import { describe } from '../rule/validate';
import { checkNftablesAdd, checkNftablesCreate, checkNftablesSetName, MAX_NFT_SET_NAME_BYTES, nftablesCannot } from './nftables';
import { packAddresses, packCalls, packElements, type ElementCall, type PackedElements } from './packed-calls';
import { addOptions, createSpec, deleteOptions, element, entryText, handleFamily, nomatchProblem, ownOptions, plainIpv4Element, plainIpv4Entry, protocolName, setName, setsBackend, takesPlainIpv4, testOptions, type SetShape } from './validate';

let handles = 0;

/** The kernel's "not in the set" answer to a TEST (IPSET_ERR_EXIST). */
const IPSET_ERR_EXIST = 4103;

/** A one-element call waiting in the queue, maybe beside others (see Sets.single). */
interface SingleCall {
  call: ElementCall;
  /** A test's answer; add and delete settle with nothing. */
  resolve(member?: boolean): void;
  reject(error: unknown): void;
}

function headerInfo(h: NativeSetHeader): SetHeaderInfo {
  const { elements, ...rest } = h;
  return { ...rest, size: elements };
}

function listedEntry(h: SetHeaderInfo, e: NativeListedElement): ListedSetEntry {
  const { proto, ...rest } = e;
  return { text: entryText(h.type, h.family, e), ...rest, ...(proto !== undefined ? { proto: protocolName(proto) } : {}) };
}

function shapeOf(h: NativeSetHeader, backend: 'ipset' | 'nftables'): SetShape {
  return { type: h.type, family: h.family, timeout: h.timeout !== null, comment: h.comment, nftables: backend === 'nftables' };
}

/**
 * The ipset sets of one network namespace.
 *
 * @example
 * const sets = await Sets.open({ netns: 'edge' });
 * await sets.create('connlimit-ban', { type: 'hash:ip', timeout: 0 });
 * await sets.add('connlimit-ban', '203.0.113.7', { timeout: 600 });
 * await sets.close();
 */
export class Sets {
  /** The namespace file path, or null for the caller's own namespace. */
  readonly netns: string | null;
  /** The family of sets create() makes unless told otherwise. */
  readonly family: Family;
  /** 'ipset' (the kernel's ip_set; for the 'legacy' and 'nft' backends) or 'nftables' (named sets of the native form). */
  readonly backend: 'ipset' | 'nftables';
  private readonly native: NativeIpsetHandle | NativeNftablesSetHandle;
  private readonly queue = `ipset:${++handles}`;
  // What element calls are checked against, per set name, from a create() of ours or the
  // kernel's header (one round trip the first time a set is used). Dropped when a call on the
  // set fails, so a set replaced by another program is looked up again.
  private readonly shapes = new Map<string, SetShape>();
  private closed = false;

  private constructor(netnsPath: string | null, family: Family, backend: 'ipset' | 'nftables') {
    this.netns = netnsPath;
    this.family = family;
    this.backend = backend;
    this.native = backend === 'nftables' ? new (binding().NftablesSetHandle)({ netnsPath, family }) : new (binding().IpsetHandle)({ netnsPath });
  }

  /**
   * Open the namespace's sets: enters the namespace off the main thread, creates an ipset
   * socket there and checks that the kernel's ip_set answers (protocol 7).
   * @throws {ERR_CONNLIMIT_INVALID} bad options, a netns path that is not a network namespace
   * @throws {ERR_CONNLIMIT_PERMISSION} no CAP_NET_ADMIN in the namespace
   * @throws {ERR_CONNLIMIT_UNSUPPORTED} no ip_set in the kernel (`modprobe ip_set`)
   */
  static async open(options: SetsOptions = {}): Promise<Sets> {
    const o = ownOptions(options, 'options', ['family', 'netns', 'backend']);
    const sets = new Sets(resolveNetns(o.netns), handleFamily(o.family), setsBackend(o.backend));
    try {
      await sets.native.open();
    } catch (e) {
      sets.native.close();
      throw fromNative(e, sets.context());
    }
    return sets;
  }

  /**
   * Make a set (`ipset create`), with the revision ipset 7.17 would use, so `ipset list`
   * shows it as the CLI would have made it.
   * @throws {ERR_CONNLIMIT_EXISTS} a set of that name exists (with `exist: true`: one with other settings)
   * @example await sets.create('vip', { type: 'hash:net', counters: true });
   */
  async create(name: string, options: CreateSetOptions): Promise<void> {
    const spec = createSpec(name, options, this.family, this.backend === 'nftables' ? MAX_NFT_SET_NAME_BYTES : undefined);
    if (this.backend === 'nftables') checkNftablesCreate(spec, this.family);
    return this.run(async () => {
      await this.native.create(spec);
      this.shapes.set(spec.name, { type: spec.type, family: spec.family, timeout: spec.timeout !== undefined, comment: spec.comment || this.backend === 'nftables', nftables: this.backend === 'nftables' });
    }, spec.name);
  }

  /** create() with `exist: true`: no error when an equal set is already there. */
  async ensure(name: string, options: CreateSetOptions): Promise<void> {
    return this.create(name, { ...ownOptions(options, 'options', ['type', 'family', 'timeout', 'maxelem', 'hashsize', 'counters', 'comment', 'exist']), exist: true } as CreateSetOptions);
  }

  /**
   * Put an entry in a set: one netlink message.
   * @throws {ERR_CONNLIMIT_INVALID} an entry of the wrong family or shape for the set, a timeout or comment the set can't take
   * @throws {ERR_CONNLIMIT_EXISTS} the entry is there already (unless `exist: true`, which replaces it)
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such set
   * @example await sets.add('connlimit-ban', '203.0.113.7', { timeout: 600 });
   */
  add(name: string, entry: SetEntryInput, options?: AddOptions): Promise<void> {
    // Not async: an add in flight is the one promise single() makes (an async wrapper was two
    // more, and their ticks, per add). A bad input still rejects; it never throws.
    try {
      return this.elements('add', name, [entry], this.addOptions(options), 'entry');
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Put many entries in a set, packed as `ipset restore` packs them (many per message, many
   * messages per sendmsg). Every entry is checked before anything is sent. Not atomic (ipset
   * has no transactions): on a refusal the error's `opIndex` names the entry; entries before
   * it are in the set, it and some after it are not.
   */
  async addMany(name: string, entries: readonly SetEntryInput[], options?: AddOptions): Promise<void> {
    return await this.elements('add', name, entries, this.addOptions(options), 'entries');
  }

  /**
   * Take an entry out of a set.
   * @throws {ERR_CONNLIMIT_NOT_FOUND} the entry or set isn't there (the entry: unless `exist: true`)
   */
  delete(name: string, entry: SetEntryInput, options?: DeleteOptions): Promise<void> {
    // Not async, as add().
    try {
      return this.elements('del', name, [entry], { exist: deleteOptions(options) }, 'entry');
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** delete() for many entries, batched as addMany(). */
  async deleteMany(name: string, entries: readonly SetEntryInput[], options?: DeleteOptions): Promise<void> {
    return await this.elements('del', name, entries, { exist: deleteOptions(options) }, 'entries');
  }

  /**
   * Whether an entry is in a set (as the kernel matches it: an address inside a hash:net
   * entry is in the set). With `nomatch`, whether it is there as a `nomatch` entry.
   * @throws {ERR_CONNLIMIT_INVALID} `nomatch` on a type without such entries, or on the native form
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such set
   * @example await sets.test('nets', '10.1.0.0/16', { nomatch: true });
   */
  async test(name: string, entry: SetEntryInput, options?: TestOptions): Promise<boolean> {
    const set = this.name(name);
    const o = testOptions(options);
    // Refused as add()'s nomatch is: nf_tables elements have none.
    if (this.backend === 'nftables') checkNftablesAdd(o);
    const check = (shape: SetShape): NativeSetElement => {
      const nomatch = o.nomatch ? nomatchProblem(shape) : null;
      if (nomatch) throw new ValidationError([nomatch]);
      const issues: ValidationIssue[] = [];
      const e = element(entry, { ...shape, timeout: false, comment: false }, o, 'entry', issues);
      if (!e) throw new ValidationError(issues);
      return e;
    };
    const known = this.shapes.get(set);
    if (known) return this.single('test', set, check(known), false) as Promise<boolean>;
    return this.run(async () => this.native.test(set, check(await this.shape(set))), set);
  }

  /**
   * A set's header and entries (remaining timeout, counters and comment where the set has them).
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such set
   */
  async list(name: string): Promise<ListedSet> {
    const set = this.name(name);
    return this.run(async () => {
      const l = await this.native.list(set);
      const h = headerInfo(l.header);
      this.shapes.set(set, shapeOf(l.header, this.backend));
      return { header: h, entries: l.entries.map((e) => listedEntry(h, e)) };
    }, set);
  }

  /**
   * A set's entries as an async iterator fed by native batches, for sets too big to hold
   * whole: only one batch exists as JS objects at a time, and the kernel makes the next part
   * of its dump only when it is read. Each listing has its own socket, so the loop body may
   * call this handle; breaking out of the loop ends the dump. While a listing is open the
   * kernel holds the set (destroy() is refused as in use). Entries added or deleted during a
   * listing may or may not appear (the kernel walks its hash a bucket range at a time).
   * @throws {ERR_CONNLIMIT_INVALID} a bad name or batchSize (at once, before the kernel is asked)
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such set (from the first step of the loop)
   * @example for await (const e of sets.entries('vip')) console.log(e.text, e.timeout);
   */
  entries(name: string, options: ListEntriesOptions = {}): AsyncIterableIterator<ListedSetEntry> {
    const set = this.name(name);
    const o = ownOptions(options, 'options', ['batchSize']);
    const batchSize = o.batchSize ?? 4096;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000) {
      throw new ValidationError([{ path: 'batchSize', message: 'must be an integer 1-1000000' }]);
    }
    if (this.closed) throw new ClosedError('the sets handle');
    return this.stream(set, batchSize);
  }

  /**
   * A set's header without its entries (`ipset list -t`): type, family, size and options.
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such set
   */
  async header(name: string): Promise<SetHeaderInfo> {
    return this.readHeader(name, true);
  }

  /**
   * @internal header() without `size` on the native form (0 there: nf_tables reports no count,
   * so counting is a dump of the set), for callers that want its type and options.
   */
  async headerUncounted(name: string): Promise<SetHeaderInfo> {
    return this.readHeader(name, false);
  }

  /** The names of every set in the namespace (`ipset list -n`). */
  async names(): Promise<string[]> {
    return this.run(() => this.native.names());
  }

  /** Empty a set. @throws {ERR_CONNLIMIT_NOT_FOUND} no such set */
  async flush(name: string): Promise<void> {
    const set = this.name(name);
    return this.run(() => this.native.named('flush', set, null, false), set);
  }

  /**
   * Remove a set.
   * @throws {ERR_CONNLIMIT_IN_USE} a rule refers to it (`-m set --match-set`)
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such set (unless `exist: true`)
   */
  async destroy(name: string, options?: DeleteOptions): Promise<void> {
    const set = this.name(name);
    const exist = deleteOptions(options);
    return this.run(async () => {
      this.shapes.delete(set);
      await this.native.named('destroy', set, null, exist);
    }, set);
  }

  /**
   * Give a set another name; rules that refer to it must not (ipset refuses while referenced).
   * @throws {ERR_CONNLIMIT_EXISTS} a set named `to` exists
   * @throws {ERR_CONNLIMIT_IN_USE} a rule refers to the set
   */
  async rename(from: string, to: string): Promise<void> {
    const a = this.name(from, 'from');
    const b = this.name(to, 'to');
    if (this.backend === 'nftables') throw nftablesCannot('rename');
    return this.run(async () => {
      this.shapes.delete(a);
      this.shapes.delete(b);
      await this.native.named('rename', a, b, false);
    }, a);
  }

  /**
   * Exchange two sets' contents; rules keep referring to the names (fill a new set, then swap
   * it in). Both must be of the same type and family.
   * @throws {ERR_CONNLIMIT_NOT_FOUND} either set is missing
   */
  async swap(a: string, b: string): Promise<void> {
    const x = this.name(a, 'a');
    const y = this.name(b, 'b');
    if (this.backend === 'nftables') throw nftablesCannot('swap');
    return this.run(async () => {
      this.shapes.delete(x);
      this.shapes.delete(y);
      await this.native.named('swap', x, y, false);
    }, x);
  }

  /**
   * @internal The kernel index a `-m set` rule holds for the set, and the set's family
   * (NFPROTO_IPV4 2, NFPROTO_IPV6 10), as libxt_set looks it up; null when there is no such set.
   */
  async indexOf(name: string): Promise<{ index: number; family: number } | null> {
    const set = this.name(name);
    return this.run(() => this.ipset().setIndex(set), set);
  }

  /** @internal The name of the set at a kernel index (a listed `-m set` rule's), null when none is there. */
  async nameAt(index: number): Promise<string | null> {
    return this.run(() => this.ipset().setName(index));
  }

  /** Release the socket. Idempotent; later calls fail with ERR_CONNLIMIT_CLOSED. Calls in flight finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }

  /** Throws bad input at once; the callers make that a rejection. */
  private elements(cmd: 'add' | 'del', name: string, entries: readonly SetEntryInput[], options: AddOptions, path: string): Promise<void> {
    const set = this.name(name);
    if (path === 'entry') {
      // The common add or delete in flight (an address, an add's timeout) without the walk below.
      const known = this.shapes.get(set);
      const plain = known ? plainIpv4Element(entries[0], known, options) : null;
      if (plain) return this.single(cmd, set, plain, options.exist === true) as Promise<void>;
    }
    if (!Array.isArray(entries)) throw new ValidationError([{ path, message: 'must be an array of entries' }]);
    const list = [...entries];
    // Checked now against what this handle knows of the set, so bad input throws before the
    // call is queued; a set not yet known is looked up first, in the queue.
    const known = this.shapes.get(set);
    // A string: an addMany's IPv4 address alone (packElements). Packed: addresses alone, all of them.
    const check = (shape: SetShape): Array<NativeSetElement | string> | PackedElements => {
      const issues: ValidationIssue[] = [];
      const out: Array<NativeSetElement | string> = [];
      const defaults = cmd === 'add' ? options : {};
      const nomatch = options.nomatch ? nomatchProblem(shape) : null;
      if (nomatch) throw new ValidationError([nomatch]);
      const entryShape = cmd === 'add' ? shape : { ...shape, timeout: false, comment: false };
      // An addMany of addresses: each checked the short way and kept as its text, or when every
      // one is an address alone, checked and packed at once.
      const short = path === 'entries';
      const packed = short && takesPlainIpv4(entryShape, defaults) ? packAddresses(list, cmd === 'add' ? options.timeout : undefined) : null;
      if (packed) return packed;
      list.forEach((entry, i) => {
        const e = short && plainIpv4Entry(entry, entryShape, defaults) ? entry : element(entry, entryShape, defaults, list.length === 1 && path === 'entry' ? 'entry' : `${path}[${i}]`, issues);
        if (e) out.push(e);
      });
      if (issues.length) throw new ValidationError(issues);
      return out;
    };
    const ready = known ? check(known) : null;
    if (list.length === 0) return Promise.resolve();
    if (Array.isArray(ready) && ready.length === 1 && path === 'entry') return this.single(cmd, set, ready[0] as NativeSetElement, options.exist === true) as Promise<void>;
    return this.run(async () => {
      const elements = ready ?? check(await this.shape(set));
      await this.sendElements(cmd, set, elements, options.exist === true, cmd === 'add' ? options.timeout : undefined);
    }, set);
  }

  private async *stream(set: string, batchSize: number): AsyncGenerator<ListedSetEntry> {
    // The loop's first step may come after close().
    if (this.closed) throw new ClosedError('the sets handle');
    // Both kinds stream batch by batch, each listing on a socket of its own.
    const listing =
      this.backend === 'nftables'
        ? new (binding().NftablesSetList)(this.native as NativeNftablesSetHandle, set, batchSize)
        : new (binding().IpsetList)(this.ipset(), set, batchSize);
    try {
      for (;;) {
        let batch: Awaited<ReturnType<typeof listing.next>>;
        try {
          batch = await listing.next();
        } catch (e) {
          throw fromNative(e, this.context(set));
        }
        const h = headerInfo(batch.header);
        for (const e of batch.entries) yield listedEntry(h, e);
        if (batch.done) return;
      }
    } finally {
      listing.close();
    }
  }

  /**
   * A checked one-element call (add, delete, test). Calls that queue up behind each other join
   * one group, sent in one trip to the handle's thread and one sendmsg when its turn comes
   * (serial-queue's group commit; on the native form a test goes alone, and adds and deletes in
   * one batch): each keeps its own answer, as if made alone, and the queue's order is kept.
   */
  private single(cmd: ElementCall[0], set: string, e: NativeSetElement, exist: boolean): Promise<boolean | undefined> {
    if (this.closed) return Promise.reject(new ClosedError('the sets handle'));
    return new Promise<boolean | undefined>((resolve, reject) =>
      joinGroup<SingleCall>(this.queue, this, { call: [cmd, set, e, exist], resolve, reject }, (members) => this.sendSingles(members)),
    );
  }

  /** Settles every member itself; never rejects. */
  private async sendSingles(members: SingleCall[]): Promise<void> {
    if (this.closed) {
      for (const m of members) m.reject(new ClosedError('the sets handle'));
      return;
    }
    if (this.backend === 'nftables') {
      // Adds and deletes go side by side in one batch, a lone one too (one way across); a test
      // (a plain request) goes alone, in its turn.
      for (let i = 0; i < members.length; ) {
        let j = i;
        while (j < members.length && members[j]!.call[0] !== 'test') j++;
        if (j === i) await this.sendOne(members[i++]!);
        else {
          await this.sendEach(i === 0 && j === members.length ? members : members.slice(i, j));
          i = j;
        }
      }
      return;
    }
    await (members.length === 1 ? this.sendOne(members[0]!) : this.sendEach(members));
  }

  /** One call alone (ipset's, or a test on either); never rejects. */
  private async sendOne(m: SingleCall): Promise<void> {
    const [cmd, set, e, exist] = m.call;
    try {
      if (cmd === 'test') m.resolve(await this.native.test(set, e));
      else {
        await this.sendElements(cmd, set, [e], exist);
        m.resolve();
      }
    } catch (error) {
      this.shapes.delete(set);
      m.reject(fromNative(error, this.context(set)));
    }
  }

  /** Several one-element calls in one trip, each settled with its own answer; never rejects. */
  private async sendEach(members: SingleCall[]): Promise<void> {
    const fail = (m: SingleCall, error: unknown): void => {
      this.shapes.delete(m.call[1]);
      m.reject(fromNative(error, this.context(m.call[1])));
    };
    let answers: Array<Error | null> | null;
    try {
      const packed = packCalls(members.map((m) => m.call));
      answers = await this.native.each(packed.records, packed.names, packed.objects);
    } catch (error) {
      for (const m of members) fail(m, error);
      return;
    }
    // null: every call went in (the addon spares the array of nulls).
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      const error = answers === null ? null : answers[i]!;
      if (error === null) m.resolve(m.call[0] === 'test' ? true : undefined);
      else if (m.call[0] === 'test' && (error as { errno?: number }).errno === IPSET_ERR_EXIST) m.resolve(false);
      else fail(m, error);
    }
  }

  /** Elements of one call to the addon, packed (./packed-calls.ts; a string is an address alone with `timeout`). */
  private sendElements(cmd: 'add' | 'del', set: string, elements: Array<NativeSetElement | string> | PackedElements, exist: boolean, timeout?: number): Promise<void> {
    const packed = Array.isArray(elements) ? packElements(elements, timeout) : elements;
    return this.native.elements(cmd, set, packed.records, packed.objects, exist);
  }

  /** An add's options as this backend takes them. */
  private addOptions(options: AddOptions | undefined): AddOptions {
    const o = addOptions(options);
    return this.backend === 'nftables' ? checkNftablesAdd(o) : o;
  }

  /** A set name as this backend takes it (ipset: 31 bytes; nf_tables: 255, none of the rules' own). */
  private name(name: unknown, path = 'name'): string {
    if (this.backend !== 'nftables') return setName(name, path);
    const n = setName(name, path, MAX_NFT_SET_NAME_BYTES);
    checkNftablesSetName(n, path);
    return n;
  }

  /** The ipset handle, for the calls only ipset has (set indexes, streamed listings, mixed batches). */
  private ipset(): NativeIpsetHandle {
    if (this.backend === 'nftables') throw new Error('connlimit internal: an ipset-only call on a native-form sets handle');
    return this.native as NativeIpsetHandle;
  }

  private async readHeader(name: string, withSize: boolean): Promise<SetHeaderInfo> {
    const set = this.name(name);
    return this.run(async () => {
      const h = await this.native.header(set, withSize);
      this.shapes.set(set, shapeOf(h, this.backend));
      return headerInfo(h);
    }, set);
  }

  private async shape(set: string): Promise<SetShape> {
    const known = this.shapes.get(set);
    if (known) return known;
    const shape = shapeOf(await this.native.header(set), this.backend);
    this.shapes.set(set, shape);
    return shape;
  }

  private context(set?: string): NativeErrorContext {
    return { netns: this.netns, ...(set !== undefined ? { set } : {}) };
  }

  /** Queued behind this handle's earlier calls; native failures get their meaning here. */
  private run<T>(work: () => Promise<T>, set?: string): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError('the sets handle'));
    return serialize(this.queue, async () => {
      if (this.closed) throw new ClosedError('the sets handle');
      try {
        return await work();
      } catch (e) {
        if (e instanceof ValidationError) throw e;
        if (set !== undefined) this.shapes.delete(set);
        throw fromNative(e, this.context(set));
      }
    });
  }
}
