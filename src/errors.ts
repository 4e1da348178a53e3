// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The error family. Native code supplies facts ({kind, errno, op, detail}); this file owns their
 * meaning: one table (MEANINGS) from the kind, and the errno where it tells, to class, code
 * and hint. The op is text for people and is never compared. Match on `code`, not on
 * `instanceof`, when two copies of the package may be loaded (the brand below makes
 * `isConnlimitError` work across copies).
 */
import { getSystemErrorName } from 'node:util';
import { echo, quote } from './echo';
import type { NativeErrorKind, NativeErrorShape } from './native-types';

const BRAND = Symbol.for('connlimit.error');

export type ConnlimitErrorCode =
  | 'ERR_CONNLIMIT_INVALID'
  | 'ERR_CONNLIMIT_PERMISSION'
  | 'ERR_CONNLIMIT_UNSUPPORTED'
  | 'ERR_CONNLIMIT_NOT_FOUND'
  | 'ERR_CONNLIMIT_EXISTS'
  | 'ERR_CONNLIMIT_IN_USE'
  | 'ERR_CONNLIMIT_BUSY'
  | 'ERR_CONNLIMIT_CLOSED'
  | 'ERR_CONNLIMIT_LOAD'
  | 'ERR_CONNLIMIT_BACKEND_CONFLICT'
  | 'ERR_CONNLIMIT_NETNS_GONE'
  | 'ERR_CONNLIMIT_KERNEL';

export interface ConnlimitErrorOptions {
  hint?: string;
  errno?: string;
  op?: string;
  detail?: string;
  cause?: unknown;
}

/** Base class of every error the library throws. */
export class ConnlimitError extends Error {
  readonly code: ConnlimitErrorCode;
  /** Symbolic errno ('EPERM', 'ENOENT', ...) when the kernel or a syscall refused. */
  readonly errno?: string;
  /** What failed: 'iptc_commit', 'xtables lock', 'setns', ... */
  readonly op?: string;
  /** What to do about it, for a person. */
  readonly hint?: string;
  readonly detail?: string;

  constructor(code: ConnlimitErrorCode, message: string, options: ConnlimitErrorOptions = {}) {
    super(options.hint ? `${message} (${options.hint})` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.errno !== undefined) this.errno = options.errno;
    if (options.op !== undefined) this.op = options.op;
    if (options.hint !== undefined) this.hint = options.hint;
    if (options.detail !== undefined) this.detail = options.detail;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for any error thrown by any copy of this package. */
export function isConnlimitError(e: unknown): e is ConnlimitError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

export interface ValidationIssue {
  /** The field ('connlimit.count', 'chain') or, for iptables syntax, 'rule'. */
  path: string;
  message: string;
  /** For iptables syntax: the offending token and its 0-based index among the tokens. */
  token?: string;
  tokenIndex?: number;
}

/** Bad input, found before anything touched the kernel. `issues` lists every problem found. */
export class ValidationError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_INVALID';
  readonly path: string;
  readonly token?: string;
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    const first = issues[0] ?? { path: '(unknown)', message: 'invalid input' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    // A path may hold a caller's key (`unknown option`): cut short like any quoted input.
    super('ERR_CONNLIMIT_INVALID', `${echo(first.path)}: ${first.message}${more}`);
    this.path = first.path;
    if (first.token !== undefined) this.token = first.token;
    this.issues = issues;
  }
}

export class PermissionError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_PERMISSION';
}
export class KernelSupportError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_UNSUPPORTED';
}
export class NotFoundError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_NOT_FOUND';
}
export class ExistsError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_EXISTS';
}
export class InUseError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_IN_USE';
}
export class BusyError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_BUSY';
}
export class ClosedError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_CLOSED';
  constructor(what: string) {
    super('ERR_CONNLIMIT_CLOSED', `${what} is closed`);
  }
}
export class LoadError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_LOAD';
}
export class KernelError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_KERNEL';
}
/** `backend: 'auto'` found rules in both the legacy and the nf_tables table: pick one explicitly. */
export class BackendConflictError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_BACKEND_CONFLICT';
}

/**
 * The netns path a handle opened no longer names its namespace: `ip netns del` removed it, or
 * it names a newer namespace now (deleted and added again). A handle stays bound to the
 * namespace it opened; it refuses every call then, so nothing lands in an orphaned namespace
 * or is reported as done in the new one. Open a new handle.
 */
export class NetnsGoneError extends ConnlimitError {
  declare readonly code: 'ERR_CONNLIMIT_NETNS_GONE';
}

/** Throw a ValidationError for one problem. */
export function invalid(path: string, message: string, token?: { token: string; index: number }): never {
  const issue: ValidationIssue = { path, message };
  if (token) {
    issue.token = token.token;
    issue.tokenIndex = token.index;
  }
  throw new ValidationError([issue]);
}

/** Context the caller knows and the native error doesn't: which extensions the ops use, which table. */
export interface NativeErrorContext {
  table?: string;
  family?: string;
  netns?: string | null;
  /** Extension names used by the rules of the failed call, for the modprobe hint. */
  extensions?: string[];
  /** The ipset set a failed call was about. */
  set?: string;
}

/** The addon's failures carry an errno and a kind (native/js/errors.cc); nothing else does. */
function isNativeError(e: unknown): e is NativeErrorShape {
  return e instanceof Error && typeof (e as NativeErrorShape).errno === 'number' && typeof (e as NativeErrorShape).kind === 'string';
}

/**
 * Errnos libuv has no name for (uapi asm-generic/errno.h): ERESTART from nf_tables, ESTALE
 * from the netns check (the path names another namespace now).
 */
const KERNEL_ERRNO_NAMES: Record<number, string> = { 85: 'ERESTART', 116: 'ESTALE' };

/** Node's name for an errno. Note: the kernel's EOPNOTSUPP (95) is named ENOTSUP here, the same number on Linux. */
function errnoName(errno: number): string {
  const kernel = KERNEL_ERRNO_NAMES[errno];
  if (kernel) return kernel;
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

const CAP_HINT = 'needs CAP_NET_ADMIN (and CAP_NET_RAW for legacy tables) in the target network namespace: run as root or grant the capabilities';

// setns(2) into a network namespace needs CAP_SYS_ADMIN too, which a process trusted only with
// the firewall should not get: it can run inside the namespace instead.
const SETNS_HINT =
  "entering another network namespace (the netns option) needs CAP_SYS_ADMIN besides CAP_NET_ADMIN over it; with only CAP_NET_ADMIN and CAP_NET_RAW, start the process inside the namespace ('ip netns exec NAME ...') and leave netns unset";

const LOOP_FIX = 'remove the jump that closes the loop; nothing was applied';

/** "try 'modprobe xt_a xt_b' (see ...)": the modules the failed call's rules need. */
function modprobeAdvice(ctx: NativeErrorContext): string {
  const mods = (ctx.extensions ?? []).map((x) => `xt_${x}`);
  const list = mods.length ? mods.join(' ') : 'the needed xt_* module';
  return `try 'modprobe ${list}' (see /proc/net/ip_tables_matches and ip_tables_targets)`;
}

/** The facts of one native failure, in the words the table's rows use. */
interface Facts {
  e: NativeErrorShape;
  ctx: NativeErrorContext;
  /** Symbolic errno: 'EPERM', 'ERESTART', ... */
  name: string;
  /** The op with its detail, for messages: "iptc_commit (filter: ...)". */
  where: string;
  /** "iptables table 'filter'", "ip6tables table 'raw'", or just "table". */
  table: string;
  base: ConnlimitErrorOptions;
}

const isOneOf = (name: string, ...names: string[]): boolean => names.includes(name);

/** What the errno alone says: the meaning of kind 'none', and of any kind's other errnos. */
function byErrno({ e, name, where, base }: Facts): Error {
  if (isOneOf(name, 'EPERM', 'EACCES')) return new PermissionError('ERR_CONNLIMIT_PERMISSION', `${where}: permission denied`, { ...base, hint: CAP_HINT });
  if (name === 'EEXIST') return new ExistsError('ERR_CONNLIMIT_EXISTS', `${where}: already exists`, base);
  // A chain deletion's EBUSY ('still referenced') comes as EMLINK (native maps it); a rule's
  // EMLINK is a jump loop and has a kind of its own.
  if (name === 'EMLINK') {
    return new InUseError('ERR_CONNLIMIT_IN_USE', `${where}: the chain is still referenced by a rule`, { ...base, hint: 'delete the rules that jump to it first' });
  }
  if (name === 'ENOTEMPTY') return new InUseError('ERR_CONNLIMIT_IN_USE', `${where}: the chain is not empty`, { ...base, hint: 'flush it first' });
  const detail = e.detail ? `: ${e.detail}` : '';
  return new KernelError('ERR_CONNLIMIT_KERNEL', `${e.op} failed with ${name}${detail}`, base);
}

/** A network namespace that could not be opened or entered. */
function netnsError(f: Facts, permissionHint: string): Error {
  const { e, name, where, base } = f;
  if (isOneOf(name, 'EPERM', 'EACCES')) return new PermissionError('ERR_CONNLIMIT_PERMISSION', `${where}: permission denied`, { ...base, hint: permissionHint });
  if (name === 'ENOENT') return new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `network namespace not found: ${e.detail}`, base);
  return new KernelError('ERR_CONNLIMIT_KERNEL', `${where}: ${name}`, { ...base, hint: 'is it a network namespace file (/run/netns/NAME or /proc/PID/ns/net)?' });
}

/** A commit the kernel refused for a match or target it lacks (legacy and nf_tables alike). */
function missingExtension({ ctx, table, base }: Facts): Error {
  return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `the kernel refused an extension while committing ${table}`, {
    ...base,
    hint: `the kernel lacks a match or target this rule uses: ${modprobeAdvice(ctx)}`,
  });
}

/**
 * nf_tables has no ELOOP since Linux 6.x: a jump loop is caught by the depth limit
 * (nft_chain_validate, NFT_JUMP_STACK_SIZE) and comes back as EMLINK on the rule that closes
 * it, as iptables-nft's 'Too many links'.
 */
function nftJumpLoop({ e, table, base }: Facts): Error {
  return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused ${table}: a jump (-j/-g) in ${e.detail ?? 'this commit'} closes a loop of chains, or nests them deeper than 16`, {
    ...base,
    hint: LOOP_FIX,
  });
}

/** A batch the kernel refused on a message that is no rule, or as a whole. */
function nftCommitError(f: Facts): Error {
  const { e, name, table, base } = f;
  if (name === 'ERESTART') {
    return new BusyError('ERR_CONNLIMIT_BUSY', `${table} changed under us repeatedly while committing`, {
      ...base,
      hint: 'another program kept writing the ruleset (nf_tables generation id); retry',
    });
  }
  if (name === 'ELOOP') return nftJumpLoop(f);
  if (isOneOf(name, 'ENOENT', 'EPROTONOSUPPORT', 'ENOTSUP')) return missingExtension(f);
  if (name === 'EINVAL') {
    // The detail names the batch message (rule CHAIN, chain NAME) and carries the kernel's
    // extended-ack text when it sent one (NLMSGERR_ATTR_MSG); the batch is all-or-nothing.
    return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused ${e.detail ?? 'a message'} of this commit to ${table} (EINVAL)`, {
      ...base,
      hint: "nothing was applied; 'dmesg | tail' names the extension and why when the refusal came from a match's or target's checkentry",
    });
  }
  return byErrno(f);
}

/** A legacy table replace (iptc_commit) the kernel refused. */
function legacyCommitError(f: Facts): Error {
  const { name, ctx, table, base } = f;
  if (name === 'EAGAIN') {
    return new BusyError('ERR_CONNLIMIT_BUSY', `${table} changed under us repeatedly while committing`, {
      ...base,
      hint: 'another program writes this table without taking the xtables lock; retry',
    });
  }
  if (isOneOf(name, 'ENOENT', 'EPROTONOSUPPORT', 'ENOTSUP')) return missingExtension(f);
  if (name === 'EPROTOTYPE') {
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `the kernel has an extension this commit uses, but not in the revision asked for (${table})`, {
      ...base,
      hint: `a newer kernel may have it; ${modprobeAdvice(ctx)}`,
    });
  }
  if (name === 'ELOOP') {
    return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused ${table}: its chains jump in a loop (a chain reaches itself through -j/-g)`, { ...base, hint: LOOP_FIX });
  }
  if (name === 'EINVAL') {
    return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused a match or target of this commit to ${table} (its checkentry said EINVAL)`, {
      ...base,
      // Not "nothing was applied": when a writer that ignores the xtables lock commits between
      // our table replace and our counter update, the kernel took our table and refused only
      // the counters, with EINVAL too (test/73; iptables itself reports the same).
      hint: "'dmesg | tail' names the extension and why (a data size the kernel doesn't expect, a target outside the table or chain it allows); if 'dmesg' says nothing, another program wrote the table without the xtables lock at the same moment and the change may have been applied: list to see",
    });
  }
  return byErrno(f);
}

/**
 * ctnetlink missing (src/conntrack/): nfnetlink answers EOPNOTSUPP for a subsystem it has no
 * module for (nfnetlink_rcv_msg after request_module fails), and the socket itself fails with
 * EPROTONOSUPPORT without nfnetlink.
 */
function conntrackError(f: Facts, ...unsupported: string[]): Error {
  const { name, where, base } = f;
  if (isOneOf(name, 'ENOTSUP', 'EPROTONOSUPPORT', ...unsupported)) {
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `${where}: the kernel has no ctnetlink (${name})`, {
      ...base,
      hint: "try 'modprobe nf_conntrack_netlink'",
    });
  }
  return byErrno(f);
}

/**
 * The one table from a native failure's kind to its meaning: class, code, message and hint.
 * The kind is set by the native code that made the error (native/core/error_kind.h); a row
 * reads the errno where the kernel's errno is what tells (a refused commit), and leaves the
 * rest to byErrno. The op is only ever quoted, never compared.
 */
const MEANINGS: Record<NativeErrorKind, (f: Facts) => Error> = {
  none: byErrno,
  malformed: byErrno,
  closed: ({ ctx, table }) => new ClosedError(ctx.table ? `the firewall handle for ${table}` : 'the handle'),
  // Found before any kernel call, and without opening the path (a FIFO's open would wait forever).
  netnsPathInvalid: ({ e }) => new ValidationError([{ path: 'netns', message: `${e.detail} (a name under /run/netns, as 'ip netns add' makes, or /proc/PID/ns/net)` }]),
  lockPathInvalid: ({ e }) =>
    new ValidationError([
      { path: 'lockPath', message: `${e.detail}: the xtables lock (lockPath or $XTABLES_LOCKFILE) must be a regular file, as iptables' /run/xtables.lock` },
    ]),
  netnsOpen: (f) => netnsError(f, CAP_HINT),
  netnsEnter: (f) => netnsError(f, SETNS_HINT),
  netnsGone: ({ e, name, base }) => {
    const what = name === 'ENOENT' ? `network namespace ${e.detail} was deleted` : `${e.detail} names another network namespace now (deleted and created again)`;
    return new NetnsGoneError('ERR_CONNLIMIT_NETNS_GONE', `${what}; this handle stays bound to the namespace it opened`, {
      ...base,
      hint: 'nothing was sent to the kernel; open a new handle or watch for the namespace the name names now',
    });
  },
  xtablesLock: ({ e, name, where, base }) => {
    if (isOneOf(name, 'EWOULDBLOCK', 'EAGAIN')) {
      // The detail is 'PATH held by another program': said once.
      return new BusyError('ERR_CONNLIMIT_BUSY', e.detail ? `xtables lock ${e.detail}` : 'the xtables lock is held by another program', {
        ...base,
        hint: 'retry later, or raise lockTimeoutMs',
      });
    }
    // Opening the lock file failed: a configuration problem, not a missing capability.
    const denied = isOneOf(name, 'EPERM', 'EACCES');
    const Cls = denied ? PermissionError : KernelError;
    return new Cls(denied ? 'ERR_CONNLIMIT_PERMISSION' : 'ERR_CONNLIMIT_KERNEL', `can't use the xtables lock file: ${where}: ${name}`, {
      ...base,
      hint: 'lockPath (or $XTABLES_LOCKFILE) must name a file in an existing directory this process may create and open; iptables uses /run/xtables.lock',
    });
  },
  tableInit: (f) => {
    const { name, ctx, table, base } = f;
    if (!isOneOf(name, 'ENOENT', 'EINVAL', 'ENOPROTOOPT')) return byErrno(f);
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `${table} is not available in this kernel`, {
      ...base,
      hint: `try 'modprobe ${ctx.family === 'ipv6' ? 'ip6table' : 'iptable'}_${ctx.table ?? 'filter'}'`,
    });
  },
  legacyCommit: legacyCommitError,
  nftSocket: (f) => {
    if (!isOneOf(f.name, 'EPROTONOSUPPORT', 'EAFNOSUPPORT', 'ENOTSUP')) return byErrno(f);
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', 'this kernel has no nf_tables', { ...f.base, hint: "try 'modprobe nf_tables', or backend: 'legacy'" });
  },
  nftCommit: nftCommitError,
  nftCommitRule: (f) => (f.name === 'EMLINK' ? nftJumpLoop(f) : nftCommitError(f)),
  // nf_tables refuses every change to a table flagged 'owner' except from the netlink socket
  // that created it (nft -o / NFT_TABLE_F_OWNER, as firewalld and systemd use): root or not.
  // The detail is "TABLE: netlink port N"; the message names the table already.
  tableOwned: ({ e, table, base }) =>
    new InUseError('ERR_CONNLIMIT_IN_USE', `${table} belongs to another program (nf_tables table flag 'owner', ${e.detail?.replace(/^[^:]*: /, '')}): only it may change the table`, {
      ...base,
      hint: 'that program owns the table until it exits (its netlink port is usually its pid); let it manage these rules, or use the legacy backend or another table; nothing was applied',
    }),
  chainNotFound: ({ e, table, base }) => new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no chain '${e.detail}' in ${table}`, base),
  ruleNotFound: ({ e, base }) => new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no matching rule in chain '${e.detail}'`, base),
  positionNotFound: ({ e, base }) => new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no rule at that position in chain '${e.detail}'`, base),
  ctSocket: (f) => conntrackError(f, 'EAFNOSUPPORT'),
  conntrack: (f) => conntrackError(f),
  ctDumpInterrupted: ({ where, base }) =>
    new BusyError('ERR_CONNLIMIT_BUSY', `${where}: the conntrack table changed during the dump`, {
      ...base,
      hint: 'retry; results are never returned partial',
    }),
  ipsetSocket: (f) => (isOneOf(f.name, 'ENOTSUP', 'EPROTONOSUPPORT') ? noIpset(f) : byErrno(f)),
  ipsetHandshake: (f) =>
    f.e.errno === IPSET_ERR_PROTOCOL
      ? new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', "the kernel's ip_set speaks an older protocol than 7", { ...ipsetBase(f), hint: 'ipset sets need Linux 5.x or later' })
      : ipsetError(f),
  ipsetType: (f) =>
    f.e.errno === IPSET_ERR_FIND_TYPE
      ? new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `the kernel has no ipset type ${quote(f.e.detail)} in the revision needed`, {
          ...ipsetBase(f),
          hint: `try 'modprobe ip_set_${(f.e.detail || 'hash:ip').replace(/[:,]/g, '_')}'`,
        })
      : ipsetError(f),
  ipset: (f) => ipsetError(f),
  ipsetDelete: (f) =>
    f.e.errno === IPSET_ERR_EXIST
      ? new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `${ipsetEntry(f)} is not in ${ipsetSet(f)}`, { ...ipsetBase(f), hint: 'pass exist: true to ignore entries that are not there' })
      : ipsetError(f),
  nftSet: (f) => nftSetError(f, false),
  nftSetElement: (f) => nftSetError(f, true),
  // Found by the planner before the kernel: the table a rule lands in is known only there.
  setOutsideTable: ({ e, base }) =>
    new KernelSupportError(
      'ERR_CONNLIMIT_UNSUPPORTED',
      `${e.op} can't use set ${quote(e.detail)}: nf_tables sets belong to one table, client sets live in the first (connlimit), and appends past its 500 rules go to the next table`,
      { ...base, hint: "nothing was applied; insert the rule within the first table's rules (fw.insert, -I CHAIN N), or use backend 'nft' (ipset sets, seen from every table)" },
    ),
  // Found by the planner before the kernel, which would refuse the second meter with a bare EOPNOTSUPP.
  meterNameTaken: ({ e }) =>
    new ValidationError([
      {
        path: 'rule',
        message:
          `${e.op}: --hashlimit-name ${quote(e.detail)} is the name of another set in that table (another rule's meter, or a client set); the native nftables form writes a meter per rule, ` +
          "named as the hashlimit, and nf_tables keeps one of a name per table (xt_hashlimit shares one bucket table between rules of one name): give each rule its own " +
          "--hashlimit-name, or use backend 'legacy' or 'nft' to share a bucket table (replacing a metered rule by one of the same name: delete it and insert the new one in one transaction)",
      },
    ]),
  ipsetSwap: (f) =>
    f.e.errno === IPSET_ERR_EXIST_SETNAME2
      ? new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `the second set of the swap with ${ipsetSet(f)} does not exist`, ipsetBase(f))
      : ipsetError(f),
};

/**
 * Give a native failure its meaning. Call it in the awaiting frame so the error carries the
 * caller's stack (the native one has none worth keeping).
 */
export function fromNative(e: unknown, ctx: NativeErrorContext = {}): Error {
  if (!isNativeError(e)) return e instanceof Error ? e : new Error(String(e));
  // A kind this copy of the table doesn't know (an addon newer than the JS) says no more than the errno.
  const kind: NativeErrorKind = Object.hasOwn(MEANINGS, e.kind) ? e.kind : 'none';
  const name = errnoName(e.errno);
  return MEANINGS[kind]({
    e,
    ctx,
    name,
    where: e.detail ? `${e.op} (${e.detail})` : e.op,
    table: ctx.table ? `${ctx.family === 'ipv6' ? 'ip6' : 'ip'}tables table '${ctx.table}'` : 'table',
    base: { errno: name, op: e.op, detail: e.detail, cause: e },
  });
}

/**
 * The kernel's ip_set error numbers (include/uapi/linux/netfilter/ipset/ip_set.h, ip_set_hash.h):
 * private codes from 4096 up, sent negated in NLMSG_ERROR like errnos (NETFILTER-NOTES.md §11).
 */
const IPSET_ERRORS: Record<number, string> = {
  4097: 'IPSET_ERR_PROTOCOL',
  4098: 'IPSET_ERR_FIND_TYPE',
  4099: 'IPSET_ERR_MAX_SETS',
  4100: 'IPSET_ERR_BUSY',
  4101: 'IPSET_ERR_EXIST_SETNAME2',
  4102: 'IPSET_ERR_TYPE_MISMATCH',
  4103: 'IPSET_ERR_EXIST',
  4104: 'IPSET_ERR_INVALID_CIDR',
  4105: 'IPSET_ERR_INVALID_NETMASK',
  4106: 'IPSET_ERR_INVALID_FAMILY',
  4107: 'IPSET_ERR_TIMEOUT',
  4108: 'IPSET_ERR_REFERENCED',
  4109: 'IPSET_ERR_IPADDR_IPV4',
  4110: 'IPSET_ERR_IPADDR_IPV6',
  4111: 'IPSET_ERR_COUNTER',
  4112: 'IPSET_ERR_COMMENT',
  4352: 'IPSET_ERR_HASH_FULL',
  4353: 'IPSET_ERR_HASH_ELEM',
  4354: 'IPSET_ERR_INVALID_PROTO',
  4355: 'IPSET_ERR_MISSING_PROTO',
  4356: 'IPSET_ERR_HASH_RANGE_UNSUPPORTED',
  4357: 'IPSET_ERR_HASH_RANGE',
};
const IPSET_ERR_PROTOCOL = 4097;
const IPSET_ERR_FIND_TYPE = 4098;
const IPSET_ERR_EXIST_SETNAME2 = 4101;
const IPSET_ERR_EXIST = 4103;

const ipsetName = (f: Facts): string => IPSET_ERRORS[f.e.errno] ?? f.name;
const ipsetSet = (f: Facts): string => `set ${quote(f.ctx.set ?? f.e.detail ?? '')}`;
const ipsetEntry = (f: Facts): string => (f.e.opIndex === undefined ? 'the entry' : `entry ${f.e.opIndex}`);
const ipsetBase = (f: Facts): ConnlimitErrorOptions => ({ ...f.base, errno: ipsetName(f) });

function noIpset(f: Facts): Error {
  return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `${f.e.op}: the kernel has no ip_set (${f.name})`, { ...f.base, hint: "try 'modprobe ip_set'" });
}

/**
 * A request about an nf_tables named set the kernel refused (src/sets/ on backend 'nftables').
 * nf_tables answers with plain errnos: ENOENT is the set (or our table) missing, or, on an
 * element request, the element missing; EEXIST on an element is its being there already.
 */
function nftSetError(f: Facts, element: boolean): Error {
  const set = ipsetSet(f);
  if (element && f.name === 'ENOENT') {
    return new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `${ipsetEntry(f)} is not in ${set}, or there is no such set`, { ...f.base, hint: 'pass exist: true to ignore entries that are not there' });
  }
  if (element && f.name === 'EEXIST') {
    return new ExistsError('ERR_CONNLIMIT_EXISTS', `${ipsetEntry(f)} is already in ${set}`, { ...f.base, hint: 'pass exist: true to leave it as it is' });
  }
  if (f.name === 'ENOENT') return new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no ${set} in the nftables table`, { ...f.base, hint: 'create it first (sets.create or ensure)' });
  if (f.name === 'EEXIST') return new ExistsError('ERR_CONNLIMIT_EXISTS', `a ${set} already exists`, { ...f.base, hint: 'with exist: true (ensure) an equal set is no error; one of another type or with other options still is' });
  if (f.name === 'EBUSY') return new InUseError('ERR_CONNLIMIT_IN_USE', `${set} is in use by a rule (ip saddr @set)`, { ...f.base, hint: 'delete the rules that refer to it first' });
  if (f.name === 'ENFILE' || f.name === 'ENOSPC') return new KernelError('ERR_CONNLIMIT_KERNEL', `${set} is full (its size)`, { ...f.base, hint: 'remove entries, or make the set anew with a larger maxelem' });
  return byErrno(f);
}

/** A request about a set the kernel refused (src/sets/): the ip_set error number tells what. */
function ipsetError(f: Facts): Error {
  const name = ipsetName(f);
  const set = ipsetSet(f);
  const base = ipsetBase(f);
  switch (name) {
    case 'ENOTSUP':
    case 'EPROTONOSUPPORT':
      return noIpset(f);
    case 'IPSET_ERR_PROTOCOL':
      return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused a message about ${set} (${name}): it does not fit the set's type or family`, {
        ...base,
        hint: 'another program may have replaced the set with one of another type; the set was looked up again for the next call',
      });
    case 'ENOENT':
      return new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no ${set}`, { ...base, hint: 'create it first (sets.create or ensure)' });
    case 'EEXIST':
      return new ExistsError('ERR_CONNLIMIT_EXISTS', `a ${set} already exists`, {
        ...base,
        hint: 'with exist: true (ensure) an equal set is no error; one of another type or with other options still is',
      });
    case 'IPSET_ERR_EXIST':
      return new ExistsError('ERR_CONNLIMIT_EXISTS', `${ipsetEntry(f)} is already in ${set}`, { ...base, hint: 'pass exist: true to replace it (its timeout and comment too)' });
    case 'IPSET_ERR_BUSY':
    case 'IPSET_ERR_REFERENCED':
      return new InUseError('ERR_CONNLIMIT_IN_USE', `${set} is in use by a rule (-m set --match-set)`, { ...base, hint: 'delete the rules that refer to it first' });
    case 'IPSET_ERR_EXIST_SETNAME2':
      return new ExistsError('ERR_CONNLIMIT_EXISTS', `the new name of ${set} is taken by another set`, base);
    case 'IPSET_ERR_TYPE_MISMATCH':
      return new KernelError('ERR_CONNLIMIT_KERNEL', `${set} and the other set are of different types or families: they can't be swapped`, base);
    case 'IPSET_ERR_HASH_FULL':
      return new KernelError('ERR_CONNLIMIT_KERNEL', `${set} is full (maxelem)`, { ...base, hint: 'remove entries, or make the set anew with a larger maxelem and swap it in' });
    case 'IPSET_ERR_TIMEOUT':
    case 'IPSET_ERR_COMMENT':
    case 'IPSET_ERR_COUNTER':
      return new KernelError('ERR_CONNLIMIT_KERNEL', `${set} was created without ${name.slice(10).toLowerCase()} support`, { ...base, hint: 'the set changed since this handle looked at it' });
    default:
      if (name.startsWith('IPSET_ERR_')) return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused ${f.e.op} on ${set} (${name})`, base);
      return byErrno(f);
  }
}
