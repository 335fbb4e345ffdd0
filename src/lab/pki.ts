/**
 * A small certificate factory over @peculiar/x509 for the lab, the tests and the benchmarks:
 * roots, intermediates and leaves with the extensions (and the mistakes) we need.
 */
import { webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;
type EcKeyGenParams = webcrypto.EcKeyGenParams;
type RsaHashedKeyGenParams = webcrypto.RsaHashedKeyGenParams;

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { type Certificate, parseCertificate } from '../x509/certificate.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type LabKeyType =
  | 'ec-p256'
  | 'ec-p384'
  | 'rsa-2048'
  | 'rsa-3072'
  | 'rsa-1024'
  | 'rsa-pss-2048'
  | 'ed25519';

export interface LabKey {
  readonly type: LabKeyType;
  readonly pair: CryptoKeyPair;
}

function algorithmFor(type: LabKeyType): {
  gen: RsaHashedKeyGenParams | EcKeyGenParams | Algorithm;
  sign: Algorithm | EcdsaParams;
} {
  switch (type) {
    case 'ec-p256':
      return {
        gen: { name: 'ECDSA', namedCurve: 'P-256' } as EcKeyGenParams,
        sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      };
    case 'ec-p384':
      return {
        gen: { name: 'ECDSA', namedCurve: 'P-384' } as EcKeyGenParams,
        sign: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams,
      };
    case 'ed25519':
      return { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
    case 'rsa-pss-2048':
      return {
        gen: {
          name: 'RSA-PSS',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        } as RsaHashedKeyGenParams,
        sign: { name: 'RSA-PSS', saltLength: 32 } as Algorithm,
      };
    default: {
      const bits = Number(type.split('-')[1]);
      return {
        gen: {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: bits,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        } as RsaHashedKeyGenParams,
        sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      };
    }
  }
}

export async function generateKey(type: LabKeyType = 'ec-p256'): Promise<LabKey> {
  const { gen } = algorithmFor(type);
  const pair = (await webcrypto.subtle.generateKey(gen as EcKeyGenParams, true, [
    'sign',
    'verify',
  ])) as unknown as CryptoKeyPair;
  return { type, pair };
}

/** PKCS#8 PEM of a lab key (for lab servers and `certvet lab gen`; never logged). */
export async function privateKeyPem(key: LabKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key.pair.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export interface IssuedCert {
  readonly cert: x509.X509Certificate;
  readonly key: LabKey;
  readonly pem: string;
  readonly der: Uint8Array;
  readonly parsed: Certificate;
  readonly subject: string;
}

export interface CertSpec {
  /** Subject DN, e.g. "CN=Example Root". */
  readonly subject: string;
  /** The issuing certificate; omit for self-signed. */
  readonly issuer?: IssuedCert;
  readonly key?: LabKey;
  readonly keyType?: LabKeyType;
  readonly ca?: boolean;
  readonly pathLen?: number;
  /** Omit basicConstraints entirely. */
  readonly noBasicConstraints?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  readonly emails?: readonly string[];
  readonly uris?: readonly string[];
  /** EKU names (serverAuth, clientAuth, ...) or OIDs; [] omits the extension. */
  readonly eku?: readonly string[];
  /** keyUsage flags; undefined picks a sensible default, 0 omits the extension. */
  readonly keyUsage?: number;
  readonly serialNumber?: string;
  /** Signature hash for RSA/ECDSA issuers (default SHA-256). */
  readonly hash?: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  readonly extensions?: readonly x509.Extension[];
  readonly aiaCaIssuers?: readonly string[];
  readonly aiaOcsp?: readonly string[];
  readonly crlUrls?: readonly string[];
  /** Leave out subjectKeyIdentifier and authorityKeyIdentifier (path building by name only). */
  readonly omitKeyIds?: boolean;
  /** The issuer name exactly as encoded elsewhere (e.g. a real root's subject), instead of the issuer's. */
  readonly issuerName?: x509.Name;
}

const EKU_OIDS: Readonly<Record<string, string>> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  any: '2.5.29.37.0',
};

let serialCounter = 0;
function nextSerial(): string {
  serialCounter++;
  return (
    (0x10 + serialCounter).toString(16).padStart(2, '0') +
    webcrypto.getRandomValues(new Uint8Array(8)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')
  );
}

/** Issues one certificate per `spec`. */
export async function issue(spec: CertSpec): Promise<IssuedCert> {
  const key = spec.key ?? (await generateKey(spec.keyType ?? 'ec-p256'));
  const signer = spec.issuer?.key ?? key;
  const signAlg = { ...algorithmFor(signer.type).sign } as EcdsaParams;
  let signingKey = signer.pair.privateKey;
  if (spec.hash && signer.type !== 'ed25519') {
    signAlg.hash = spec.hash;
    if (signer.type.startsWith('rsa') && signer.type !== 'rsa-pss-2048') {
      // WebCrypto binds an RSA key to one hash: re-import the same key for the requested one.
      const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', signer.pair.privateKey);
      signingKey = await webcrypto.subtle.importKey(
        'pkcs8',
        pkcs8,
        { name: 'RSASSA-PKCS1-v1_5', hash: spec.hash },
        false,
        ['sign'],
      );
    }
  }
  const ca = spec.ca ?? false;
  const ext: x509.Extension[] = [];
  if (!spec.noBasicConstraints) ext.push(new x509.BasicConstraintsExtension(ca, spec.pathLen, true));
  const ku =
    spec.keyUsage ??
    (ca
      ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
      : x509.KeyUsageFlags.digitalSignature |
        (key.type.startsWith('rsa') ? x509.KeyUsageFlags.keyEncipherment : 0));
  if (ku) ext.push(new x509.KeyUsagesExtension(ku, true));
  const eku = spec.eku ?? (ca ? [] : ['serverAuth']);
  if (eku.length)
    ext.push(
      new x509.ExtendedKeyUsageExtension(
        eku.map((e) => EKU_OIDS[e] ?? e),
        false,
      ),
    );
  const names: x509.JsonGeneralName[] = [
    ...(spec.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(spec.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(spec.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(spec.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  if (names.length) ext.push(new x509.SubjectAlternativeNameExtension(names, false));
  if (!spec.omitKeyIds) ext.push(await x509.SubjectKeyIdentifierExtension.create(key.pair.publicKey));
  if (spec.issuer && !spec.omitKeyIds)
    ext.push(await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.key.pair.publicKey));
  if (spec.aiaCaIssuers?.length || spec.aiaOcsp?.length)
    ext.push(
      new x509.AuthorityInfoAccessExtension({
        caIssuers: [...(spec.aiaCaIssuers ?? [])].map((value) => new x509.GeneralName('url', value)),
        ocsp: [...(spec.aiaOcsp ?? [])].map((value) => new x509.GeneralName('url', value)),
      }),
    );
  if (spec.crlUrls?.length) ext.push(new x509.CRLDistributionPointsExtension([...spec.crlUrls]));
  ext.push(...(spec.extensions ?? []));
  const now = Date.now();
  // CAs outlive their leaves (as in real PKIs), so a leaf's own dates can be tested in isolation.
  const notBefore = spec.notBefore ?? new Date(Math.floor((now - (ca ? 86400_000 : 3600_000)) / 1000) * 1000);
  const notAfter = spec.notAfter ?? new Date(Math.floor((now + (ca ? 3650 : 90) * 86400_000) / 1000) * 1000);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: spec.serialNumber ?? nextSerial(),
    subject: spec.subject,
    issuer: spec.issuerName ?? (spec.issuer ? spec.issuer.cert.subject : spec.subject),
    notBefore,
    notAfter,
    publicKey: key.pair.publicKey,
    signingKey,
    signingAlgorithm: signAlg,
    extensions: ext,
  });
  const der = new Uint8Array(cert.rawData);
  return {
    cert,
    key,
    pem: `${cert.toString('pem').trimEnd()}\n`,
    der,
    parsed: parseCertificate(der),
    subject: spec.subject,
  };
}

export interface LabChain {
  readonly root: IssuedCert;
  readonly intermediate: IssuedCert;
  readonly leaf: IssuedCert;
}

/** root → intermediate → leaf for `names` (DNS names and IP addresses), all of `keyType`. */
export async function makeChain(
  opts: { names?: readonly string[]; keyType?: LabKeyType; leaf?: Partial<CertSpec> } = {},
): Promise<LabChain> {
  const keyType = opts.keyType ?? 'ec-p256';
  const names = opts.names ?? ['localhost', '127.0.0.1'];
  const root = await issue({ subject: 'CN=certvet Test Root,O=certvet', ca: true, keyType });
  const intermediate = await issue({
    subject: 'CN=certvet Test Intermediate,O=certvet',
    ca: true,
    pathLen: 0,
    issuer: root,
    keyType,
  });
  const leaf = await issue({
    subject: `CN=${names[0]}`,
    issuer: intermediate,
    keyType,
    dns: names.filter((n) => !/^[\d.:]+$/.test(n)),
    ips: names.filter((n) => /^[\d.:]+$/.test(n)),
    ...opts.leaf,
  });
  return { root, intermediate, leaf };
}

export { x509 };
