// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * fromNative (src/errors.ts) on native-shaped errors, one row per kind and errno, no kernel:
 * each gives the class, code and hint users have always seen. The kind decides, with the errno
 * where the kernel's errno is what tells; the op is only quoted, so renaming it changes
 * nothing. The addon's list of kinds (native/js/errors.cc) is the one the rows cover.
 */
import { constants } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import {
  BusyError,
  ClosedError,
  ExistsError,
  fromNative,
  InUseError,
  KernelError,
  KernelSupportError,
  NetnsGoneError,
  NotFoundError,
  PermissionError,
  ValidationError,
  type ConnlimitError,
  type NativeErrorContext,
} from '../src/errors';
import type { NativeErrorKind, NativeErrorShape } from '../src/native-types';
import { readCtFixture } from './helpers/ct-fixtures';

// ---------------------------------------------------------------------------------------------
// helpers

type IpsetErrName = 'IPSET_ERR_PROTOCOL' | 'IPSET_ERR_FIND_TYPE' | 'IPSET_ERR_EXIST_SETNAME2' | 'IPSET_ERR_EXIST' | 'IPSET_ERR_REFERENCED' | 'IPSET_ERR_HASH_FULL';
type ErrnoName = keyof typeof constants.errno | 'ERESTART' | 'ESTALE' | IpsetErrName;
// uapi asm-generic/errno.h: libuv has no name for ERESTART and ESTALE; ip_set's own numbers
// (linux/netfilter/ipset/ip_set.h, ip_set_hash.h) come from 4096 up.
const KERNEL_ONLY: Record<string, number> = {
  ERESTART: 85,
  ESTALE: 116,
  IPSET_ERR_PROTOCOL: 4097,
  IPSET_ERR_FIND_TYPE: 4098,
  IPSET_ERR_EXIST_SETNAME2: 4101,
  IPSET_ERR_EXIST: 4103,
  IPSET_ERR_REFERENCED: 4108,
  IPSET_ERR_HASH_FULL: 4352,
};
const errnoOf = (name: ErrnoName): number => KERNEL_ONLY[name] ?? constants.errno[name as keyof typeof constants.errno];

/** What the addon rejects with (native/js/errors.cc ErrorFromKernel). */
function native(kind: NativeErrorKind, errno: ErrnoName, op: string, detail = ''): NativeErrorShape {
  const message = `${op}: errno ${errnoOf(errno)}`;
  return Object.assign(new Error(message), { errno: errnoOf(errno), kind, op, detail });
}

const FILTER: NativeErrorContext = { table: 'filter', family: 'ipv4', extensions: ['connlimit', 'comment'] };
const RAW6: NativeErrorContext = { table: 'raw', family: 'ipv6' };

// The hints, word for word as users see them.
const CAP_HINT = 'needs CAP_NET_ADMIN (and CAP_NET_RAW for legacy tables) in the target network namespace: run as root or grant the capabilities';
const SETNS_HINT =
  "entering another network namespace (the netns option) needs CAP_SYS_ADMIN besides CAP_NET_ADMIN over it; with only CAP_NET_ADMIN and CAP_NET_RAW, start the process inside the namespace ('ip netns exec NAME ...') and leave netns unset";
const NETNS_FILE_HINT = 'is it a network namespace file (/run/netns/NAME or /proc/PID/ns/net)?';
const NETNS_GONE_HINT = 'nothing was sent to the kernel; open a new handle or watch for the namespace the name names now';
const LOCK_FILE_HINT =
  'lockPath (or $XTABLES_LOCKFILE) must name a file in an existing directory this process may create and open; iptables uses /run/xtables.lock';
const MODPROBE_XT = "try 'modprobe xt_connlimit xt_comment' (see /proc/net/ip_tables_matches and ip_tables_targets)";
const LOOP_FIX = 'remove the jump that closes the loop; nothing was applied';
const LEGACY_EINVAL_HINT =
  "'dmesg | tail' names the extension and why (a data size the kernel doesn't expect, a target outside the table or chain it allows); if 'dmesg' says nothing, another program wrote the table without the xtables lock at the same moment and the change may have been applied: list to see";
const NFT_EINVAL_HINT = "nothing was applied; 'dmesg | tail' names the extension and why when the refusal came from a match's or target's checkentry";
const OWNER_HINT =
  'that program owns the table until it exits (its netlink port is usually its pid); let it manage these rules, or use the legacy backend or another table; nothing was applied';
const CTNETLINK_HINT = "try 'modprobe nf_conntrack_netlink'";

type ErrorClass = abstract new (...args: never[]) => Error;

interface Row {
  errno: ErrnoName;
  /** The op native code gives today: quoted in messages, never compared. */
  op: string;
  detail?: string;
  ctx?: NativeErrorContext;
  cls: ErrorClass;
  code: string;
  hint?: string;
  /** Only where the message is the point (which chain, which namespace). */
  message?: RegExp;
}

// Every kind the addon can report, with every errno its meaning depends on.
const ROWS: Record<NativeErrorKind, Row[]> = {
  none: [
    { errno: 'EPERM', op: 'iptc_create_chain', cls: PermissionError, code: 'ERR_CONNLIMIT_PERMISSION', hint: CAP_HINT },
    { errno: 'EACCES', op: 'nft get table', cls: PermissionError, code: 'ERR_CONNLIMIT_PERMISSION', hint: CAP_HINT },
    { errno: 'EEXIST', op: 'chain', detail: 'LIMITS', cls: ExistsError, code: 'ERR_CONNLIMIT_EXISTS', message: /^chain \(LIMITS\): already exists$/ },
    { errno: 'EMLINK', op: 'iptc_delete_chain', cls: InUseError, code: 'ERR_CONNLIMIT_IN_USE', hint: 'delete the rules that jump to it first' },
    { errno: 'ENOTEMPTY', op: 'chain', cls: InUseError, code: 'ERR_CONNLIMIT_IN_USE', hint: 'flush it first' },
    { errno: 'EOPNOTSUPP', op: 'rule', detail: 'INPUT: deleted in the transaction', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', message: /^rule failed with ENOTSUP: INPUT/ },
    { errno: 'EBADF', op: 'not open', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL' },
  ],
  malformed: [{ errno: 'EBADMSG', op: 'ct decode', detail: 'malformed attribute', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL' }],
  closed: [
    { errno: 'EBADF', op: 'closed', ctx: FILTER, cls: ClosedError, code: 'ERR_CONNLIMIT_CLOSED', message: /^the firewall handle for iptables table 'filter' is closed$/ },
    { errno: 'EBADF', op: 'closed', cls: ClosedError, code: 'ERR_CONNLIMIT_CLOSED', message: /^the handle is closed$/ },
  ],
  netnsPathInvalid: [{ errno: 'EINVAL', op: 'netns type', detail: '/tmp/f is a FIFO, not a network namespace', cls: ValidationError, code: 'ERR_CONNLIMIT_INVALID' }],
  lockPathInvalid: [{ errno: 'EINVAL', op: 'xtables lock type', detail: '/tmp/d is not a regular file', cls: ValidationError, code: 'ERR_CONNLIMIT_INVALID' }],
  netnsOpen: [
    { errno: 'ENOENT', op: 'open netns', detail: '/run/netns/x', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', message: /network namespace not found: \/run\/netns\/x/ },
    { errno: 'EACCES', op: 'open netns', cls: PermissionError, code: 'ERR_CONNLIMIT_PERMISSION', hint: CAP_HINT },
    { errno: 'ELOOP', op: 'open netns', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: NETNS_FILE_HINT },
  ],
  netnsEnter: [
    { errno: 'EPERM', op: 'setns', cls: PermissionError, code: 'ERR_CONNLIMIT_PERMISSION', hint: SETNS_HINT },
    { errno: 'ENOENT', op: 'setns', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND' },
    { errno: 'EINVAL', op: 'setns', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: NETNS_FILE_HINT },
  ],
  netnsGone: [
    { errno: 'ENOENT', op: 'netns gone', detail: '/run/netns/x', cls: NetnsGoneError, code: 'ERR_CONNLIMIT_NETNS_GONE', hint: NETNS_GONE_HINT, message: /was deleted/ },
    { errno: 'ESTALE', op: 'netns gone', detail: '/run/netns/x', cls: NetnsGoneError, code: 'ERR_CONNLIMIT_NETNS_GONE', hint: NETNS_GONE_HINT, message: /names another network namespace now/ },
  ],
  xtablesLock: [
    { errno: 'EAGAIN', op: 'xtables lock', cls: BusyError, code: 'ERR_CONNLIMIT_BUSY', hint: 'retry later, or raise lockTimeoutMs' },
    { errno: 'EACCES', op: 'xtables lock', cls: PermissionError, code: 'ERR_CONNLIMIT_PERMISSION', hint: LOCK_FILE_HINT },
    { errno: 'EROFS', op: 'xtables lock', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: LOCK_FILE_HINT },
  ],
  tableInit: [
    { errno: 'ENOENT', op: 'iptc_init', ctx: FILTER, cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: "try 'modprobe iptable_filter'" },
    { errno: 'ENOPROTOOPT', op: 'iptc_init', ctx: RAW6, cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: "try 'modprobe ip6table_raw'" },
    { errno: 'EPERM', op: 'iptc_init', cls: PermissionError, code: 'ERR_CONNLIMIT_PERMISSION', hint: CAP_HINT },
  ],
  legacyCommit: [
    { errno: 'EAGAIN', op: 'iptc_commit', cls: BusyError, code: 'ERR_CONNLIMIT_BUSY', hint: 'another program writes this table without taking the xtables lock; retry' },
    { errno: 'ENOENT', op: 'iptc_commit', ctx: FILTER, cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: `the kernel lacks a match or target this rule uses: ${MODPROBE_XT}` },
    { errno: 'EPROTOTYPE', op: 'iptc_commit', ctx: FILTER, cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: `a newer kernel may have it; ${MODPROBE_XT}` },
    { errno: 'ELOOP', op: 'iptc_commit', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: LOOP_FIX },
    { errno: 'EINVAL', op: 'iptc_commit', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: LEGACY_EINVAL_HINT },
    { errno: 'EEXIST', op: 'iptc_commit', cls: ExistsError, code: 'ERR_CONNLIMIT_EXISTS' },
  ],
  nftSocket: [
    { errno: 'EPROTONOSUPPORT', op: 'nft socket', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: "try 'modprobe nf_tables', or backend: 'legacy'" },
    { errno: 'EAFNOSUPPORT', op: 'nft getgen', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: "try 'modprobe nf_tables', or backend: 'legacy'" },
    // errno 95: the kernel's EOPNOTSUPP, which Node names ENOTSUP (the same number on Linux).
    { errno: 'EOPNOTSUPP', op: 'nft socket', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: "try 'modprobe nf_tables', or backend: 'legacy'" },
    { errno: 'ENOMEM', op: 'nft socket', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL' },
  ],
  nftCommit: [
    { errno: 'ERESTART', op: 'nft commit', cls: BusyError, code: 'ERR_CONNLIMIT_BUSY', hint: 'another program kept writing the ruleset (nf_tables generation id); retry' },
    { errno: 'ELOOP', op: 'nft commit', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: LOOP_FIX },
    { errno: 'EMLINK', op: 'nft commit', detail: 'chain LIMITS', cls: InUseError, code: 'ERR_CONNLIMIT_IN_USE', hint: 'delete the rules that jump to it first' },
    { errno: 'ENOENT', op: 'nft commit', ctx: FILTER, cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: `the kernel lacks a match or target this rule uses: ${MODPROBE_XT}` },
    { errno: 'EOPNOTSUPP', op: 'nft commit', ctx: FILTER, cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: `the kernel lacks a match or target this rule uses: ${MODPROBE_XT}` },
    { errno: 'EINVAL', op: 'nft commit', detail: 'chain LIMITS', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: NFT_EINVAL_HINT },
    { errno: 'EPERM', op: 'nft commit', cls: PermissionError, code: 'ERR_CONNLIMIT_PERMISSION', hint: CAP_HINT },
  ],
  nftCommitRule: [
    { errno: 'EMLINK', op: 'nft commit', detail: 'rule INPUT', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: LOOP_FIX, message: /a jump \(-j\/-g\) in rule INPUT closes a loop/ },
    { errno: 'EINVAL', op: 'nft commit', detail: 'rule INPUT', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: NFT_EINVAL_HINT },
    { errno: 'EEXIST', op: 'nft commit', cls: ExistsError, code: 'ERR_CONNLIMIT_EXISTS' },
  ],
  tableOwned: [
    {
      errno: 'EPERM',
      op: 'nft table owner',
      detail: 'filter: netlink port 4242',
      ctx: FILTER,
      cls: InUseError,
      code: 'ERR_CONNLIMIT_IN_USE',
      hint: OWNER_HINT,
      message: /^iptables table 'filter' belongs to another program \(nf_tables table flag 'owner', netlink port 4242\)/,
    },
  ],
  chainNotFound: [{ errno: 'ENOENT', op: 'chain', detail: 'LIMITS', ctx: FILTER, cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', message: /^no chain 'LIMITS' in iptables table 'filter'$/ }],
  ruleNotFound: [{ errno: 'ENOENT', op: 'rule', detail: 'INPUT', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', message: /^no matching rule in chain 'INPUT'$/ }],
  positionNotFound: [{ errno: 'E2BIG', op: 'rule', detail: 'INPUT', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', message: /^no rule at that position in chain 'INPUT'$/ }],
  ctSocket: [
    { errno: 'EAFNOSUPPORT', op: 'ct socket', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: CTNETLINK_HINT },
    { errno: 'EPROTONOSUPPORT', op: 'ct socket', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: CTNETLINK_HINT },
    { errno: 'EPERM', op: 'ct socket', cls: PermissionError, code: 'ERR_CONNLIMIT_PERMISSION', hint: CAP_HINT },
  ],
  conntrack: [
    { errno: 'EOPNOTSUPP', op: 'ct dump', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: CTNETLINK_HINT },
    { errno: 'EPROTONOSUPPORT', op: 'ct events', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: CTNETLINK_HINT },
    { errno: 'EAFNOSUPPORT', op: 'ct stats', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL' },
    { errno: 'EINVAL', op: 'ct delete', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL' },
  ],
  ctDumpInterrupted: [{ errno: 'EINTR', op: 'ct dump', cls: BusyError, code: 'ERR_CONNLIMIT_BUSY', hint: 'retry; results are never returned partial' }],
  ipsetSocket: [
    { errno: 'EPROTONOSUPPORT', op: 'ipset socket', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: "try 'modprobe ip_set'" },
    { errno: 'ETIMEDOUT', op: 'ipset add', detail: 'vip', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL' },
  ],
  ipsetHandshake: [{ errno: 'IPSET_ERR_PROTOCOL', op: 'ipset protocol', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: 'ipset sets need Linux 5.x or later' }],
  ipsetType: [{ errno: 'IPSET_ERR_FIND_TYPE', op: 'ipset type', detail: 'hash:net,iface', cls: KernelSupportError, code: 'ERR_CONNLIMIT_UNSUPPORTED', hint: "try 'modprobe ip_set_hash_net_iface'" }],
  ipset: [
    { errno: 'ENOENT', op: 'ipset add', detail: 'vip', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', hint: 'create it first (sets.create or ensure)' },
    { errno: 'IPSET_ERR_EXIST', op: 'ipset add', detail: 'vip', cls: ExistsError, code: 'ERR_CONNLIMIT_EXISTS', hint: 'pass exist: true to replace it (its timeout and comment too)' },
    { errno: 'IPSET_ERR_REFERENCED', op: 'ipset destroy', detail: 'vip', cls: InUseError, code: 'ERR_CONNLIMIT_IN_USE', hint: 'delete the rules that refer to it first' },
    { errno: 'IPSET_ERR_EXIST_SETNAME2', op: 'ipset rename', detail: 'vip', cls: ExistsError, code: 'ERR_CONNLIMIT_EXISTS' },
    { errno: 'IPSET_ERR_HASH_FULL', op: 'ipset add', detail: 'vip', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: 'remove entries, or make the set anew with a larger maxelem and swap it in', message: /is full/ },
  ],
  ipsetDelete: [
    { errno: 'IPSET_ERR_EXIST', op: 'ipset del', detail: 'vip', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', hint: 'pass exist: true to ignore entries that are not there' },
    { errno: 'ENOENT', op: 'ipset del', detail: 'vip', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', hint: 'create it first (sets.create or ensure)' },
  ],
  nftSet: [
    { errno: 'ENOENT', op: 'nft list set', detail: 'vip', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', hint: 'create it first (sets.create or ensure)' },
    { errno: 'EEXIST', op: 'nft set', detail: 'vip', cls: ExistsError, code: 'ERR_CONNLIMIT_EXISTS', hint: 'with exist: true (ensure) an equal set is no error; one of another type or with other options still is' },
    { errno: 'EBUSY', op: 'nft set', detail: 'vip', cls: InUseError, code: 'ERR_CONNLIMIT_IN_USE', hint: 'delete the rules that refer to it first' },
  ],
  nftSetElement: [
    { errno: 'ENOENT', op: 'nft set', detail: 'vip', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', hint: 'pass exist: true to ignore entries that are not there' },
    { errno: 'EEXIST', op: 'nft set', detail: 'vip', cls: ExistsError, code: 'ERR_CONNLIMIT_EXISTS', hint: 'pass exist: true to leave it as it is' },
    { errno: 'ENFILE', op: 'nft set', detail: 'vip', cls: KernelError, code: 'ERR_CONNLIMIT_KERNEL', hint: 'remove entries, or make the set anew with a larger maxelem', message: /is full/ },
  ],
  setOutsideTable: [
    {
      errno: 'EOPNOTSUPP',
      op: 'rule INPUT in table connlimit_1',
      detail: 'vip',
      cls: KernelSupportError,
      code: 'ERR_CONNLIMIT_UNSUPPORTED',
      hint: "nothing was applied; insert the rule within the first table's rules (fw.insert, -I CHAIN N), or use backend 'nft' (ipset sets, seen from every table)",
      message: /set 'vip'.*belong to one table/,
    },
  ],
  meterNameTaken: [
    { errno: 'EEXIST', op: 'rule INPUT in table connlimit', detail: 'http', cls: ValidationError, code: 'ERR_CONNLIMIT_INVALID', message: /--hashlimit-name 'http' is the name of another set in that table/ },
  ],
  ipsetSwap: [
    { errno: 'IPSET_ERR_EXIST_SETNAME2', op: 'ipset swap', detail: 'vip', cls: NotFoundError, code: 'ERR_CONNLIMIT_NOT_FOUND', message: /second set of the swap/ },
  ],
};

function check(e: Error, row: Row, what: string): void {
  assert.instance(e, row.cls, `${what}: ${e.constructor.name} ${e.message}`);
  const c = e as ConnlimitError;
  assert.is(c.code, row.code, what);
  assert.is(c.hint, row.hint, what);
  if (row.message) assert.match(e.message, row.message, what);
}

const pick = (e: NativeErrorShape) => ({ kind: e.kind, errno: e.errno });

const rows = (Object.entries(ROWS) as [NativeErrorKind, Row[]][]).flatMap(([kind, list]) => list.map((row) => ({ kind, row })));

// ---------------------------------------------------------------------------------------------

test('the addon reports exactly the kinds the rows cover', () => {
  assert.equal([...binding()._errorKinds].sort(), Object.keys(ROWS).sort());
});

test('each kind, with the errnos it reads, gives its class, code and hint', () => {
  for (const { kind, row } of rows) {
    check(fromNative(native(kind, row.errno, row.op, row.detail), row.ctx), row, `${kind} ${row.errno}`);
  }
});

test('the facts stay on the error: errno name, op, detail, the native error as cause', () => {
  const raw = native('chainNotFound', 'ENOENT', 'chain', 'LIMITS');
  const e = fromNative(raw, FILTER) as ConnlimitError;
  assert.equal({ errno: e.errno, op: e.op, detail: e.detail }, { errno: 'ENOENT', op: 'chain', detail: 'LIMITS' });
  assert.is(e.cause, raw);
  const v = fromNative(native('netnsPathInvalid', 'EINVAL', 'netns type', '/tmp/f is a FIFO, not a network namespace')) as ValidationError;
  assert.is(v.path, 'netns');
  assert.is((fromNative(native('lockPathInvalid', 'EINVAL', 'xtables lock type', '/tmp/d is not a regular file')) as ValidationError).path, 'lockPath');
});

test('renaming the op changes no class, code or hint', () => {
  const others = ['renamed', 'iptc_commit', 'nft commit', 'nft table owner', 'chain', 'rule', 'ct dump', 'setns', 'xtables lock', 'closed', ''];
  for (const { kind, row } of rows) {
    for (const op of others) {
      const e = fromNative(native(kind, row.errno, op, row.detail), row.ctx);
      check(e, { ...row, message: undefined }, `${kind} ${row.errno} as op '${op}'`);
      assert.is((e as ConnlimitError).op ?? op, op, 'the op is still reported, as given');
    }
  }
});

test('one op, different kinds: the kind decides', () => {
  const asRule = fromNative(native('nftCommitRule', 'EMLINK', 'nft commit', 'rule INPUT'));
  const asChain = fromNative(native('nftCommit', 'EMLINK', 'nft commit', 'rule INPUT'));
  assert.is((asRule as ConnlimitError).hint, LOOP_FIX);
  assert.instance(asChain, InUseError);
  assert.instance(fromNative(native('ruleNotFound', 'ENOENT', 'rule', 'INPUT')), NotFoundError);
  assert.instance(fromNative(native('none', 'ENOENT', 'rule', 'INPUT')), KernelError);
});

test('a kind this table does not know says what its errno says', () => {
  const raw = Object.assign(native('none', 'EEXIST', 'chain', 'X'), { kind: 'fromANewerAddon' });
  assert.instance(fromNative(raw), ExistsError);
  const proto = Object.assign(native('none', 'EPERM', 'chain', 'X'), { kind: 'toString' });
  assert.instance(fromNative(proto), PermissionError);
});

test('from bytes: the answer of ctnetlink is kind conntrack, unreadable bytes are malformed (what ct_socket decides on)', () => {
  const decode = (buf: Buffer): NativeErrorShape => {
    let thrown: unknown;
    try {
      binding().Conntrack._decode(buf);
    } catch (e) {
      thrown = e;
    }
    assert.instance(thrown, Error, 'should throw');
    return thrown as NativeErrorShape;
  };
  const answer = Buffer.from(readCtFixture('error-enoent').recvs[0]!);
  assert.equal(pick(decode(answer)), { kind: 'conntrack', errno: errnoOf('ENOENT') });
  // What a kernel that doesn't know a filter flag answers (nlmsgerr.error, after the 16-byte header).
  answer.writeInt32LE(-errnoOf('EOPNOTSUPP'), 16);
  const refused = decode(answer);
  assert.equal(pick(refused), { kind: 'conntrack', errno: errnoOf('EOPNOTSUPP') });
  check(fromNative(refused), ROWS.conntrack[0]!, 'EOPNOTSUPP from bytes');
  const cut = readCtFixture('dump-mixed').recvs[0]!.subarray(0, 10);
  assert.equal(pick(decode(cut)), { kind: 'malformed', errno: errnoOf('EBADMSG') });
});

test('anything else passes through', () => {
  const plain = new Error('plain');
  assert.is(fromNative(plain), plain);
  const noKind = Object.assign(new Error('old shape'), { errno: 2, op: 'chain', detail: 'X' });
  assert.is(fromNative(noKind), noKind);
  assert.instance(fromNative('text'), Error);
});

test.run();
