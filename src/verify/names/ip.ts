import { isIPv4, isIPv6 } from 'node:net';

/**
 * Parses an IP address reference identifier to its bytes. IPv4 must be strict dotted decimal
 * (no leading zeros, no hex or octal forms); IPv6 any RFC 4291 text form without a zone.
 */
export function parseIp(text: string): Uint8Array | null {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (isIPv4(t)) {
    const parts = t.split('.');
    if (parts.some((p) => p.length > 1 && p.startsWith('0'))) return null;
    return new Uint8Array(parts.map(Number));
  }
  if (!isIPv6(t) || t.includes('%')) return null;
  let tail: number[] = [];
  let s = t;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const groupsWanted = v4 ? 6 : 8;
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':').filter((x) => x !== '') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':').filter((x) => x !== '') : [];
  const zeros = rest !== undefined ? groupsWanted - h.length - r.length : 0;
  const groups = [...h, ...Array<string>(Math.max(0, zeros)).fill('0'), ...r].map((g) =>
    Number.parseInt(g, 16),
  );
  if (groups.length !== groupsWanted) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  tail.forEach((b, i) => {
    out[12 + i] = b;
  });
  return out;
}

/** True when `addr` lies in the network `constraint` (address followed by mask, 8 or 32 bytes). */
export function ipWithinSubtree(addr: Uint8Array, constraint: Uint8Array): boolean {
  if (constraint.length !== addr.length * 2) return false;
  const n = addr.length;
  for (let i = 0; i < n; i++) {
    const mask = constraint[n + i]!;
    if ((addr[i]! & mask) !== (constraint[i]! & mask)) return false;
  }
  return true;
}

/** An iPAddress name constraint must be address+mask (8 or 32 bytes) with a contiguous (CIDR) mask. */
export function ipConstraintError(c: Uint8Array): string | null {
  if (c.length !== 8 && c.length !== 32) return `is ${c.length} bytes (must be 8 or 32: address and mask)`;
  const half = c.length / 2;
  let seenZero = false;
  for (let i = half; i < c.length; i++) {
    for (let bit = 7; bit >= 0; bit--) {
      const one = (c[i]! >> bit) & 1;
      if (one && seenZero) return 'has a non-contiguous mask (not in CIDR form)';
      if (!one) seenZero = true;
    }
  }
  return null;
}
