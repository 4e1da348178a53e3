// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Change notices for one native-form set: nf_tables announces every element added or deleted
 * (NEWSETELEM/DELSETELEM on NFNLGRP_NFTABLES), so a watch filtered by such a set reads it
 * again when it changed rather than on a timer. The ruleset watch thread of fw.keep()
 * (core/nft/ruleset_watcher), told to count only the messages naming this set of the form's
 * first table. ipset has no such notices; nor does nf_tables for an element's timeout running out.
 */
import { binding } from '../binding';
import { fromNative } from '../errors';
import type { NativeRulesetGeneration, NativeRulesetWatch } from '../native-types';
import type { CheckedSetRef } from './set-ref';

/** A subscription; close() stops its thread. */
export interface SetFollow {
  close(): Promise<void>;
}

/**
 * Subscribes, resolving once the kernel will report changes to the set (so a read after it
 * misses none). `changed` is called per commit that touched the set, and when notices were lost
 * (receive buffer overrun); `failed` once, for an error after that.
 */
export function followNftablesSet(netns: string | null, ref: CheckedSetRef, changed: () => void, failed: (e: unknown) => void): Promise<SetFollow> {
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
        } else changed();
      },
    );
  });
}
