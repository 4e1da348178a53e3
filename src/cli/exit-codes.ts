// SPDX-License-Identifier: GPL-2.0-or-later
/** Exit codes of the `connlimit` command: one per kind of failure a script may want to tell apart. */
import { isConnlimitError } from '../index';

export const EXIT = {
  ok: 0,
  /** A kernel refusal without a code of its own, or `check` finding no such rule (as `iptables -C`). */
  failure: 1,
  /** Bad usage: unknown command or option, malformed rule. */
  usage: 2,
  /** No CAP_NET_ADMIN in the target namespace. */
  permission: 3,
  /** The xtables lock stayed taken. */
  busy: 4,
  /** No such chain, rule, position or namespace. */
  notFound: 5,
  /** The kernel lacks a table, match or target. */
  unsupported: 6,
} as const;

/** The exit code for an error thrown by the library (or by our own argument checks). */
export function exitCodeFor(e: unknown): number {
  if (!isConnlimitError(e)) return EXIT.failure;
  switch (e.code) {
    case 'ERR_CONNLIMIT_INVALID':
      return EXIT.usage;
    case 'ERR_CONNLIMIT_PERMISSION':
      return EXIT.permission;
    case 'ERR_CONNLIMIT_BUSY':
      return EXIT.busy;
    case 'ERR_CONNLIMIT_NOT_FOUND':
    case 'ERR_CONNLIMIT_NETNS_GONE':
      return EXIT.notFound;
    case 'ERR_CONNLIMIT_UNSUPPORTED':
      return EXIT.unsupported;
    default:
      return EXIT.failure;
  }
}
