/*
 * The library's events are typed for TypeScript callers: a listener's parameters are inferred
 * (strict mode, no implicit any), and an accepted client's identity is never null. This file
 * is itself the type test — `npm run build` compiles it — and checks the events at run time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import type { AcceptedClient, RefusedClient, TargetResult } from '../src/index.js';
import { createClientCertVerifier, createHttpsAgent, createMtlsHttpsServer } from '../src/index.js';
import { issue, privateKeyPem } from '../src/lab/pki.js';

describe('typed events', () => {
  test("the verifier's 'accepted' and 'rejected' listeners get their verdict types", async () => {
    const root = await issue({ subject: 'CN=Typed Events Root', ca: true });
    const client = await issue({
      subject: 'CN=typed-client',
      issuer: root,
      eku: ['clientAuth'],
      emails: ['typed@example.test'],
    });
    const verifier = createClientCertVerifier({ ca: root.pem });
    const seen: string[] = [];
    // No annotation: inferred. `v.identity.subject` compiles only if an accepted identity is not null.
    verifier.on('accepted', (v) => seen.push(`accepted ${v.identity.subject}`));
    verifier.on('rejected', (v) => seen.push(`rejected ${v.identity?.subject ?? '(no certificate)'}`));
    const accepted: AcceptedClient | RefusedClient = await verifier.verifyChain([client.der]);
    const refused = await verifier.verifyChain([]);
    assert.equal(accepted.ok, true, JSON.stringify(accepted.findings));
    assert.equal(refused.ok, false);
    assert.deepEqual(seen, ['accepted CN=typed-client', 'rejected (no certificate)']);
    // Compile-time checks (an `any` listener parameter would make these directives unused, an error).
    const unused = createClientCertVerifier({ ca: root.pem });
    // @ts-expect-error a refused client may have no identity (no certificate presented)
    unused.on('rejected', (v) => v.identity.subject);
    // @ts-expect-error an accepted verdict is ok: true
    unused.on('accepted', (v) => v.ok === false);
    // Every other event keeps EventEmitter's signature (a `never` there would make `err.message` an error).
    unused.on('error', (err) => void err.message);
  });

  test("a gated server's 'verified' and 'rejected' listeners get the socket, the verdict and the peer", async () => {
    const root = await issue({ subject: 'CN=Typed Server Events Root', ca: true });
    const serverCert = await issue({ subject: 'CN=127.0.0.1', issuer: root, ips: ['127.0.0.1'] });
    const client = await issue({ subject: 'CN=typed-peer', issuer: root, eku: ['clientAuth'] });
    const verifier = createClientCertVerifier({ ca: root.pem });
    const server = createMtlsHttpsServer(
      verifier,
      { key: await privateKeyPem(serverCert.key), cert: serverCert.pem },
      (_req, res) => res.end('ok'),
    );
    const seen: string[] = [];
    const settled = new Promise<void>((resolve) => {
      // No annotations: the parameters are inferred from the gated server's own events.
      server.on('verified', (socket, v) => {
        seen.push(`verified ${v.identity.subject} from ${socket.remoteAddress}`);
        if (seen.length === 2) resolve();
      });
      server.once('rejected', (v, peer) => {
        seen.push(`rejected ${v.identity?.subject ?? '(no certificate)'} from ${peer.address}`);
        if (seen.length === 2) resolve();
      });
    });
    // Node's own events keep their types.
    server.on('request', (req) => void req.url?.length);
    // Compile-time checks only (never run: these listeners would throw).
    void (() => {
      // @ts-expect-error a refused client may have presented no certificate (an `any` would make this unused)
      server.on('rejected', (v) => v.identity.subject);
      // @ts-expect-error the peer of a refused client is an address, not a socket
      server.once('rejected', (_v, peer) => peer.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      for (const identity of [{ key: await privateKeyPem(client.key), cert: client.pem }, {}]) {
        const s = connect({ host: '127.0.0.1', port, ca: root.pem, ...identity });
        s.on('error', () => {});
        s.on('secureConnect', () => s.end());
      }
      await settled;
      assert.deepEqual(seen.sort(), [
        'rejected (no certificate) from 127.0.0.1',
        'verified CN=typed-peer from 127.0.0.1',
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test("the agent's 'verified' listener gets the result and the socket", () => {
    const agent = createHttpsAgent({ revocation: 'off' });
    const listener = (result: TargetResult, socket: TLSSocket) => void [result.status, socket.remoteAddress];
    agent.on('verified', (result, socket) => listener(result, socket));
    // @ts-expect-error the result is a TargetResult (an `any` here would make this directive unused)
    agent.once('verified', (result) => result satisfies number);
    assert.equal(agent.listenerCount('verified'), 2);
    agent.destroy();
  });
});
