/**
 * The JWK route of key import (src/x509/keyImport.ts) against OpenSSL's SPKI decoder: for
 * every key it takes, the two give the same key; for every key it is given that the SPKI
 * decoder refuses (points off the curve, coordinates not below p, ...), importSpki refuses
 * too, with the SPKI decoder's message. Inputs: generated RSA and EC keys, the x509-limbo
 * certificates' keys (when ../shared/limbo is present) and byte mutations of all of them.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCertificate } from '../src/x509/certificate.js';
import { canonicalJwk, importSpki } from '../src/x509/keyImport.js';
import { readPemBlocks } from '../src/x509/pem.js';

const LIMBO = fileURLToPath(new URL('../../../shared/limbo/limbo.json', import.meta.url));

function viaSpki(der: Uint8Array): KeyObject | string {
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (e) {
    return (e as Error).message;
  }
}

function viaImport(der: Uint8Array): KeyObject | string {
  try {
    return importSpki(der);
  } catch (e) {
    return (e as Error).message;
  }
}

function assertSameOutcome(der: Uint8Array, what: string): void {
  const a = viaSpki(der);
  const b = viaImport(der);
  if (typeof a === 'string' || typeof b === 'string') {
    assert.equal(b, a, `${what}: both routes refuse, with the SPKI decoder's message`);
    return;
  }
  assert.ok(a.equals(b), `${what}: the same key either way`);
  assert.equal(b.asymmetricKeyType, a.asymmetricKeyType, what);
}

function generated(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const namedCurve of ['P-256', 'P-384', 'P-521', 'secp256k1'])
    for (let i = 0; i < 3; i++)
      out.push(generateKeyPairSync('ec', { namedCurve }).publicKey.export({ format: 'der', type: 'spki' }));
  for (const modulusLength of [1024, 2048])
    out.push(generateKeyPairSync('rsa', { modulusLength }).publicKey.export({ format: 'der', type: 'spki' }));
  out.push(
    generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 }).publicKey.export({
      format: 'der',
      type: 'spki',
    }),
  );
  out.push(generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }));
  return out.map((b) => new Uint8Array(b));
}

function limboKeys(): Uint8Array[] {
  if (!existsSync(LIMBO)) return [];
  const data = JSON.parse(readFileSync(LIMBO, 'utf8')) as {
    testcases: { peer_certificate: string; trusted_certs: string[]; untrusted_intermediates: string[] }[];
  };
  const seen = new Map<string, Uint8Array>();
  for (const tc of data.testcases)
    for (const pem of [tc.peer_certificate, ...tc.trusted_certs, ...tc.untrusted_intermediates])
      for (const b of readPemBlocks(pem))
        try {
          const spki = parseCertificate(b.der).publicKey.spkiDer;
          seen.set(Buffer.from(spki).toString('hex'), spki);
        } catch {
          // unparseable certificates have no key to import
        }
  return [...seen.values()];
}

describe('key import: the JWK route gives what the SPKI decoder gives', () => {
  const keys = [...generated(), ...limboKeys()];

  test('the common shapes take the JWK route', () => {
    const [p256] = generated();
    assert.equal(canonicalJwk(p256!)?.kty, 'EC');
    const rsa = new Uint8Array(
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }),
    );
    assert.equal(canonicalJwk(rsa)?.kty, 'RSA');
  });

  test('valid keys: the same key either way', () => {
    for (const [i, der] of keys.entries()) assertSameOutcome(der, `key ${i}`);
  });

  test('mutated keys: the same key or the same refusal', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const [i, der] of keys.entries())
      for (let m = 0; m < 12; m++) {
        const x = new Uint8Array(der);
        // Mostly in the key bits (the point or the modulus), sometimes anywhere.
        const pos = m % 4 === 0 ? rnd(x.length) : x.length - 1 - rnd(Math.min(x.length, 140));
        x[pos] = m % 3 === 0 ? x[pos]! ^ (1 << rnd(8)) : rnd(256);
        assertSameOutcome(x, `key ${i} mutation ${m} at ${pos}`);
      }
  });

  test('EC coordinates at or above p are refused, as by the SPKI decoder', () => {
    const der = new Uint8Array(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }),
    );
    const x = der.length - 64;
    // x = p (P-256's prime) and y = p are out of range; all-0xff is above p.
    const p = Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex');
    for (const [at, value] of [
      [x, p],
      [x + 32, p],
      [x, Buffer.alloc(32, 0xff)],
    ] as const) {
      const m = new Uint8Array(der);
      m.set(value, at);
      assert.ok(canonicalJwk(m), 'the shape takes the JWK route');
      const r = viaImport(m);
      assert.equal(typeof r, 'string', 'refused');
      assertSameOutcome(m, 'out-of-range coordinate');
    }
  });
});
