/*
 * ML-DSA certificates (RFC 9881) for tests. node:crypto has ML-DSA from Node 24 (OpenSSL 3.5),
 * and the lab's generator (@peculiar/x509 over WebCrypto) does not speak it, so these are
 * written as DER here and signed with node:crypto: pure ML-DSA, empty context, no algorithm
 * parameters (RFC 9881 §2, §3). Everywhere, the tests read the same kind of chain from
 * test/fixtures/ml-dsa.json, written by `writeMlDsaFixtures` under Node 24 (a Node whose OpenSSL
 * is 3.5 can verify ML-DSA even when it cannot generate keys, as Node 22 can).
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { integer, seq, tlv, x509Time } from '../../src/lab/derWriter.js';

export type MlDsaSet = 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87';
export const ML_DSA_SETS: readonly MlDsaSet[] = ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'];

const SET_OIDS: Readonly<Record<MlDsaSet, string>> = {
  'ml-dsa-44': '2.16.840.1.101.3.4.3.17',
  'ml-dsa-65': '2.16.840.1.101.3.4.3.18',
  'ml-dsa-87': '2.16.840.1.101.3.4.3.19',
};

/** Whether this Node can generate ML-DSA keys (node:crypto's keygen: Node 24 and later). */
export function mlDsaKeygenSupported(): boolean {
  try {
    generateKeyPairSync('ml-dsa-44' as never);
    return true;
  } catch {
    return false;
  }
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const cnName = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
const ext = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), tlv(0x04, value));
/** keyUsage BIT STRING from bit numbers (digitalSignature 0, keyEncipherment 2, keyCertSign 5, cRLSign 6). */
function keyUsage(bits: readonly number[]): Buffer {
  const value = bits.reduce((v, b) => v | (0x80 >> b), 0);
  let unused = 0;
  while (unused < 7 && (value & (1 << unused)) === 0) unused++;
  return tlv(0x03, Buffer.from([unused, value]));
}

interface Party {
  readonly name: string;
  readonly key: KeyObject;
  readonly spki: Buffer;
  readonly keyId: Buffer;
}

function party(set: MlDsaSet, name: string): Party & { readonly privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync(set as never) as unknown as {
    publicKey: KeyObject;
    privateKey: KeyObject;
  };
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  // subjectKeyIdentifier, RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
  const keyId = createHash('sha1')
    .update(spki.subarray(spki.length - mlDsaKeyBytes(set)))
    .digest();
  return { name, key: publicKey, privateKey, spki, keyId };
}

function mlDsaKeyBytes(set: MlDsaSet): number {
  return set === 'ml-dsa-44' ? 1312 : set === 'ml-dsa-65' ? 1952 : 2592;
}

function certificate(
  set: MlDsaSet,
  subject: Party,
  issuer: Party,
  signer: KeyObject,
  o: { readonly ca: boolean; readonly serial: string; readonly keyUsageBits: readonly number[] },
): string {
  const alg = seq(oid(SET_OIDS[set]));
  const extensions = [
    ...(o.ca ? [ext('2.5.29.19', true, seq(Buffer.from([0x01, 0x01, 0xff])))] : []),
    ext('2.5.29.15', true, keyUsage(o.keyUsageBits)),
    ext('2.5.29.14', false, tlv(0x04, subject.keyId)),
    ...(subject === issuer ? [] : [ext('2.5.29.35', false, seq(tlv(0x80, issuer.keyId)))]),
    ...(o.ca ? [] : [ext('2.5.29.17', false, seq(tlv(0x82, Buffer.from('example.com'))))]),
    ...(o.ca ? [] : [ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1')))]),
  ];
  const tbs = seq(
    tlv(0xa0, integer('02')),
    integer(o.serial),
    alg,
    cnName(issuer.name),
    seq(x509Time(new Date('2026-01-01T00:00:00Z')), x509Time(new Date('2036-01-01T00:00:00Z'))),
    cnName(subject.name),
    subject.spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign(null, tbs, signer);
  const der = seq(tbs, alg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
}

export interface MlDsaChain {
  readonly root: string;
  readonly leaf: string;
}

export interface MlDsaFixtures {
  /** A valid root → leaf chain for each parameter set (valid 2026-01-01 to 2036-01-01). */
  readonly chains: Readonly<Record<MlDsaSet, MlDsaChain>>;
  /** ML-DSA-44: a leaf naming the root as issuer (name and AKI) but signed by another key. */
  readonly badSignature: MlDsaChain;
  /** ML-DSA-44: a valid chain whose leaf asserts keyEncipherment (RFC 9881 §5 forbids it). */
  readonly keyEncipherment: MlDsaChain;
}

/** Makes every chain the tests need (Node 24 or later). */
export function makeMlDsaFixtures(): MlDsaFixtures {
  const chainFor = (set: MlDsaSet, leafBits: readonly number[] = [0]): MlDsaChain => {
    const root = party(set, `${set} root`);
    const leaf = party(set, 'example.com');
    return {
      root: certificate(set, root, root, root.privateKey, { ca: true, serial: '01', keyUsageBits: [5, 6] }),
      leaf: certificate(set, leaf, root, root.privateKey, {
        ca: false,
        serial: '02',
        keyUsageBits: leafBits,
      }),
    };
  };
  const chains = Object.fromEntries(ML_DSA_SETS.map((s) => [s, chainFor(s)])) as Record<MlDsaSet, MlDsaChain>;
  const root = party('ml-dsa-44', 'ml-dsa-44 root');
  const impostor = party('ml-dsa-44', 'ml-dsa-44 root');
  const leaf = party('ml-dsa-44', 'example.com');
  const badSignature = {
    root: certificate('ml-dsa-44', root, root, root.privateKey, {
      ca: true,
      serial: '01',
      keyUsageBits: [5, 6],
    }),
    // The root's name and key identifier, the impostor's signature.
    leaf: certificate('ml-dsa-44', leaf, root, impostor.privateKey, {
      ca: false,
      serial: '03',
      keyUsageBits: [0],
    }),
  };
  return { chains, badSignature, keyEncipherment: chainFor('ml-dsa-44', [0, 2]) };
}

export const ML_DSA_FIXTURE_FILE = new URL('../../../test/fixtures/ml-dsa.json', import.meta.url);

/** Regenerates test/fixtures/ml-dsa.json (run under Node 24 or later). */
export function writeMlDsaFixtures(): void {
  writeFileSync(ML_DSA_FIXTURE_FILE, `${JSON.stringify(makeMlDsaFixtures(), null, 2)}\n`);
}

export function readMlDsaFixtures(): MlDsaFixtures {
  return JSON.parse(readFileSync(ML_DSA_FIXTURE_FILE, 'utf8')) as MlDsaFixtures;
}
