import { type Certificate, CertificateParseError, parseCertificate } from './certificate.js';
import { looksLikePem, type PemError, readPemBlocks } from './pem.js';

/** Largest certificate file certvet reads (a bundle of the whole Mozilla store is ~250 KB). */
export const MAX_CERT_FILE_BYTES = 16 * 1024 * 1024;

export interface LoadProblem {
  /** The input the problem concerns: file name plus block or index. */
  readonly source: string;
  readonly message: string;
}

export interface LoadedCertificates {
  readonly certificates: Certificate[];
  readonly problems: LoadProblem[];
}

const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);

const KEY_HINT = 'give the certificate file here; keys are never read here, and never printed';

function keyKind(label: string): string {
  return label.includes('ENCRYPTED') ? 'an encrypted private key' : 'a private key';
}

function describeNonCertificate(label: string): string {
  if (label.includes('PRIVATE KEY'))
    return `${keyKind(label)}, not a certificate ("${label}" PEM block; ${KEY_HINT})`;
  if (label.includes('PUBLIC KEY')) return 'a public key, not a certificate';
  if (label.includes('CRL')) return 'a CRL, not a certificate';
  if (label.includes('REQUEST')) return 'a certificate signing request, not a certificate';
  if (label === 'PKCS7' || label === 'CMS')
    return 'a PKCS#7 bundle, not a certificate (convert it with: openssl pkcs7 -print_certs)';
  return `a "${label}" block, not a certificate`;
}

/** The DER length field at `i` (its tag at i - 1): [length, bytes of the length field], or null. */
function derLength(d: Uint8Array, i: number): [number, number] | null {
  const b = d[i];
  if (b === undefined) return null;
  if (b < 0x80) return [b, 1];
  const n = b & 0x7f;
  if (n === 0 || n > 4 || i + n >= d.length) return null;
  let len = 0;
  for (let k = 1; k <= n; k++) len = len * 256 + d[i + k]!;
  return [len, 1 + n];
}

/**
 * Names what a DER blob that is not a certificate most likely is, from its outer shape:
 * private keys (PKCS#8, PKCS#1, SEC1) start SEQUENCE { INTEGER …, PKCS#12 SEQUENCE { INTEGER 3,
 * SEQUENCE …, encrypted PKCS#8 SEQUENCE { SEQUENCE, OCTET STRING }, SubjectPublicKeyInfo
 * SEQUENCE { SEQUENCE, BIT STRING }. Never looks further (key bytes are not read).
 */
function describeDer(d: Uint8Array): string | null {
  if (d[0] !== 0x30) return null;
  const outer = derLength(d, 1);
  if (!outer) return null;
  const first = 1 + outer[1];
  const tag = d[first];
  const inner = derLength(d, first + 1);
  if (!inner) return null;
  const next = first + 1 + inner[1] + inner[0];
  if (tag === 0x02) {
    const isThree = inner[0] === 1 && d[first + 1 + inner[1]] === 3;
    if (isThree && d[next] === 0x30)
      return 'a PKCS#12 archive, not a certificate (for a client identity use --client-pfx)';
    return `a private key in DER form, not a certificate (${KEY_HINT})`;
  }
  if (tag === 0x30 && d[next] === 0x04)
    return `an encrypted private key in DER form, not a certificate (${KEY_HINT})`;
  if (tag === 0x30 && d[next] === 0x03) {
    // SEQUENCE { SEQUENCE algorithm, BIT STRING }: a public key (a certificate has 3 elements).
    const bit = derLength(d, next + 1);
    if (bit && next + 1 + bit[1] + bit[0] === 1 + outer[1] + outer[0])
      return 'a public key, not a certificate';
  }
  return null;
}

/**
 * Reads every certificate from PEM (any number of blocks) or DER bytes. Non-certificate PEM
 * blocks and unparseable certificates are reported as problems naming the source; nothing is
 * skipped silently.
 */
export function loadCertificates(input: string | Uint8Array, source: string): LoadedCertificates {
  const data = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const certificates: Certificate[] = [];
  const problems: LoadProblem[] = [];
  if (data.byteLength > MAX_CERT_FILE_BYTES) {
    problems.push({
      source,
      message: `is ${data.byteLength} bytes, larger than the ${MAX_CERT_FILE_BYTES}-byte limit for certificate files`,
    });
    return { certificates, problems };
  }
  if (data.byteLength === 0) {
    problems.push({ source, message: 'is empty' });
    return { certificates, problems };
  }
  if (looksLikePem(data)) {
    let blocks: ReturnType<typeof readPemBlocks>;
    try {
      blocks = readPemBlocks(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'));
    } catch (e) {
      problems.push({ source, message: `is not valid PEM: ${(e as PemError).message}` });
      return { certificates, problems };
    }
    blocks.forEach((b, idx) => {
      const where = `${source} (PEM block ${idx + 1}, line ${b.line})`;
      if (!CERT_LABELS.has(b.label)) {
        problems.push({ source: where, message: `is ${describeNonCertificate(b.label)}` });
        return;
      }
      try {
        certificates.push(parseCertificate(b.label === 'TRUSTED CERTIFICATE' ? firstTlv(b.der) : b.der));
      } catch (e) {
        problems.push({ source: where, message: (e as Error).message });
      }
    });
    if (blocks.length === 0) problems.push({ source, message: 'contains no PEM blocks' });
    return { certificates, problems };
  }
  try {
    certificates.push(parseCertificate(data));
  } catch (e) {
    const what = describeDer(data);
    const msg = e instanceof CertificateParseError ? e.message : String(e);
    problems.push({
      source,
      message: what ? `is ${what}` : `is neither PEM nor a DER certificate (${msg})`,
    });
  }
  return { certificates, problems };
}

/** OpenSSL "TRUSTED CERTIFICATE" blocks append trust settings after the certificate. */
function firstTlv(der: Uint8Array): Uint8Array {
  if (der.length < 4 || der[0] !== 0x30) return der;
  const lb = der[1]!;
  if (lb < 0x80) return der.subarray(0, 2 + lb);
  const n = lb & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return der.subarray(0, 2 + n + len);
}
