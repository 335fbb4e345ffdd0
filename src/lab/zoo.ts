import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type TlsOptions } from 'node:tls';
import type { FindingCode } from '../findings/catalogue.js';
import type { Status } from '../report/result.js';
import { buildOcspRequest } from '../revocation/ocsp.js';
import { buildCrl } from './crlBuilder.js';
import { ocspRespond } from './ocspResponder.js';
import { generateKey, type IssuedCert, issue, type LabKey, privateKeyPem, x509 } from './pki.js';

/** One lab endpoint: what it serves and the verdict certvet should give it. */
export interface LabEndpoint {
  readonly name: string;
  readonly description: string;
  /** Host name to check (resolves to `address` via the lab's resolve map), or an IP. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly expectStatus: Status;
  readonly expectCodes: readonly FindingCode[];
}

export interface Lab {
  readonly endpoints: readonly LabEndpoint[];
  /** PEM of the lab root CA: the trust anchor to check the lab with. */
  readonly caPem: string;
  /** PEM of the lab intermediates (for "available locally" chain completion). */
  readonly intermediatesPem: string;
  /** A client certificate and key the lab's mTLS endpoint accepts. */
  readonly client: { readonly certPem: string; readonly keyPem: string };
  close(): Promise<void>;
}

export const LAB_DOMAIN = 'lab.certvet.test';

interface ServeSpec {
  readonly name: string;
  readonly description: string;
  readonly host?: string;
  readonly chain: readonly IssuedCert[];
  readonly expectStatus: Status;
  readonly expectCodes: readonly FindingCode[];
  readonly tls?: Partial<TlsOptions>;
  /** Staple a (good) OCSP response from the lab responder. */
  readonly staple?: boolean;
}

const DAY = 86400_000;

/**
 * Starts the lab: a zoo of TLS endpoints on 127.0.0.1, each showing one problem (or none).
 * Ports are `portBase`, `portBase + 1`, …; portBase 0 picks free ports.
 */
export async function startLab(opts: { portBase?: number; address?: string } = {}): Promise<Lab> {
  const address = opts.address ?? '127.0.0.1';
  const now = Date.now();
  // The lab's CRL distribution point, OCSP responder and AIA repository, on one HTTP port.
  let crlDer: Uint8Array = new Uint8Array();
  let aiaDer: Uint8Array = new Uint8Array();
  const ocspRevoked = new Set<string>();
  let ocspSigner: IssuedCert | null = null;
  const http: HttpServer = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const url = req.url ?? '';
      if (url === '/lab.crl')
        res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(Buffer.from(crlDer));
      else if (url === '/aia-ca.der')
        res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(Buffer.from(aiaDer));
      else if (url.startsWith('/ocsp') && ocspSigner) {
        const body =
          req.method === 'POST'
            ? Buffer.concat(chunks)
            : Buffer.from(decodeURIComponent(url.slice(6)), 'base64');
        ocspRespond(body, {
          signer: ocspSigner,
          statusOf: (serial) => (ocspRevoked.has(serial) ? 'revoked' : 'good'),
        }).then(
          (r) => res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(Buffer.from(r)),
          () => res.writeHead(400).end(),
        );
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.portBase ? opts.portBase + 99 : 0, address, () => resolve());
  });
  const httpBase = `http://${address.includes(':') ? `[${address}]` : address}:${(http.address() as { port: number }).port}`;
  const ec = () => generateKey('ec-p256');
  const caKey = await ec();
  const root = await issue({ subject: 'CN=certvet Lab Root CA,O=certvet lab', ca: true, key: caKey });
  const ica = await issue({
    subject: 'CN=certvet Lab Issuing CA,O=certvet lab',
    ca: true,
    pathLen: 0,
    issuer: root,
  });
  const otherRoot = await issue({ subject: 'CN=Some Other Root,O=elsewhere', ca: true });
  const otherIca = await issue({
    subject: 'CN=Some Other Issuing CA,O=elsewhere',
    ca: true,
    issuer: otherRoot,
  });
  const expiredIca = await issue({
    subject: 'CN=certvet Lab Expired CA,O=certvet lab',
    ca: true,
    issuer: root,
    notBefore: new Date(now - 400 * DAY),
    notAfter: new Date(now - 30 * DAY),
  });
  const notCa = await issue({
    subject: 'CN=certvet Lab Not-A-CA,O=certvet lab',
    ca: false,
    issuer: root,
    eku: [],
    keyUsage: x509.KeyUsageFlags.digitalSignature,
  });
  const ncDer = new x509.Extension('2.5.29.30', true, ncPermitDns('allowed.example'));
  const ncIca = await issue({
    subject: 'CN=certvet Lab Constrained CA,O=certvet lab',
    ca: true,
    issuer: root,
    extensions: [ncDer],
  });
  const leafKey: LabKey = await ec();
  const host = (n: string) => `${n}.${LAB_DOMAIN}`;
  const leaf = (name: string, extra: Partial<Parameters<typeof issue>[0]> = {}) =>
    issue({ subject: `CN=${host(name)}`, dns: [host(name)], issuer: ica, key: leafKey, ...extra });
  const rsaKey = await generateKey('rsa-2048');
  const clientLeaf = await issue({
    subject: 'CN=lab-client,O=certvet lab',
    emails: ['client@lab.certvet.test'],
    issuer: ica,
    eku: ['clientAuth'],
  });

  ocspSigner = ica;
  const aiaIca = await issue({
    subject: 'CN=certvet Lab AIA-only CA,O=certvet lab',
    ca: true,
    pathLen: 0,
    issuer: root,
  });
  aiaDer = aiaIca.der;
  const revokedCrl = await leaf('revoked-crl', { crlUrls: [`${httpBase}/lab.crl`] });
  const revokedOcsp = await leaf('revoked-ocsp', { aiaOcsp: [`${httpBase}/ocsp`] });
  ocspRevoked.add(revokedOcsp.parsed.serialHex);
  crlDer = await buildCrl({
    issuer: ica,
    entries: [{ serial: revokedCrl.parsed.serialHex, revokedAt: new Date(now - 2 * DAY), reason: 1 }],
  });
  const mustStaple = await leaf('must-staple', {
    extensions: [
      new x509.Extension('1.3.6.1.5.5.7.1.24', false, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])),
    ],
  });

  const specs: ServeSpec[] = [
    {
      name: 'good-rsa',
      description: 'valid RSA-2048 chain',
      chain: [await leaf('good-rsa', { key: rsaKey }), ica],
      expectStatus: 'ok',
      expectCodes: [],
    },
    {
      name: 'good-ecdsa',
      description: 'valid ECDSA P-256 chain',
      chain: [await leaf('good-ecdsa'), ica],
      expectStatus: 'ok',
      expectCodes: [],
    },
    {
      name: 'wildcard',
      description: 'wildcard certificate *.wild.lab.certvet.test',
      host: `www.wild.${LAB_DOMAIN}`,
      chain: [
        await issue({
          subject: `CN=*.wild.${LAB_DOMAIN}`,
          dns: [`*.wild.${LAB_DOMAIN}`],
          issuer: ica,
          key: leafKey,
        }),
        ica,
      ],
      expectStatus: 'ok',
      expectCodes: [],
    },
    {
      name: 'expired',
      description: 'leaf expired 10 days ago',
      chain: [
        await leaf('expired', { notBefore: new Date(now - 100 * DAY), notAfter: new Date(now - 10 * DAY) }),
        ica,
      ],
      expectStatus: 'critical',
      expectCodes: ['expired'],
    },
    {
      name: 'not-yet-valid',
      description: 'leaf valid from tomorrow',
      chain: [
        await leaf('not-yet-valid', { notBefore: new Date(now + DAY), notAfter: new Date(now + 90 * DAY) }),
        ica,
      ],
      expectStatus: 'critical',
      expectCodes: ['not-yet-valid'],
    },
    {
      name: 'expired-intermediate',
      description: 'the issuing CA expired',
      chain: [
        await leaf('expired-intermediate', { issuer: expiredIca, notBefore: new Date(now - 100 * DAY) }),
        expiredIca,
      ],
      expectStatus: 'critical',
      expectCodes: ['expired'],
    },
    {
      name: 'wrong-host',
      description: 'certificate for another name',
      chain: [
        await issue({
          subject: `CN=other.${LAB_DOMAIN}`,
          dns: [`other.${LAB_DOMAIN}`],
          issuer: ica,
          key: leafKey,
        }),
        ica,
      ],
      expectStatus: 'critical',
      expectCodes: ['hostname-mismatch'],
    },
    {
      name: 'self-signed',
      description: 'self-signed leaf',
      chain: [
        await issue({ subject: `CN=${host('self-signed')}`, dns: [host('self-signed')], key: leafKey }),
      ],
      expectStatus: 'critical',
      expectCodes: ['self-signed'],
    },
    {
      name: 'untrusted-root',
      description: 'chain to a root that is not trusted',
      chain: [
        await issue({
          subject: `CN=${host('untrusted-root')}`,
          dns: [host('untrusted-root')],
          issuer: otherIca,
          key: leafKey,
        }),
        otherIca,
      ],
      expectStatus: 'critical',
      expectCodes: ['untrusted'],
    },
    {
      name: 'incomplete-chain',
      description: 'server omits its intermediate',
      chain: [await leaf('incomplete-chain')],
      expectStatus: 'warning',
      expectCodes: ['incomplete-chain'],
    },
    {
      name: 'weak-key',
      description: 'RSA-1024 leaf key',
      chain: [await leaf('weak-key', { keyType: 'rsa-1024', key: undefined }), ica],
      expectStatus: 'critical',
      expectCodes: ['weak-key'],
    },
    {
      name: 'sha1',
      description: 'leaf signed with ECDSA-SHA1',
      chain: [await leaf('sha1', { hash: 'SHA-1' }), ica],
      expectStatus: 'critical',
      expectCodes: ['weak-signature'],
    },
    {
      name: 'ca-false-intermediate',
      description: 'intermediate is not a CA (cA FALSE)',
      chain: [await leaf('ca-false-intermediate', { issuer: notCa }), notCa],
      expectStatus: 'critical',
      expectCodes: ['basic-constraints'],
    },
    {
      name: 'name-constraints',
      description: 'issuer only permits allowed.example',
      chain: [await leaf('name-constraints', { issuer: ncIca }), ncIca],
      expectStatus: 'critical',
      expectCodes: ['name-constraints'],
    },
    {
      name: 'ip-san',
      description: 'certificate for the IP address 127.0.0.1',
      host: address,
      chain: [await issue({ subject: `CN=${address}`, ips: [address], issuer: ica, key: leafKey }), ica],
      expectStatus: 'ok',
      expectCodes: [],
    },
    {
      name: 'client-cert-required',
      description: 'requires a client certificate (mTLS)',
      chain: [await leaf('client-cert-required'), ica],
      expectStatus: 'warning',
      expectCodes: ['client-cert-required'],
      tls: { requestCert: true, rejectUnauthorized: true, ca: [root.pem] },
    },
    {
      name: 'tls10-only',
      description: 'speaks only TLS 1.0',
      chain: [await leaf('tls10-only'), ica],
      expectStatus: 'warning',
      expectCodes: ['protocol-deprecated'],
      tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1' },
    },
    {
      name: 'revoked-crl',
      description: 'revoked on the CRL of its CA (fetched over HTTP)',
      chain: [revokedCrl, ica],
      expectStatus: 'critical',
      expectCodes: ['revoked'],
    },
    {
      name: 'revoked-ocsp',
      description: "revoked according to the CA's OCSP responder",
      chain: [revokedOcsp, ica],
      expectStatus: 'critical',
      expectCodes: ['revoked'],
    },
    {
      name: 'must-staple',
      description: 'must-staple certificate, served without a staple',
      chain: [mustStaple, ica],
      expectStatus: 'critical',
      expectCodes: ['must-staple-missing'],
    },
    {
      name: 'stapled',
      description: 'staples a good OCSP response',
      chain: [await leaf('stapled', { aiaOcsp: [`${httpBase}/ocsp`] }), ica],
      expectStatus: 'ok',
      expectCodes: [],
      staple: true,
    },
    {
      name: 'aia-chain',
      description: 'omits an intermediate only available via AIA',
      chain: [await leaf('aia-chain', { issuer: aiaIca, aiaCaIssuers: [`${httpBase}/aia-ca.der`] })],
      expectStatus: 'warning',
      expectCodes: ['incomplete-chain'],
    },
    {
      name: 'messy-chain',
      description: 'TLS 1.2; sends its root, an unrelated CA, intermediate last',
      chain: [await leaf('messy-chain'), root, otherIca, ica],
      expectStatus: 'ok',
      expectCodes: ['chain-hygiene'],
      tls: { maxVersion: 'TLSv1.2' },
    },
    {
      name: 'expires-soon',
      description: 'leaf expires in 10 days',
      chain: [await leaf('expires-soon', { notAfter: new Date(now + 10 * DAY + 3600_000) }), ica],
      expectStatus: 'warning',
      expectCodes: ['expires-soon'],
    },
  ];

  const servers: Server[] = [];
  const endpoints: LabEndpoint[] = [];
  try {
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i]!;
      const key = await privateKeyPem(s.chain[0]!.key);
      const server = createServer(
        {
          cert: s.chain.map((c) => c.pem).join(''),
          key,
          ciphers: 'DEFAULT:@SECLEVEL=0',
          minVersion: 'TLSv1',
          ...s.tls,
        },
        (sock) => {
          sock.on('error', () => {});
          sock.end('HTTP/1.1 200 OK\r\ncontent-length: 15\r\nconnection: close\r\n\r\ncertvet lab ok\n');
        },
      );
      server.on('tlsClientError', () => {});
      if (s.staple) {
        const req = buildOcspRequest(s.chain[0]!.parsed, s.chain[1]!.parsed);
        server.on('OCSPRequest', (_c: Buffer, _i: Buffer, cb: (e: Error | null, r?: Buffer) => void) => {
          ocspRespond(req, { signer: ica, statusOf: () => 'good' }).then(
            (r) => cb(null, Buffer.from(r)),
            (e: Error) => cb(e),
          );
        });
      }
      const port = opts.portBase ? opts.portBase + i : 0;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => resolve());
      });
      servers.push(server);
      const actual = (server.address() as { port: number }).port;
      endpoints.push({
        name: s.name,
        description: s.description,
        host: s.host ?? host(s.name),
        address,
        port: actual,
        expectStatus: s.expectStatus,
        expectCodes: s.expectCodes,
      });
    }
  } catch (e) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    http.close();
    throw e;
  }
  return {
    endpoints,
    caPem: root.pem,
    intermediatesPem: ica.pem,
    client: { certPem: clientLeaf.pem + ica.pem, keyPem: await privateKeyPem(clientLeaf.key) },
    close: async () => {
      http.closeAllConnections();
      await Promise.all([...servers, http].map((s) => new Promise((r) => s.close(() => r(undefined)))));
    },
  };
}

/** DER of NameConstraints { permittedSubtrees { dNSName } }. */
function ncPermitDns(name: string): Uint8Array {
  const n = Buffer.from(name, 'latin1');
  const gn = Buffer.concat([Buffer.from([0x82, n.length]), n]);
  const subtree = Buffer.concat([Buffer.from([0x30, gn.length]), gn]);
  const permitted = Buffer.concat([Buffer.from([0xa0, subtree.length]), subtree]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, permitted.length]), permitted]));
}

/** The lab endpoint as a check target string. */
export function labTarget(e: LabEndpoint): string {
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}
