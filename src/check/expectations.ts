/**
 * Pinning and expectations on a checked connection (DESIGN.md §5 pin-mismatch,
 * issuer-mismatch, fingerprint-mismatch) and the user's policy hook (custom:* findings), as
 * extra checks run after verification.
 */
import { createHash } from 'node:crypto';
import type { CustomFindingCode, Finding, Severity } from '../findings/catalogue.js';
import type { ExtraCheck, ExtraCheckContext } from '../scan/scanner.js';
import type { Certificate } from '../x509/certificate.js';
import { CertvetOptionError } from './errors.js';

/** HPKP syntax: `sha256/` + base64 of the SHA-256 of a SubjectPublicKeyInfo. */
export function spkiPin(cert: Certificate): string {
  return `sha256/${createHash('sha256').update(cert.publicKey.spkiDer).digest('base64')}`;
}

export function checkPins(pins: readonly string[]): ExtraCheck {
  const wanted = new Set<string>();
  for (const [i, p] of pins.entries()) {
    const m = /^sha256\/([A-Za-z0-9+/]{43}=)$/.exec(p.trim());
    if (!m) throw new CertvetOptionError(`pins[${i}]`, `"${p}" is not sha256/BASE64 (44 base64 characters)`);
    wanted.add(`sha256/${m[1]}`);
  }
  return ({ path }) => {
    const have = path.map(spkiPin);
    if (have.some((h) => wanted.has(h))) return [];
    return [
      {
        code: 'pin-mismatch',
        severity: 'critical',
        message: `no certificate of the path has a pinned public key (pinned ${[...wanted].join(', ')}; the path has ${have.join(', ')})`,
        certIndex: 0,
      },
    ];
  };
}

export function checkFingerprint(expected: string): ExtraCheck {
  const want = expected.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(want))
    throw new CertvetOptionError(
      'expectFingerprint',
      `"${expected}" is not a SHA-256 fingerprint (64 hex digits)`,
    );
  return ({ path }) =>
    path[0] && path[0].sha256 !== want
      ? [
          {
            code: 'fingerprint-mismatch',
            severity: 'critical',
            message: `the leaf certificate (${path[0].subject.text}) has SHA-256 fingerprint ${path[0].sha256}, not the expected ${want}`,
            certIndex: 0,
          },
        ]
      : [];
}

/**
 * `expectIssuer`: the leaf's issuer DN as text ("CN=Corp Issuing CA,O=Corp"). Attributes are
 * compared as a set, case-insensitively and with whitespace folded (RFC 5280 §7.1 spirit), so
 * RFC 4514 order and DER order both match.
 */
export function checkIssuer(expected: string): ExtraCheck {
  if (typeof expected !== 'string' || !expected.includes('='))
    throw new CertvetOptionError(
      'expectIssuer',
      `"${String(expected)}" is not a distinguished name (e.g. CN=Corp CA,O=Corp)`,
    );
  return ({ path }) => {
    const leaf = path[0];
    if (!leaf) return [];
    const same = sameDn(leaf.issuer.text, expected);
    return same
      ? []
      : [
          {
            code: 'issuer-mismatch',
            severity: 'critical',
            message: `the leaf certificate (${leaf.subject.text}) was issued by ${leaf.issuer.text || '(empty)'}, not the expected ${expected}`,
            certIndex: 0,
          },
        ];
  };
}

function sameDn(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .split(/(?<!\\)[,+]/)
      .map((x) => {
        const eq = x.indexOf('=');
        return `${x.slice(0, eq).trim().toUpperCase()}=${x
          .slice(eq + 1)
          .trim()
          .replace(/\s+/g, ' ')
          .toLowerCase()}`;
      })
      .sort()
      .join('\n');
  return norm(a) === norm(b);
}

/** What a user's policy hook sees. */
export interface PolicyContext {
  readonly target: string;
  /** The validated path, leaf first (parsed certificates). */
  readonly path: readonly Certificate[];
  readonly anchored: boolean;
  /** The certificates exactly as the server sent them (DER), leaf first. */
  readonly sent: readonly Uint8Array[];
  readonly tls: ExtraCheckContext['result']['tls'];
  /** Findings so far. */
  readonly findings: readonly Finding[];
}

export interface PolicyFinding {
  /** Your code; certvet prefixes `custom:` unless it is already there. */
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly certIndex?: number;
}

export type Policy = (ctx: PolicyContext) => readonly PolicyFinding[] | Promise<readonly PolicyFinding[]>;

export function runPolicy(policy: Policy): ExtraCheck {
  return async (ctx) => {
    let out: readonly PolicyFinding[];
    try {
      out = await policy({
        target: ctx.target,
        path: ctx.path,
        anchored: ctx.anchored,
        sent: ctx.observation.certificates,
        tls: ctx.result.tls,
        findings: ctx.result.findings,
      });
    } catch (e) {
      // A policy that cannot decide fails closed.
      return [
        {
          code: 'custom:policy-error',
          severity: 'critical',
          message: `the policy hook threw: ${(e as Error)?.message ?? String(e)}`,
        },
      ];
    }
    if (!Array.isArray(out))
      return [
        {
          code: 'custom:policy-error',
          severity: 'critical',
          message: 'the policy hook did not return an array of findings',
        },
      ];
    return out.map((f): Finding => {
      const code = (f.code.startsWith('custom:') ? f.code : `custom:${f.code}`) as CustomFindingCode;
      const severity: Severity = ['info', 'warning', 'critical', 'error'].includes(f.severity)
        ? f.severity
        : 'critical';
      return {
        code,
        severity,
        message: String(f.message),
        ...(typeof f.certIndex === 'number' ? { certIndex: f.certIndex } : {}),
      };
    });
  };
}
