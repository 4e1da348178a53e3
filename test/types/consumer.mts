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

// The default import is the whole module, typed (`import connlimit from 'connlimit'`).
import connlimit from 'connlimit';
const viaDefault: typeof Firewall = connlimit.Firewall;
void viaDefault;
// @ts-expect-error the default export has only the module's own exports
void connlimit.notAnExport;
const listed = await connlimit.Firewall.open();
const json: string = JSON.stringify(await listed.list());
void json;
