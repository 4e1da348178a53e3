// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The shared libraries the addon links against (binding.gyp: pkg-config --libs libip4tc
 * libip6tc libmnl libnftnl, plus the C++ runtime) and the package that ships each, so a load
 * failure can say what to install. Any host with iptables and nftables has them all.
 */
interface Provider {
  debian: string;
  rhel: string;
}

const PROVIDERS: Record<string, Provider> = {
  'libip4tc.so.2': { debian: 'libip4tc2', rhel: 'iptables-libs' },
  'libip6tc.so.2': { debian: 'libip6tc2', rhel: 'iptables-libs' },
  'libmnl.so.0': { debian: 'libmnl0', rhel: 'libmnl' },
  'libnftnl.so.11': { debian: 'libnftnl11', rhel: 'libnftnl' },
  'libstdc++.so.6': { debian: 'libstdc++6', rhel: 'libstdc++' },
};

/** What to install for a missing `soname` ('libnftnl.so.11'), for a person. */
export function installHint(soname: string): string {
  const p = PROVIDERS[soname];
  if (!p) return `install the package that provides ${soname}`;
  return `install it: Debian/Ubuntu 'apt-get install ${p.debian}', RHEL/Fedora 'dnf install ${p.rhel}'`;
}
