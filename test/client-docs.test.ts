/*
 * The "Verified HTTPS requests" examples of docs/library.md run as written (as ES modules, in a
 * directory holding corp-root.pem), against TLS servers on 127.0.0.1. The only changes made to
 * the text: the example host names become those servers' addresses, and `'certvet'` resolves to
 * this build (the package's index plus the client modules).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type IssuedCert, issue } from '../src/lab/pki.js';
import { type Endpoint, endpoint, type SmtpEndpoint, smtpEndpoint } from './support/clientLab.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(repo, 'docs', 'library.md'), 'utf8');
const DAY = 86400_000;

function example(name: string): string {
  const re = new RegExp(
    `<!-- example: ${name} -->\\s*\`\`\`(?:js|ts|javascript)\\n([\\s\\S]*?)\`\`\`\\s*<!-- /example -->`,
  );
  const m = re.exec(doc);
  assert.ok(m, `docs/library.md has the example "${name}"`);
  return m[1]!;
}

describe('docs/library.md: the verified-request examples run as written', () => {
  let dir: string;
  let shim: string;
  let good: Endpoint;
  let expired: Endpoint;
  let smtp: SmtpEndpoint;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-clientdocs-'));
    const root = await issue({ subject: 'CN=Corp Root,O=Corp', ca: true });
    const ica = await issue({ subject: 'CN=Corp Issuing CA,O=Corp', ca: true, issuer: root, pathLen: 0 });
    writeFileSync(join(dir, 'corp-root.pem'), root.pem);
    const leaf = (name: string, extra: object = {}): Promise<IssuedCert> =>
      issue({ subject: `CN=${name}`, issuer: ica, dns: [name], ips: ['127.0.0.1'], ...extra });
    good = await endpoint('api.corp.example', await leaf('api.corp.example'), [ica]);
    expired = await endpoint(
      'api.corp.example',
      await leaf('api.corp.example', {
        notBefore: new Date(Date.now() - 30 * DAY),
        notAfter: new Date(Date.now() - DAY),
      }),
      [ica],
    );
    smtp = await smtpEndpoint(await leaf('mail.corp.example'), [ica]);
    const out = join(repo, 'dist', 'client-docs-examples');
    mkdirSync(out, { recursive: true });
    shim = join(out, 'certvet.mjs');
    const mod = (p: string) => JSON.stringify(pathToFileURL(join(repo, 'dist', 'src', p)).href);
    writeFileSync(
      shim,
      [
        `export * from ${mod('index.js')};`,
        `export { CertificateVerificationError } from ${mod('check/errors.js')};`,
        `export { createHttpsAgent } from ${mod('client/httpsAgent.js')};`,
        `export { createDispatcher } from ${mod('client/dispatcher.js')};`,
        `export { connectVerified } from ${mod('client/connectVerified.js')};`,
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await good.close();
    await expired.close();
    await smtp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const runExample = async (name: string, replace: Record<string, string>): Promise<string> => {
    let code = example(name).replaceAll("from 'certvet'", `from ${JSON.stringify(pathToFileURL(shim).href)}`);
    for (const [from, to] of Object.entries(replace)) code = code.replaceAll(from, to);
    const file = join(repo, 'dist', 'client-docs-examples', `${name}.mjs`);
    writeFileSync(file, code);
    const { stdout } = await run(process.execPath, [file], { cwd: dir, timeout: 30_000 });
    return stdout.trim();
  };

  test('verified fetch: the body from a good server; "refused: expired" from an expired one', async () => {
    const at = (ep: Endpoint) => ({ 'https://api.corp.example/': `https://127.0.0.1:${ep.port}/` });
    assert.equal(await runExample('verified-fetch', at(good)), '200 hello');
    assert.equal(await runExample('verified-fetch', at(expired)), 'refused: expired');
    assert.equal(expired.connectionsWithData, 0);
  });

  test('HTTPS agent: the body from a good server; "refused: expired" from an expired one', async () => {
    const at = (ep: Endpoint) => ({ 'https://api.corp.example/': `https://127.0.0.1:${ep.port}/` });
    assert.equal(await runExample('https-agent', at(good)), '200 hello');
    assert.equal(await runExample('https-agent', at(expired)), 'refused: expired');
    assert.equal(expired.connectionsWithData, 0);
  });

  test('connectVerified with SMTP STARTTLS', async () => {
    const out = await runExample('connect-verified', {
      "host: 'mail.corp.example'": "host: '127.0.0.1'",
      'port: 587': `port: ${smtp.port}`,
    });
    assert.equal(out, '221 bye');
    assert.equal(smtp.received.map(String).join(''), 'QUIT\r\n');
  });
});
