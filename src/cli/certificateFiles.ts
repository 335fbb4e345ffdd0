import { inputName } from '../util/boundedRead.js';
import type { Crl } from '../verify/crl.js';
import { loadCrls } from '../verify/loadCrls.js';
import type { Certificate } from '../x509/certificate.js';
import { type LoadedCertificates, loadCertificates } from '../x509/load.js';
import { InputError } from './errors.js';
import { INPUT_LIMITS, readInput } from './files.js';

/** Which input a certificate or CRL file is, for messages: "--ca", "--chain", or none (an argument). */
export interface FileRole {
  readonly what: string;
  readonly flag?: string;
}

function label(path: string, role: FileRole): string {
  return role.flag ? `${role.flag} ${inputName(path)}` : inputName(path);
}

/** Reads (bounded) and loads every certificate of a file; problems name the flag and file. */
export async function readCertificates(path: string, role: FileRole): Promise<LoadedCertificates> {
  const data = await readInput(path, { ...role, limit: INPUT_LIMITS.certificate });
  return loadCertificates(data, label(path, role));
}

/** Like readCertificates, for a file that must hold certificates only, at least one. */
export async function readAllCertificates(path: string, role: FileRole): Promise<Certificate[]> {
  const { certificates, problems } = await readCertificates(path, role);
  if (problems.length) throw new InputError(problems.map((p) => `${p.source}: ${p.message}`).join('\n'));
  if (certificates.length === 0) throw new InputError(`${label(path, role)}: contains no certificate`);
  return certificates;
}

/** Reads (bounded by `limit`) and parses the CRLs of a file. */
export async function readCrlFile(path: string, limit: number, flag = '--crl'): Promise<Crl[]> {
  const data = await readInput(path, { what: 'CRL file', flag, limit });
  try {
    // The CRL's source (named in revocation findings) is the file itself.
    return loadCrls(data, inputName(path));
  } catch (e) {
    throw new InputError(`${flag} ${(e as Error).message}`);
  }
}
