/**
 * Pinning and expectations on a checked connection (DESIGN.md §5 pin-mismatch,
 * issuer-mismatch, fingerprint-mismatch) and the user's policy hook (custom:* findings), as
 * extra checks run after verification.
 */
import { createHash } from 'node:crypto';
import type { CustomFindingCode, Finding, Severity } from '../findings/catalogue.js';
import type { Certificate } from '../x509/certificate.js';
import { CertvetOptionError } from './errors.js';
import type { ExtraCheck, ExtraCheckContext } from './pipeline.js';

/** HPKP syntax: `sha256/` + base64 of the SHA-256 of a SubjectPublicKeyInfo. */
export function spkiPin(cert: Certificate): string {
  return `sha256/${createHash('sha256').update(cert.publicKey.spkiDer).digest('base64')}`;
}

export function checkPins(pins: readonly string[]): ExtraCheck {
  const wanted = new Set<string>();
  if (!Array.isArray(pins) || pins.length === 0)
    throw new CertvetOptionError('pins', 'must be a non-empty array of sha256/BASE64 strings');
  for (const [i, p] of pins.entries()) {
    const m = typeof p === 'string' ? /^sha256\/([A-Za-z0-9+/]{43}=)$/.exec(p.trim()) : null;
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
  const want = typeof expected === 'string' ? expected.replace(/[:\s]/g, '').toLowerCase() : '';
  if (!/^[0-9a-f]{64}$/.test(want))
    throw new CertvetOptionError(
      'expectFingerprint',
      `"${String(expected)}" is not a SHA-256 fingerprint (64 hex digits)`,
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

const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical', 'error'];

/** An unknown severity as a message may quote it: a short string, or the value's type. */
function describeSeverity(s: unknown): string {
  if (s === undefined) return 'none';
  if (typeof s !== 'string') return `of type ${typeof s}`;
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** A policy's answer as findings; anything malformed is one fail-closed finding saying so. */
function policyFindings(out: unknown): Finding[] {
  if (!Array.isArray(out)) throw new Error('the policy hook did not return an array of findings');
  return out.map((f: unknown, i): Finding => {
    const x = f as Partial<PolicyFinding> | null;
    if (!x || typeof x !== 'object' || typeof x.code !== 'string' || !x.code || typeof x.message !== 'string')
      throw new Error(`the policy hook's finding #${i} is not { code: string, severity, message: string }`);
    const code = (x.code.startsWith('custom:') ? x.code : `custom:${x.code}`) as CustomFindingCode;
    // A severity certvet does not know is taken as the worst, and the message says so: a typo
    // ('fatal', 'Warning') must neither pass nor change the verdict unseen.
    const known = SEVERITIES.includes(x.severity as Severity);
    return {
      code,
      severity: known ? (x.severity as Severity) : 'critical',
      message: known
        ? x.message
        : `${x.message} (the policy hook gave severity ${describeSeverity(x.severity)}, not one of ${SEVERITIES.join(', ')}: taken as critical)`,
      ...(typeof x.certIndex === 'number' && Number.isInteger(x.certIndex) ? { certIndex: x.certIndex } : {}),
    };
  });
}

/**
 * Runs the user's policy under the target's deadline. A policy that throws, answers something
 * that is not a list of findings, or does not answer before the deadline fails closed:
 * `custom:policy-error`, critical.
 */
export function runPolicy(policy: Policy): ExtraCheck {
  return async (ctx) => {
    const failed = (why: string): Finding[] => [
      { code: 'custom:policy-error', severity: 'critical', message: `the policy hook ${why}` },
    ];
    let stop: (() => void) | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      if (ctx.signal.aborted) resolve('deadline');
      stop = () => resolve('deadline');
      ctx.signal.addEventListener('abort', stop, { once: true });
    });
    try {
      const out = await Promise.race([
        Promise.resolve().then(() =>
          policy({
            target: ctx.target,
            path: ctx.path,
            anchored: ctx.anchored,
            sent: ctx.observation.certificates,
            tls: ctx.result.tls,
            findings: ctx.result.findings,
          }),
        ),
        deadline,
      ]);
      if (out === 'deadline') return failed('did not answer before the deadline');
      return policyFindings(out);
    } catch (e) {
      return failed(`failed: ${(e as Error)?.message ?? String(e)}`);
    } finally {
      if (stop) ctx.signal.removeEventListener('abort', stop);
    }
  };
}
