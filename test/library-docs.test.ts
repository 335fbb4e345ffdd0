/*
 * The examples of docs/library.md run as written: each `<!-- example: NAME -->` block is saved
 * as an ES module inside this package (so `import … from 'certvet'` resolves to the package
 * itself through its "exports") and run in a directory holding corp-root.pem, against TLS
 * servers on 127.0.0.1. The only change made to the text: the example host names are replaced
 * by those servers' addresses.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { examplesOf } from './support/docExamples.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(repo, 'docs', 'library.md'), 'utf8');

describe('docs/library.md: the examples run as written', () => {
  let dir: string;
  const servers: tls.Server[] = [];
  const ports: Record<string, number> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-libdocs-'));
    const root = await issue({ subject: 'CN=Corp Root,O=Corp', ca: true });
    const ica = await issue({ subject: 'CN=Corp Issuing CA,O=Corp', ca: true, issuer: root, pathLen: 0 });
    writeFileSync(join(dir, 'corp-root.pem'), root.pem);
    for (const name of ['api.corp.example', 'mail.corp.example']) {
      const leaf: IssuedCert = await issue({
        subject: `CN=${name}`,
        issuer: ica,
        dns: [name],
        ips: ['127.0.0.1'],
      });
      const server = tls.createServer({ key: await privateKeyPem(leaf.key), cert: leaf.pem + ica.pem }, (s) =>
        s.end(),
      );
      server.on('tlsClientError', () => {});
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      ports[name] = (server.address() as AddressInfo).port;
    }
  });
  after(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const runExample = async (name: string): Promise<string> => {
    const code = examplesOf(doc).get(name);
    assert.ok(code, `docs/library.md has the example "${name}"`);
    const local = code
      .replaceAll('api.corp.example:443', `127.0.0.1:${ports['api.corp.example']}`)
      .replaceAll('mail.corp.example:465', `127.0.0.1:${ports['mail.corp.example']}`);
    const examples = join(repo, 'dist', 'docs-examples');
    mkdirSync(examples, { recursive: true });
    const file = join(examples, `${name}.mjs`);
    writeFileSync(file, local);
    const { stdout } = await run(process.execPath, [file], { cwd: dir, timeout: 60_000 });
    return stdout;
  };

  test('check endpoints from code', async () => {
    const out = await runExample('check');
    const lines = out.trim().split('\n');
    assert.equal(lines[0], 'ok []');
    assert.deepEqual(
      lines.slice(1).sort(),
      [`127.0.0.1:${ports['api.corp.example']}: ok`, `127.0.0.1:${ports['mail.corp.example']}: ok`].sort(),
    );
  });

  test('pins, expectations and your own policy', async () => {
    const out = await runExample('policy');
    assert.equal(out.trim(), 'ok []', 'the issuer is as expected and a 90-day leaf passes the policy');
  });
});
