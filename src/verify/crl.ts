import type { Certificate } from '../x509/certificate.js';
import type { Crl, RevokedEntry } from '../x509/crl.js';
import { verifySignature } from '../x509/signatureAlgorithm.js';
import { isoOf } from '../x509/time.js';

export { type Crl, parseCrl, type RevokedEntry } from '../x509/crl.js';

/** A CRL's signature is checked once per issuer: hashing a large CRL costs milliseconds. */
const crlSignatures = new WeakMap<Crl, Map<string, string | null>>();

function crlSignatureError(crl: Crl, issuer: Certificate): string | null {
  let byIssuer = crlSignatures.get(crl);
  if (!byIssuer) {
    byIssuer = new Map();
    crlSignatures.set(crl, byIssuer);
  }
  let r = byIssuer.get(issuer.sha256);
  if (r === undefined) {
    r = verifySignature(crl.signatureAlgorithm, issuer.publicKey, crl.tbs, crl.signature);
    byIssuer.set(issuer.sha256, r);
  }
  return r;
}

export type CrlStatus =
  | { readonly status: 'good'; readonly crl: Crl }
  | {
      readonly status: 'revoked';
      readonly crl: Crl;
      readonly entry: RevokedEntry;
      /** Why the CRL would otherwise be unusable (stale, defects): a revocation stands regardless. */
      readonly caveats: readonly string[];
    }
  | { readonly status: 'unusable'; readonly reason: string }
  | { readonly status: 'not-covered' };

/** How a CRL is named in messages: its source when known, else its issuer. */
export function describeCrl(crl: Crl): string {
  return crl.source
    ? `the CRL ${crl.source} (issuer ${crl.issuer.text || '(empty)'})`
    : `the CRL from ${crl.issuer.text || '(empty issuer)'}`;
}

/**
 * Why `crl`'s scope (issuingDistributionPoint, RFC 5280 §5.2.5, §6.3.3 (b)) excludes `cert`, or
 * null. A partitioned CRL covers a certificate only when one of the URIs its IDP names is,
 * byte for byte, a URI of the certificate's cRLDistributionPoints (a DistributionPoint of URIs
 * only, without reasons or cRLIssuer); other name forms are not matched, so such a CRL is not
 * used (CA/B Forum BR 7.2.2.1 allows only URIs, and byte-identical ones).
 */
function scopeExclusion(crl: Crl, cert: Certificate, isCa: boolean): string | null {
  // A delta is applied to the fetched base that names it (src/revocation/checkRevocation.ts);
  // met alone — fetched from a CDP, or supplied — only its listings count.
  if (crl.isDelta)
    return 'is a delta CRL, which cannot answer by itself (certvet applies a delta only to the fetched base CRL that names it in freshestCRL; a serial it lists is still revoked)';
  if (crl.onlyAttributeCerts) return 'covers only attribute certificates';
  if (crl.indirect) return 'is an indirect CRL, which certvet does not support';
  if (crl.onlyUserCerts && isCa) return 'covers only end-entity certificates, and this one is a CA';
  if (crl.onlyCaCerts && !isCa) return 'covers only CA certificates, and this one is an end entity';
  if (crl.distributionPointUnmatchable)
    return `names its distribution point ${crl.distributionPointUnmatchable}, which certvet does not match`;
  const idp = crl.distributionPointUris;
  if (idp) {
    const mine = cert.ext.crlDistributionPointMatchUris ?? [];
    if (!idp.some((u) => mine.includes(u)))
      return `is the CRL of the distribution point ${idp.join(', ') || '(no name)'}, and ${
        mine.length
          ? `the certificate's cRLDistributionPoints name ${mine.join(', ')} instead`
          : (cert.ext.crlDistributionPoints?.length ?? 0) > 0
            ? "the certificate's cRLDistributionPoints do not name it by URIs alone"
            : 'the certificate has no cRLDistributionPoints naming it'
      }`;
  }
  return null;
}

/**
 * RFC 5280 §6.3 for one certificate against the supplied CRLs. A CRL is relevant when its
 * issuer name is the certificate's issuer. Fail closed:
 * - a serial listed on a relevant CRL whose signature verifies under the issuer's key is
 *   `revoked`, whatever else is wrong with that CRL (staleness cannot un-revoke);
 * - `good` needs a relevant CRL that is signed by the issuer (whose keyUsage, if present,
 *   has cRLSign), current at `nowSec`, free of defects, and whose scope covers the
 *   certificate for all reasons;
 * - a relevant CRL that cannot give that answer (bad signature, stale, out of scope, …)
 *   makes the status `unusable`, naming each such CRL and why;
 * - `not-covered` only when no supplied CRL is relevant at all.
 */
export function checkCrls(
  cert: Certificate,
  issuer: Certificate,
  crls: readonly Crl[],
  nowSec: number,
  isCa: boolean,
): CrlStatus {
  const unusable: string[] = [];
  let good: Crl | null = null;
  let relevant = false;
  for (const crl of crls) {
    if (crl.issuer.key !== cert.issuer.key) continue;
    relevant = true;
    const name = describeCrl(crl);
    if (crl.issuer.key !== issuer.subject.key) {
      unusable.push(`${name} cannot be matched to the issuing certificate ${issuer.subject.text}`);
      continue;
    }
    const sigErr = crlSignatureError(crl, issuer);
    if (sigErr) {
      unusable.push(`${name} is not signed by the issuer's key (${sigErr})`);
      continue;
    }
    let entry: RevokedEntry | undefined;
    const problems = [...crl.defects];
    try {
      entry = crl.revoked.get(cert.serialHex);
    } catch (e) {
      problems.push(`has a malformed entry for this serial (${(e as Error).message})`);
    }
    const ku = issuer.ext.keyUsage;
    if (ku && !ku.has('cRLSign'))
      problems.push('is signed by an issuer whose keyUsage lacks cRLSign (RFC 5280 §6.3.3 (f))');
    if (crl.thisUpdate.seconds > nowSec)
      problems.push(`is not yet valid (thisUpdate ${isoOf(crl.thisUpdate)})`);
    if (crl.nextUpdate && crl.nextUpdate.seconds < nowSec)
      problems.push(`is stale (nextUpdate ${isoOf(crl.nextUpdate)})`);
    const scope = scopeExclusion(crl, cert, isCa);
    if (scope) problems.push(scope);
    // The issuer signed "this serial is revoked": that stands even on a CRL that is stale, out
    // of scope or otherwise unusable for a "good" answer (serials are unique per issuer); the
    // caveats say why the CRL could not vouch by itself (a delta may not lift its hold).
    if (entry && entry.reason !== 'removeFromCRL')
      return { status: 'revoked', crl, entry, caveats: problems };
    if (entry && !crl.isDelta)
      problems.push('lists this serial with reason removeFromCRL, which only a delta CRL may use');
    if (problems.length) {
      unusable.push(`${name} ${problems.join('; ')}`);
      continue;
    }
    if (crl.onlySomeReasons) {
      unusable.push(`${name} covers only some revocation reasons`);
      continue;
    }
    good ??= crl;
  }
  if (good) return { status: 'good', crl: good };
  if (unusable.length) return { status: 'unusable', reason: unusable.join('; ') };
  return relevant
    ? { status: 'unusable', reason: 'no relevant CRL could be used' }
    : { status: 'not-covered' };
}

/** A CRL's scope (its issuingDistributionPoint), as one comparable string. */
function scopeOf(crl: Crl): string {
  return JSON.stringify([
    crl.distributionPointUris,
    crl.distributionPointUnmatchable,
    crl.onlyUserCerts,
    crl.onlyCaCerts,
    crl.onlyAttributeCerts,
    crl.onlySomeReasons,
    crl.indirect,
  ]);
}

/**
 * Applies a delta CRL (RFC 5280 §5.2.4, §6.3.3 (c)) to a base CRL's verdict for `cert`: the
 * delta must come from the same issuer, be signed by it, be current, and update this base
 * (its BaseCRLNumber not above the base's cRLNumber). Returns the entry when the delta revokes
 * the certificate (once its signature verifies, whatever else is wrong with it, as on any
 * CRL), 'removed' when it lifts a hold (removeFromCRL), null when it says nothing,
 * or throws with the reason the delta cannot be used.
 */
export function checkDelta(
  cert: Certificate,
  issuer: Certificate,
  base: Crl,
  delta: Crl,
  nowSec: number,
): RevokedEntry | 'removed' | null {
  if (!delta.isDelta || delta.baseCrlNumber === null)
    throw new Error('the freshestCRL location did not serve a delta CRL');
  if (delta.issuer.key !== base.issuer.key)
    throw new Error('the delta CRL has another issuer than the base CRL');
  if (crlSignatureError(delta, issuer)) throw new Error('the delta CRL is not signed by the issuer');
  // The issuer signed "this serial is revoked": that stands on a delta CRL with defects too,
  // as on any CRL (checkCrls); the defects only stop it from vouching for anything else.
  const listed = delta.revoked.get(cert.serialHex);
  if (listed && listed.reason !== 'removeFromCRL') return listed;
  if (delta.defects.length) throw new Error(`the delta CRL ${delta.defects.join('; ')}`);
  if (delta.nextUpdate && delta.nextUpdate.seconds < nowSec) throw new Error('the delta CRL is stale');
  if (base.crlNumber === null || BigInt(delta.baseCrlNumber) > BigInt(base.crlNumber))
    throw new Error('the delta CRL does not update this base CRL (BaseCRLNumber is newer)');
  // RFC 5280 §5.2.4: a delta updates a complete CRL of the same scope only.
  if (scopeOf(delta) !== scopeOf(base))
    throw new Error('the delta CRL has another scope (issuingDistributionPoint) than the base CRL');
  if (!listed) return null;
  return 'removed';
}
