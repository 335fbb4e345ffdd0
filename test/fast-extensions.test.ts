/**
 * The fast extension decoders (src/x509/fastExtensions.ts) against the schema decoder they
 * stand in front of: whatever a fast decoder accepts, @peculiar/asn1-schema must accept too
 * and decode to the same value (otherwise the fast path would let through what the schema
 * decoder rejects, or change a decision). Inputs: the extension values of the x509-limbo
 * certificates (when ../shared/limbo is present), hand-made values of every shape, and
 * byte-level and tree-level mutations of all of them. Also checks that the common shapes do
 * take the fast path, so the benchmark figures mean something.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  CertificatePolicies,
  CRLDistributionPoints,
  ExtendedKeyUsage,
  PolicyConstraints,
  PolicyMappings,
} from '@peculiar/asn1-x509';
import { makeChain } from '../src/lab/pki.js';
import { parseCertificate } from '../src/x509/certificate.js';
import { readSingle } from '../src/x509/der.js';
import {
  fastAuthorityInfoAccess,
  fastAuthorityKeyId,
  fastCrlDistributionPoints,
  fastExtKeyUsage,
  fastPolicyConstraints,
  fastPolicyIds,
  fastPolicyMappings,
} from '../src/x509/fastExtensions.js';
import { OID } from '../src/x509/oids.js';
import { readPemBlocks } from '../src/x509/pem.js';
import { editTree, fc, mutateAll, mutationsArb, params, treeEditsArb } from './support/fuzz.js';

function parseWith<T>(v: Uint8Array, type: new () => T): T {
  readSingle(v);
  return AsnConvert.parse(v, type);
}

const bytes = (b: ArrayBuffer | undefined): Uint8Array | null => (b === undefined ? null : new Uint8Array(b));

/** Per extension: the fast decoder, and the schema decoding as extensions.ts did it before. */
const DECODERS: Readonly<
  Record<string, { fast: (v: Uint8Array) => unknown; schema: (v: Uint8Array) => unknown }>
> = {
  [OID.authorityKeyIdentifier]: {
    fast: fastAuthorityKeyId,
    schema: (v) => {
      const aki = parseWith(v, AuthorityKeyIdentifier);
      return {
        keyId: aki.keyIdentifier ? new Uint8Array(aki.keyIdentifier.buffer) : null,
        hasIssuer: aki.authorityCertIssuer !== undefined,
        hasSerial: aki.authorityCertSerialNumber !== undefined,
      };
    },
  },
  [OID.extKeyUsage]: { fast: fastExtKeyUsage, schema: (v) => [...parseWith(v, ExtendedKeyUsage)] },
  [OID.certificatePolicies]: {
    fast: fastPolicyIds,
    schema: (v) => Array.from(parseWith(v, CertificatePolicies), (p) => p.policyIdentifier),
  },
  [OID.policyMappings]: {
    fast: fastPolicyMappings,
    schema: (v) =>
      Array.from(parseWith(v, PolicyMappings), (m) => [m.issuerDomainPolicy, m.subjectDomainPolicy]),
  },
  [OID.policyConstraints]: {
    fast: fastPolicyConstraints,
    schema: (v) => {
      const pc = parseWith(v, PolicyConstraints);
      return {
        requireExplicitPolicy: bytes(pc.requireExplicitPolicy),
        inhibitPolicyMapping: bytes(pc.inhibitPolicyMapping),
      };
    },
  },
  [OID.authorityInfoAccess]: {
    fast: fastAuthorityInfoAccess,
    schema: (v) => {
      const ocsp: string[] = [];
      const caIssuers: string[] = [];
      for (const ad of parseWith(v, AuthorityInfoAccessSyntax)) {
        const uri = ad.accessLocation.uniformResourceIdentifier;
        if (uri === undefined) continue;
        if (ad.accessMethod === OID.ocsp) ocsp.push(uri);
        else if (ad.accessMethod === OID.caIssuers) caIssuers.push(uri);
      }
      return { ocsp, caIssuers };
    },
  },
  [OID.crlDistributionPoints]: {
    fast: fastCrlDistributionPoints,
    schema: (v) => {
      const urls: string[] = [];
      for (const dp of parseWith(v, CRLDistributionPoints))
        for (const gn of dp.distributionPoint?.fullName ?? [])
          if (gn.uniformResourceIdentifier !== undefined) urls.push(gn.uniformResourceIdentifier);
      return urls;
    },
  },
};

/** Byte strings as hex, so that a Buffer and a Uint8Array of the same bytes compare equal. */
const plain = (x: unknown): unknown =>
  x instanceof Uint8Array
    ? Buffer.from(x).toString('hex')
    : Array.isArray(x)
      ? x.map(plain)
      : x !== null && typeof x === 'object'
        ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]))
        : x;

/** Asserts the contract on one input; returns whether the fast path took it. */
function agree(oid: string, v: Uint8Array): boolean {
  const d = DECODERS[oid]!;
  const fast = d.fast(v);
  if (fast === null) return false;
  let schema: unknown;
  try {
    schema = d.schema(v);
  } catch (e) {
    assert.fail(
      `${oid}: the fast decoder accepted ${Buffer.from(v).toString('hex')}, which the schema decoder rejects (${(e as Error).message})`,
    );
  }
  assert.deepEqual(plain(fast), plain(schema), `${oid}: ${Buffer.from(v).toString('hex')}`);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Seeds

function tlv(tag: number, ...parts: (Uint8Array | number[])[]): Uint8Array {
  const body = Buffer.concat(parts.map((p) => Uint8Array.from(p)));
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return new Uint8Array([tag, ...len, ...body]);
}
const seq = (...p: Uint8Array[]) => tlv(0x30, ...p);
const ascii = (s: string) => Buffer.from(s, 'latin1');
const oidDer = (...arcs: number[]): Uint8Array => {
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const b = [a & 0x7f];
    for (let v = Math.floor(a / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, out);
};
const uri = (s: string) => tlv(0x86, ascii(s));
const serverAuth = oidDer(1, 3, 6, 1, 5, 5, 7, 3, 1);
const policy = oidDer(2, 23, 140, 1, 2, 1);
const cps = oidDer(1, 3, 6, 1, 5, 5, 7, 2, 1);
const unotice = oidDer(1, 3, 6, 1, 5, 5, 7, 2, 2);

const HANDMADE: readonly [string, Uint8Array][] = [
  [OID.authorityKeyIdentifier, seq(tlv(0x80, [1, 2, 3, 4, 5, 6, 7, 8]))],
  [OID.authorityKeyIdentifier, seq()],
  [OID.authorityKeyIdentifier, seq(tlv(0x80, []))],
  [OID.authorityKeyIdentifier, seq(tlv(0xa0, tlv(0x04, [1, 2])))],
  [
    OID.authorityKeyIdentifier,
    seq(
      tlv(0x80, [1, 2]),
      tlv(0xa1, tlv(0xa4, seq(tlv(0x31, seq(oidDer(2, 5, 4, 3), tlv(0x0c, ascii('x'))))))),
      tlv(0x82, [1]),
    ),
  ],
  [OID.authorityKeyIdentifier, seq(tlv(0x82, [1]))],
  [OID.extKeyUsage, seq(serverAuth, oidDer(1, 3, 6, 1, 5, 5, 7, 3, 2))],
  [OID.extKeyUsage, seq()],
  [OID.extKeyUsage, seq(tlv(0x06, [0x2b, 0x80, 0x01]))],
  [OID.extKeyUsage, seq(tlv(0x06, [0x2b, 0x81]))],
  [OID.extKeyUsage, seq(tlv(0x06, []))],
  [OID.extKeyUsage, seq(tlv(0x06, [0x88, 0x37, 0x01]))],
  [OID.extKeyUsage, seq(tlv(0x06, [0x2b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))],
  [OID.extKeyUsage, seq(tlv(0x26, tlv(0x06, [0x2b])))],
  [OID.certificatePolicies, seq(seq(policy))],
  [OID.certificatePolicies, seq(seq(policy, seq(seq(cps, tlv(0x16, ascii('https://cps.example/'))))))],
  [OID.certificatePolicies, seq(seq(policy, seq(seq(cps, tlv(0x16, [0xff])))))],
  [OID.certificatePolicies, seq(seq(policy, seq(seq(cps, tlv(0x0c, ascii('http://x/'))))))],
  [OID.certificatePolicies, seq(seq(policy, seq(seq(unotice, seq(tlv(0x0c, ascii('hello')))))))],
  [OID.certificatePolicies, seq(seq(policy, seq()))],
  [OID.certificatePolicies, seq(seq(policy), seq(oidDer(2, 5, 29, 32, 0)))],
  [OID.policyMappings, seq(seq(policy, oidDer(1, 2, 3)))],
  [OID.policyMappings, seq(seq(policy))],
  [OID.policyConstraints, seq(tlv(0x80, [0]))],
  [OID.policyConstraints, seq(tlv(0x81, [2]))],
  [OID.policyConstraints, seq(tlv(0x80, [0]), tlv(0x81, [1]))],
  [OID.policyConstraints, seq(tlv(0x81, [1]), tlv(0x80, [0]))],
  [OID.policyConstraints, seq(tlv(0x80, [0, 1]))],
  [OID.policyConstraints, seq(tlv(0x80, [0xff]))],
  [OID.policyConstraints, seq(tlv(0x80, []))],
  [OID.policyConstraints, seq()],
  [
    OID.authorityInfoAccess,
    seq(
      seq(oidDer(1, 3, 6, 1, 5, 5, 7, 48, 1), uri('http://ocsp.example/')),
      seq(oidDer(1, 3, 6, 1, 5, 5, 7, 48, 2), uri('http://ca.example/ca.crt')),
    ),
  ],
  [OID.authorityInfoAccess, seq(seq(oidDer(1, 2, 3), uri('ldap://x')))],
  [OID.authorityInfoAccess, seq(seq(oidDer(1, 3, 6, 1, 5, 5, 7, 48, 1), tlv(0x82, ascii('ocsp.example'))))],
  [OID.authorityInfoAccess, seq()],
  [
    OID.crlDistributionPoints,
    seq(seq(tlv(0xa0, tlv(0xa0, uri('http://crl.example/a.crl'), uri('http://b/'))))),
  ],
  [OID.crlDistributionPoints, seq(seq(tlv(0xa0, tlv(0xa0, uri('http://a/'))), tlv(0x81, [0x06, 0x40])))],
  [
    OID.crlDistributionPoints,
    seq(seq(tlv(0xa0, tlv(0xa1, tlv(0x31, seq(oidDer(2, 5, 4, 3), tlv(0x0c, ascii('x')))))))),
  ],
  [OID.crlDistributionPoints, seq(seq())],
  [OID.crlDistributionPoints, seq(seq(tlv(0xa0, tlv(0xa0))))],
];

function limboSeeds(): [string, Uint8Array][] {
  const file = fileURLToPath(new URL('../../../shared/limbo/limbo.json', import.meta.url));
  if (!existsSync(file)) return [];
  const data = JSON.parse(readFileSync(file, 'utf8')) as {
    testcases: { peer_certificate: string; trusted_certs: string[]; untrusted_intermediates: string[] }[];
  };
  const out = new Map<string, [string, Uint8Array]>();
  for (const tc of data.testcases)
    for (const pem of [tc.peer_certificate, ...tc.trusted_certs, ...tc.untrusted_intermediates])
      for (const b of readPemBlocks(pem)) {
        let cert: ReturnType<typeof parseCertificate>;
        try {
          cert = parseCertificate(b.der);
        } catch {
          continue;
        }
        for (const e of cert.extensions)
          if (DECODERS[e.oid]) out.set(`${e.oid}:${Buffer.from(e.value).toString('hex')}`, [e.oid, e.value]);
      }
  return [...out.values()];
}

const seeds: [string, Uint8Array][] = [...HANDMADE, ...limboSeeds()];

describe('fast extension decoders', () => {
  test('agree with the schema decoder on every seed, and take the common shapes', async () => {
    const chain = await makeChain({ names: ['fast.example.test'] });
    for (const c of [chain.leaf, chain.intermediate, chain.root])
      for (const e of c.parsed.extensions) if (DECODERS[e.oid]) seeds.push([e.oid, e.value]);
    const taken = new Set<string>();
    for (const [oid, v] of seeds) if (agree(oid, v)) taken.add(oid);
    // Every extension type has at least one common form that skips the schema decoder.
    assert.deepEqual([...taken].sort(), Object.keys(DECODERS).sort());
    assert.ok(
      agree(
        OID.authorityKeyIdentifier,
        chain.leaf.parsed.extensions.find((e) => e.oid === OID.authorityKeyIdentifier)!.value,
      ),
    );
  });

  test('byte mutations of the seeds: never accepted when the schema decoder rejects', (t) => {
    let fastPath = 0;
    fc.assert(
      fc.property(fc.nat(), mutationsArb, (i, ms) => {
        const [oid, v] = seeds[i % seeds.length]!;
        if (agree(oid, mutateAll(v, ms))) fastPath++;
      }),
      params(3000),
    );
    // Mutants that the fast path took are the ones that test it.
    assert.ok(fastPath > 0, 'no mutant took the fast path');
    t.diagnostic(`${fastPath} mutants took the fast path`);
  });

  test('tree edits of the seeds: never accepted when the schema decoder rejects', (t) => {
    let fastPath = 0;
    fc.assert(
      fc.property(fc.nat(), treeEditsArb, (i, edits) => {
        const [oid, v] = seeds[i % seeds.length]!;
        let edited: Uint8Array;
        try {
          edited = editTree(v, edits);
        } catch {
          return; // an edit that leaves no re-encodable tree
        }
        if (agree(oid, edited)) fastPath++;
      }),
      params(3000),
    );
    assert.ok(fastPath > 0, 'no edited value took the fast path');
    t.diagnostic(`${fastPath} edited values took the fast path`);
  });
});
