/**
 * The common certificate policy rules, as data (library `rules`, a target file's `rules:`),
 * so that operators need no code for them: allowed key types and sizes, a maximum validity,
 * a required EKU on the leaf, forbidden issuers. Their findings are `custom:` ones, like a
 * policy hook's, critical unless the rule set says otherwise.
 */
import type { CustomFindingCode, Finding, Severity } from '../findings/catalogue.js';
import { EKU_NAMES, OID } from '../x509/oids.js';
import { CertvetOptionError } from './errors.js';
import type { ExtraCheck } from './pipeline.js';

export interface CertificateRules {
  /** Key types the leaf may have, e.g. ['ec', 'rsa'] (as in the JSON's publicKey.type). */
  readonly keyTypes?: readonly string[];
  /** Smallest RSA modulus allowed anywhere in the path below the anchor (bits). */
  readonly minRsaBits?: number;
  /** Longest leaf validity allowed (notAfter − notBefore), in days. */
  readonly maxValidityDays?: number;
  /** EKUs the leaf must carry: names (serverAuth, clientAuth, …) or OIDs. */
  readonly requireEku?: readonly string[];
  /** Issuers (distinguished-name text, case-insensitive substring) that must not issue the leaf. */
  readonly forbiddenIssuers?: readonly string[];
  /** Severity of these findings (default critical). */
  readonly severity?: Severity;
}

const RULE_KEYS = new Set([
  'keyTypes',
  'minRsaBits',
  'maxValidityDays',
  'requireEku',
  'forbiddenIssuers',
  'severity',
]);
const EKU_BY_NAME: Readonly<Record<string, string>> = {
  serverAuth: OID.serverAuth,
  clientAuth: OID.clientAuth,
  codeSigning: OID.codeSigning,
  emailProtection: OID.emailProtection,
  timeStamping: OID.timeStamping,
  ocspSigning: OID.ocspSigning,
};

function strings(v: unknown, where: string): readonly string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x))
    throw new CertvetOptionError(where, 'must be an array of non-empty strings');
  return v as string[];
}

function positive(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new CertvetOptionError(where, 'must be a positive number');
  return v;
}

/** Validates a rule set and returns the extra check that applies it. */
export function checkRules(rules: CertificateRules, where = 'rules'): ExtraCheck {
  if (!rules || typeof rules !== 'object') throw new CertvetOptionError(where, 'must be an object');
  for (const k of Object.keys(rules))
    if (!RULE_KEYS.has(k))
      throw new CertvetOptionError(`${where}.${k}`, `unknown rule (known: ${[...RULE_KEYS].join(', ')})`);
  const keyTypes = strings(rules.keyTypes, `${where}.keyTypes`);
  const minRsaBits = positive(rules.minRsaBits, `${where}.minRsaBits`);
  const maxValidityDays = positive(rules.maxValidityDays, `${where}.maxValidityDays`);
  const requireEku = (strings(rules.requireEku, `${where}.requireEku`) ?? []).map((e) => {
    const oid = EKU_BY_NAME[e] ?? (/^\d+(\.\d+)+$/.test(e) ? e : null);
    if (!oid) throw new CertvetOptionError(`${where}.requireEku`, `"${e}" is neither an EKU name nor an OID`);
    return oid;
  });
  const forbidden = (strings(rules.forbiddenIssuers, `${where}.forbiddenIssuers`) ?? []).map((x) =>
    x.toLowerCase(),
  );
  const severity = rules.severity ?? 'critical';
  if (!['info', 'warning', 'critical'].includes(severity))
    throw new CertvetOptionError(`${where}.severity`, 'must be info, warning or critical');
  const finding = (code: string, message: string, certIndex?: number): Finding => ({
    code: `custom:${code}` as CustomFindingCode,
    severity,
    message,
    ...(certIndex !== undefined ? { certIndex } : {}),
  });
  return ({ path, anchored }) => {
    const out: Finding[] = [];
    const leaf = path[0];
    if (!leaf) return out;
    const who = `the leaf certificate (${leaf.subject.text})`;
    if (keyTypes && !keyTypes.includes(leaf.publicKey.type))
      out.push(
        finding('key-type', `${who} has a ${leaf.publicKey.type} key; allowed: ${keyTypes.join(', ')}`, 0),
      );
    if (minRsaBits !== undefined)
      path.forEach((c, i) => {
        if (anchored && i === path.length - 1) return;
        const k = c.publicKey;
        if ((k.type === 'rsa' || k.type === 'rsa-pss') && k.bits !== null && k.bits < minRsaBits)
          out.push(
            finding(
              'key-size',
              `${i === 0 ? who : `certificate #${i} (${c.subject.text})`} has a ${k.bits}-bit RSA key; at least ${minRsaBits} required`,
              i,
            ),
          );
      });
    if (maxValidityDays !== undefined) {
      const days = (leaf.notAfter.seconds - leaf.notBefore.seconds) / 86400;
      if (days > maxValidityDays)
        out.push(
          finding(
            'max-validity',
            `${who} is valid for ${Math.round(days)} days; at most ${maxValidityDays} allowed`,
            0,
          ),
        );
    }
    for (const want of requireEku)
      if (!(leaf.ext.extKeyUsage ?? []).includes(want))
        out.push(
          finding('required-eku', `${who} lacks the required extKeyUsage ${EKU_NAMES[want] ?? want}`, 0),
        );
    const issuer = leaf.issuer.text.toLowerCase();
    for (const f of forbidden)
      if (issuer.includes(f))
        out.push(
          finding('forbidden-issuer', `${who} is issued by ${leaf.issuer.text}, a forbidden issuer`, 0),
        );
    return out;
  };
}
