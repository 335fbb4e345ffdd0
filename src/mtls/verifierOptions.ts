import { checkAllowRules } from './allow.js';
import { checkArray, checkObject, checkOneOf, checkType } from './check.js';
import { MtlsConfigError } from './errors.js';
import type { ClientCertVerifierOptions, ClientTrust } from './verifier.js';

/** Every option key of the verifier; any other key is a construction error. */
const OPTION_KEYS = [
  'ca',
  'crls',
  'allow',
  'revocation',
  'crlMode',
  'fetchPolicy',
  'checker',
  'profile',
  'clock',
] as const;
const TRUST_KEYS = ['ca', 'crls', 'allow'] as const;

// The compiler insists that a new option is listed above (and so accepted at run time).
type Unlisted<T, K> = Exclude<keyof T, K>;
const listsEveryOption: [Unlisted<ClientCertVerifierOptions, (typeof OPTION_KEYS)[number]>] extends [never]
  ? true
  : Unlisted<ClientCertVerifierOptions, (typeof OPTION_KEYS)[number]> = true;
const listsEveryTrustKey: [Unlisted<ClientTrust, (typeof TRUST_KEYS)[number]>] extends [never]
  ? true
  : Unlisted<ClientTrust, (typeof TRUST_KEYS)[number]> = true;
void listsEveryOption;
void listsEveryTrustKey;

function checkCa(ca: unknown, where: string): void {
  const isItem = (x: unknown) =>
    typeof x === 'string' ||
    x instanceof Uint8Array ||
    (typeof x === 'object' && x !== null && (x as { der?: unknown }).der instanceof Uint8Array);
  if (typeof ca === 'string' || ca instanceof Uint8Array) return;
  const items = checkArray(ca, where);
  if (!items)
    throw new MtlsConfigError(where, 'required: the CA certificates that may issue client certificates');
  items.forEach((x, i) => {
    if (!isItem(x))
      throw new MtlsConfigError(`${where}[${i}]`, 'expected PEM text, DER bytes or a parsed certificate');
  });
}

function checkCrls(crls: unknown, where: string): void {
  checkArray(crls, where)?.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || !('revoked' in c) || !('der' in c))
      throw new MtlsConfigError(
        `${where}[${i}]`,
        'expected a parsed CRL (from loadCrls() or parseCrl()), not raw bytes or text',
      );
  });
}

function checkTrust(t: Readonly<Record<string, unknown>>, partial: boolean): void {
  if (!partial || t.ca !== undefined) checkCa(t.ca, 'ca');
  checkCrls(t.crls, 'crls');
  if (t.allow !== undefined) checkAllowRules(t.allow, 'allow');
}

/** Throws `MtlsConfigError` naming the first unknown key or ill-typed value. */
export function checkVerifierOptions(opts: unknown): void {
  const o = checkObject(opts, 'options', OPTION_KEYS);
  checkTrust(o, false);
  checkOneOf(o.revocation, 'revocation', ['off', 'soft', 'hard'] as const);
  checkOneOf(o.crlMode, 'crlMode', ['soft', 'hard'] as const);
  checkOneOf(o.crlMode, 'crlMode', ['soft', 'hard'] as const);
  checkOneOf(o.profile, 'profile', ['rfc5280', 'webpki'] as const);
  checkType(o.clock, 'clock', 'function');
  checkType(o.fetchPolicy, 'fetchPolicy', 'object');
  if (o.fetchPolicy !== undefined && typeof (o.fetchPolicy as { check?: unknown }).check !== 'function')
    throw new MtlsConfigError('fetchPolicy', 'expected a FetchPolicy');
}

/** The same for `verifier.update()`: only trust keys, all optional. */
export function checkTrustUpdate(trust: unknown): void {
  checkTrust(checkObject(trust, 'options', TRUST_KEYS), true);
}
