// SPDX-License-Identifier: GPL-2.0-or-later
// The broad rule tables both backends' CLI-equivalence tests apply (test/30-legacy-kernel,
// test/50-nft-kernel): each rule goes through the library in one namespace and through the
// CLI in another, and the two tables must save identically.

/** Splits a rule as a shell would, for handing the same arguments to the CLI. */
export function argv(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3] ?? ''));
  return out;
}

// A broad table of rules; [chain, rule]. -o is refused by the CLI in INPUT, so those go to OUTPUT.
export const IPV4_RULES: Array<[string, string]> = [
  ['INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT'],
  ['INPUT', '-p tcp --syn --dport 23 -m connlimit ! --connlimit-above 2 -j ACCEPT'],
  ['INPUT', '-p tcp --syn --dport 80 -m connlimit --connlimit-above 16 --connlimit-mask 24 -j REJECT --reject-with tcp-reset'],
  ['INPUT', '-p tcp --dport 23 -m connlimit --connlimit-above 2 --connlimit-mask 32 -j REJECT --reject-with tcp-reset'],
  ['INPUT', '-m connlimit --connlimit-upto 5 --connlimit-daddr -j RETURN'],
  ['INPUT', '-m connlimit ! --connlimit-upto 5 -j DROP'],
  ['INPUT', '-m connlimit --connlimit-above 0 --connlimit-mask 0 -j DROP'],
  ['INPUT', '-m connlimit --connlimit-above 4294967295 --connlimit-mask 17 --connlimit-saddr -j DROP'],
  ['INPUT', '-s 10.0.0.0/8 -d 192.168.1.1 -i eth0 -p udp --sport 1024:65535 --dport 53 -m comment --comment "dns clients" -j ACCEPT'],
  ['INPUT', '! -s 192.168.1.1 ! -i lo+ -p tcp ! --syn -j DROP'],
  ['INPUT', '-s 10.1.2.3/24 -d 10.0.0.0/255.255.0.0 -j DROP'],
  ['INPUT', '-f -j DROP'],
  ['INPUT', '! -f -j ACCEPT'],
  ['INPUT', '-p tcp --sport 1000:2000 ! --dport 22 -j ACCEPT'],
  ['INPUT', '-p tcp --tcp-flags SYN,ACK SYN -j DROP'],
  ['INPUT', '-p tcp ! --tcp-flags ALL NONE -j DROP'],
  ['INPUT', '-p tcp --tcp-option 2 -j DROP'],
  ['INPUT', '-p tcp -m tcp --dport 8080 -j ACCEPT'],
  ['INPUT', '-p udp -m udp ! --sport 53 -j ACCEPT'],
  ['INPUT', '! -p udp -j DROP'],
  ['INPUT', '-p icmp -j ACCEPT'],
  ['INPUT', '-p tcp --dport 25 -m comment --comment "it\'s \\"quoted\\" \\\\ here" -j DROP'],
  ['INPUT', '-m comment --comment first -p tcp --dport 26 -j DROP'],
  ['INPUT', '-j REJECT --reject-with icmp-net-unreachable'],
  ['INPUT', '-j REJECT --reject-with icmp-host-unreachable'],
  ['INPUT', '-j REJECT --reject-with icmp-proto-unreachable'],
  ['INPUT', '-j REJECT --reject-with icmp-net-prohibited'],
  ['INPUT', '-j REJECT --reject-with icmp-host-prohibited'],
  ['INPUT', '-j REJECT --reject-with icmp-admin-prohibited'],
  ['INPUT', '-p tcp -j REJECT --reject-with tcp-reset'],
  ['INPUT', '-p tcp --dport 443 -j LIMITS'],
  ['INPUT', '-p tcp --dport 444 -g LIMITS'],
  ['INPUT', '-i eth+ -s 127.0.0.1'],
  ['LIMITS', '-p tcp --dport 443 -m connlimit --connlimit-above 64 --connlimit-mask 24 -j DROP'],
  ['LIMITS', '-j RETURN'],
  ['OUTPUT', '-o lo -d 127.0.0.0/8 -j ACCEPT'],
];

export const IPV6_RULES: Array<[string, string]> = [
  ['INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT'],
  ['INPUT', '-s 2001:db8::/32 -p tcp --dport 443 -m connlimit --connlimit-above 8 --connlimit-mask 64 -j REJECT --reject-with tcp-reset'],
  ['INPUT', '-m connlimit --connlimit-upto 3 --connlimit-mask 128 --connlimit-daddr -j ACCEPT'],
  ['INPUT', '-p tcp -m connlimit --connlimit-above 1 --connlimit-mask 0 -j DROP'],
  ['INPUT', '! -d ::1/128 -i lo -p ipv6-icmp -j ACCEPT'],
  ['INPUT', '-s 2001:db8:1:2::5/64 -p udp --dport 53 -m comment --comment v6dns -j ACCEPT'],
  ['INPUT', '-p udp -j REJECT --reject-with icmp6-no-route'],
  ['INPUT', '-p udp -j REJECT --reject-with icmp6-adm-prohibited'],
  ['INPUT', '-p udp -j REJECT --reject-with icmp6-addr-unreachable'],
  ['INPUT', '-p udp -j REJECT --reject-with icmp6-port-unreachable'],
  ['INPUT', '-p udp -j REJECT --reject-with icmp6-policy-fail'],
  ['INPUT', '-p udp -j REJECT --reject-with icmp6-reject-route'],
  ['INPUT', '-p tcp -j REJECT --reject-with tcp-reset'],
  ['INPUT', '-p tcp --dport 443 -j LIMITS'],
  ['LIMITS', '-m connlimit --connlimit-above 4 -j DROP'],
];
