import type { Certificate } from '../x509/certificate.js';
import { bytesEqual, toHex } from '../x509/der.js';
import { MAX_PATH_CERTIFICATES, type VerifyBudget } from './options.js';

/** Certificates available to path building, indexed by subject name. */
export class CertificatePool {
  private readonly bySubject = new Map<string, Certificate[]>();
  private readonly anchorIds = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(anchors: readonly Certificate[], intermediates: readonly Certificate[]) {
    for (const a of anchors) {
      this.anchorIds.add(a.sha256);
      this.add(a);
    }
    for (const c of intermediates) this.add(c);
  }

  private add(c: Certificate): void {
    if (this.seen.has(c.sha256)) return;
    this.seen.add(c.sha256);
    const list = this.bySubject.get(c.subject.key);
    if (list) list.push(c);
    else this.bySubject.set(c.subject.key, [c]);
  }

  isAnchor(c: Certificate): boolean {
    return this.anchorIds.has(c.sha256);
  }

  /** Possible issuers of `c`: subject equals c's issuer, and key identifiers do not contradict. */
  issuersOf(c: Certificate): Certificate[] {
    const list = this.bySubject.get(c.issuer.key) ?? [];
    const aki = c.ext.authorityKeyId?.keyId;
    return list.filter((cand) => {
      const ski = cand.ext.subjectKeyId;
      return !(aki && ski && !bytesEqual(aki, ski));
    });
  }
}

export interface Candidate {
  readonly path: readonly Certificate[];
  readonly anchored: boolean;
}

export interface BuildState {
  signatureChecks: number;
  buildSteps: number;
  exhausted: boolean;
}

const entityKeys = new WeakMap<Certificate, string>();

/** (subject, key) identity: two cross-signed copies of one CA are the same entity. */
function entityKey(c: Certificate): string {
  let k = entityKeys.get(c);
  if (k === undefined) {
    k = `${c.subject.key}|${toHex(c.publicKey.spkiDer)}`;
    entityKeys.set(c, k);
  }
  return k;
}

/**
 * Depth-first enumeration of candidate paths from `leaf` (RFC 4158 style), anchors tried
 * first and issuers whose signature verifies before those whose signature does not. A path
 * never uses the same certificate or the same (subject, key) entity twice, never exceeds
 * MAX_PATH_CERTIFICATES, and the whole search stops at the budget. `visit` returns true to
 * stop the search (a valid path was found).
 */
export function enumeratePaths(
  leaf: Certificate,
  pool: CertificatePool,
  budget: VerifyBudget,
  state: BuildState,
  signatureOk: (child: Certificate, issuer: Certificate) => boolean,
  visit: (c: Candidate) => boolean,
): void {
  const path: Certificate[] = [leaf];
  const used = new Set<string>([entityKey(leaf)]);

  const step = (): boolean => {
    const cur = path[path.length - 1]!;
    if (pool.isAnchor(cur)) return visit({ path: [...path], anchored: true });
    if (path.length >= MAX_PATH_CERTIFICATES) return visit({ path: [...path], anchored: false });
    const issuers = pool.issuersOf(cur).filter((c) => !used.has(entityKey(c)));
    if (issuers.length === 0) return visit({ path: [...path], anchored: false });
    const ranked = issuers
      .map((c) => ({ c, anchor: pool.isAnchor(c), sig: signatureOk(cur, c) }))
      .sort(
        (a, b) =>
          Number(b.anchor) - Number(a.anchor) ||
          Number(b.sig) - Number(a.sig) ||
          b.c.notAfter.seconds - a.c.notAfter.seconds,
      );
    for (const { c } of ranked) {
      if (++state.buildSteps > budget.buildSteps || state.signatureChecks > budget.signatureChecks) {
        state.exhausted = true;
        return true;
      }
      const k = entityKey(c);
      path.push(c);
      used.add(k);
      const stop = step();
      path.pop();
      used.delete(k);
      if (stop) return true;
    }
    return false;
  };
  step();
}
