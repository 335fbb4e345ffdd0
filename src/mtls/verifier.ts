import { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { type Checker, checkerInternals, createChecker } from '../check/checker.js';
import type { Finding } from '../findings/catalogue.js';
import { peerChain } from '../probe/peerChain.js';
import {
  checkRevocation,
  type RevocationContext,
  type RevocationMode,
} from '../revocation/checkRevocation.js';
import type { FetchPolicy } from '../revocation/fetchPolicy.js';
import type { Crl } from '../verify/crl.js';
import type { TlsProfile } from '../verify/options.js';
import { verifyCertificate } from '../verify/verify.js';
import { parseCertificateCached } from '../x509/cache.js';
import type { Certificate } from '../x509/certificate.js';
import { loadCertificates } from '../x509/load.js';
import { writePem } from '../x509/pem.js';
import { type AllowRule, allowedBy, describeRule } from './allow.js';
import { MtlsConfigError } from './errors.js';
import { type ClientIdentity, identityOf } from './identity.js';
import { checkTrustUpdate, checkVerifierOptions } from './verifierOptions.js';

/** Trust material a verifier uses; swap it at run time with `update()`. */
export interface ClientTrust {
  /** CA certificates (PEM text, DER/PEM bytes, or parsed certificates) that may issue client certificates. */
  readonly ca: string | Uint8Array | readonly (string | Uint8Array | Certificate)[];
  /** CRLs to honour (parsed), e.g. refreshed from files. */
  readonly crls?: readonly Crl[];
  /** Allow rules; empty or absent: every client whose certificate verifies. */
  readonly allow?: readonly AllowRule[];
}

export interface ClientCertVerifierOptions extends ClientTrust {
  /** Network revocation checking (OCSP, CRL distribution points): default off. */
  readonly revocation?: RevocationMode;
  /**
   * What a supplied CRL that cannot establish a certificate's status (stale, badly signed, out
   * of scope, or no CRL from its issuer) means: `hard` (default) rejects the client, `soft`
   * reports a warning and accepts. A serial listed on a validly signed CRL is always rejected.
   */
  readonly crlMode?: 'soft' | 'hard';
  readonly fetchPolicy?: FetchPolicy;
  /**
   * Share this checker's revocation pipeline (its OCSP/CRL caches, fetch policy and timeouts)
   * instead of building one: an application that also checks endpoints fetches each CRL once.
   */
  readonly checker?: Checker;
  /** Default rfc5280 (client certificates are rarely CA/B-conformant). */
  readonly profile?: TlsProfile;
  /** Injected time source (default Date.now). */
  readonly clock?: () => number;
}

/** A verdict on one client. An accepted client always has its identity; a refused one may not. */
export type ClientVerdict = AcceptedClient | RefusedClient;
export interface AcceptedClient {
  readonly ok: true;
  readonly identity: ClientIdentity;
  readonly findings: readonly Finding[];
}
export interface RefusedClient {
  readonly ok: false;
  /** Null when no certificate was presented or it could not be read. */
  readonly identity: ClientIdentity | null;
  readonly findings: readonly Finding[];
}

/** The whole of one client's network revocation checks (OCSP and CRL, all certificates). */
const REVOCATION_DEADLINE_MS = 8000;

function anchorsOf(ca: ClientTrust['ca']): Certificate[] {
  const items = typeof ca === 'string' || ca instanceof Uint8Array ? [ca] : ca;
  const out: Certificate[] = [];
  for (const item of items) {
    if (typeof item !== 'string' && !(item instanceof Uint8Array)) out.push(item);
    else {
      const { certificates, problems } = loadCertificates(Buffer.from(item), 'ca');
      if (problems.length)
        throw new MtlsConfigError('ca', `client CA bundle: ${problems.map((p) => p.message).join('; ')}`);
      out.push(...certificates);
    }
  }
  if (!out.length) throw new MtlsConfigError('ca', 'client CA bundle: no certificate');
  return out;
}

/** The verifier's events, typed: 'accepted' and 'rejected' carry the verdict. */
export interface ClientCertVerifier {
  on(event: 'accepted', listener: (verdict: AcceptedClient) => void): this;
  on(event: 'rejected', listener: (verdict: RefusedClient) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature, for every other event
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'accepted', listener: (verdict: AcceptedClient) => void): this;
  once(event: 'rejected', listener: (verdict: RefusedClient) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature, for every other event
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  off(event: 'accepted', listener: (verdict: AcceptedClient) => void): this;
  off(event: 'rejected', listener: (verdict: RefusedClient) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature, for every other event
  off(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * Verifies client certificates with certvet's validator (purpose clientAuth) and revocation
 * code, then the allow rules. Logs nothing: it emits 'accepted' and 'rejected' with the
 * verdict, for the application to log.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above only types the events
export class ClientCertVerifier extends EventEmitter {
  private anchors: Certificate[];
  private crls: readonly Crl[];
  private allow: readonly AllowRule[];
  /** Network revocation, through the library's composition root (built on first use). */
  private revocationPipeline: Omit<RevocationContext, 'nowSec'> | null = null;

  /** Throws `MtlsConfigError` for an unknown option or allow-rule key, or a value of the wrong type. */
  constructor(private readonly opts: ClientCertVerifierOptions) {
    super();
    checkVerifierOptions(opts);
    this.anchors = anchorsOf(opts.ca);
    this.crls = opts.crls ?? [];
    this.allow = opts.allow ?? [];
  }

  /** Replaces the CA bundle, CRLs and/or allow rules without restarting anything. */
  update(trust: Partial<ClientTrust>): void {
    checkTrustUpdate(trust);
    if (trust.ca !== undefined) this.anchors = anchorsOf(trust.ca);
    if (trust.crls !== undefined) this.crls = trust.crls;
    if (trust.allow !== undefined) this.allow = trust.allow;
  }

  /** The anchors as PEM, for a TLS server's `ca` (the CertificateRequest's list of CA names). */
  caPem(): string[] {
    return this.anchors.map((c) => writePem(c.der, 'CERTIFICATE'));
  }

  /** Verifies a client chain (DER, leaf first, as presented). */
  async verifyChain(chain: readonly Uint8Array[]): Promise<ClientVerdict> {
    const now = (this.opts.clock ?? Date.now)();
    const done = (v: ClientVerdict): ClientVerdict => {
      this.emit(v.ok ? 'accepted' : 'rejected', v);
      return v;
    };
    if (!chain.length)
      return done({
        ok: false,
        identity: null,
        findings: [
          {
            code: 'client-cert-missing',
            severity: 'critical',
            message: 'the client presented no certificate',
          },
        ],
      });
    let certs: Certificate[];
    try {
      certs = chain.map((d) => parseCertificateCached(d));
    } catch (e) {
      return done({
        ok: false,
        identity: null,
        findings: [
          {
            code: 'malformed-certificate',
            severity: 'critical',
            message: `the client certificate cannot be parsed: ${(e as Error).message}`,
            certIndex: 0,
          },
        ],
      });
    }
    const leaf = certs[0]!;
    const identity = identityOf(leaf);
    const result = verifyCertificate({
      leaf,
      intermediates: certs.slice(1),
      anchors: this.anchors,
      time: now,
      purpose: 'clientAuth',
      // In every TLS version a client proves it holds its key by signing the handshake.
      requiredKeyUsage: ['digitalSignature'],
      requiredKeyUsageReason:
        'a TLS client signs the handshake with this key (CertificateVerify, RFC 8446 §4.4.3, RFC 5246 §7.4.8)',
      profile: this.opts.profile ?? 'rfc5280',
      conformance: 'warn',
      crls: this.crls,
      // The operator chose to revoke with these CRLs: by default (hard) every certificate below
      // the anchor must be covered by a usable one, as Node/OpenSSL require once a server is
      // given a CRL (CRL_CHECK_ALL); a stale or badly signed CRL rejects the client.
      // Without CRLs (none configured, or an empty set swapped in) there is nothing to cover with.
      crlPolicy: {
        mode: this.opts.crlMode ?? 'hard',
        requireCoverage: (this.opts.crlMode ?? 'hard') === 'hard' && this.crls.length > 0,
      },
    });
    const findings: Finding[] = [...result.findings];
    if (result.valid && (this.opts.revocation ?? 'off') !== 'off') {
      this.revocationPipeline ??= checkerInternals(
        this.opts.checker ??
          createChecker({
            revocation: this.opts.revocation!,
            fetchTimeout: 5000,
            ...(this.opts.fetchPolicy ? { fetchPolicy: this.opts.fetchPolicy } : {}),
          }),
      ).revocation;
      const rv = await checkRevocation(result.path, null, {
        ...this.revocationPipeline,
        mode: this.opts.revocation!,
        // The configured CRLs are sources too (the validator above reported what they cannot establish).
        supplied: this.crls,
        suppliedReported: true,
        nowSec: Math.floor(now / 1000),
        // One deadline for all of a client's revocation fetches (a cut-short source is
        // revocation-unknown, by mode): a handshake is never held longer than this.
        signal: AbortSignal.timeout(REVOCATION_DEADLINE_MS),
      });
      findings.push(...rv.findings);
    }
    let ok = !findings.some((f) => f.severity === 'critical' || f.severity === 'error');
    if (ok && this.allow.length && !allowedBy(this.allow, identity)) {
      ok = false;
      findings.push({
        code: 'client-not-allowed',
        severity: 'critical',
        message: `the client certificate (${identity.subject}, sha256 ${identity.sha256.slice(0, 16)}…) verifies but matches none of the allow rules (${this.allow.map(describeRule).join('; ')})`,
        certIndex: 0,
      });
    }
    return done(ok ? { ok: true, identity, findings } : { ok: false, identity, findings });
  }

  /** Verifies the certificate chain a TLS client presented on `socket`. */
  verifySocket(socket: TLSSocket): Promise<ClientVerdict> {
    return this.verifyChain(peerChain(socket));
  }
}

export function createClientCertVerifier(opts: ClientCertVerifierOptions): ClientCertVerifier {
  return new ClientCertVerifier(opts);
}

/** The client's chain as Node exposes it on the server side (leaf first). */
export { peerChain };
