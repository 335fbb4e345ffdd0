import { createHash } from 'node:crypto';
import { chainEntry } from '../model/chainEntryBuilder.js';
import type { Certificate } from '../x509/certificate.js';
import { describeKey } from '../x509/publicKey.js';
import { describeExtensions, type ExtensionDescription } from './extensionText.js';
import { sanitizeForTerminal as clean } from './sanitize.js';
import type { Colors } from './style.js';

/** Everything `certvet inspect --format json` prints about one certificate. */
export interface CertificateDetails extends ReturnType<typeof chainEntry> {
  readonly source: 'peer';
  readonly file: string;
  readonly index: number;
  readonly version: number;
  readonly sha1: string;
  readonly keyDescription: string;
  readonly extensions: readonly ExtensionDescription[];
  readonly problems: readonly string[];
}

export function certificateDetails(
  cert: Certificate,
  file: string,
  index: number,
  nowMs: number,
): CertificateDetails {
  return {
    ...chainEntry(cert, 'peer', nowMs),
    source: 'peer',
    file,
    index,
    version: cert.version,
    sha1: createHash('sha1').update(cert.der).digest('hex'),
    keyDescription: describeKey(cert.publicKey),
    extensions: describeExtensions(cert),
    problems: cert.defects.map((d) => d.message),
  };
}

const colon = (hex: string) => hex.toUpperCase().replace(/(..)(?!$)/g, '$1:');

export function renderInspectText(d: CertificateDetails, c: Colors): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`  ${c.dim(k.padEnd(20))} ${v}`);
  lines.push(c.bold(`${clean(d.file)} #${d.index + 1}: ${clean(d.subject || '(empty subject)')}`));
  row('Subject', clean(d.subject || '(empty)'));
  row('Issuer', clean(d.issuer || '(empty)'));
  row('Serial', colon(d.serialNumber));
  row('Version', `v${d.version}`);
  const days = d.daysRemaining;
  const validity = `${d.notBefore} → ${d.notAfter}`;
  row(
    'Validity',
    days < 0
      ? `${validity} ${c.red(`(expired ${Math.max(0, -days - 1)} days ago)`)}`
      : days <= 30
        ? `${validity} ${c.yellow(`(${days} days left)`)}`
        : `${validity} (${days} days left)`,
  );
  const san = d.subjectAltNames;
  const names = [
    ...san.dns.map((n) => `DNS:${n}`),
    ...san.ip.map((n) => `IP:${n}`),
    ...san.email.map((n) => `email:${n}`),
    ...san.uri.map((n) => `URI:${n}`),
  ];
  row('Subject alt names', names.length ? clean(names.join(', ')) : c.dim('(none)'));
  row('Public key', clean(d.keyDescription));
  row('Signature', clean(d.signatureAlgorithm));
  row('CA', d.isCA ? 'yes' : 'no');
  row('Self-signed', d.selfSigned ? 'yes' : 'no');
  row('SHA-256', colon(d.sha256));
  row('SHA-1', colon(d.sha1));
  if (d.extensions.length) {
    lines.push(`  ${c.dim('Extensions')}`);
    for (const e of d.extensions) {
      lines.push(`    ${clean(e.name)}${e.critical ? c.yellow(' (critical)') : ''}`);
      for (const v of e.value) lines.push(`      ${clean(v)}`);
    }
  }
  for (const p of d.problems) lines.push(`  ${c.red('problem')} ${clean(p)}`);
  return lines.join('\n') + '\n';
}
