// SPDX-License-Identifier: GPL-2.0-or-later
// An ESM consumer of the published declarations.
import { Firewall, isConnlimitError, type ListedRule } from 'connlimit';

const fw = await Firewall.open({ family: 'ipv6' });
const rules: ListedRule[] = await fw.list('INPUT');
const first = rules[0];
if (first) {
  const position: number = first.position;
  const packets: bigint = first.packets;
  void position;
  void packets;
}
try {
  await fw.delete('INPUT', 1);
} catch (e) {
  if (isConnlimitError(e) && e.code === 'ERR_CONNLIMIT_NOT_FOUND') {
    // @ts-expect-error codes are a closed set of literals
    if (e.code === 'ERR_SOMETHING_ELSE') throw e;
  }
}
await fw.close();
