/*
 * The @peculiar ASN.1 schema packages, loaded on first use rather than at start-up. The
 * certificate model decodes the common shapes with its own strict DER walk (der.ts,
 * fastExtensions.ts) and needs these schemas only for unusual extension encodings, CRL
 * distribution points, OCSP and PKCS#7 bundles from AIA; loading them (and Node's lexing of
 * their CommonJS builds for named exports) was about a quarter of every `certvet` command's
 * start-up. They are CommonJS packages, required here synchronously; every user of them in
 * certvet goes through these getters, so there is one instance of each.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export type Schema = typeof import('@peculiar/asn1-schema');
export type X509 = typeof import('@peculiar/asn1-x509');
export type Ocsp = typeof import('@peculiar/asn1-ocsp');
export type Cms = typeof import('@peculiar/asn1-cms');

let schema: Schema | undefined;
let x509: X509 | undefined;
let ocsp: Ocsp | undefined;
let cms: Cms | undefined;

/** `@peculiar/asn1-schema` (AsnConvert, OctetString…). */
export const asn1Schema = (): Schema => (schema ??= load('@peculiar/asn1-schema') as Schema);
/** `@peculiar/asn1-x509` (extension and CRL structures). */
export const asn1X509 = (): X509 => (x509 ??= load('@peculiar/asn1-x509') as X509);
/** `@peculiar/asn1-ocsp` (RFC 6960). */
export const asn1Ocsp = (): Ocsp => (ocsp ??= load('@peculiar/asn1-ocsp') as Ocsp);
/** `@peculiar/asn1-cms` (PKCS#7 certificate bundles served by AIA). */
export const asn1Cms = (): Cms => (cms ??= load('@peculiar/asn1-cms') as Cms);
