import type { Finding } from '../findings/catalogue.js';
import type { ChainEntry } from '../model/chainEntry.js';
import { chainEntry } from '../model/chainEntryBuilder.js';
import { type CrossCheck, statusOf, type TargetResult } from '../model/result.js';
import type { Observation } from '../probe/observation.js';
import { quote } from '../probe/starttls/conversation.js';
import type { Crl } from '../verify/crl.js';
import { parseIp } from '../verify/names/ip.js';
import type { Conformance, ExpectedName, Profile } from '../verify/options.js';
import { verifyCertificate } from '../verify/verify.js';
import { parseCertificateCached } from '../x509/cache.js';
import type { Certificate } from '../x509/certificate.js';
import { isoOf } from '../x509/time.js';
import { serverKeyUsageFor } from './tlsKeyUsage.js';

export interface CheckPolicy {
  readonly anchors: readonly Certificate[];
  /** Intermediates known locally (to complete chains servers send incompletely). */
  readonly localIntermediates?: readonly Certificate[];
  readonly profile: Profile;
  readonly conformance: Conformance;
  readonly warnDays: number;
  readonly critDays: number;
  /** Warn when less than this percentage of a certificate's lifetime remains (0 = off). */
  readonly warnPercent: number;
  readonly crls?: readonly Crl[];
  /** Severity of revocation status the supplied CRLs cannot establish (the revocation mode; default soft). */
  readonly crlMode?: 'soft' | 'hard';
  /**
   * The revocation step weighs the supplied CRLs with the network sources and reports what
   * none can establish (src/revocation/checkRevocation.ts); the validator then reports only
   * the serials they list. Set while revocation is on.
   */
  readonly crlUnknownsByRevocation?: boolean;
  readonly purpose?: 'serverAuth' | 'clientAuth';
  /** Issuer certificates fetched through AIA caIssuers (marked `aia` in the chain). */
  readonly aiaIntermediates?: readonly Certificate[];
}

export interface CheckSubject {
  /** The target as given. */
  readonly target: string;
  readonly host: string;
  readonly port: number;
  /** The name the certificate must be valid for (default: the host). */
  readonly expectName?: string | null;
}

function nameFor(s: CheckSubject): ExpectedName {
  const n = s.expectName ?? s.host;
  return parseIp(n) ? { kind: 'ip', value: n } : { kind: 'dns', value: n };
}

/** Node's verdict beside certvet's (`valid`: certvet found a valid path). */
function crossCheckOf(obs: Observation, valid: boolean): CrossCheck | null {
  return obs.crossCheck
    ? { ...obs.crossCheck, certvetValid: valid, agrees: obs.crossCheck.authorized === valid }
    : null;
}

function describeDays(days: number): string {
  return days === 1 ? '1 day' : `${days} days`;
}

/** The result, plus the certificates of the reported path (for revocation checking). */
export interface Evaluation {
  readonly result: TargetResult;
  readonly path: readonly Certificate[];
  readonly anchored: boolean;
}

export function evaluateObservation(
  s: CheckSubject,
  obs: Observation,
  p: CheckPolicy,
  now: Date,
): Evaluation {
  const findings: Finding[] = [];
  const base = {
    target: s.target,
    host: s.host,
    port: s.port,
    address: obs.address,
    servername: obs.servername,
    tls: {
      protocol: obs.protocol,
      cipher: obs.cipher,
      alpn: obs.alpn,
      ocspStapled: obs.ocspStaple !== null,
      ...(obs.clientCert !== 'unknown' ? { clientCertificate: obs.clientCert } : {}),
    },
    // Replaced by the verdict once the chain is verified; until then certvet has no valid path.
    crossCheck: crossCheckOf(obs, false),
    timings: obs.timings,
    durationMs: obs.timings.totalMs,
  };
  if (obs.error && obs.certificates.length === 0) {
    findings.push({ code: obs.error.code, severity: 'error', message: obs.error.message });
    return { result: { ...base, status: 'error', findings, chain: [] }, path: [], anchored: false };
  }
  // Certificates are public: anyone can replay a server's chain. Only a completed handshake
  // proves the server holds the key, so a handshake that failed (or stalled) after the
  // Certificate message is never a pass — the chain is still judged, for diagnosis.
  // (A TLS 1.3 server still deciding on our client certificate when time ran out has completed
  // its side of the handshake, the proof included: crossCheck is set once it has.)
  if (obs.error)
    findings.push({
      code: obs.error.code,
      severity: 'error',
      message:
        obs.crossCheck === null
          ? `${obs.error.message}; the handshake did not complete, so the server did not prove it holds the certificate's key (the certificates it sent were still checked)`
          : `${obs.error.message} (the certificates it sent were still checked)`,
    });
  // The leaf is the certificate the server vouches for: when it does not parse, nothing else
  // may stand in for it (verifying the intermediate "as the leaf" would describe the wrong
  // certificate), so verification stops with malformed-certificate on the leaf.
  const parsed: Certificate[] = [];
  for (const [i, der] of obs.certificates.entries()) {
    try {
      parsed.push(parseCertificateCached(der));
    } catch (e) {
      const reason = (e as Error).message;
      if (i === 0) {
        findings.push({
          code: 'malformed-certificate',
          severity: 'critical',
          message: `the leaf certificate sent by the server (${der.length} bytes) cannot be parsed: ${reason}; the chain cannot be verified`,
          certIndex: 0,
        });
        return {
          result: { ...base, status: statusOf(findings), findings, chain: [] },
          path: [],
          anchored: false,
        };
      }
      // An unparseable extra certificate cannot be part of any path: say so, and build without it.
      findings.push({
        code: 'malformed-certificate',
        severity: 'critical',
        message: `certificate #${i} sent by the server (${der.length} bytes) cannot be parsed: ${reason}`,
      });
    }
  }
  const leaf = parsed[0];
  if (!leaf) {
    findings.push({ code: 'handshake-failed', severity: 'error', message: 'the server sent no certificate' });
    return {
      result: { ...base, status: statusOf(findings), findings, chain: [] },
      path: [],
      anchored: false,
    };
  }
  const sent = parsed.slice(1);
  // The key must allow what the handshake did with it (sign, or receive the key exchange).
  const handshakeUsage =
    (p.purpose ?? 'serverAuth') === 'serverAuth' ? serverKeyUsageFor(obs.protocol, obs.cipher) : null;
  const options = {
    leaf,
    anchors: p.anchors,
    time: now,
    profile: p.profile,
    conformance: p.conformance,
    purpose: p.purpose ?? 'serverAuth',
    expectedNames: [nameFor(s)],
    ...(handshakeUsage
      ? { requiredKeyUsage: [handshakeUsage.bit], requiredKeyUsageReason: handshakeUsage.reason }
      : {}),
    crls: p.crls ?? [],
    crlPolicy: { mode: p.crlMode ?? 'soft', reportUnknown: p.crlUnknownsByRevocation !== true },
  } as const;
  let result = verifyCertificate({ ...options, intermediates: sent });
  let completedLocally = false;
  const extra = [...(p.localIntermediates ?? []), ...(p.aiaIntermediates ?? [])];
  if (!result.valid && !result.anchored && extra.length) {
    const withLocal = verifyCertificate({ ...options, intermediates: [...sent, ...extra] });
    if (withLocal.anchored) {
      result = withLocal;
      completedLocally = true;
    }
  }
  findings.push(...result.findings);
  const sentIds = new Set(parsed.map((c) => c.sha256));
  const anchorIds = new Set(p.anchors.map((c) => c.sha256));
  const aiaIds = new Set((p.aiaIntermediates ?? []).map((c) => c.sha256));
  if (completedLocally) {
    const missing = result.path.filter((c) => !sentIds.has(c.sha256) && !anchorIds.has(c.sha256));
    const viaAia = missing.some((c) => aiaIds.has(c.sha256));
    findings.push({
      code: 'incomplete-chain',
      severity: 'warning',
      message: `the server does not send the intermediate certificate${missing.length > 1 ? 's' : ''} ${missing.map((c) => c.subject.text).join('; ')}; the path was completed ${viaAia ? 'by fetching it from the AIA caIssuers URL (browsers cope, many other clients fail)' : 'from local certificates (clients without them will fail)'}`,
      certIndex: result.path.indexOf(missing[0]!),
    });
  }
  if (result.anchored) findings.push(...chainHygiene(parsed, result.path, obs.protocol));
  // Expiry thresholds for every certificate of the path.
  const nowSec = Math.floor(now.getTime() / 1000);
  result.path.forEach((c, i) => {
    const left = c.notAfter.seconds - nowSec;
    if (left < 0) return; // already `expired`
    const days = Math.floor(left / 86400);
    const what =
      i === 0 ? 'the leaf certificate' : anchorIds.has(c.sha256) ? 'the trust anchor' : `intermediate #${i}`;
    const lifetime = c.notAfter.seconds - c.notBefore.seconds;
    if (days < p.critDays)
      findings.push({
        code: 'expires-soon',
        severity: 'critical',
        message: `${what} (${c.subject.text}) expires in ${describeDays(days)}, on ${isoOf(c.notAfter)} (critical threshold ${p.critDays} days)`,
        certIndex: i,
      });
    else if (days < p.warnDays)
      findings.push({
        code: 'expires-soon',
        severity: 'warning',
        message: `${what} (${c.subject.text}) expires in ${describeDays(days)}, on ${isoOf(c.notAfter)} (warning threshold ${p.warnDays} days)`,
        certIndex: i,
      });
    else if (p.warnPercent > 0 && lifetime > 0 && (100 * left) / lifetime < p.warnPercent)
      findings.push({
        code: 'expires-soon',
        severity: 'warning',
        message: `${what} (${c.subject.text}) has ${((100 * left) / lifetime).toFixed(1)}% of its lifetime left (expires ${isoOf(c.notAfter)}; threshold ${p.warnPercent}%)`,
        certIndex: i,
      });
  });

  if (obs.protocol === 'TLSv1' || obs.protocol === 'TLSv1.1')
    findings.push({
      code: 'protocol-deprecated',
      severity: 'warning',
      message: `the server negotiated ${obs.protocol}, deprecated by RFC 8996; it should offer TLS 1.2 or 1.3`,
    });
  // A refusal at the protocol level after TLS quotes the server's answer.
  const answered = obs.clientCertReply ? `: after TLS it answered ${quote(obs.clientCertReply)}` : '';
  if (obs.clientCert === 'required-missing')
    findings.push({
      code: 'client-cert-required',
      severity: 'warning',
      message: `the server requires a client certificate and none was given${answered} (its own chain was still checked)`,
    });
  else if (obs.clientCert === 'rejected')
    findings.push({
      code: 'client-cert-rejected',
      severity: 'critical',
      message: `the server refused the client certificate presented${answered || (obs.error ? `: ${obs.error.message}` : '')}`,
    });

  const chain: ChainEntry[] = result.path.map((c) =>
    chainEntry(
      c,
      sentIds.has(c.sha256)
        ? 'peer'
        : aiaIds.has(c.sha256) && !anchorIds.has(c.sha256)
          ? 'aia'
          : 'trust-store',
      now.getTime(),
    ),
  );
  return {
    result: {
      ...base,
      crossCheck: crossCheckOf(obs, result.valid),
      status: statusOf(findings),
      findings,
      chain,
    },
    path: result.path,
    anchored: result.anchored,
  };
}

/**
 * What the server sends, compared with the path that validated (RFC 8446 §4.4.2, RFC 5246
 * §7.4.2): an unneeded root, certificates that belong to no path, duplicates, and (TLS <= 1.2,
 * where order is mandatory) intermediates out of order. All info: clients cope, but bytes and
 * fragile clients suffer.
 */
function chainHygiene(
  sent: readonly Certificate[],
  path: readonly Certificate[],
  protocol: string | null,
): Finding[] {
  const out: Finding[] = [];
  const inPath = new Set(path.map((c) => c.sha256));
  const top = path[path.length - 1]!;
  const seen = new Set<string>();
  const dups: Certificate[] = [];
  for (const c of sent) {
    if (seen.has(c.sha256)) dups.push(c);
    seen.add(c.sha256);
  }
  if (dups.length)
    out.push({
      code: 'chain-hygiene',
      severity: 'info',
      message: `the server sends ${dups.map((c) => c.subject.text).join('; ')} more than once`,
    });
  if (path.length > 1 && sent.some((c) => c.sha256 === top.sha256) && top.selfIssued)
    out.push({
      code: 'chain-hygiene',
      severity: 'info',
      message: `the server sends the root certificate ${top.subject.text}; clients must already have it, so it only adds bytes to every handshake`,
      certIndex: path.length - 1,
    });
  const extra = sent.filter((c) => !inPath.has(c.sha256));
  if (extra.length)
    out.push({
      code: 'chain-hygiene',
      severity: 'info',
      message: `the server sends ${extra.length === 1 ? 'a certificate' : `${extra.length} certificates`} that ${extra.length === 1 ? 'is' : 'are'} not part of the validated path: ${extra.map((c) => c.subject.text).join('; ')}`,
    });
  const order = sent
    .filter((c) => inPath.has(c.sha256))
    .map((c) => path.findIndex((p) => p.sha256 === c.sha256));
  if (order.some((v, i) => i > 0 && v < order[i - 1]!) && protocol !== 'TLSv1.3')
    out.push({
      code: 'chain-hygiene',
      severity: 'info',
      message: `the server sends its certificates out of order (${protocol ?? 'TLS'} requires each certificate to certify the one before it)`,
    });
  return out;
}
