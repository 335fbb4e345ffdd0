import type { KeyUsageBit } from '../x509/extensions.js';

/** The keyUsage bit a server's key needs for the handshake it negotiated, and why. */
export interface HandshakeKeyUsage {
  readonly bit: KeyUsageBit;
  readonly reason: string;
}

/**
 * What the negotiated handshake did with the server certificate's key, as a keyUsage bit
 * (a keyUsage extension restricts the key to the uses it names, RFC 5280 §4.2.1.3):
 * - TLS 1.3, and before it an ephemeral (EC)DHE key exchange: the server signs with it
 *   (digitalSignature; RFC 8446 §4.4.2.2, RFC 5246 §7.4.2, RFC 8422 §5.3);
 * - RSA key transport (TLS 1.2 and earlier): the client encrypts the premaster secret to it
 *   (keyEncipherment; RFC 5246 §7.4.2);
 * - static ECDH/DH: the key agrees the premaster secret (keyAgreement; RFC 8422 §2.1, RFC 5246 §7.4.2).
 * Suites named either way (IANA `TLS_ECDHE_RSA_WITH_…` or OpenSSL `ECDHE-RSA-…`) are read; null
 * when the suite does not say (PSK, SRP, anonymous, unknown) or nothing was negotiated.
 */
export function serverKeyUsageFor(protocol: string | null, cipher: string | null): HandshakeKeyUsage | null {
  if (protocol === 'TLSv1.3')
    return {
      bit: 'digitalSignature',
      reason: 'a TLS 1.3 server signs the handshake with this key (RFC 8446 §4.4.2.2)',
    };
  if (!cipher) return null;
  const c = cipher.toUpperCase();
  const signs = (kx: string) => ({
    bit: 'digitalSignature' as const,
    reason: `the negotiated ${cipher} (${kx} key exchange) has the server sign it with this key (RFC 5246 §7.4.2)`,
  });
  const encrypts = {
    bit: 'keyEncipherment' as const,
    reason: `with the negotiated ${cipher} (RSA key transport) the client encrypts the key exchange to this key (RFC 5246 §7.4.2)`,
  };
  const agrees = {
    bit: 'keyAgreement' as const,
    reason: `the negotiated ${cipher} (static Diffie-Hellman) agrees the key exchange with this key (RFC 8422 §2.1)`,
  };
  // IANA names.
  let m = /^TLS_(ECDHE|DHE)_(RSA|ECDSA|DSS)_WITH_/.exec(c);
  if (m) return signs(m[1]!);
  // RSA_PSK too: the client encrypts its part of the premaster secret to the key (RFC 4279 §4).
  if (/^TLS_RSA_(PSK_)?WITH_/.test(c)) return encrypts;
  if (/^TLS_(ECDH|DH)_(RSA|ECDSA|DSS)_WITH_/.test(c)) return agrees;
  if (/^TLS_(AES|CHACHA20|SM4)_/.test(c) && protocol === null)
    return {
      bit: 'digitalSignature',
      reason: 'a TLS 1.3 server signs the handshake with this key (RFC 8446 §4.4.2.2)',
    };
  if (c.startsWith('TLS_')) return null;
  // OpenSSL names: the key exchange leads; none means RSA key transport.
  m = /^(ECDHE|DHE|EDH)-(RSA|ECDSA|DSS)-/.exec(c);
  if (m) return signs(m[1] === 'EDH' ? 'DHE' : m[1]!);
  if (/^(ECDH|DH)-(RSA|ECDSA|DSS)-/.test(c)) return agrees;
  if (c.startsWith('RSA-PSK-')) return encrypts;
  if (/^(AES|CAMELLIA|DES|RC4|SEED|IDEA|ARIA|NULL)/.test(c)) return encrypts;
  return null;
}
