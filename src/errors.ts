// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The error family. Native code supplies facts ({errno, op, detail}); this file owns their
 * meaning: one table from (errno, op) to class, code and hint. Match on `code`, not on
 * `instanceof`, when two copies of the package may be loaded (the brand below makes
 * `isConnlimitError` work across copies).
 */
import { getSystemErrorName } from 'node:util';
import { echo } from './echo';
import type { NativeErrorShape } from './native-types';

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
}

function isNativeError(e: unknown): e is NativeErrorShape {
  return e instanceof Error && typeof (e as NativeErrorShape).errno === 'number' && typeof (e as NativeErrorShape).op === 'string';
}

/**
 * Errnos libuv has no name for (uapi asm-generic/errno.h): ERESTART from nf_tables, ESTALE
 * from the netns check (the path names another namespace now).
 */
const KERNEL_ERRNO_NAMES: Record<number, string> = { 85: 'ERESTART', 116: 'ESTALE' };

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

function modprobeHint(ctx: NativeErrorContext): string {
  const mods = (ctx.extensions ?? []).map((x) => `xt_${x}`);
  const list = mods.length ? mods.join(' ') : 'the needed xt_* module';
  return `the kernel lacks a match or target this rule uses: try 'modprobe ${list}' (see /proc/net/ip_tables_matches and ip_tables_targets)`;
}

/**
 * Give a native failure its meaning. Call it in the awaiting frame so the error carries the
 * caller's stack (the native one has none worth keeping).
 */
export function fromNative(e: unknown, ctx: NativeErrorContext = {}): Error {
  if (!isNativeError(e)) return e instanceof Error ? e : new Error(String(e));
  const name = errnoName(e.errno);
  const where = e.detail ? `${e.op} (${e.detail})` : e.op;
  const base = { errno: name, op: e.op, detail: e.detail, cause: e };
  const table = ctx.table ? `${ctx.family === 'ipv6' ? 'ip6' : 'ip'}tables table '${ctx.table}'` : 'table';

  if (e.op === 'closed') return new ClosedError(ctx.table ? `the firewall handle for ${table}` : 'the handle');
  // The native side found a path that can never work, before any kernel call (and without
  // opening it: a FIFO's open would wait forever).
  if (e.op === 'netns type') {
    return new ValidationError([{ path: 'netns', message: `${e.detail} (a name under /run/netns, as 'ip netns add' makes, or /proc/PID/ns/net)` }]);
  }
  if (e.op === 'xtables lock type') {
    return new ValidationError([
      { path: 'lockPath', message: `${e.detail}: the xtables lock (lockPath or $XTABLES_LOCKFILE) must be a regular file, as iptables' /run/xtables.lock` },
    ]);
  }
  if (e.op === 'netns gone') {
    const what = name === 'ENOENT' ? `network namespace ${e.detail} was deleted` : `${e.detail} names another network namespace now (deleted and created again)`;
    return new NetnsGoneError('ERR_CONNLIMIT_NETNS_GONE', `${what}; this handle stays bound to the namespace it opened`, {
      ...base,
      hint: 'nothing was sent to the kernel; open a new handle or watch for the namespace the name names now',
    });
  }
  if (e.op === 'xtables lock' && name !== 'EWOULDBLOCK' && name !== 'EAGAIN') {
    // Opening the lock file failed: a configuration problem, not a missing capability.
    const Cls = name === 'EPERM' || name === 'EACCES' ? PermissionError : KernelError;
    return new Cls(name === 'EPERM' || name === 'EACCES' ? 'ERR_CONNLIMIT_PERMISSION' : 'ERR_CONNLIMIT_KERNEL', `can't use the xtables lock file: ${where}: ${name}`, {
      ...base,
      hint: 'lockPath (or $XTABLES_LOCKFILE) must name a file in an existing directory this process may create and open; iptables uses /run/xtables.lock',
    });
  }
  if (e.op === 'nft table owner') {
    // nf_tables refuses every change to a table flagged 'owner' except from the netlink socket
    // that created it (nft -o / NFT_TABLE_F_OWNER, as firewalld and systemd use): root or not.
    return new InUseError('ERR_CONNLIMIT_IN_USE', `${table} belongs to another program (nf_tables table flag 'owner', ${e.detail?.replace(/^[^:]*: /, '')}): only it may change the table`, {
      ...base,
      hint: 'that program owns the table until it exits (its netlink port is usually its pid); let it manage these rules, or use the legacy backend or another table; nothing was applied',
    });
  }
  if ((name === 'EPERM' || name === 'EACCES') && e.op === 'setns') {
    return new PermissionError('ERR_CONNLIMIT_PERMISSION', `${where}: permission denied`, { ...base, hint: SETNS_HINT });
  }
  if (name === 'EPERM' || name === 'EACCES') {
    return new PermissionError('ERR_CONNLIMIT_PERMISSION', `${where}: permission denied`, { ...base, hint: CAP_HINT });
  }
  if (e.op === 'xtables lock' && (name === 'EWOULDBLOCK' || name === 'EAGAIN')) {
    // The detail is 'PATH held by another program': said once.
    return new BusyError('ERR_CONNLIMIT_BUSY', e.detail ? `xtables lock ${e.detail}` : 'the xtables lock is held by another program', {
      ...base,
      hint: 'retry later, or raise lockTimeoutMs',
    });
  }
  if (e.op === 'iptc_commit' && name === 'EAGAIN') {
    return new BusyError('ERR_CONNLIMIT_BUSY', `${table} changed under us repeatedly while committing`, {
      ...base,
      hint: 'another program writes this table without taking the xtables lock; retry',
    });
  }
  if (e.op === 'nft commit' && name === 'ERESTART') {
    return new BusyError('ERR_CONNLIMIT_BUSY', `${table} changed under us repeatedly while committing`, {
      ...base,
      hint: 'another program kept writing the ruleset (nf_tables generation id); retry',
    });
  }
  if ((e.op === 'nft socket' || e.op === 'nft getgen') && (name === 'EPROTONOSUPPORT' || name === 'EAFNOSUPPORT' || name === 'EOPNOTSUPP')) {
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', 'this kernel has no nf_tables', { ...base, hint: "try 'modprobe nf_tables', or backend: 'legacy'" });
  }
  if (e.op === 'setns' || e.op === 'open netns') {
    if (name === 'ENOENT') return new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `network namespace not found: ${e.detail}`, base);
    return new KernelError('ERR_CONNLIMIT_KERNEL', `${where}: ${name}`, { ...base, hint: 'is it a network namespace file (/run/netns/NAME or /proc/PID/ns/net)?' });
  }
  if (e.op === 'chain' && name === 'ENOENT') {
    return new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no chain '${e.detail}' in ${table}`, base);
  }
  if (e.op === 'rule' && name === 'ENOENT') {
    return new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no matching rule in chain '${e.detail}'`, base);
  }
  if (e.op === 'rule' && name === 'E2BIG') {
    return new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `no rule at that position in chain '${e.detail}'`, base);
  }
  if (name === 'EEXIST') return new ExistsError('ERR_CONNLIMIT_EXISTS', `${where}: already exists`, base);
  // nf_tables has no ELOOP since Linux 6.x: a jump loop is caught by the depth limit
  // (nft_chain_validate, NFT_JUMP_STACK_SIZE) and comes back as EMLINK on the rule that closes
  // it. Only a chain deletion's EBUSY means 'still referenced' (native maps that one to EMLINK
  // with detail 'chain NAME'); on a rule it is the loop, as iptables-nft's 'Too many links'.
  if (e.op === 'nft commit' && (name === 'ELOOP' || (name === 'EMLINK' && (e.detail ?? '').startsWith('rule ')))) {
    return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused ${table}: a jump (-j/-g) in ${e.detail ?? 'this commit'} closes a loop of chains, or nests them deeper than 16`, {
      ...base,
      hint: 'remove the jump that closes the loop; nothing was applied',
    });
  }
  if (name === 'EMLINK') {
    return new InUseError('ERR_CONNLIMIT_IN_USE', `${where}: the chain is still referenced by a rule`, { ...base, hint: 'delete the rules that jump to it first' });
  }
  if (name === 'ENOTEMPTY') {
    return new InUseError('ERR_CONNLIMIT_IN_USE', `${where}: the chain is not empty`, { ...base, hint: 'flush it first' });
  }
  if (e.op === 'iptc_init' && (name === 'ENOENT' || name === 'EINVAL' || name === 'ENOPROTOOPT')) {
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `${table} is not available in this kernel`, {
      ...base,
      hint: `try 'modprobe ${ctx.family === 'ipv6' ? 'ip6table' : 'iptable'}_${ctx.table ?? 'filter'}'`,
    });
  }
  if ((e.op === 'iptc_commit' || e.op === 'nft commit') && (name === 'ENOENT' || name === 'EPROTONOSUPPORT' || name === 'EOPNOTSUPP')) {
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `the kernel refused an extension while committing ${table}`, {
      ...base,
      hint: modprobeHint(ctx),
    });
  }
  const ct = conntrackError(e, name, where, base);
  if (ct) return ct;
  if (e.op === 'iptc_commit' && name === 'EPROTOTYPE') {
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `the kernel has an extension this commit uses, but not in the revision asked for (${table})`, {
      ...base,
      hint: `a newer kernel may have it; ${modprobeHint(ctx).replace(/^the kernel lacks[^:]*: /, '')}`,
    });
  }
  if (e.op === 'iptc_commit' && name === 'ELOOP') {
    return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused ${table}: its chains jump in a loop (a chain reaches itself through -j/-g)`, {
      ...base,
      hint: 'remove the jump that closes the loop; nothing was applied',
    });
  }
  if (e.op === 'iptc_commit' && name === 'EINVAL') {
    return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused a match or target of this commit to ${table} (its checkentry said EINVAL)`, {
      ...base,
      // Not "nothing was applied": when a writer that ignores the xtables lock commits between
      // our table replace and our counter update, the kernel took our table and refused only
      // the counters, with EINVAL too (test/73; iptables itself reports the same).
      hint: "'dmesg | tail' names the extension and why (a data size the kernel doesn't expect, a target outside the table or chain it allows); if 'dmesg' says nothing, another program wrote the table without the xtables lock at the same moment and the change may have been applied: list to see",
    });
  }
  if (e.op === 'nft commit' && name === 'EINVAL') {
    // The detail names the batch message (rule CHAIN, chain NAME) and carries the kernel's
    // extended-ack text when it sent one (NLMSGERR_ATTR_MSG); the batch is all-or-nothing.
    return new KernelError('ERR_CONNLIMIT_KERNEL', `the kernel refused ${e.detail ?? 'a message'} of this commit to ${table} (EINVAL)`, {
      ...base,
      hint: "nothing was applied; 'dmesg | tail' names the extension and why when the refusal came from a match's or target's checkentry",
    });
  }
  const detail = e.detail ? `: ${e.detail}` : '';
  return new KernelError('ERR_CONNLIMIT_KERNEL', `${e.op} failed with ${name}${detail}`, base);
}

/**
 * ctnetlink failures (ops 'ct socket', 'ct stats', 'ct dump', 'ct delete'; src/conntrack.ts).
 * nfnetlink answers EOPNOTSUPP for a subsystem it has no module for (nfnetlink_rcv_msg after
 * request_module fails), and the socket itself fails with EPROTONOSUPPORT without nfnetlink.
 */
function conntrackError(e: NativeErrorShape, name: string, where: string, base: ConnlimitErrorOptions): Error | null {
  if (!e.op.startsWith('ct ')) return null;
  if (name === 'EOPNOTSUPP' || name === 'ENOTSUP' || name === 'EPROTONOSUPPORT' || (e.op === 'ct socket' && name === 'EAFNOSUPPORT')) {
    return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `${where}: the kernel has no ctnetlink (${name})`, {
      ...base,
      hint: "try 'modprobe nf_conntrack_netlink'",
    });
  }
  if (e.op === 'ct dump' && name === 'EINTR') {
    return new BusyError('ERR_CONNLIMIT_BUSY', `${where}: the conntrack table changed during the dump`, {
      ...base,
      hint: 'retry; results are never returned partial',
    });
  }
  return null;
}
