import { createSecureContext } from 'node:tls';
import type { ClientIdentity } from '../probe/probe.js';
import { tidyErrorMessage } from '../util/errorText.js';
import { looksLikePem, readPemBlocks } from '../x509/pem.js';
import { UsageError } from './errors.js';
import { INPUT_LIMITS, readInput } from './files.js';

/** Where the client key's passphrase comes from (never the command line). */
export interface PassphraseSource {
  readonly env?: string;
  readonly file?: string;
}

/**
 * The passphrase from an environment variable or a file (trailing newline dropped). A missing
 * variable and an unreadable file are both usage errors (exit 64), naming the flag.
 */
export async function readPassphrase(src: PassphraseSource): Promise<string | undefined> {
  if (src.env) {
    const v = process.env[src.env];
    if (v === undefined)
      throw new UsageError(`--client-key-pass-env: environment variable ${src.env} is not set`);
    return v;
  }
  if (src.file) {
    const data = await readInput(src.file, {
      what: 'passphrase file',
      flag: '--client-key-pass-file',
      limit: INPUT_LIMITS.passphrase,
      usage: true,
    });
    return Buffer.from(data)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  return undefined;
}

/** The PEM labels of a file, or null when it is not PEM. */
function pemLabels(data: Uint8Array): string[] | null {
  if (!looksLikePem(data)) return null;
  try {
    return readPemBlocks(Buffer.from(data).toString('latin1')).map((b) => b.label);
  } catch {
    return null;
  }
}

const isKeyLabel = (l: string) => l.includes('PRIVATE KEY');
const isCertLabel = (l: string) => l === 'CERTIFICATE' || l === 'TRUSTED CERTIFICATE';

/** Files of a client identity: the flags' values, or a target file entry's. */
export interface ClientIdentityFiles {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly pfx?: string | undefined;
}

/** How messages name the inputs: the flags, or a target file entry's keys. */
export interface IdentityFlags {
  readonly cert: string;
  readonly key: string;
  readonly pfx: string;
}

export const IDENTITY_FLAGS: IdentityFlags = {
  cert: '--client-cert',
  key: '--client-key',
  pfx: '--client-pfx',
};

/** Clear words for the usual mix-ups, before OpenSSL gets to say "no start line". */
function checkRoles(
  cert: Uint8Array | undefined,
  key: Uint8Array | undefined,
  pfx: Uint8Array | undefined,
  names: ClientIdentityFiles,
  flags: IdentityFlags,
): void {
  if (cert) {
    const labels = pemLabels(cert);
    if (labels && !labels.some(isCertLabel))
      throw new UsageError(
        labels.some(isKeyLabel)
          ? `${flags.cert} ${names.cert}: is a private key, not a certificate (give the key with ${flags.key})`
          : `${flags.cert} ${names.cert}: contains no CERTIFICATE block`,
      );
  }
  if (key) {
    const labels = pemLabels(key);
    if (labels && !labels.some(isKeyLabel))
      throw new UsageError(
        labels.some(isCertLabel)
          ? `${flags.key} ${names.key}: is a certificate, not a private key (give the certificate with ${flags.cert})`
          : `${flags.key} ${names.key}: contains no PRIVATE KEY block`,
      );
  }
  if (pfx && looksLikePem(pfx))
    throw new UsageError(
      `${flags.pfx} ${names.pfx}: is PEM text, not a PKCS#12 file (give PEM files with ${flags.cert} and ${flags.key})`,
    );
}

/**
 * Reads (bounded) and checks a client identity before any connection: the files are what
 * their flags say, the key decrypts with the passphrase and belongs to the certificate.
 * Every failure is a UsageError naming the flags and files.
 */
export async function loadClientIdentity(
  files: ClientIdentityFiles,
  pass: string | undefined,
  flags: IdentityFlags = IDENTITY_FLAGS,
): Promise<ClientIdentity | undefined> {
  let id: ClientIdentity;
  let what: string;
  const read = (path: string, w: string, flag: string) =>
    readInput(path, { what: w, flag, limit: INPUT_LIMITS.clientIdentity });
  if (files.pfx) {
    const pfx = await read(files.pfx, 'PKCS#12 file', flags.pfx);
    checkRoles(undefined, undefined, pfx, files, flags);
    id = { pfx: Buffer.from(pfx), ...(pass !== undefined ? { passphrase: pass } : {}) };
    what = `${flags.pfx} ${files.pfx}`;
  } else if (files.cert || files.key) {
    if (!files.cert || !files.key)
      throw new UsageError(`${flags.cert} and ${flags.key} must be given together`);
    const cert = await read(files.cert, 'client certificate', flags.cert);
    const key = await read(files.key, 'client key', flags.key);
    checkRoles(cert, key, undefined, files, flags);
    id = {
      cert: Buffer.from(cert),
      key: Buffer.from(key),
      ...(pass !== undefined ? { passphrase: pass } : {}),
    };
    what = `${flags.cert} ${files.cert} / ${flags.key} ${files.key}`;
  } else return undefined;
  // An encrypted PEM key says so itself (PKCS#8 "ENCRYPTED PRIVATE KEY", or the legacy
  // Proc-Type header): decided from the file, not from OpenSSL's wording, which differs between
  // versions (Node 22's OpenSSL reports a key it cannot decrypt without a passphrase as
  // "unsupported").
  const encryptedPem =
    id.key !== undefined &&
    /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/.test(
      Buffer.from(id.key).toString('latin1'),
    );
  if (encryptedPem && pass === undefined)
    throw new UsageError(
      `${what}: is encrypted: give its passphrase with --client-key-pass-env VAR or --client-key-pass-file FILE`,
    );
  // Fail fast, before any connection, on a wrong passphrase or a key that does not match.
  try {
    createSecureContext({ ...id });
  } catch (e) {
    const msg = (e as Error).message;
    const code = String((e as { code?: unknown }).code ?? '');
    const reason =
      encryptedPem ||
      /BAD_DECRYPT|MAC_VERIFY/.test(code) ||
      /bad decrypt|mac verify|decrypt|password|passphrase/i.test(msg)
        ? pass === undefined
          ? 'is encrypted: give its passphrase with --client-key-pass-env VAR or --client-key-pass-file FILE'
          : 'cannot be decrypted with the passphrase given (wrong passphrase?)'
        : code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' || /key values mismatch/i.test(msg)
          ? 'the key does not belong to the certificate'
          : /wrong tag|asn1|not enough data|header too long/i.test(msg) && files.pfx
            ? 'is not a PKCS#12 file'
            : `cannot be used: ${tidyErrorMessage(msg)}`;
    throw new UsageError(`${what}: ${reason}`);
  }
  return id;
}
