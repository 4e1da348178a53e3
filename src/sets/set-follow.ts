// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Change notices for one native-form set: nf_tables announces every element added or deleted
 * (NEWSETELEM/DELSETELEM on NFNLGRP_NFTABLES, one message per element), so a watch filtered by
 * such a set applies each commit's elements to its snapshot rather than reading the set again
 * on a timer, or whole on every change. The ruleset watch thread of fw.keep()
 * (core/nft/ruleset_watcher), told to keep only the messages naming this set of the form's
 * first table. ipset has no such notices; nor does nf_tables for an element's timeout running out.
 */
import { binding } from '../binding';
import { fromNative } from '../errors';
import type { NativeRulesetGeneration, NativeRulesetWatch } from '../native-types';
import type { SetMembers } from './members';
import type { CheckedSetRef } from './set-ref';

/** A subscription; close() stops its thread. */
export interface SetFollow {
  close(): Promise<void>;
}

/** One commit's elements of the set, as the kernel sent them (decoded when applied, against the set's type). */
export interface SetNotice {
  added: Buffer | null;
  deleted: Buffer | null;
}

/**
 * Subscribes, resolving once the kernel will report changes to the set (so a read after it
 * misses none). `changed` is called per commit that touched the set, with its elements, or
 * with null when the set must be read again: notices were lost (receive buffer overrun), the
 * set was made or destroyed, or one commit both added and deleted elements (their order
 * within it is not kept here). `failed` once, for an error after that.
 */
export function followNftablesSet(netns: string | null, ref: CheckedSetRef, changed: (notice: SetNotice | null) => void, failed: (e: unknown) => void): Promise<SetFollow> {
  return new Promise((resolve, reject) => {
    let ready = false;
    const watch: NativeRulesetWatch = new (binding().RulesetWatch)(
      { netns, family: ref.family, table: 'connlimit', tablePrefix: false, set: ref.name },
      (error: unknown, g: NativeRulesetGeneration | null) => {
        if (error !== null || g === null) {
          const e = fromNative(error, { netns });
          if (!ready) {
            void watch.close();
            reject(e);
          } else failed(e);
          return;
        }
        if (g.kind === 'ready') {
          ready = true;
          resolve({ close: () => watch.close() });
        } else if (g.kind === 'overrun' || g.setChanged || (g.added && g.deleted)) changed(null);
        else changed({ added: g.added, deleted: g.deleted });
      },
    );
  });
}

/** Applies a notice to a snapshot of the set: its deleted entries out, its added ones in. */
export function applyNotice(members: SetMembers, notice: SetNotice): void {
  const decode = (bytes: Buffer) => binding().RulesetWatch.decodeElements(members.family, members.type, members.expires, bytes);
  if (notice.deleted) for (const e of decode(notice.deleted)) members.remove(e.address, e.cidr);
  if (notice.added) for (const e of decode(notice.added)) members.add(e.address, e.cidr);
}
