import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, issue, type LabKeyType, privateKeyPem } from './pki.js';

export interface GenerateOptions {
  readonly dir: string;
  /** DNS names and IP addresses for the server certificate. */
  readonly names: readonly string[];
  readonly clientName: string;
  readonly days: number;
  readonly keyType: LabKeyType;
}

/**
 * Writes a ready local PKI: root and intermediate CAs, a server certificate (with the chain
 * file servers need) and a client certificate for mTLS, each with its key (mode 0600).
 */
export async function generateLabPki(o: GenerateOptions): Promise<string[]> {
  mkdirSync(o.dir, { recursive: true });
  const DAY = 86400_000;
  const now = Date.now();
  const root = await issue({
    subject: 'CN=certvet Local Root CA,O=certvet lab',
    ca: true,
    keyType: o.keyType,
    notAfter: new Date(now + 3650 * DAY),
  });
  const ica = await issue({
    subject: 'CN=certvet Local Issuing CA,O=certvet lab',
    ca: true,
    pathLen: 0,
    issuer: root,
    keyType: o.keyType,
    notAfter: new Date(now + 1825 * DAY),
  });
  const isIp = (n: string) => /^[\d.]+$/.test(n) || n.includes(':');
  const serverKey = await generateKey(o.keyType);
  const server = await issue({
    subject: `CN=${o.names[0]}`,
    issuer: ica,
    key: serverKey,
    dns: o.names.filter((n) => !isIp(n)),
    ips: o.names.filter(isIp),
    eku: ['serverAuth'],
    notAfter: new Date(now + o.days * DAY),
  });
  const client = await issue({
    subject: `CN=${o.clientName},O=certvet lab`,
    issuer: ica,
    keyType: o.keyType,
    eku: ['clientAuth'],
    ...(o.clientName.includes('@') ? { emails: [o.clientName] } : { dns: [] }),
    notAfter: new Date(now + o.days * DAY),
  });
  const files: [string, string, number][] = [
    ['ca.pem', root.pem, 0o644],
    ['intermediate.pem', ica.pem, 0o644],
    ['server.pem', server.pem, 0o644],
    ['server-fullchain.pem', server.pem + ica.pem, 0o644],
    ['server.key', await privateKeyPem(server.key), 0o600],
    ['client.pem', client.pem, 0o644],
    ['client-fullchain.pem', client.pem + ica.pem, 0o644],
    ['client.key', await privateKeyPem(client.key), 0o600],
    ['root.key', await privateKeyPem(root.key), 0o600],
    ['intermediate.key', await privateKeyPem(ica.key), 0o600],
  ];
  for (const [name, text, mode] of files) writeFileSync(join(o.dir, name), text, { mode });
  return files.map(([n]) => join(o.dir, n));
}
