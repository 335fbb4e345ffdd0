import assert from 'node:assert/strict';
import { type Http2SecureServer, connect as h2connect } from 'node:http2';
import {
  Agent,
  createServer as createPlainHttpsServer,
  type Server as HttpsServer,
  request,
} from 'node:https';
import { after, before, describe, test } from 'node:test';
import { connect, createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import {
  type ClientVerdict,
  clientIdentityOf,
  createClientCertVerifier,
  createMtlsHttp2Server,
  createMtlsHttpsServer,
  createMtlsServer,
  createRequestGuard,
  gateServer,
  mtlsServerOptions,
  requireClientCert,
} from '../src/index.js';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import type { ClientCertVerifier } from '../src/mtls/verifier.js';
import { type Crl, parseCrl } from '../src/verify/crl.js';

/**
 * The gate: no application code — a 'secureConnection' listener, an HTTPS request listener,
 * an HTTP/2 'session'/'stream'/'request' listener — sees a connection whose client certificate
 * certvet has not accepted. Real TLS on 127.0.0.1, 100 concurrent bad clients (revoked by CRL
 * and expired) mixed with good ones, for tls, https and http2.
 */

const DAY = 86400_000;
const BAD_PER_KIND = 50; // revoked + expired: 100 concurrent bad clients per server
const GOOD = 10;

interface Client {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
}

interface Outcome {
  readonly status: number;
  readonly body: string;
}

const listen = async <T extends Server>(s: T): Promise<number> => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
};

const close = async (s: Server): Promise<void> => {
  const h = s as Server & { closeAllConnections?: () => void };
  h.closeAllConnections?.();
  await new Promise<void>((r) => s.close(() => r()));
};

function https1(port: number, c: Client, path = '/'): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, rejectUnauthorized: false, cert: c.cert, key: c.key, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: -1, body }));
      },
    );
    req.on('error', (e) => resolve({ status: -1, body: e.message }));
    req.end();
  });
}

function http2(port: number, c: Client): Promise<Outcome> {
  return new Promise((resolve) => {
    const session = h2connect(`https://127.0.0.1:${port}`, {
      rejectUnauthorized: false,
      cert: c.cert,
      key: c.key,
    });
    let status = -1;
    let body = '';
    const done = (o: Outcome) => {
      session.close();
      session.destroy();
      resolve(o);
    };
    session.on('error', (e) => done({ status, body: body || e.message }));
    const req = session.request({ ':path': '/' });
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d) => (body += d));
    req.on('end', () => done({ status, body }));
    req.on('error', (e) => done({ status, body: body || e.message }));
    req.end();
  });
}

function rawTls(port: number, c: Client, send = ''): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, cert: c.cert, key: c.key });
    let data = '';
    s.on('secureConnect', () => {
      if (send) s.write(send);
    });
    s.on('data', (d) => (data += d));
    s.on('close', () => resolve(data));
    s.on('error', () => {});
    s.setTimeout(10_000, () => s.destroy());
  });
}

/** Good and bad clients in one shuffled, concurrent wave. */
function wave(good: Client, revoked: Client, expired: Client): Client[] {
  const all: Client[] = [
    ...Array.from({ length: GOOD }, () => good),
    ...Array.from({ length: BAD_PER_KIND }, () => revoked),
    ...Array.from({ length: BAD_PER_KIND }, () => expired),
  ];
  // Interleave deterministically: good clients spread through the bad ones.
  return all
    .map((c, i) => ({ c, k: (i * 7919) % all.length }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.c);
}

/** The CN of the certificate the peer presented on a socket the application was handed. */
function peerCn(socket: TLSSocket): string {
  return String(socket.getPeerCertificate()?.subject?.CN ?? '(socket already closed)');
}

describe('mTLS gate: rejected clients never reach application code (real TLS, 127.0.0.1, under load)', () => {
  let root: IssuedCert;
  let ica: IssuedCert;
  let serverKey = '';
  let serverChain = '';
  let crls: Crl[] = [];
  let good: Client;
  let revoked: Client;
  let expired: Client;
  let revokedSerial = '';

  const client = async (name: string, spec: Partial<Parameters<typeof issue>[0]> = {}): Promise<Client> => {
    const c = await issue({ subject: `CN=${name},O=clients`, issuer: ica, eku: ['clientAuth'], ...spec });
    if (name === 'revoked') revokedSerial = c.parsed.serialHex;
    return { name, cert: c.pem + ica.pem, key: await privateKeyPem(c.key) };
  };

  before(async () => {
    root = await issue({ subject: 'CN=Gate Root', ca: true });
    ica = await issue({ subject: 'CN=Gate Client CA', ca: true, issuer: root });
    const server = await issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], issuer: ica });
    serverKey = await privateKeyPem(server.key);
    serverChain = server.pem + ica.pem;
    good = await client('good');
    revoked = await client('revoked');
    expired = await client('expired', {
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    crls = [
      parseCrl(
        await buildCrl({
          issuer: ica,
          entries: [{ serial: revokedSerial, revokedAt: new Date(Date.now() - DAY), reason: 1 }],
        }),
      ),
      parseCrl(await buildCrl({ issuer: root, entries: [] })),
    ];
  });

  const newVerifier = (): ClientCertVerifier => createClientCertVerifier({ ca: root.pem, crls });
  const tlsOpts = () => ({ cert: serverChain, key: serverKey });

  test('the verifier rejects the bad clients for the expected reasons', async () => {
    const v = newVerifier();
    const pem = (c: Client) => c.cert;
    const { loadCertificates } = await import('../src/x509/load.js');
    const der = (c: Client) => loadCertificates(Buffer.from(pem(c)), 'c').certificates.map((x) => x.der);
    assert.equal((await v.verifyChain(der(good))).ok, true);
    const r = await v.verifyChain(der(revoked));
    assert.ok(r.findings.some((f) => f.code === 'revoked' && f.severity === 'critical'));
    const e = await v.verifyChain(der(expired));
    assert.ok(e.findings.some((f) => f.code === 'expired' && f.severity === 'critical'));
  });

  async function tlsWave(server: Server, seen: string[]): Promise<void> {
    const port = await listen(server);
    try {
      const clients = wave(good, revoked, expired);
      const got = await Promise.all(clients.map((c) => rawTls(port, c)));
      for (const [i, c] of clients.entries())
        assert.equal(
          got[i],
          c === good ? 'welcome good' : '',
          `${c.name} #${i} got ${JSON.stringify(got[i])}`,
        );
      assert.equal(seen.length, GOOD * 2, `handlers saw: ${seen.join(', ')}`);
      assert.deepEqual(new Set(seen), new Set(['good']));
    } finally {
      await close(server);
    }
  }

  test('tls: createMtlsServer hands only accepted sockets to its listener and to listeners added later', async () => {
    const v = newVerifier();
    const seen: string[] = [];
    const verified: string[] = [];
    const rejected: ClientVerdict[] = [];
    const server = createMtlsServer(v, tlsOpts(), (s) => {
      seen.push(peerCn(s));
      assert.equal(clientIdentityOf(s)?.commonName, 'good');
      s.end(`welcome ${clientIdentityOf(s)?.commonName}`);
    });
    server.on('secureConnection', (s: TLSSocket) => seen.push(peerCn(s)));
    server.on('verified', (s: TLSSocket, verdict: ClientVerdict) => {
      assert.equal(verdict.ok, true);
      verified.push(peerCn(s));
    });
    server.on('rejected', (verdict: ClientVerdict, peer: { address: string }) => {
      assert.equal(peer.address, '127.0.0.1');
      rejected.push(verdict);
    });
    await tlsWave(server, seen);
    assert.equal(verified.length, GOOD);
    assert.equal(rejected.length, 2 * BAD_PER_KIND);
    assert.equal(rejected.filter((r) => r.findings.some((f) => f.code === 'revoked')).length, BAD_PER_KIND);
    assert.equal(rejected.filter((r) => r.findings.some((f) => f.code === 'expired')).length, BAD_PER_KIND);
  });

  test('tls: requireClientCert on tls.createServer(options, handler) gates the handler given at creation', async () => {
    const v = newVerifier();
    const seen: string[] = [];
    const server = createTlsServer(mtlsServerOptions(v, tlsOpts()), (s) => {
      seen.push(peerCn(s));
      s.end(`welcome ${peerCn(s)}`);
    });
    requireClientCert(server, v);
    server.on('secureConnection', (s: TLSSocket) => seen.push(peerCn(s)));
    await tlsWave(server, seen);
  });

  test('tls: two gates with different verifiers each have their say (no verdict is shared between verifiers)', async () => {
    const open = newVerifier();
    const strict = createClientCertVerifier({ ca: root.pem, crls, allow: [{ subject: 'CN=someone else*' }] });
    const seen: string[] = [];
    // The outer gate (added last, runs first) accepts; the inner one must still decide.
    const server = createMtlsServer(strict, tlsOpts(), (s) => {
      seen.push(peerCn(s));
      s.end('welcome');
    });
    gateServer(server, open);
    const port = await listen(server);
    try {
      assert.equal(await rawTls(port, good), '');
      assert.deepEqual(seen, []);
      strict.update({ allow: [] });
      assert.equal(await rawTls(port, good), 'welcome');
      assert.deepEqual(seen, ['good']);
    } finally {
      await close(server);
    }
  });

  async function httpsWave(server: HttpsServer, seen: string[], expectRejection: boolean): Promise<void> {
    const port = await listen(server);
    try {
      const clients = wave(good, revoked, expired);
      const got = await Promise.all(clients.map((c) => https1(port, c)));
      clients.forEach((c, i) => {
        const g = got[i]!;
        if (c === good) assert.deepEqual(g, { status: 200, body: 'hello good' }, `${c.name} #${i}`);
        else if (expectRejection)
          assert.deepEqual(
            g,
            { status: 403, body: '{"error":"client certificate rejected"}' },
            `${c.name} #${i}`,
          );
        else assert.equal(g.status, -1, `${c.name} #${i}: ${JSON.stringify(g)}`);
      });
      assert.equal(seen.length, GOOD, `handlers saw: ${seen.join(', ')}`);
      assert.deepEqual(new Set(seen), new Set(['good']));
    } finally {
      await close(server);
    }
  }

  test('https: createMtlsHttpsServer runs no request listener for rejected clients, who get a generic 403', async () => {
    const v = newVerifier();
    const seen: string[] = [];
    const server = createMtlsHttpsServer(v, tlsOpts(), (req, res) => {
      seen.push(peerCn(req.socket as TLSSocket));
      res.end(`hello ${clientIdentityOf(req)?.commonName}`);
    });
    const events: string[] = [];
    server.on('secureConnection', (s: TLSSocket) => events.push(peerCn(s)));
    server.on('connect', () => events.push('connect'));
    server.on('upgrade', () => events.push('upgrade'));
    server.on('checkContinue', () => events.push('checkContinue'));
    await httpsWave(server, seen, true);
    assert.deepEqual(new Set(events), new Set(['good']));
  });

  test('https: requireClientCert on https.createServer(options, handler) keeps the HTTP parser behind the verdict', async () => {
    const v = newVerifier();
    const seen: string[] = [];
    const server = createPlainHttpsServer(mtlsServerOptions(v, tlsOpts()), (req, res) => {
      seen.push(peerCn(req.socket as TLSSocket));
      res.end(`hello ${peerCn(req.socket as TLSSocket)}`);
    });
    requireClientCert(server, v);
    await httpsWave(server, seen, false);
  });

  test('https: keep-alive and pipelined requests sent before the verdict (slow verifier) are held, then served or refused', async () => {
    const v = newVerifier();
    const verifySocket = v.verifySocket.bind(v);
    v.verifySocket = async (s) => {
      await new Promise((r) => setTimeout(r, 150));
      return verifySocket(s);
    };
    const seen: string[] = [];
    const server = createMtlsHttpsServer(v, tlsOpts(), (req, res) => {
      seen.push(`${peerCn(req.socket as TLSSocket)} ${req.url}`);
      res.end(`hello ${clientIdentityOf(req)?.commonName} ${req.url}`);
    });
    const port = await listen(server);
    try {
      const pipelined = (c: Client) =>
        rawTls(
          port,
          c,
          ['/a', '/b', '/c']
            .map((p, i) => `GET ${p} HTTP/1.1\r\nHost: x\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`)
            .join(''),
        );
      const [g, r, e] = await Promise.all([pipelined(good), pipelined(revoked), pipelined(expired)]);
      for (const p of ['/a', '/b', '/c']) assert.ok(g.includes(`hello good ${p}`), g);
      for (const bad of [r, e]) {
        assert.match(bad, /^HTTP\/1\.1 403 /, bad);
        assert.equal(bad.match(/HTTP\/1\.1 /g)?.length, 1, `one 403 then close: ${bad}`);
        assert.ok(!bad.includes('hello'), bad);
      }
      assert.deepEqual(seen, ['good /a', 'good /b', 'good /c']);
    } finally {
      await close(server);
    }
  });

  test('http2: createMtlsHttp2Server creates no session, stream or request for rejected clients, who get a generic 403', async () => {
    const v = newVerifier();
    const seen: string[] = [];
    const sessions: string[] = [];
    const server: Http2SecureServer = createMtlsHttp2Server(v, tlsOpts(), (req, res) => {
      seen.push(`request ${clientIdentityOf(req)?.commonName}`);
      res.end(`hello ${clientIdentityOf(req)?.commonName}`);
    });
    server.on('session', (s) => sessions.push(peerCn(s.socket as TLSSocket)));
    server.on('stream', (stream) => seen.push(`stream ${clientIdentityOf(stream)?.commonName}`));
    server.on('secureConnection', (s: TLSSocket) => sessions.push(peerCn(s)));
    const port = await listen(server);
    try {
      const clients = wave(good, revoked, expired);
      const got = await Promise.all(clients.map((c) => http2(port, c)));
      clients.forEach((c, i) => {
        const want =
          c === good
            ? { status: 200, body: 'hello good' }
            : { status: 403, body: '{"error":"client certificate rejected"}' };
        assert.deepEqual(got[i], want, `${c.name} #${i}`);
      });
      assert.equal(seen.length, 2 * GOOD);
      assert.deepEqual(new Set(seen), new Set(['request good', 'stream good']));
      assert.equal(sessions.length, 2 * GOOD);
      assert.deepEqual(new Set(sessions), new Set(['good']));
    } finally {
      await close(server);
    }
  });

  test('http2 with allowHTTP1: HTTP/1.1 clients are gated the same way', async () => {
    const v = newVerifier();
    const seen: string[] = [];
    const server = createMtlsHttp2Server(v, { ...tlsOpts(), allowHTTP1: true }, (req, res) => {
      seen.push(String(clientIdentityOf(req)?.commonName));
      res.end(`hello ${clientIdentityOf(req)?.commonName}`);
    });
    const port = await listen(server);
    try {
      const [g, r, e, g2] = await Promise.all([
        https1(port, good),
        https1(port, revoked),
        https1(port, expired),
        http2(port, good),
      ]);
      assert.deepEqual(g, { status: 200, body: 'hello good' });
      assert.deepEqual(g2, { status: 200, body: 'hello good' });
      for (const bad of [r, e])
        assert.deepEqual(bad, { status: 403, body: '{"error":"client certificate rejected"}' });
      assert.deepEqual(seen, ['good', 'good']);
    } finally {
      await close(server);
    }
  });

  test('https: a client whose agent caches TLS sessions is accepted on every connection (its chain is re-sent)', async () => {
    const v = newVerifier();
    const server = createMtlsHttpsServer(v, tlsOpts(), (req, res) => {
      res.end(`hello ${clientIdentityOf(req)?.commonName}`);
    });
    const port = await listen(server);
    const agent = new Agent({ keepAlive: false, maxCachedSessions: 10 });
    try {
      for (const version of ['TLSv1.2', 'TLSv1.3', 'TLSv1.2', 'TLSv1.3'] as const) {
        const r = await new Promise<Outcome>((resolve) => {
          const req = request(
            {
              host: '127.0.0.1',
              port,
              agent,
              rejectUnauthorized: false,
              cert: good.cert,
              key: good.key,
              minVersion: version,
              maxVersion: version,
            },
            (res) => {
              let body = '';
              res.on('data', (d) => (body += d));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
          );
          req.on('error', (e) => resolve({ status: -1, body: e.message }));
          req.end();
        });
        assert.deepEqual(r, { status: 200, body: 'hello good' }, version);
      }
    } finally {
      agent.destroy();
      await close(server);
    }
  });

  test('https: a rejected client that sends nothing is disconnected after rejectTimeoutMs', async () => {
    const v = newVerifier();
    const server = createMtlsHttpsServer(v, tlsOpts(), (_q, s) => s.end('no'), { rejectTimeoutMs: 200 });
    const port = await listen(server);
    try {
      const t0 = Date.now();
      const [r, e] = await Promise.all([rawTls(port, revoked), rawTls(port, expired)]);
      assert.deepEqual([r, e], ['', '']);
      assert.ok(Date.now() - t0 < 5_000, `closed after ${Date.now() - t0} ms`);
    } finally {
      await close(server);
    }
  });

  describe('rejection responses: generic by default, findings only when the operator opts in', () => {
    let servers: Server[] = [];
    after(async () => {
      await Promise.all(servers.map(close));
      servers = [];
    });

    const start = async (s: Server): Promise<number> => {
      servers.push(s);
      return listen(s);
    };

    test('by default neither the HTTPS nor the HTTP/2 403 names the serial, the date or the reason; the rejected event does', async () => {
      const v = newVerifier();
      const events: ClientVerdict[] = [];
      v.on('rejected', (x: ClientVerdict) => events.push(x));
      const h1 = await start(createMtlsHttpsServer(v, tlsOpts(), (_q, s) => s.end('no')));
      const h2 = await start(createMtlsHttp2Server(v, tlsOpts(), (_q, s) => s.end('no')));
      for (const r of [await https1(h1, revoked), await http2(h2, revoked)]) {
        assert.deepEqual(r, { status: 403, body: '{"error":"client certificate rejected"}' });
        assert.ok(!r.body.includes(revokedSerial));
      }
      assert.equal(events.length, 2);
      for (const e of events) {
        const f = e.findings.find((x) => x.code === 'revoked');
        assert.ok(f, JSON.stringify(e.findings));
        assert.ok(f.message.includes(revokedSerial), f.message);
      }
    });

    test('exposeFindings: true puts codes and messages in the HTTPS and HTTP/2 403 bodies', async () => {
      const v = newVerifier();
      const h1 = await start(
        createMtlsHttpsServer(v, tlsOpts(), (_q, s) => s.end('no'), { exposeFindings: true }),
      );
      const h2 = await start(
        createMtlsHttp2Server(v, tlsOpts(), (_q, s) => s.end('no'), { exposeFindings: true }),
      );
      for (const r of [await https1(h1, revoked), await http2(h2, revoked)]) {
        assert.equal(r.status, 403);
        const body = JSON.parse(r.body) as { error: string; findings: { code: string; message: string }[] };
        assert.equal(body.error, 'client certificate rejected');
        const f = body.findings.find((x) => x.code === 'revoked');
        assert.ok(f?.message.includes(revokedSerial), r.body);
      }
      const e = await https1(h1, expired);
      assert.ok(
        (JSON.parse(e.body) as { findings: { code: string }[] }).findings.some((f) => f.code === 'expired'),
      );
    });

    test('createRequestGuard: generic 401/403 by default, findings with exposeFindings', async () => {
      const v = newVerifier();
      const handler =
        (guard: ReturnType<typeof createRequestGuard>) =>
        async (req: Parameters<typeof guard>[0], res: Parameters<typeof guard>[1]) => {
          const id = await guard(req, res);
          if (id) res.end('ok');
        };
      const plain = await start(
        createPlainHttpsServer(mtlsServerOptions(v, tlsOpts()), handler(createRequestGuard(v))),
      );
      const open = await start(
        createPlainHttpsServer(
          mtlsServerOptions(v, tlsOpts()),
          handler(createRequestGuard(v, { exposeFindings: true })),
        ),
      );
      assert.deepEqual(await https1(plain, revoked), {
        status: 403,
        body: '{"error":"client certificate rejected"}',
      });
      const detailed = await https1(open, revoked);
      assert.equal(detailed.status, 403);
      assert.ok(detailed.body.includes(revokedSerial), detailed.body);
    });
  });
});
