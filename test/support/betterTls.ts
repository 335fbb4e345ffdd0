/*
 * Netflix BetterTLS's two X.509 suites, rebuilt here as x509-limbo cases (as x509-limbo's
 * `bettertls::` namespace converts them: the BetterTLS trust root trusted, every other
 * certificate an untrusted intermediate, an IP hostname as kind IP, validation one second after
 * the leaf's notBefore). One deviation: path-building cases are validated when they were made,
 * so that an "expired" edge (notAfter an hour before) has lapsed while every other certificate is
 * current. x509-limbo validates accepting cases a day earlier, when that edge has not expired
 * yet, and rejecting ones after the leaf's own notAfter, when everything has: neither tests that
 * an expired intermediate is avoided or refused.
 *
 * Written from BetterTLS's published rules, not its code or its exported certificates:
 * - nameconstraints: a leaf under `local_ica` (which carries the name constraints) under
 *   `local_root` under the trust root; the hostname is `test.localhost` or `127.0.0.1`; the leaf's
 *   CN (DNS- or IP-like), dNSName SAN and iPAddress SAN are each absent, valid or invalid; DNS and
 *   IP permitted and excluded subtrees each absent, matching or not. BetterTLS accepts when the
 *   hostname is in a SAN of its own type, no constraint excludes it, and no SAN violates a
 *   constraint; a CN that violates one is only a warning (constraints are not applied to the CN),
 *   a hostname found only in the CN is a failure.
 * - pathbuilding: certificate graphs (linear, two roots, RFC 4158 figure 7, the RFC 4158 bridge
 *   CA) where some edges are invalid for one reason (expired, name constraints excluding the
 *   leaf, EKU emailProtection only, no basicConstraints, cA false, SHA-1 signature); BetterTLS
 *   accepts when a path of valid edges leads from the trusted node to the leaf.
 */
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import type { LimboCase } from '../../scripts/limboCase.js';
import { integer, seq, tlv, x509Time } from '../../src/lab/derWriter.js';

// ----------------------------------------------------------------------------- DER building

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const bytes = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

const OIDS = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  serialNumber: '2.5.4.5',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha1: '1.2.840.10045.4.1',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  emailProtection: '1.3.6.1.5.5.7.3.4',
} as const;

const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const implicit = (n: number, b: Buffer) => tlv(0x80 | n, b);
const explicit = (n: number, b: Buffer) => tlv(0xa0 | n, b);
const text = (s: string) => tlv(/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s) ? 0x13 : 0x0c, Buffer.from(s, 'utf8'));
const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** O=bettertls.com, CN (when given), serialNumber (unique: every case has its own names). */
function distinguishedName(cn: string): Buffer {
  return seq(
    set(seq(oid(OIDS.organization), text('bettertls.com'))),
    ...(cn ? [set(seq(oid(OIDS.commonName), text(cn)))] : []),
    set(seq(oid(OIDS.serialNumber), text(randomBytes(8).toString('hex')))),
  );
}

interface Key {
  readonly privateKey: KeyObject;
  readonly spki: Buffer;
  readonly keyId: Buffer;
}

function newKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return {
    privateKey,
    spki,
    keyId: createHash('sha1')
      .update(spki.subarray(spki.length - 65))
      .digest(),
  };
}

interface Subtrees {
  readonly dns?: readonly string[];
  readonly ip?: readonly string[];
}

interface Template {
  readonly subject: Buffer;
  readonly key: Key;
  readonly issuer: { readonly subject: Buffer; readonly key: Key };
  /** A CA's place in the graph: keyUsage keyCertSign (a leaf: digitalSignature). */
  readonly issuing: boolean;
  /** basicConstraints cA (false for an issuing certificate made invalid as not-a-ca). */
  readonly ca: boolean;
  readonly notAfter?: Date;
  readonly omitBasicConstraints?: boolean;
  readonly eku?: readonly string[];
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  readonly permitted?: Subtrees;
  readonly excluded?: Subtrees;
  readonly sha1?: boolean;
}

const HOUR = 3600_000;
const created = Date.now();
const NOT_BEFORE = new Date(created - 24 * HOUR);
const NOT_AFTER = new Date(created + 366 * 24 * HOUR);
const EXPIRED = new Date(created - HOUR);

const ipv4 = (s: string) => Buffer.from(s.split('.').map(Number));
function ipSubtree(cidr: string): Buffer {
  const [address, bits] = cidr.split('/') as [string, string];
  const mask = Buffer.alloc(4);
  for (let i = 0; i < Number(bits); i++) mask[i >> 3]! |= 0x80 >> (i & 7);
  return seq(implicit(7, Buffer.concat([ipv4(address), mask])));
}
const subtrees = (s: Subtrees) =>
  Buffer.concat([
    ...(s.dns ?? []).map((d) => seq(implicit(2, Buffer.from(d)))),
    ...(s.ip ?? []).map(ipSubtree),
  ]);

function certificate(t: Template): Buffer {
  const exts: Buffer[] = [];
  // keyUsage: keyCertSign (bit 5) for CAs, digitalSignature (bit 0) for leaves.
  exts.push(
    extension(
      OIDS.keyUsage,
      true,
      t.issuing ? bitString(Buffer.from([0x04]), 2) : bitString(Buffer.from([0x80]), 7),
    ),
  );
  if (t.eku) exts.push(extension(OIDS.extKeyUsage, false, seq(...t.eku.map((e) => oid(e)))));
  if (!t.omitBasicConstraints)
    exts.push(extension(OIDS.basicConstraints, true, seq(...(t.ca ? [bool(true)] : []))));
  // As Go's CreateCertificate: a subjectKeyIdentifier for CA templates only.
  if (t.ca) exts.push(extension(OIDS.subjectKeyId, false, octets(t.key.keyId)));
  if (!t.subject.equals(t.issuer.subject))
    exts.push(extension(OIDS.authorityKeyId, false, seq(implicit(0, t.issuer.key.keyId))));
  const names = [
    ...(t.dns ?? []).map((d) => implicit(2, Buffer.from(d))),
    ...(t.ips ?? []).map((ip) => implicit(7, ipv4(ip))),
  ];
  if (names.length) exts.push(extension(OIDS.subjectAltName, false, seq(...names)));
  const permitted = t.permitted ? subtrees(t.permitted) : Buffer.alloc(0);
  const excluded = t.excluded ? subtrees(t.excluded) : Buffer.alloc(0);
  if (permitted.length || excluded.length)
    exts.push(
      extension(
        OIDS.nameConstraints,
        true,
        seq(
          ...(permitted.length ? [explicit(0, permitted)] : []),
          ...(excluded.length ? [explicit(1, excluded)] : []),
        ),
      ),
    );
  const algorithm = seq(oid(t.sha1 ? OIDS.ecdsaSha1 : OIDS.ecdsaSha256));
  const serial = randomBytes(16);
  serial[0] = 0x01;
  const tbs = seq(
    explicit(0, integer('02')),
    integer(serial.toString('hex')),
    algorithm,
    t.issuer.subject,
    seq(x509Time(NOT_BEFORE), x509Time(t.notAfter ?? NOT_AFTER)),
    t.subject,
    t.key.spki,
    explicit(3, seq(...exts)),
  );
  return seq(tbs, algorithm, bitString(sign(t.sha1 ? 'sha1' : 'sha256', tbs, t.issuer.key.privateKey)));
}

const pem = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;

const trustRootKey = newKey();
const trustRoot = { subject: distinguishedName('bettertls_trust_root'), key: trustRootKey };
const trustRootDer = certificate({ ...trustRoot, issuer: trustRoot, issuing: true, ca: true });

/** A rebuilt case; its description is the shape it was built from. */
export type BetterTlsCase = LimboCase & { readonly description: string };

/** One case as x509-limbo converts BetterTLS's (see the header). */
function limboCase(
  id: string,
  description: string,
  chain: readonly Buffer[],
  hostname: string,
  accept: boolean,
  at: number = new Date(new X509Certificate(chain[0]!).validFrom).getTime() + 1000,
): BetterTlsCase {
  return {
    id,
    description,
    validation_kind: 'SERVER',
    trusted_certs: [pem(trustRootDer)],
    untrusted_intermediates: chain.slice(1).map(pem),
    peer_certificate: pem(chain[0]!),
    validation_time: new Date(at).toISOString(),
    extended_key_usage: [],
    expected_peer_name: { kind: /^\d+\.\d+\.\d+\.\d+$/.test(hostname) ? 'IP' : 'DNS', value: hostname },
    expected_result: accept ? 'SUCCESS' : 'FAILURE',
  };
}

// ----------------------------------------------------------------------------- nameconstraints

export type Tri = 'none' | 'valid' | 'invalid';
export interface NameConstraintShape {
  readonly host: 'dns' | 'ip';
  readonly cnKind: 'dns' | 'ip';
  readonly cn: Tri;
  readonly dnsSan: Tri;
  readonly ipSan: Tri;
  /** Constraints on local_ica: "valid" ones let the hostname through, "invalid" ones do not. */
  readonly dnsPermitted: Tri;
  readonly ipPermitted: Tri;
  readonly dnsExcluded: Tri;
  readonly ipExcluded: Tri;
}

const TRI: readonly Tri[] = ['none', 'valid', 'invalid'];
const NAMES = {
  dns: { valid: 'test.localhost', invalid: 'bad.example.com' },
  ip: { valid: '127.0.0.1', invalid: '1.1.1.1' },
  dnsPermitted: { valid: 'localhost', invalid: 'example.com' },
  dnsExcluded: { valid: 'bad.example.com', invalid: 'localhost' },
  ipPermitted: { valid: '127.0.0.0/24', invalid: '1.1.1.0/24' },
  ipExcluded: { valid: '1.1.1.0/24', invalid: '127.0.0.0/24' },
} as const;

/** Every shape BetterTLS enumerates (2·2·3⁷ = 8,748, one fewer leaf per CN-less duplicate is not removed). */
export function* nameConstraintShapes(): Generator<NameConstraintShape> {
  for (const host of ['dns', 'ip'] as const)
    for (const cnKind of ['dns', 'ip'] as const)
      for (const cn of TRI)
        for (const dnsSan of TRI)
          for (const ipSan of TRI)
            for (const dnsPermitted of TRI)
              for (const ipPermitted of TRI)
                for (const dnsExcluded of TRI)
                  for (const ipExcluded of TRI)
                    yield {
                      host,
                      cnKind,
                      cn,
                      dnsSan,
                      ipSan,
                      dnsPermitted,
                      ipPermitted,
                      dnsExcluded,
                      ipExcluded,
                    };
}

/**
 * BetterTLS's verdict. "valid" constraints let the valid names through and stop the invalid
 * ones; "invalid" constraints do the opposite.
 */
export function nameConstraintVerdict(s: NameConstraintShape): boolean {
  const hostSan = s.host === 'dns' ? s.dnsSan : s.ipSan;
  if (hostSan !== 'valid') return false; // the hostname must be in a SAN of its own type
  const stops = (name: Tri, permitted: Tri, excluded: Tri) =>
    name !== 'none' &&
    (name === 'valid'
      ? permitted === 'invalid' || excluded === 'invalid'
      : permitted === 'valid' || excluded === 'valid');
  // Any SAN that violates a constraint fails the chain; a CN never does.
  return !stops(s.dnsSan, s.dnsPermitted, s.dnsExcluded) && !stops(s.ipSan, s.ipPermitted, s.ipExcluded);
}

export function nameConstraintCase(s: NameConstraintShape, id: string): BetterTlsCase {
  const localRoot = { subject: distinguishedName('local_root'), key: newKey() };
  const localIca = { subject: distinguishedName('local_ica'), key: newKey() };
  const pick = <T extends Record<'valid' | 'invalid', string>>(t: Tri, names: T) =>
    t === 'none' ? [] : [names[t]];
  const leaf = certificate({
    subject: distinguishedName(s.cn === 'none' ? '' : NAMES[s.cnKind][s.cn]),
    key: newKey(),
    issuer: localIca,
    issuing: false,
    ca: false,
    eku: [OIDS.serverAuth],
    dns: pick(s.dnsSan, NAMES.dns),
    ips: pick(s.ipSan, NAMES.ip),
  });
  const ica = certificate({
    ...localIca,
    issuer: localRoot,
    issuing: true,
    ca: true,
    permitted: { dns: pick(s.dnsPermitted, NAMES.dnsPermitted), ip: pick(s.ipPermitted, NAMES.ipPermitted) },
    excluded: { dns: pick(s.dnsExcluded, NAMES.dnsExcluded), ip: pick(s.ipExcluded, NAMES.ipExcluded) },
  });
  const root = certificate({ ...localRoot, issuer: trustRoot, issuing: true, ca: true });
  const accept = nameConstraintVerdict(s);
  return limboCase(id, JSON.stringify(s), [leaf, ica, root], NAMES[s.host].valid, accept);
}

// ----------------------------------------------------------------------------- pathbuilding

type Edge = readonly [issuer: string, subject: string];
export type InvalidReason =
  | 'expired'
  | 'name-constraints'
  | 'bad-eku'
  | 'missing-basic-constraints'
  | 'not-a-ca'
  | 'deprecated-crypto';
export const INVALID_REASONS: readonly InvalidReason[] = [
  'expired',
  'name-constraints',
  'bad-eku',
  'missing-basic-constraints',
  'not-a-ca',
  'deprecated-crypto',
];

const GRAPHS: Readonly<Record<string, readonly Edge[]>> = {
  linear: [
    ['ICA', 'EE'],
    ['Trust Anchor', 'ICA'],
  ],
  twoRoots: [
    ['ICA', 'EE'],
    ['Root1', 'ICA'],
    ['Root2', 'ICA'],
  ],
  // RFC 4158 figure 7: A and C cross-certify each other, both under the anchor.
  figureSeven: [
    ['B', 'EE'],
    ['C', 'B'],
    ['A', 'B'],
    ['C', 'A'],
    ['A', 'C'],
    ['Trust Anchor', 'C'],
    ['Trust Anchor', 'A'],
  ],
  // RFC 4158 §2.3-2.4: four PKIs joined by a bridge CA.
  bridge: [
    ['F', 'H'],
    ['F', 'G'],
    ['G', 'F'],
    ['H', 'I'],
    ['I', 'H'],
    ['G', 'I'],
    ['TA W', 'F'],
    ['TA W', 'G'],
    ['J', 'K'],
    ['N', 'EE'],
    ['L', 'N'],
    ['L', 'M'],
    ['TA X', 'J'],
    ['TA X', 'L'],
    ['B', 'E'],
    ['B', 'D'],
    ['A', 'B'],
    ['C', 'B'],
    ['A', 'C'],
    ['C', 'A'],
    ['TA Y', 'A'],
    ['TA Y', 'C'],
    ['R', 'S'],
    ['O', 'R'],
    ['O', 'Q'],
    ['P', 'S'],
    ['TA Z', 'O'],
    ['TA Z', 'P'],
    ['TA W', 'Bridge CA'],
    ['Bridge CA', 'TA W'],
    ['TA X', 'Bridge CA'],
    ['Bridge CA', 'TA X'],
    ['TA Y', 'Bridge CA'],
    ['Bridge CA', 'TA Y'],
    ['TA Z', 'Bridge CA'],
    ['Bridge CA', 'TA Z'],
  ],
};

export interface PathScenario {
  readonly graph: keyof typeof GRAPHS;
  readonly trusted: string;
  readonly leaf: string;
  readonly invalid: readonly Edge[];
  readonly reason: InvalidReason | null;
}

const scenario = (graph: string, trusted: string, leaf: string, invalid: readonly Edge[] = []) => ({
  graph,
  trusted,
  leaf,
  invalid,
});
const EXPLICIT = [
  scenario('linear', 'Trust Anchor', 'EE'),
  scenario('linear', 'Trust Anchor', 'EE', [['Trust Anchor', 'ICA']]),
  scenario('linear', 'ICA', 'EE', [['Trust Anchor', 'ICA']]),
  scenario('twoRoots', 'Root1', 'EE'),
  scenario('twoRoots', 'Root2', 'EE'),
  scenario('twoRoots', 'Root1', 'EE', [['Root2', 'ICA']]),
  scenario('twoRoots', 'Root2', 'EE', [['Root1', 'ICA']]),
  scenario('twoRoots', 'Root1', 'EE', [['Root1', 'ICA']]),
  scenario('twoRoots', 'Root2', 'EE', [['Root2', 'ICA']]),
  scenario('figureSeven', 'Trust Anchor', 'EE'),
  scenario('figureSeven', 'Trust Anchor', 'EE', [
    ['Trust Anchor', 'C'],
    ['A', 'B'],
  ]),
  scenario('figureSeven', 'Trust Anchor', 'EE', [
    ['Trust Anchor', 'A'],
    ['C', 'B'],
  ]),
  scenario('bridge', 'TA Z', 'D'),
  scenario('bridge', 'TA Z', 'EE'),
  scenario('bridge', 'TA Z', 'EE', [['TA X', 'Bridge CA']]),
  scenario('bridge', 'TA Z', 'EE', [['Bridge CA', 'TA X']]),
  scenario('bridge', 'TA Z', 'EE', [['TA Z', 'Bridge CA']]),
] as const;

/** BetterTLS's 81 path-building scenarios, in its order. */
export function pathScenarios(): PathScenario[] {
  const out: PathScenario[] = [
    { ...scenario('linear', 'Trust Anchor', 'EE'), reason: null },
    { ...scenario('twoRoots', 'Root1', 'EE'), reason: null },
    { ...scenario('twoRoots', 'Root2', 'EE'), reason: null },
  ];
  for (const reason of INVALID_REASONS)
    out.push({ ...scenario('linear', 'Trust Anchor', 'EE', [['Trust Anchor', 'ICA']]), reason });
  for (const s of EXPLICIT)
    if (s.invalid.length) for (const reason of INVALID_REASONS) out.push({ ...s, reason });
    else out.push({ ...s, reason: null });
  return out;
}

const sameEdge = (a: Edge, b: Edge) => a[0] === b[0] && a[1] === b[1];

/** BetterTLS's verdict: a path of valid edges from the trusted node to the leaf. */
export function pathVerdict(s: PathScenario): boolean {
  const edges = GRAPHS[s.graph]!.filter((e) => !s.invalid.some((i) => sameEdge(i, e)));
  const seen = new Set<string>();
  const reach = (node: string): boolean => {
    if (node === s.leaf) return true;
    if (seen.has(node)) return false;
    seen.add(node);
    return edges.some(([from, to]) => from === node && reach(to));
  };
  return reach(s.trusted);
}

export function pathCase(s: PathScenario, id: string): BetterTlsCase {
  const edges = GRAPHS[s.graph]!;
  const entities = new Map<string, { subject: Buffer; key: Key }>();
  for (const node of new Set(edges.flat()))
    entities.set(node, node === s.trusted ? trustRoot : { subject: distinguishedName(node), key: newKey() });
  const leaves: Buffer[] = [];
  const others: Buffer[] = [];
  for (const edge of edges) {
    const [from, to] = edge;
    const invalid = s.invalid.some((i) => sameEdge(i, edge)) ? s.reason : null;
    const isLeaf = to === s.leaf;
    const der = certificate({
      subject: isLeaf ? distinguishedName(to) : entities.get(to)!.subject,
      key: entities.get(to)!.key,
      issuer: entities.get(from)!,
      issuing: !isLeaf,
      ca: !isLeaf && invalid !== 'not-a-ca',
      ...(isLeaf ? { dns: ['localhost'], eku: [OIDS.serverAuth] } : {}),
      ...(invalid === 'expired' ? { notAfter: EXPIRED } : {}),
      ...(invalid === 'name-constraints' ? { permitted: { dns: ['bad.example.com'] } } : {}),
      ...(invalid === 'bad-eku' ? { eku: [OIDS.emailProtection] } : {}),
      ...(invalid === 'missing-basic-constraints' ? { omitBasicConstraints: true } : {}),
      ...(invalid === 'deprecated-crypto' ? { sha1: true } : {}),
    });
    (isLeaf ? leaves : others).push(der);
  }
  const accept = pathVerdict(s);
  return limboCase(id, JSON.stringify(s), [...leaves, ...others], 'localhost', accept, created);
}
