import { MtlsConfigError } from './errors.js';
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

const RULE_KEYS = ['fingerprint', 'subject', 'san', 'spiffeTrustDomain'] as const;

/**
 * Checks allow rules given by a JavaScript caller (or parsed from configuration): each rule is
 * an object with exactly one known key whose value is a non-empty string, and a fingerprint is
 * a SHA-256 (64 hex digits, separators allowed). Throws `MtlsConfigError` naming the rule and
 * key; a misspelt key would otherwise be a rule that silently matches nobody.
 */
export function checkAllowRules(rules: unknown, where = 'allow'): readonly AllowRule[] {
  if (!Array.isArray(rules))
    throw new MtlsConfigError(where, `expected an array of allow rules, got ${typeof rules}`);
  rules.forEach((rule: unknown, i) => {
    const at = `${where}[${i}]`;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule))
      throw new MtlsConfigError(at, `expected an object such as { san: "*@example.com" }`);
    const keys = Object.keys(rule);
    for (const k of keys)
      if (!(RULE_KEYS as readonly string[]).includes(k))
        throw new MtlsConfigError(
          `${at}.${k}`,
          `unknown allow-rule key "${k}" (expected one of ${RULE_KEYS.join(', ')})`,
        );
    if (keys.length !== 1)
      throw new MtlsConfigError(
        at,
        keys.length
          ? `a rule has exactly one key, got ${keys.join(' and ')} (use one rule per condition)`
          : `empty rule (expected one of ${RULE_KEYS.join(', ')})`,
      );
    const key = keys[0]!;
    const value = (rule as Record<string, unknown>)[key];
    if (typeof value !== 'string' || value.trim() === '')
      throw new MtlsConfigError(`${at}.${key}`, 'expected a non-empty string');
    if (key === 'fingerprint' && (!/^[0-9a-f:\s-]+$/i.test(value) || normFingerprint(value).length !== 64))
      throw new MtlsConfigError(`${at}.fingerprint`, 'expected a SHA-256 fingerprint (64 hex digits)');
  });
  return rules as AllowRule[];
}

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
