import { looksLikePem, readPemBlocks } from '../x509/pem.js';
import { type Crl, parseCrl as parseCrlDer } from './crl.js';

/** A CRL that cannot be read: the message names the source and why. */
export class CrlParseError extends Error {
  override readonly name = 'CrlParseError';
  readonly code = 'CERTVET_CRL_PARSE';
}

/**
 * Reads CRLs from PEM text or bytes ("X509 CRL" blocks) or DER; throws CrlParseError naming
 * `source` on failure.
 */
export function loadCrls(input: string | Uint8Array, source: string): Crl[] {
  const data = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  try {
    if (looksLikePem(data)) {
      const blocks = readPemBlocks(Buffer.from(data).toString('latin1')).filter(
        (b) => b.label === 'X509 CRL',
      );
      if (blocks.length === 0) throw new Error('contains no "X509 CRL" PEM block');
      return blocks.map((b, i) =>
        parseCrlDer(b.der, blocks.length > 1 ? `${source} (CRL #${i + 1})` : source),
      );
    }
    return [parseCrlDer(data, source)];
  } catch (e) {
    throw new CrlParseError(`${source}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Parses one DER CRL (the library's `parseCrl`): what is not a CRL throws CrlParseError, its
 * `cause` the DER error, like `loadCrls`.
 */
export function parseCrl(der: Uint8Array, source: string | null = null): Crl {
  try {
    return parseCrlDer(der, source);
  } catch (e) {
    throw new CrlParseError(`${source ?? 'CRL'}: ${(e as Error).message}`, { cause: e });
  }
}
