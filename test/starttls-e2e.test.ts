import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { type LabChain, makeChain, privateKeyPem } from '../src/lab/pki.js';
import { CapturingStream } from '../src/probe/capture.js';
import { probe } from '../src/probe/probe.js';
import type { StartTlsProtocol } from '../src/scan/target.js';

/** Reads CRLF/LF-terminated lines from a plaintext socket. */
function lines(sock: Socket, onLine: (l: string) => void): () => void {
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      onLine(l);
    }
  };
  sock.on('data', onData);
  return () => sock.off('data', onData);
}

type Script = (sock: Socket, upgrade: (leftover?: Buffer) => void) => void;

describe('STARTTLS against protocol-faithful servers on 127.0.0.1', () => {
  let chain: LabChain;
  let ctx: SecureContext;
  const servers: Server[] = [];
  const sockets = new Set<Socket>();

  async function serve(script: Script): Promise<number> {
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => {});
      script(sock, (leftover) => {
        sock.removeAllListeners('data');
        // Bytes already read (a ClientHello sent right behind the request) go back in front.
        const stream = leftover?.length ? new CapturingStream(sock) : sock;
        if (leftover?.length) (stream as CapturingStream).push(leftover);
        const t = new TLSSocket(stream as Socket, { isServer: true, secureContext: ctx });
        t.on('error', () => {});
        t.on('secure', () => t.end());
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return (server.address() as { port: number }).port;
  }

  before(async () => {
    chain = await makeChain({ names: ['127.0.0.1'] });
    ctx = createSecureContext({
      cert: chain.leaf.pem + chain.intermediate.pem,
      key: await privateKeyPem(chain.leaf.key),
    });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  const timeouts = { totalMs: 3000, handshakeMs: 3000, connectMs: 1000 };
  async function expectTls(proto: StartTlsProtocol, port: number) {
    const obs = await probe({ host: '127.0.0.1', port, starttls: proto, ca: [chain.root.pem], timeouts });
    assert.equal(obs.error, null, `${proto}: ${obs.error?.message}`);
    assert.deepEqual(
      Buffer.from(obs.certificates[0]!),
      Buffer.from(chain.leaf.der),
      `${proto}: leaf as sent`,
    );
    assert.equal(obs.certificates.length, 2);
    assert.ok(obs.protocol === 'TLSv1.3' || obs.protocol === 'TLSv1.2');
    assert.equal(obs.crossCheck?.authorized, true, obs.crossCheck?.error ?? '');
    assert.ok(obs.timings.starttlsMs >= 0);
  }

  const SCRIPTS: Record<string, Script> = {
    smtp: (s, up) => {
      s.write('220-mail.example ESMTP\r\n220 ready\r\n');
      const off = lines(s, (l) => {
        if (/^EHLO /i.test(l))
          s.write('250-mail.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n');
        else if (l === 'STARTTLS') {
          off();
          s.write('220 2.0.0 go ahead\r\n');
          up();
        } else s.write('500 what\r\n');
      });
    },
    imap: (s, up) => {
      s.write('* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n');
      const off = lines(s, (l) => {
        const [tag, cmd] = l.split(' ');
        if (cmd === 'STARTTLS') {
          off();
          s.write(`${tag} OK Begin TLS negotiation now\r\n`);
          up();
        } else s.write(`${tag} BAD\r\n`);
      });
    },
    pop3: (s, up) => {
      s.write('+OK POP3 ready\r\n');
      const off = lines(s, (l) => {
        if (l === 'STLS') {
          off();
          s.write('+OK Begin TLS negotiation\r\n');
          up();
        } else s.write('-ERR\r\n');
      });
    },
    ftp: (s, up) => {
      s.write('220-Welcome\r\n220 FTP ready\r\n');
      const off = lines(s, (l) => {
        if (l === 'AUTH TLS') {
          off();
          s.write('234 AUTH TLS successful\r\n');
          up();
        } else s.write('502 no\r\n');
      });
    },
    ldap: (s, up) => {
      s.once('data', (d: Buffer) => {
        // LDAPMessage { id, extendedReq [APPLICATION 23] { [0] 1.3.6.1.4.1.1466.20037 } }
        assert.equal(d[0], 0x30);
        assert.ok(d.includes(Buffer.from('1.3.6.1.4.1.1466.20037')));
        const oid = Buffer.from('1.3.6.1.4.1.1466.20037');
        const body = Buffer.concat([
          Buffer.from([0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x8a, oid.length]),
          oid,
        ]);
        const op = Buffer.concat([Buffer.from([0x78, body.length]), body]);
        const msg = Buffer.concat([Buffer.from([0x02, 0x01, 0x01]), op]);
        s.write(Buffer.concat([Buffer.from([0x30, msg.length]), msg]));
        up();
      });
    },
    xmpp: (s, up) => {
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('<stream:stream') && !buf.includes('<starttls')) {
          s.write(
            "<?xml version='1.0'?><stream:stream from='example' id='1' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
          );
        } else if (buf.includes('<starttls')) {
          s.off('data', onData);
          s.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
          up();
        }
      };
      s.on('data', onData);
    },
    mysql: (s, up) => {
      // Protocol 10 Initial Handshake with CLIENT_SSL (0x0800) in the lower capability flags.
      const version = Buffer.from('8.0.36\0', 'latin1');
      const body = Buffer.concat([
        Buffer.from([10]),
        version,
        Buffer.from([1, 0, 0, 0]),
        Buffer.from('abcdefgh', 'latin1'),
        Buffer.from([0]),
        Buffer.from([0xff, 0xff]), // capability flags (lower) incl. CLIENT_SSL
        Buffer.from([45]),
        Buffer.from([2, 0]),
        Buffer.from([0xff, 0xc1]),
        Buffer.from([21]),
        Buffer.alloc(10),
        Buffer.from('ijklmnopqrst\0', 'latin1'),
        Buffer.from('mysql_native_password\0', 'latin1'),
      ]);
      const header = Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, 0, 0]);
      s.write(Buffer.concat([header, body]));
      s.once('data', (d: Buffer) => {
        assert.ok(d.length >= 36 && d.readUIntLE(0, 3) === 32, 'a 32-byte SSLRequest packet');
        assert.equal(d[3], 1, 'sequence id 1');
        assert.ok((d.readUInt32LE(4) & 0x800) !== 0, 'CLIENT_SSL');
        // The client's ClientHello may follow in the same read: hand it back to TLS.
        up(d.subarray(36));
      });
    },
    postgres: (s, up) => {
      s.once('data', (d: Buffer) => {
        assert.equal(d.readInt32BE(4), 80877103);
        s.write('S');
        up();
      });
    },
  };

  for (const proto of Object.keys(SCRIPTS) as StartTlsProtocol[]) {
    test(`${proto}: negotiates STARTTLS and reads the chain as sent`, async () => {
      await expectTls(proto, await serve(SCRIPTS[proto]!));
    });
  }

  test('smtp without STARTTLS advertised: starttls-failed, saying so', async () => {
    const port = await serve((s) => {
      s.write('220 ready\r\n');
      lines(s, (l) => s.write(/^EHLO/.test(l) ? '250-mail\r\n250 8BITMIME\r\n' : '500\r\n'));
    });
    const obs = await probe({ host: '127.0.0.1', port, starttls: 'smtp', timeouts });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /does not offer STARTTLS/);
  });

  test('imap refusing STARTTLS: starttls-failed with the answer quoted', async () => {
    const port = await serve((s) => {
      s.write('* OK ready\r\n');
      lines(s, (l) => s.write(`${l.split(' ')[0]} NO not now\r\n`));
    });
    const obs = await probe({ host: '127.0.0.1', port, starttls: 'imap', timeouts });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /c1 NO not now/);
  });

  test('pop3 server that goes silent after the greeting: timeout within the deadline', async () => {
    const port = await serve((s) => s.write('+OK hello\r\n'));
    const t0 = performance.now();
    const obs = await probe({
      host: '127.0.0.1',
      port,
      starttls: 'pop3',
      timeouts: { totalMs: 800, handshakeMs: 800, connectMs: 500 },
    });
    assert.equal(obs.error?.code, 'timeout');
    assert.ok(performance.now() - t0 < 2000);
  });

  test('a server flooding the plaintext phase is cut off (bounded read)', async () => {
    const port = await serve((s) => {
      const junk = Buffer.alloc(16 * 1024, 0x41);
      for (let i = 0; i < 8; i++) s.write(junk);
    });
    const obs = await probe({ host: '127.0.0.1', port, starttls: 'smtp', timeouts });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /more than 65536 bytes/);
  });

  test("postgres answering 'N': starttls-failed", async () => {
    const port = await serve((s) => s.once('data', () => s.write('N')));
    const obs = await probe({ host: '127.0.0.1', port, starttls: 'postgres', timeouts });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /does not accept TLS/);
  });
});

describe('STARTTLS against a real PostgreSQL server (ssl=on)', () => {
  const bin = ['/usr/lib/postgresql/15/bin', '/usr/local/bin'].find(
    (d) => existsSync(join(d, 'postgres')) && existsSync(join(d, 'initdb')),
  );
  let dir = '';
  let pg: ChildProcess | null = null;
  let port = 0;
  let chain: LabChain;
  const skip = bin ? false : 'PostgreSQL binaries (initdb, postgres) not found';

  before(async () => {
    if (skip) return;
    chain = await makeChain({ names: ['127.0.0.1', 'localhost'] });
    dir = mkdtempSync(join(tmpdir(), 'certvet-pg-'));
    const asRoot = process.getuid?.() === 0;
    // initdb refuses to run as root: use the unprivileged "nobody" account then.
    const run = (cmd: string, args: string[]) =>
      (asRoot ? ['runuser', ['-u', 'nobody', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
    if (asRoot) chownSync(dir, 65534, 65534);
    chmodSync(dir, 0o700);
    const [c, a] = run(join(bin!, 'initdb'), [
      '-D',
      join(dir, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
    ]);
    const init = spawnSync(c, a, { encoding: 'utf8' });
    assert.equal(init.status, 0, init.stderr);
    writeFileSync(join(dir, 'server.crt'), chain.leaf.pem + chain.intermediate.pem);
    writeFileSync(join(dir, 'server.key'), await privateKeyPem(chain.leaf.key), { mode: 0o600 });
    if (asRoot) {
      chownSync(join(dir, 'server.crt'), 65534, 65534);
      chownSync(join(dir, 'server.key'), 65534, 65534);
    }
    port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const [pc, pa] = run(join(bin!, 'postgres'), [
      '-D',
      join(dir, 'data'),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `port=${port}`,
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${join(dir, 'server.crt')}`,
      '-c',
      `ssl_key_file=${join(dir, 'server.key')}`,
      '-c',
      'fsync=off',
    ]);
    pg = spawn(pc, pa, { stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await new Promise<boolean>((r) => {
        const s = createConnection({ host: '127.0.0.1', port }, () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) break;
      if (Date.now() > deadline) throw new Error('PostgreSQL did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    if (pg && pg.exitCode === null) {
      pg.kill('SIGTERM');
      await new Promise((r) => pg!.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('postgres://: SSLRequest, TLS, the chain as sent', { skip }, async () => {
    const obs = await probe({ host: '127.0.0.1', port, starttls: 'postgres', ca: [chain.root.pem] });
    assert.equal(obs.error, null, obs.error?.message);
    assert.deepEqual(Buffer.from(obs.certificates[0]!), Buffer.from(chain.leaf.der));
    assert.equal(obs.certificates.length, 2);
    assert.equal(obs.crossCheck?.authorized, true);
    assert.ok(obs.protocol === 'TLSv1.3' || obs.protocol === 'TLSv1.2');
  });
});
