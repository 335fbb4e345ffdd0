/*
 * The @peculiar ASN.1 schema packages, loaded on first use rather than at start-up. The
 * certificate model decodes the common shapes with its own strict DER walk (der.ts,
 * fastExtensions.ts) and needs these schemas only for unusual extension encodings, CRL
 * distribution points, OCSP and PKCS#7 bundles from AIA; loading them (and Node's lexing of
 * their CommonJS builds for named exports) was about a quarter of every `certvet` command's
 * start-up. They are CommonJS packages, required here synchronously; every user of them in
 * certvet goes through these getters, so there is one instance of each.
 */
import { lazyRequire } from '../util/lazyRequire.js';

export type Schema = typeof import('@peculiar/asn1-schema');
export type X509 = typeof import('@peculiar/asn1-x509');
export type Ocsp = typeof import('@peculiar/asn1-ocsp');
export type Cms = typeof import('@peculiar/asn1-cms');

/** `@peculiar/asn1-schema` (AsnConvert, OctetString…). */
export const asn1Schema = lazyRequire<Schema>('@peculiar/asn1-schema');
/** `@peculiar/asn1-x509` (extension and CRL structures). */
export const asn1X509 = lazyRequire<X509>('@peculiar/asn1-x509');
/** `@peculiar/asn1-ocsp` (RFC 6960). */
export const asn1Ocsp = lazyRequire<Ocsp>('@peculiar/asn1-ocsp');
/** `@peculiar/asn1-cms` (PKCS#7 certificate bundles served by AIA). */
export const asn1Cms = lazyRequire<Cms>('@peculiar/asn1-cms');
