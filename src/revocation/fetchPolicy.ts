import { BlockList, isIP, isIPv4 } from 'node:net';
import { parseIp } from '../verify/names/ip.js';

/** A --fetch-allow / --fetch-deny rule that is neither a host name, an address nor a CIDR block. */
export class FetchPolicyError extends Error {
  override readonly name = 'FetchPolicyError';
  readonly code = 'CERTVET_FETCH_POLICY_INVALID';
}

type Family = 'ipv4' | 'ipv6';

/** One way an address may be reached: the address itself, or the IPv4 address it embeds. */
interface AddressForm {
  readonly address: string;
  readonly family: Family;
}

function v4Of(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function zeros(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * The IPv4 address an IPv6 address stands for, if any: IPv4-mapped (::ffff:a.b.c.d, which a
 * dual-stack socket dials as IPv4), IPv4-compatible (::a.b.c.d, deprecated; :: and ::1 are not
 * embeddings) and the NAT64 well-known prefix (64:ff9b::/96, RFC 6052), through which a NAT64
 * gateway reaches the IPv4 address.
 */
export function embeddedIpv4(v6: string): string | null {
  const b = parseIp(v6);
  if (b?.length !== 16) return null;
  if (zeros(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return v4Of(b, 12);
  if (zeros(b, 0, 12) && !(zeros(b, 12, 15) && (b[15] ?? 0) <= 1)) return v4Of(b, 12);
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(b, 4, 12)) return v4Of(b, 12);
  return null;
}

/** Every form under which `address` is checked: itself and, for IPv6, the IPv4 address it embeds. */
function formsOf(address: string): AddressForm[] | null {
  const a = address.replace(/^\[|\]$/g, '');
  if (isIPv4(a)) return [{ address: a, family: 'ipv4' }];
  if (isIP(a) !== 6 || a.includes('%')) return null;
  const forms: AddressForm[] = [{ address: a, family: 'ipv6' }];
  const v4 = embeddedIpv4(a);
  if (v4) forms.push({ address: v4, family: 'ipv4' });
  return forms;
}

/**
 * 0.0.0.0/8 ("this network") and :: (unspecified): Linux connects both to the local host, so
 * they are never fetched from, whatever the allow and deny rules say.
 */
const UNSPECIFIED = new BlockList();
UNSPECIFIED.addSubnet('0.0.0.0', 8, 'ipv4');
UNSPECIFIED.addAddress('::', 'ipv6');

function hostKey(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/**
 * Which hosts certificate-controlled URLs (OCSP, CRL distribution points, AIA caIssuers) may
 * reach. A certificate decides these URLs, so a hostile server could make certvet fetch from
 * inside the operator's network: operators can allow only their CA's hosts or networks, and
 * link-local addresses (cloud metadata services) are denied unless explicitly allowed. The
 * unspecified addresses (0.0.0.0/8, ::) are always denied, and an IPv6 address that embeds an
 * IPv4 address (mapped, compatible, NAT64) is checked under both forms: denied when either is.
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
    // A string would be read character by character: a deny rule that never applies.
    for (const [what, list] of [
      ['allow', allow],
      ['deny', deny],
    ] as const)
      if (!Array.isArray(list) || list.some((e) => typeof e !== 'string'))
        throw new FetchPolicyError(
          `the ${what} rules must be an array of strings, not ${JSON.stringify(list)}`,
        );
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
      if (bits > (fam === 'ipv4' ? 32 : 128))
        throw new FetchPolicyError(`"${rule}": prefix length out of range`);
      nets.addSubnet(m[1]!, bits, fam);
    } else if (isIP(r)) nets.addAddress(r, isIP(r) === 4 ? 'ipv4' : 'ipv6');
    else if (/^[a-z0-9*._-]+$/.test(r)) hosts.add(hostKey(r));
    else throw new FetchPolicyError(`"${rule}" is neither a host name, an IP address nor a CIDR block`);
    if (isAllow) this.hasAllow = true;
  }

  private hostMatches(set: Set<string>, host: string): boolean {
    if (set.has(host)) return true;
    for (const h of set) if (h.startsWith('*.') && host.endsWith(h.slice(1))) return true;
    return false;
  }

  /**
   * Null when `host` may be fetched from at `address` — the address that will actually be
   * dialled (an IP literal as the URL parser normalised it, or what the host resolved to) —
   * else the reason.
   */
  check(host: string, address: string): string | null {
    const h = hostKey(host);
    const forms = formsOf(address);
    if (!forms) return `${host} resolved to "${address}", which is not an IP address`;
    const shown = forms.length > 1 ? `${address}, i.e. ${forms[1]!.address}` : address;
    if (forms.some((f) => UNSPECIFIED.check(f.address, f.family)))
      return `${host} (${shown}) is an unspecified address, which connects to the local host: never fetched from`;
    if (this.hostMatches(this.denyHosts, h) || forms.some((f) => this.denyNets.check(f.address, f.family)))
      return `${host} (${shown}) is denied by the fetch policy`;
    if (
      this.hasAllow &&
      !this.hostMatches(this.allowHosts, h) &&
      !forms.some((f) => this.allowNets.check(f.address, f.family))
    )
      return `${host} (${shown}) is not in --fetch-allow`;
    return null;
  }
}

/** The policy every fetch obeys when the caller gives none: link-local and unspecified denied. */
export const DEFAULT_FETCH_POLICY = new FetchPolicy();
