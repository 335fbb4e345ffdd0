import { isIP } from 'node:net';
import { type Crl, parseCrl } from '../src/verify/crl.js';
import type { ExpectedName, Profile } from '../src/verify/options.js';
import { verifyCertificate } from '../src/verify/verify.js';
import type { Certificate } from '../src/x509/certificate.js';
import type { KeyUsageBit } from '../src/x509/extensions.js';
import { loadCertificates } from '../src/x509/load.js';
import { OID } from '../src/x509/oids.js';
import { readPemBlocks } from '../src/x509/pem.js';
import { runtimeCanVerify } from '../src/x509/signatureAlgorithm.js';

/** One x509-limbo test case (the fields certvet reads). */
export interface LimboCase {
  readonly id: string;
  readonly features?: readonly string[] | null;
  readonly validation_kind: 'SERVER' | 'CLIENT';
  readonly trusted_certs: readonly string[];
  readonly untrusted_intermediates: readonly string[];
  readonly peer_certificate: string;
  readonly validation_time: string | null;
  readonly key_usage?: readonly string[] | null;
  readonly extended_key_usage?: readonly string[] | null;
  readonly expected_result: 'SUCCESS' | 'FAILURE';
  readonly expected_peer_name?: { readonly kind: string; readonly value: string } | null;
  readonly expected_peer_names?: readonly { readonly kind: string; readonly value: string }[] | null;
  readonly max_chain_depth?: number | null;
  readonly crls?: readonly string[] | null;
  readonly signature_algorithms?: readonly string[] | null;
}

export interface LimboResult {
  readonly id: string;
  readonly actual_result: 'SUCCESS' | 'FAILURE' | 'SKIPPED';
  readonly context: string | null;
}

const EKUS: Readonly<Record<string, string>> = {
  serverAuth: OID.serverAuth,
  clientAuth: OID.clientAuth,
  codeSigning: OID.codeSigning,
  emailProtection: OID.emailProtection,
  timeStamping: OID.timeStamping,
  OCSPSigning: OID.ocspSigning,
  anyExtendedKeyUsage: OID.anyExtendedKeyUsage,
};

const KEY_USAGES: Readonly<Record<string, KeyUsageBit>> = {
  digitalSignature: 'digitalSignature',
  contentCommitment: 'nonRepudiation',
  nonRepudiation: 'nonRepudiation',
  keyEncipherment: 'keyEncipherment',
  dataEncipherment: 'dataEncipherment',
  keyAgreement: 'keyAgreement',
  keyCertSign: 'keyCertSign',
  cRLSign: 'cRLSign',
  encipherOnly: 'encipherOnly',
  decipherOnly: 'decipherOnly',
};

/**
 * The rule set a case targets, from its namespace: `webpki::` the CA/B Forum TLS Baseline
 * Requirements, `smime::` the CA/B Forum S/MIME Baseline Requirements, any other plain RFC 5280.
 */
export function profileOf(id: string): Profile {
  if (id.startsWith('webpki::')) return 'webpki';
  if (id.startsWith('smime::')) return 'smime';
  return 'rfc5280';
}

function certs(pems: readonly string[]): Certificate[] {
  const out: Certificate[] = [];
  for (const p of pems) out.push(...loadCertificates(Buffer.from(p, 'latin1'), 'test case').certificates);
  return out;
}

/**
 * A case's reference identity. A "DNS" name that is an IP literal is an IP address, as a TLS
 * client dialling it would take it (and as `certvet check` does): no DNS name is all-numeric,
 * and some x509-limbo generations give BetterTLS's IP hostnames that kind.
 */
function peerName(n: { kind: string; value: string }): ExpectedName | null {
  if (n.kind === 'DNS' && isIP(n.value) !== 0) return { kind: 'ip', value: n.value };
  const kind = n.kind === 'DNS' ? 'dns' : n.kind === 'IP' ? 'ip' : n.kind === 'RFC822' ? 'email' : null;
  return kind ? { kind, value: n.value } : null;
}

/** Options that change what a case costs, never its result. */
export interface LimboRunOptions {
  /**
   * Share signature results with earlier cases (the default, as in any long-running
   * verifier). false makes the case check every signature itself, as if no case before it
   * had the same certificates.
   */
  readonly shareSignatureResults?: boolean;
}

/** Runs one case through the validator. Behaviour depends only on the case's fields. */
export function runLimboCase(tc: LimboCase, now: Date = new Date(), run: LimboRunOptions = {}): LimboResult {
  const skip = (context: string): LimboResult => ({ id: tc.id, actual_result: 'SKIPPED', context });
  const fail = (context: string): LimboResult => ({ id: tc.id, actual_result: 'FAILURE', context });
  const leafLoad = loadCertificates(Buffer.from(tc.peer_certificate, 'latin1'), 'peer certificate');
  const leaf = leafLoad.certificates[0];
  if (!leaf) return fail(`malformed-certificate: ${leafLoad.problems.map((p) => p.message).join('; ')}`);
  const crls: Crl[] = [];
  for (const pem of tc.crls ?? []) {
    try {
      for (const b of readPemBlocks(pem)) crls.push(parseCrl(b.der));
    } catch (e) {
      return fail(`revocation-unknown: a supplied CRL cannot be parsed: ${(e as Error).message}`);
    }
  }
  const requiredEku: string[] = [];
  for (const e of tc.extended_key_usage ?? []) {
    const oid = EKUS[e];
    if (!oid) return skip(`unsupported extended key usage "${e}"`);
    requiredEku.push(oid);
  }
  const requiredKeyUsage: KeyUsageBit[] = [];
  for (const k of tc.key_usage ?? []) {
    const bit = KEY_USAGES[k];
    if (!bit) return skip(`unsupported key usage "${k}"`);
    requiredKeyUsage.push(bit);
  }
  const names: ExpectedName[] = [];
  const rawNames =
    tc.validation_kind === 'SERVER'
      ? tc.expected_peer_name
        ? [tc.expected_peer_name]
        : []
      : (tc.expected_peer_names ?? []);
  for (const n of rawNames) {
    const e = peerName(n);
    if (!e) return skip(`unsupported peer name kind "${n.kind}"`);
    names.push(e);
  }
  const profile = profileOf(tc.id);
  const purpose = tc.validation_kind === 'SERVER' ? 'serverAuth' : 'clientAuth';
  const result = verifyCertificate({
    leaf,
    anchors: certs(tc.trusted_certs),
    intermediates: certs(tc.untrusted_intermediates),
    time: tc.validation_time ? new Date(tc.validation_time) : now,
    profile,
    conformance: 'enforce',
    purpose,
    // No list: the purpose's own EKU (serverAuth/clientAuth), chained through the CAs, as Go's,
    // rustls-webpki's and pyca/cryptography's x509-limbo harnesses ask for any SERVER case.
    requiredEku: requiredEku.length ? requiredEku : undefined,
    requiredKeyUsage,
    expectedNames: names,
    maxDepth: tc.max_chain_depth ?? null,
    crls,
    // A supplied CRL that cannot be used makes the status unknown, which fails the case.
    crlPolicy: { mode: 'hard' },
    // x509-limbo (like pyca/cryptography) judges trust anchors by the profile too.
    strictAnchors: true,
    shareSignatureResults: run.shareSignatureResults ?? true,
  });
  if (result.valid) return { id: tc.id, actual_result: 'SUCCESS', context: null };
  const critical = result.findings.filter((f) => f.severity === 'critical');
  // Signatures this runtime cannot check at all (ML-DSA before OpenSSL 3.5) fail closed in the
  // validator; when they are the only reason, the honest answer here is "not testable".
  const uncheckable = critical.filter(
    (f) =>
      f.code === 'invalid-signature' &&
      f.certIndex !== undefined &&
      result.path[f.certIndex] !== undefined &&
      !runtimeCanVerify(result.path[f.certIndex]!.signatureAlgorithm),
  );
  if (critical.length > 0 && uncheckable.length === critical.length)
    return skip(
      `${result.path[uncheckable[0]!.certIndex!]!.signatureAlgorithm.name} signatures cannot be verified on Node.js ${process.version} (OpenSSL ${process.versions.openssl}): ${uncheckable[0]!.message}`,
    );
  return fail(critical.map((f) => `${f.code}: ${f.message}`).join(' | '));
}
