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

  /** Known certificates whose subject is `c`'s issuer that its key identifier rules out. */
  issuersRuledOutByKeyId(c: Certificate): Certificate[] {
    const list = this.bySubject.get(c.issuer.key) ?? [];
    const aki = c.ext.authorityKeyId?.keyId;
    if (!aki) return [];
    return list.filter((cand) => cand.ext.subjectKeyId && !bytesEqual(aki, cand.ext.subjectKeyId));
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
  /** Building stopped at MAX_PATH_CERTIFICATES although the top certificate has issuers. */
  readonly capped?: boolean;
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
 * Depth-first enumeration of candidate paths from `leaf` (RFC 4158 style): at each step the
 * possible issuers are tried anchors first, then by latest notAfter; each issuer's signature
 * is checked (and charged to the budget) only when that issuer is reached, and issuers whose
 * signature does not verify are tried last, for diagnostics. A path never uses the same
 * certificate or the same (subject, key) entity twice and never exceeds
 * MAX_PATH_CERTIFICATES; the whole search stops at the budget. `signatureOk` returns
 * 'exhausted' when the signature budget is spent. `visit` returns true to stop the search (a
 * valid path was found).
 */
export function enumeratePaths(
  leaf: Certificate,
  pool: CertificatePool,
  budget: VerifyBudget,
  state: BuildState,
  signatureOk: (child: Certificate, issuer: Certificate) => boolean | 'exhausted',
  visit: (c: Candidate) => boolean,
): void {
  const path: Certificate[] = [leaf];
  const used = new Set<string>([entityKey(leaf)]);

  const stopAtBudget = (): boolean => {
    state.exhausted = true;
    return true;
  };
  const descend = (c: Certificate): boolean => {
    if (++state.buildSteps > budget.buildSteps) return stopAtBudget();
    const k = entityKey(c);
    path.push(c);
    used.add(k);
    const stop = step();
    path.pop();
    used.delete(k);
    return stop;
  };
  const step = (): boolean => {
    const cur = path[path.length - 1]!;
    if (pool.isAnchor(cur)) return visit({ path: [...path], anchored: true });
    const issuers = pool.issuersOf(cur).filter((c) => !used.has(entityKey(c)));
    if (issuers.length === 0) return visit({ path: [...path], anchored: false });
    if (path.length >= MAX_PATH_CERTIFICATES)
      return visit({ path: [...path], anchored: false, capped: true });
    const ranked = issuers
      .map((c) => ({ c, anchor: pool.isAnchor(c) }))
      .sort((a, b) => Number(b.anchor) - Number(a.anchor) || b.c.notAfter.seconds - a.c.notAfter.seconds);
    const badSignature: Certificate[] = [];
    for (const { c } of ranked) {
      const ok = signatureOk(cur, c);
      if (ok === 'exhausted') return stopAtBudget();
      if (!ok) {
        badSignature.push(c);
        continue;
      }
      if (descend(c)) return true;
    }
    for (const c of badSignature) if (descend(c)) return true;
    return false;
  };
  step();
}
