import { looksLikePem, readPemBlocks } from '../x509/pem.js';
import { type Crl, parseCrl } from './crl.js';

/** Reads CRLs from PEM ("X509 CRL" blocks) or DER; throws an Error naming `source` on failure. */
export function loadCrls(data: Uint8Array, source: string): Crl[] {
  try {
    if (looksLikePem(data)) {
      const blocks = readPemBlocks(Buffer.from(data).toString('latin1')).filter(
        (b) => b.label === 'X509 CRL',
      );
      if (blocks.length === 0) throw new Error('contains no "X509 CRL" PEM block');
      return blocks.map((b, i) => parseCrl(b.der, blocks.length > 1 ? `${source} (CRL #${i + 1})` : source));
    }
    return [parseCrl(data, source)];
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}
