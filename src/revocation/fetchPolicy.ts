import { BlockList, isIP } from 'node:net';

/**
 * Which hosts certificate-controlled URLs (OCSP, CRL distribution points, AIA caIssuers) may
 * reach. A certificate decides these URLs, so a hostile server could make certvet fetch from
 * inside the operator's network: operators can allow only their CA's hosts or networks, and
 * link-local addresses (cloud metadata services) are denied unless explicitly allowed.
 */
export class FetchPolicy {
  private readonly allowNets = new BlockList();
  private readonly denyNets = new BlockList();
  private readonly allowHosts = new Set<string>();
  private readonly denyHosts = new Set<string>();
  private hasAllow = false;

  constructor(
    allow: readonly string[] = [],
    deny: readonly string[] = [],
    opts: { denyLinkLocal?: boolean } = {},
  ) {
    for (const a of allow) this.add(a, this.allowNets, this.allowHosts, true);
    for (const d of deny) this.add(d, this.denyNets, this.denyHosts, false);
    if (opts.denyLinkLocal !== false) {
      this.denyNets.addSubnet('169.254.0.0', 16, 'ipv4');
      this.denyNets.addSubnet('fe80::', 10, 'ipv6');
    }
  }

  private add(rule: string, nets: BlockList, hosts: Set<string>, isAllow: boolean): void {
    const r = rule.trim().toLowerCase();
    const m = /^([0-9a-f:.]+)\/(\d{1,3})$/.exec(r);
    if (m && isIP(m[1]!)) {
      const fam = isIP(m[1]!) === 4 ? 'ipv4' : 'ipv6';
      const bits = Number(m[2]);
      if (bits > (fam === 'ipv4' ? 32 : 128)) throw new Error(`"${rule}": prefix length out of range`);
      nets.addSubnet(m[1]!, bits, fam);
    } else if (isIP(r)) nets.addAddress(r, isIP(r) === 4 ? 'ipv4' : 'ipv6');
    else if (/^[a-z0-9*._-]+$/.test(r)) hosts.add(r);
    else throw new Error(`"${rule}" is neither a host name, an IP address nor a CIDR block`);
    if (isAllow) this.hasAllow = true;
  }

  private hostMatches(set: Set<string>, host: string): boolean {
    if (set.has(host)) return true;
    for (const h of set) if (h.startsWith('*.') && host.endsWith(h.slice(1))) return true;
    return false;
  }

  /** Null when `host` (resolved to `address`) may be fetched from, else the reason. */
  check(host: string, address: string): string | null {
    const h = host.toLowerCase();
    const fam = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (this.hostMatches(this.denyHosts, h) || this.denyNets.check(address, fam))
      return `${host} (${address}) is denied by the fetch policy`;
    if (this.hasAllow && !this.hostMatches(this.allowHosts, h) && !this.allowNets.check(address, fam))
      return `${host} (${address}) is not in --fetch-allow`;
    return null;
  }
}
