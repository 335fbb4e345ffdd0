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

function describeNonCertificate(label: string): string {
  if (label.includes('ENCRYPTED PRIVATE KEY') || label.includes('PRIVATE KEY'))
    return `a ${label.toLowerCase()} block, not a certificate (keys are never read here, and never printed)`;
  if (label.includes('CRL')) return 'a CRL, not a certificate';
  if (label.includes('REQUEST')) return 'a certificate signing request, not a certificate';
  return `a "${label}" block, not a certificate`;
}

/**
 * Reads every certificate from PEM (any number of blocks) or DER bytes. Non-certificate PEM
 * blocks and unparseable certificates are reported as problems naming the source; nothing is
 * skipped silently.
 */
export function loadCertificates(data: Uint8Array, source: string): LoadedCertificates {
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
    const msg = e instanceof CertificateParseError ? e.message : String(e);
    problems.push({ source, message: `is neither PEM nor a DER certificate (${msg})` });
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
