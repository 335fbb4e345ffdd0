import type { Certificate } from '../x509/certificate.js';
import { extensionLabel } from '../x509/extensions.js';
import { generalNameText } from '../x509/generalName.js';
import { EKU_NAMES, EXTENSION_NAMES, OID } from '../x509/oids.js';

export interface ExtensionDescription {
  readonly oid: string;
  readonly name: string;
  readonly critical: boolean;
  /** Decoded value, one item per line; a hex dump for extensions certvet does not decode. */
  readonly value: string[];
}

const hex = (b: Uint8Array) =>
  Buffer.from(b)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1:');

/** Human-readable description of every extension of a certificate, in order. */
export function describeExtensions(cert: Certificate): ExtensionDescription[] {
  const e = cert.ext;
  return cert.extensions.map((raw) => {
    let value: string[];
    switch (raw.oid) {
      case OID.basicConstraints:
        value = e.basicConstraints
          ? [
              `CA:${e.basicConstraints.ca ? 'TRUE' : 'FALSE'}${e.basicConstraints.pathLen !== null ? `, pathlen:${e.basicConstraints.pathLen}` : ''}`,
            ]
          : [];
        break;
      case OID.keyUsage:
        value = e.keyUsage ? [[...e.keyUsage].join(', ')] : [];
        break;
      case OID.extKeyUsage:
        value = e.extKeyUsage ? [e.extKeyUsage.map((o) => EKU_NAMES[o] ?? o).join(', ')] : [];
        break;
      case OID.subjectAltName:
        value = (e.subjectAltName ?? []).map(generalNameText);
        break;
      case OID.subjectKeyIdentifier:
        value = e.subjectKeyId ? [hex(e.subjectKeyId)] : [];
        break;
      case OID.authorityKeyIdentifier:
        value = e.authorityKeyId
          ? [
              ...(e.authorityKeyId.keyId ? [`keyid:${hex(e.authorityKeyId.keyId)}`] : []),
              ...(e.authorityKeyId.hasIssuer ? ['authorityCertIssuer present'] : []),
              ...(e.authorityKeyId.hasSerial ? ['authorityCertSerialNumber present'] : []),
            ]
          : [];
        break;
      case OID.nameConstraints:
        value = e.nameConstraints
          ? [
              ...e.nameConstraints.permitted.map((s) => `permitted: ${generalNameText(s.base)}`),
              ...e.nameConstraints.excluded.map((s) => `excluded: ${generalNameText(s.base)}`),
            ]
          : [];
        break;
      case OID.certificatePolicies:
        value = [...(e.certificatePolicies ?? [])];
        break;
      case OID.policyConstraints:
        value = e.policyConstraints
          ? [
              `requireExplicitPolicy:${e.policyConstraints.requireExplicitPolicy ?? '-'}, inhibitPolicyMapping:${e.policyConstraints.inhibitPolicyMapping ?? '-'}`,
            ]
          : [];
        break;
      case OID.policyMappings:
        value = (e.policyMappings ?? []).map(([a, b]) => `${a} → ${b}`);
        break;
      case OID.inhibitAnyPolicy:
        value = e.inhibitAnyPolicy !== undefined ? [String(e.inhibitAnyPolicy)] : [];
        break;
      case OID.authorityInfoAccess:
        value = e.authorityInfoAccess
          ? [
              ...e.authorityInfoAccess.ocsp.map((u) => `OCSP: ${u}`),
              ...e.authorityInfoAccess.caIssuers.map((u) => `CA Issuers: ${u}`),
            ]
          : [];
        break;
      case OID.crlDistributionPoints:
        value = [...(e.crlDistributionPoints ?? [])];
        break;
      case OID.tlsFeature:
        value = (e.tlsFeatures ?? []).map((f) =>
          f === 5 ? 'status_request (OCSP must-staple)' : `feature ${f}`,
        );
        break;
      default: {
        const v = raw.value;
        value = [v.length > 64 ? `${hex(v.subarray(0, 64))}… (${v.length} bytes)` : hex(v)];
      }
    }
    if (value.length === 0) value = ['(cannot be decoded)'];
    return {
      oid: raw.oid,
      name: EXTENSION_NAMES[raw.oid] ?? extensionLabel(raw.oid),
      critical: raw.critical,
      value,
    };
  });
}
