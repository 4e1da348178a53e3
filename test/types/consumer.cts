// SPDX-License-Identifier: GPL-2.0-or-later
// A CommonJS consumer of the published declarations (resolved through package.json "exports").
import { Firewall, type RuleSpec } from 'connlimit';

export async function start(): Promise<boolean> {
  const fw = await Firewall.open({ family: 'ipv4', backend: 'legacy', netns: 'edge' });
  const rule: RuleSpec = { protocol: 'tcp', syn: true, dport: 22, connlimit: { kind: 'above', count: 2 }, target: { kind: 'reject' } };
  // @ts-expect-error a connlimit needs a kind
  const bad: RuleSpec = { connlimit: { count: 2 } };
  // @ts-expect-error unknown verdicts are not targets
  const bad2: RuleSpec = { target: { kind: 'allow' } };
  // @ts-expect-error not a backend
  await Firewall.open({ backend: 'iptables' });
  const auto = await Firewall.open({ backend: 'auto' });
  const picked: 'legacy' | 'nft' | 'nftables' = auto.backend;
  void picked;
  void bad;
  void bad2;
  await fw.append('INPUT', rule);
  return fw.ensure('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT');
}
