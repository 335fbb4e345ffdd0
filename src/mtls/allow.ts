import type { ClientIdentity } from './identity.js';

/**
 * Who may connect, among clients whose certificates verify. A client is allowed when any rule
 * matches (no rules: every verified client). Subject and SAN patterns are exact strings in
 * which `*` matches any run of characters (case-insensitive).
 */
export type AllowRule =
  | { readonly fingerprint: string }
  | { readonly subject: string }
  | { readonly san: string }
  | { readonly spiffeTrustDomain: string };

function pattern(p: string): RegExp {
  return new RegExp(
    `^${p
      .split('*')
      .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
}

function normFingerprint(f: string): string {
  return f.replace(/[^0-9a-f]/gi, '').toLowerCase();
}

export function allowedBy(rules: readonly AllowRule[], id: ClientIdentity): AllowRule | null {
  for (const r of rules) {
    if ('fingerprint' in r && normFingerprint(r.fingerprint) === id.sha256) return r;
    if ('subject' in r && pattern(r.subject).test(id.subject)) return r;
    if ('san' in r) {
      const re = pattern(r.san);
      if ([...id.dns, ...id.emails, ...id.uris, ...id.ips].some((n) => re.test(n))) return r;
    }
    if ('spiffeTrustDomain' in r && id.spiffeId) {
      const m = /^spiffe:\/\/([^/]+)/i.exec(id.spiffeId);
      if (m && m[1]!.toLowerCase() === r.spiffeTrustDomain.toLowerCase()) return r;
    }
  }
  return null;
}

export function describeRule(r: AllowRule): string {
  if ('fingerprint' in r) return `fingerprint ${r.fingerprint}`;
  if ('subject' in r) return `subject ${r.subject}`;
  if ('san' in r) return `SAN ${r.san}`;
  return `SPIFFE trust domain ${r.spiffeTrustDomain}`;
}
