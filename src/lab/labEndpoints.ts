import type { TlsOptions } from 'node:tls';
import type { FindingCode } from '../findings/catalogue.js';
import type { Status } from '../model/result.js';
import { buildCrl } from './crlBuilder.js';
import type { LabPki } from './labPki.js';
import type { LabPublications } from './labRepository.js';
import { type IssuedCert, issue, x509 } from './pki.js';

/** One lab endpoint: what it serves and the verdict certvet should give it. */
export interface LabEndpoint {
  readonly name: string;
  readonly description: string;
  /** Host name to check (resolves to `address` via the lab's resolve map), or an IP. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly expectStatus: Status;
  readonly expectCodes: readonly FindingCode[];
}

export const LAB_DOMAIN = 'lab.certvet.test';

/** The lab host name of endpoint `name`. */
export const labHost = (name: string) => `${name}.${LAB_DOMAIN}`;

/** What one lab endpoint serves, and the verdict expected for it. */
export interface ServeSpec {
  readonly name: string;
  readonly description: string;
  readonly host?: string;
  readonly chain: readonly IssuedCert[];
  readonly expectStatus: Status;
  readonly expectCodes: readonly FindingCode[];
  readonly tls?: Partial<TlsOptions>;
  /** Staple a (good) OCSP response from the lab responder. */
  readonly staple?: boolean;
}

const DAY = 86400_000;

type LeafSpec = Partial<Parameters<typeof issue>[0]>;

/** Issues a leaf for lab host `name` from the issuing CA with the shared leaf key (unless `extra` says otherwise). */
function leafIssuer(pki: LabPki): (name: string, extra?: LeafSpec) => Promise<IssuedCert> {
  return (name, extra = {}) =>
    issue({
      subject: `CN=${labHost(name)}`,
      dns: [labHost(name)],
      issuer: pki.ica,
      key: pki.leafKey,
      ...extra,
    });
}

/** The leaves whose revocation status the lab publishes (and the must-staple one). */
export interface RevocationCases {
  readonly revokedCrl: IssuedCert;
  readonly revokedOcsp: IssuedCert;
  readonly mustStaple: IssuedCert;
}

/**
 * Issues the revoked leaves and publishes their revocation: one on the CRL, one by the OCSP
 * responder (signed by the issuing CA); and a must-staple leaf.
 */
export async function issueRevocationCases(
  pki: LabPki,
  published: LabPublications,
  base: string,
  now: number,
): Promise<RevocationCases> {
  const leaf = leafIssuer(pki);
  published.ocspSigner = pki.ica;
  published.aiaDer = pki.aiaIca.der;
  const revokedCrl = await leaf('revoked-crl', { crlUrls: [`${base}/lab.crl`] });
  const revokedOcsp = await leaf('revoked-ocsp', { aiaOcsp: [`${base}/ocsp`] });
  published.ocspRevoked.add(revokedOcsp.parsed.serialHex);
  published.crlDer = await buildCrl({
    issuer: pki.ica,
    entries: [{ serial: revokedCrl.parsed.serialHex, revokedAt: new Date(now - 2 * DAY), reason: 1 }],
  });
  const mustStaple = await leaf('must-staple', {
    extensions: [
      new x509.Extension('1.3.6.1.5.5.7.1.24', false, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])),
    ],
  });
  return { revokedCrl, revokedOcsp, mustStaple };
}

/**
 * The zoo: each endpoint's certificate chain, TLS settings and expected verdict, in port order.
 * `base` is the lab repository's URL prefix, `address` the address the endpoints listen on.
 */
export async function buildEndpointSpecs(
  pki: LabPki,
  revocation: RevocationCases,
  base: string,
  address: string,
  now: number,
): Promise<ServeSpec[]> {
  const { root, ica, otherIca, expiredIca, notCa, ncIca, aiaIca, leafKey, rsaKey } = pki;
  const { revokedCrl, revokedOcsp, mustStaple } = revocation;
  const leaf = leafIssuer(pki);
  return [
    {
      name: 'good-rsa',
      description: 'valid RSA-2048 chain',
      chain: [await leaf('good-rsa', { key: rsaKey }), ica],
      expectStatus: 'ok',
      expectCodes: [],
    },
    {
      name: 'good-ecdsa',
      description: 'valid ECDSA P-256 chain',
      chain: [await leaf('good-ecdsa'), ica],
      expectStatus: 'ok',
      expectCodes: [],
    },
    {
      name: 'wildcard',
      description: 'wildcard certificate *.wild.lab.certvet.test',
      host: `www.wild.${LAB_DOMAIN}`,
      chain: [
        await issue({
          subject: `CN=*.wild.${LAB_DOMAIN}`,
          dns: [`*.wild.${LAB_DOMAIN}`],
          issuer: ica,
          key: leafKey,
        }),
        ica,
      ],
      expectStatus: 'ok',
      expectCodes: [],
    },
    {
      name: 'expired',
      description: 'leaf expired 10 days ago',
      chain: [
        await leaf('expired', { notBefore: new Date(now - 100 * DAY), notAfter: new Date(now - 10 * DAY) }),
        ica,
      ],
      expectStatus: 'critical',
      expectCodes: ['expired'],
    },
    {
      name: 'not-yet-valid',
      description: 'leaf valid from tomorrow',
      chain: [
        await leaf('not-yet-valid', { notBefore: new Date(now + DAY), notAfter: new Date(now + 90 * DAY) }),
        ica,
      ],
      expectStatus: 'critical',
      expectCodes: ['not-yet-valid'],
    },
    {
      name: 'expired-intermediate',
      description: 'the issuing CA expired',
      chain: [
        await leaf('expired-intermediate', { issuer: expiredIca, notBefore: new Date(now - 100 * DAY) }),
        expiredIca,
      ],
      expectStatus: 'critical',
      expectCodes: ['expired'],
    },
    {
      name: 'wrong-host',
      description: 'certificate for another name',
      chain: [
        await issue({
          subject: `CN=other.${LAB_DOMAIN}`,
          dns: [`other.${LAB_DOMAIN}`],
          issuer: ica,
          key: leafKey,
        }),
        ica,
      ],
      expectStatus: 'critical',
      expectCodes: ['hostname-mismatch'],
    },
    {
      name: 'self-signed',
      description: 'self-signed leaf',
      chain: [
        await issue({ subject: `CN=${labHost('self-signed')}`, dns: [labHost('self-signed')], key: leafKey }),
      ],
      expectStatus: 'critical',
      expectCodes: ['self-signed'],
    },
    {
      name: 'untrusted-root',
      description: 'chain to a root that is not trusted',
      chain: [
        await issue({
          subject: `CN=${labHost('untrusted-root')}`,
          dns: [labHost('untrusted-root')],
          issuer: otherIca,
          key: leafKey,
        }),
        otherIca,
      ],
      expectStatus: 'critical',
      expectCodes: ['untrusted'],
    },
    {
      name: 'incomplete-chain',
      description: 'server omits its intermediate',
      chain: [await leaf('incomplete-chain')],
      expectStatus: 'warning',
      expectCodes: ['incomplete-chain'],
    },
    {
      name: 'weak-key',
      description: 'RSA-1024 leaf key',
      chain: [await leaf('weak-key', { keyType: 'rsa-1024', key: undefined }), ica],
      expectStatus: 'critical',
      expectCodes: ['weak-key'],
    },
    {
      name: 'sha1',
      description: 'leaf signed with ECDSA-SHA1',
      chain: [await leaf('sha1', { hash: 'SHA-1' }), ica],
      expectStatus: 'critical',
      expectCodes: ['weak-signature'],
    },
    {
      name: 'ca-false-intermediate',
      description: 'intermediate is not a CA (cA FALSE)',
      chain: [await leaf('ca-false-intermediate', { issuer: notCa }), notCa],
      expectStatus: 'critical',
      expectCodes: ['basic-constraints'],
    },
    {
      name: 'name-constraints',
      description: 'issuer only permits allowed.example',
      chain: [await leaf('name-constraints', { issuer: ncIca }), ncIca],
      expectStatus: 'critical',
      expectCodes: ['name-constraints'],
    },
    {
      name: 'ip-san',
      description: 'certificate for the IP address 127.0.0.1',
      host: address,
      chain: [await issue({ subject: `CN=${address}`, ips: [address], issuer: ica, key: leafKey }), ica],
      expectStatus: 'ok',
      expectCodes: [],
    },
    {
      name: 'client-cert-required',
      description: 'requires a client certificate (mTLS)',
      chain: [await leaf('client-cert-required'), ica],
      expectStatus: 'warning',
      expectCodes: ['client-cert-required'],
      tls: { requestCert: true, rejectUnauthorized: true, ca: [root.pem] },
    },
    {
      name: 'tls10-only',
      description: 'speaks only TLS 1.0',
      chain: [await leaf('tls10-only'), ica],
      expectStatus: 'warning',
      expectCodes: ['protocol-deprecated'],
      tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1' },
    },
    {
      name: 'revoked-crl',
      description: 'revoked on the CRL of its CA (fetched over HTTP)',
      chain: [revokedCrl, ica],
      expectStatus: 'critical',
      expectCodes: ['revoked'],
    },
    {
      name: 'revoked-ocsp',
      description: "revoked according to the CA's OCSP responder",
      chain: [revokedOcsp, ica],
      expectStatus: 'critical',
      expectCodes: ['revoked'],
    },
    {
      name: 'must-staple',
      description: 'must-staple certificate, served without a staple',
      chain: [mustStaple, ica],
      expectStatus: 'critical',
      expectCodes: ['must-staple-missing'],
    },
    {
      name: 'stapled',
      description: 'staples a good OCSP response',
      chain: [await leaf('stapled', { aiaOcsp: [`${base}/ocsp`] }), ica],
      expectStatus: 'ok',
      expectCodes: [],
      staple: true,
    },
    {
      name: 'aia-chain',
      description: 'omits an intermediate only available via AIA',
      chain: [await leaf('aia-chain', { issuer: aiaIca, aiaCaIssuers: [`${base}/aia-ca.der`] })],
      expectStatus: 'warning',
      expectCodes: ['incomplete-chain'],
    },
    {
      name: 'messy-chain',
      description: 'TLS 1.2; sends its root, an unrelated CA, intermediate last',
      chain: [await leaf('messy-chain'), root, otherIca, ica],
      expectStatus: 'ok',
      expectCodes: ['chain-hygiene'],
      tls: { maxVersion: 'TLSv1.2' },
    },
    {
      name: 'expires-soon',
      description: 'leaf expires in 10 days',
      chain: [await leaf('expires-soon', { notAfter: new Date(now + 10 * DAY + 3600_000) }), ica],
      expectStatus: 'warning',
      expectCodes: ['expires-soon'],
    },
  ];
}
