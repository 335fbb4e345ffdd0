/*
 * Loopback servers for the verified-client tests (test/client-*.test.ts): a PKI with a CRL
 * served over HTTP, and raw TLS endpoints that record every byte a client sends them, so a test
 * can prove that a refused connection carried no request byte. Everything binds to 127.0.0.1;
 * names resolve through an injected dns.lookup-style function, never the system resolver.
 */
import type { LookupAddress } from 'node:dns';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { buildCrl } from '../../src/lab/crlBuilder.js';
import { ocspRequestOf, ocspRespond } from '../../src/lab/ocspResponder.js';
import { type IssuedCert, issue, privateKeyPem } from '../../src/lab/pki.js';
import { buildOcspRequest } from '../../src/revocation/ocsp.js';

const DAY = 86400_000;

/** A TLS endpoint that answers one HTTP/1.1 request per connection and records what it received. */
export interface Endpoint {
  readonly name: string;
  readonly port: number;
  /** TCP connections accepted. */
  tcpConnections: number;
  /** TLS connections completed. */
  connections: number;
  /** Connections on which the server received at least one byte of application data. */
  connectionsWithData: number;
  /** Every application byte received, per connection that sent any. */
  readonly received: Buffer[];
  /** Connections that resumed a TLS session. */
  resumed: number;
  /** Serve another certificate from now on. */
  swap(leaf: IssuedCert, chain: readonly IssuedCert[]): Promise<void>;
  close(): Promise<void>;
}

const RESPONSE =
  'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello';

/** Bytes 0, 1, …, 255, 0, 1, … : the body of `GET /big/N` (N bytes), to test a streamed body. */
export function bigBody(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));
}

function responseTo(request: Buffer): Buffer | string {
  const big = /^GET \/big\/(\d+) /.exec(request.toString('latin1'));
  if (!big) return RESPONSE;
  const body = bigBody(Number(big[1]));
  const head = `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\nx-certvet-test: big\r\nconnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

async function contextOptions(
  leaf: IssuedCert,
  chain: readonly IssuedCert[],
): Promise<tls.SecureContextOptions> {
  return { key: await privateKeyPem(leaf.key), cert: [leaf, ...chain].map((c) => c.pem).join('') };
}

export async function endpoint(
  name: string,
  leaf: IssuedCert,
  chain: readonly IssuedCert[],
  staple?: Uint8Array,
): Promise<Endpoint> {
  const server = tls.createServer(await contextOptions(leaf, chain));
  if (staple)
    server.on('OCSPRequest', (_c: Buffer, _i: Buffer, cb: (e: Error | null, r: Buffer) => void) =>
      cb(null, Buffer.from(staple)),
    );
  const ep: Endpoint = {
    name,
    port: 0,
    tcpConnections: 0,
    connections: 0,
    connectionsWithData: 0,
    received: [],
    resumed: 0,
    async swap(l, c) {
      server.setSecureContext(await contextOptions(l, c));
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
      }),
  };
  server.on('secureConnection', (s: tls.TLSSocket) => {
    ep.connections++;
    if (s.isSessionReused()) ep.resumed++;
    let got: Buffer | null = null;
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      if (!got) {
        ep.connectionsWithData++;
        got = Buffer.alloc(0);
        ep.received.push(got);
      }
      got = Buffer.concat([got, d]);
      ep.received[ep.received.length - 1] = got;
      if (got.includes('\r\n\r\n')) s.end(responseTo(got));
    });
  });
  server.on('connection', () => ep.tcpConnections++);
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (ep as { port: number }).port = (server.address() as { port: number }).port;
  return ep;
}

/** An SMTP server offering STARTTLS, then TLS with `leaf`; records application bytes after TLS. */
export interface SmtpEndpoint {
  readonly port: number;
  readonly received: Buffer[];
  close(): Promise<void>;
}

export async function smtpEndpoint(leaf: IssuedCert, chain: readonly IssuedCert[]): Promise<SmtpEndpoint> {
  const secureContext = tls.createSecureContext(await contextOptions(leaf, chain));
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^EHLO /i.test(line)) sock.write('250-smtp.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS$/i.test(line)) {
          sock.off('data', onData);
          sock.write('220 go ahead\r\n', () => {
            const ts = new tls.TLSSocket(sock, { isServer: true, secureContext });
            ts.on('error', () => {});
            ts.on('data', (x: Buffer) => {
              received.push(x);
              if (/^QUIT\r\n/i.test(x.toString('latin1'))) ts.end('221 bye\r\n');
              else ts.write('250 ok\r\n');
            });
          });
          return;
        } else sock.write('502 no\r\n');
      }
    };
    sock.on('data', onData);
    sock.write('220 smtp.test ESMTP\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    received,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A dns.lookup-style resolver: every *.test name is 127.0.0.1; anything else fails (never the system resolver). */
export function lookup(
  hostname: string,
  _o: unknown,
  cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void,
): void {
  if (hostname.endsWith('.test')) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
}

/** The PKI and endpoints every client test uses. */
export interface ClientLab {
  readonly root: IssuedCert;
  readonly ica: IssuedCert;
  readonly otherRoot: IssuedCert;
  readonly leaves: Record<
    'good' | 'expired' | 'wronghost' | 'untrusted' | 'revoked' | 'later' | 'ocsprevoked' | 'stapledrevoked',
    IssuedCert
  >;
  /** revoked: by the CRL at its CDP URL; ocsprevoked: by the OCSP responder at its AIA URL; stapledrevoked: by its staple. */
  readonly endpoints: Record<
    'good' | 'expired' | 'wronghost' | 'untrusted' | 'revoked' | 'ocsprevoked' | 'stapledrevoked',
    Endpoint
  >;
  /** CRL fetches served. */
  readonly crlFetches: () => number;
  /** OCSP requests answered. */
  readonly ocspFetches: () => number;
  /** Publish a new CRL revoking these leaves (plus the always-revoked one). */
  revoke(...leaves: IssuedCert[]): Promise<void>;
  close(): Promise<void>;
}

export async function startClientLab(): Promise<ClientLab> {
  let crlDer: Uint8Array = new Uint8Array();
  let crlFetches = 0;
  let ocspRevoked = new Set<string>();
  let ocspFetches = 0;
  const http: HttpServer = createHttpServer((req, res) => {
    if (req.url?.startsWith('/ocsp')) {
      ocspFetches++;
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        void ocspRespond(ocspRequestOf(req.method, req.url!, Buffer.concat(chunks)), {
          signer: ica,
          statusOf: (serial) => (ocspRevoked.has(serial) ? 'revoked' : 'good'),
          validitySec: 3600,
        }).then((der) => {
          res.writeHead(200, { 'content-type': 'application/ocsp-response' });
          res.end(Buffer.from(der));
        });
      });
    } else if (req.url === '/ica.crl') {
      crlFetches++;
      // max-age=0: every check fetches it again, so a CRL update takes effect at once.
      res.writeHead(200, { 'content-type': 'application/pkix-crl', 'cache-control': 'max-age=0' });
      res.end(Buffer.from(crlDer));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const crlUrl = `${base}/ica.crl`;
  const root = await issue({ subject: 'CN=Client Test Root,O=certvet', ca: true });
  const ica = await issue({
    subject: 'CN=Client Test Issuing CA,O=certvet',
    ca: true,
    issuer: root,
    pathLen: 0,
  });
  const otherRoot = await issue({ subject: 'CN=Some Other Root,O=elsewhere', ca: true });
  const leaf = (name: string, extra: Partial<Parameters<typeof issue>[0]> = {}) =>
    issue({ subject: `CN=${name}`, issuer: ica, dns: [name], crlUrls: [crlUrl], ...extra });
  const leaves = {
    good: await leaf('good.test', { ips: ['127.0.0.1'] }),
    expired: await leaf('expired.test', {
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    }),
    wronghost: await leaf('somewhere-else.test'),
    untrusted: await issue({ subject: 'CN=untrusted.test', issuer: otherRoot, dns: ['untrusted.test'] }),
    revoked: await leaf('revoked.test'),
    later: await leaf('later.test'),
    ocsprevoked: await issue({
      subject: 'CN=ocsprevoked.test',
      issuer: ica,
      dns: ['ocsprevoked.test'],
      aiaOcsp: [`${base}/ocsp`],
    }),
    stapledrevoked: await issue({
      subject: 'CN=stapledrevoked.test',
      issuer: ica,
      dns: ['stapledrevoked.test'],
    }),
  };
  ocspRevoked = new Set([leaves.ocsprevoked.parsed.serialHex]);
  const revokedStaple = await ocspRespond(buildOcspRequest(leaves.stapledrevoked.parsed, ica.parsed), {
    signer: ica,
    statusOf: () => 'revoked',
    validitySec: 3600,
  });
  const revokedAlways = leaves.revoked;
  const revoke = async (...more: IssuedCert[]) => {
    crlDer = await buildCrl({
      issuer: ica,
      entries: [revokedAlways, ...more].map((c) => ({
        serial: c.parsed.serialHex,
        revokedAt: new Date(Date.now() - 60_000),
        reason: 1,
      })),
      nextUpdate: new Date(Date.now() + DAY),
    });
  };
  await revoke();
  const endpoints = {
    good: await endpoint('good.test', leaves.good, [ica]),
    expired: await endpoint('expired.test', leaves.expired, [ica]),
    wronghost: await endpoint('wronghost.test', leaves.wronghost, [ica]),
    untrusted: await endpoint('untrusted.test', leaves.untrusted, []),
    revoked: await endpoint('revoked.test', leaves.revoked, [ica]),
    ocsprevoked: await endpoint('ocsprevoked.test', leaves.ocsprevoked, [ica]),
    stapledrevoked: await endpoint('stapledrevoked.test', leaves.stapledrevoked, [ica], revokedStaple),
  };
  return {
    root,
    ica,
    otherRoot,
    leaves,
    endpoints,
    crlFetches: () => crlFetches,
    ocspFetches: () => ocspFetches,
    revoke,
    async close() {
      for (const ep of Object.values(endpoints)) await ep.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** A client identity as the probe takes it: the certificate (with intermediates) and its key. */
export interface ClientPem {
  readonly cert: string;
  readonly key: string;
}

/**
 * Two clientAuth identities for a lab chain: `trusted`, issued by its intermediate (sent with
 * it), and `untrusted`, issued by a root the server does not know.
 */
export async function clientIdentities(chain: {
  readonly intermediate: IssuedCert;
}): Promise<{ trusted: ClientPem; untrusted: ClientPem }> {
  const otherRoot = await issue({ subject: 'CN=Another Root', ca: true });
  const client = async (issuer: IssuedCert, intermediates: string): Promise<ClientPem> => {
    const c = await issue({ subject: 'CN=client', issuer, eku: ['clientAuth'] });
    return { cert: c.pem + intermediates, key: await privateKeyPem(c.key) };
  };
  return {
    trusted: await client(chain.intermediate, chain.intermediate.pem),
    untrusted: await client(otherRoot, ''),
  };
}
