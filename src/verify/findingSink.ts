import { FINDING_CODES, type Finding, type FindingCode } from '../findings/catalogue.js';
import type { Conformance } from './options.js';

/**
 * Collects findings for one candidate path. Trust findings keep their catalogue severity;
 * profile findings are critical when conformance is enforced and warnings otherwise.
 */
export class FindingSink {
  readonly findings: Finding[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly conformance: Conformance) {}

  trust(code: FindingCode, message: string, certIndex?: number, rule?: string): void {
    this.push({ code, severity: FINDING_CODES[code], message, certIndex, rule });
  }

  profile(code: FindingCode, message: string, certIndex: number | undefined, rule: string): void {
    const severity = this.conformance === 'enforce' ? 'critical' : 'warning';
    this.push({ code, severity, message, certIndex, rule });
  }

  /** A finding whose severity the caller decided (e.g. by revocation mode). */
  add(f: Finding & { readonly code: FindingCode }): void {
    this.push(f);
  }

  private push(f: {
    code: FindingCode;
    severity: Finding['severity'];
    message: string;
    certIndex?: number;
    rule?: string;
  }): void {
    const clean: Finding = {
      code: f.code,
      severity: f.severity,
      message: f.message,
      ...(f.certIndex !== undefined ? { certIndex: f.certIndex } : {}),
      ...(f.rule !== undefined ? { rule: f.rule } : {}),
    };
    // De-duplicated by key in O(1): a hostile chain can produce many findings.
    const key = `${clean.code}\u0000${clean.certIndex ?? ''}\u0000${clean.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push(clean);
  }
}
