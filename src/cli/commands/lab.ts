import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { buildCrl } from '../../lab/crlBuilder.js';
import { generateLabPki } from '../../lab/generate.js';
import type { LabKeyType } from '../../lab/pki.js';
import { type LabEndpoint, labTarget, MAX_LAB_PORT_BASE, startLab } from '../../lab/zoo.js';
import { writePem } from '../../x509/pem.js';
import { readAllCertificates } from '../certificateFiles.js';
import { cliEntry } from '../entry.js';
import { InputError, UsageError } from '../errors.js';
import { INPUT_LIMITS, readInput, readInputFile } from '../files.js';
import { collect, oneOf, parsePort, parsePositiveInt } from '../parse.js';

/** --port-base: a port whose lab ports (up to the repository's) all fit below 65536. */
function parseLabPortBase(value: string): number {
  const n = parsePort(value);
  if (n > MAX_LAB_PORT_BASE)
    throw new InvalidArgumentError(
      `"${value}" leaves no room for the lab's ports (it uses the next 100): at most ${MAX_LAB_PORT_BASE}, or 0 for free ports`,
    );
  return n;
}

/**
 * Why the background lab stopped, from its log: the first line certvet printed (`certvet: …`),
 * else the first non-empty line (a Node warning or crash), bounded.
 */
function labFailureReason(logPath: string): string {
  let lines: string[];
  try {
    lines = readFileSync(logPath, 'utf8')
      .slice(0, 64 * 1024)
      .split('\n');
  } catch {
    return '';
  }
  const line = lines.find((l) => l.startsWith('certvet: ')) ?? lines.find((l) => l.trim() !== '') ?? '';
  return line.replace(/^certvet: /, '').slice(0, 500);
}

interface LabState {
  readonly pid: number;
  readonly endpoints: readonly LabEndpoint[];
  readonly ca: string;
  readonly intermediates: string;
  readonly targets: string;
}

const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'ed25519'] as const;

export function describeEndpoints(endpoints: readonly LabEndpoint[]): string {
  const w = Math.max(...endpoints.map((e) => labTarget(e).length));
  return endpoints
    .map(
      (e) =>
        `  ${labTarget(e).padEnd(w)}  ${e.expectStatus.toUpperCase().padEnd(8)} ${(e.expectCodes.join(',') || '-').padEnd(20)} ${e.description}`,
    )
    .join('\n');
}

/** YAML target file for the lab: every endpoint with its address, so no DNS is needed. */
export function labTargetsYaml(endpoints: readonly LabEndpoint[]): string {
  return `# certvet lab targets: certvet check -f THIS_FILE --ca ca.pem --chain intermediates.pem\ntargets:\n${endpoints
    .map((e) => `  - target: "${labTarget(e)}"\n    resolve: "${e.address}"`)
    .join('\n')}\n`;
}

export function registerLab(program: Command, io: { stdout: NodeJS.WriteStream }): void {
  const lab = program.command('lab').description('local test PKI and good/bad TLS servers on loopback');
  lab
    .command('gen')
    .description('write a ready local PKI: CA, intermediate, server and client certificates and keys')
    .argument('<dir>', 'output directory')
    .option(
      '--name <name>',
      'server DNS name or IP address (repeatable; default localhost and 127.0.0.1)',
      collect,
      [],
    )
    .option(
      '--client-name <name>',
      'client certificate CN (an email address also goes in the SAN)',
      'certvet-client',
    )
    .option('--days <n>', 'validity of the server and client certificates', parsePositiveInt, 90)
    .option('--key-type <type>', KEY_TYPES.join(', '), oneOf(KEY_TYPES), 'ec-p256')
    .action(
      async (dir: string, f: { name: string[]; clientName: string; days: number; keyType: LabKeyType }) => {
        const files = await generateLabPki({
          dir,
          names: f.name.length ? f.name : ['localhost', '127.0.0.1'],
          clientName: f.clientName,
          days: f.days,
          keyType: f.keyType,
        });
        io.stdout.write(`Wrote ${files.length} files to ${dir}:\n${files.map((x) => `  ${x}`).join('\n')}\n`);
        io.stdout.write(
          `Serve with server-fullchain.pem + server.key; trust ca.pem; present client-fullchain.pem + client.key.\n`,
        );
      },
    );
  lab
    .command('crl')
    .description(
      "issue the CRLs of a PKI made by 'lab gen' (one signed by its intermediate, one by its root), revoking the given certificates",
    )
    .argument('<dir>', "the 'lab gen' directory (ca.pem, root.key, intermediate.pem, intermediate.key)")
    .option('--revoke <cert>', 'a certificate to revoke (repeatable)', collect, [])
    .option('--out <file>', 'where to write the CRLs (one PEM file, both CRLs)', '')
    .option('--days <n>', 'validity of the CRLs (nextUpdate)', parsePositiveInt, 7)
    .action(async (dir: string, f: { revoke: string[]; out: string; days: number }) => {
      // Both CAs publish a CRL: a verifier that requires every certificate below the anchor to
      // be covered (Node's CRL_CHECK_ALL, certvet's mTLS default) needs the root's too.
      const issuers = [];
      for (const [certFile, keyFile, what] of [
        ['intermediate.pem', 'intermediate.key', 'intermediate'],
        ['ca.pem', 'root.key', 'root'],
      ] as const) {
        const [cert] = await readAllCertificates(join(dir, certFile), { what: `${what} certificate` });
        const keyPath = join(dir, keyFile);
        const keyData = await readInput(keyPath, { what: `${what} key`, limit: INPUT_LIMITS.clientIdentity });
        let key: ReturnType<typeof createPrivateKey>;
        try {
          key = createPrivateKey(Buffer.from(keyData));
        } catch {
          throw new InputError(`${keyPath}: is not a private key (PEM or DER)`);
        }
        issuers.push({
          cert: cert!,
          key,
          entries: [] as { serial: string; revokedAt: Date; reason: number }[],
        });
      }
      for (const p of f.revoke) {
        const [c] = await readAllCertificates(p, { what: 'certificate', flag: '--revoke' });
        const by = issuers.find((i) => i.cert.subject.key === c!.issuer.key);
        if (!by) throw new InputError(`${p}: was not issued by this PKI's intermediate or root`);
        by.entries.push({ serial: c!.serialHex, revokedAt: new Date(), reason: 1 });
      }
      const pems: string[] = [];
      for (const i of issuers) {
        const der = await buildCrl({
          issuer: { subjectDer: i.cert.subject.der, privateKey: i.key },
          entries: i.entries,
          number: Math.floor(Date.now() / 1000),
          nextUpdate: new Date(Date.now() + f.days * 86400_000),
        });
        pems.push(writePem(der, 'X509 CRL'));
      }
      const out = f.out || join(dir, 'crl.pem');
      writeFileSync(out, pems.join(''));
      const n = issuers.reduce((a, i) => a + i.entries.length, 0);
      io.stdout.write(
        `Wrote ${out}: the intermediate's and the root's CRLs, ${n} revoked certificate${n === 1 ? '' : 's'}, valid for ${f.days} days.\n`,
      );
    });
  lab
    .command('start')
    .description('start the zoo of TLS endpoints on 127.0.0.1 in the background and print the targets')
    .option(
      '--port-base <n>',
      'first port (endpoints use consecutive ports, the CRL/OCSP server the 100th; 0: free ports)',
      parseLabPortBase,
      8440,
    )
    .option('--dir <dir>', 'where the lab keeps its state, CA and target file', '.certvet-lab')
    .action(async (f: { portBase: number; dir: string }) => {
      const dir = resolve(f.dir);
      const statePath = join(dir, 'state.json');
      if (existsSync(statePath)) {
        const st = readState(statePath);
        if (alive(st.pid))
          throw new UsageError(
            `a lab is already running (pid ${st.pid}); run "certvet lab stop --dir ${f.dir}" first`,
          );
      }
      mkdirSync(dir, { recursive: true });
      rmSync(statePath, { force: true });
      const main = cliEntry();
      // The background lab's errors go to a log beside its state, quoted if it does not start.
      const logPath = join(dir, 'lab.log');
      const log = openSync(logPath, 'w');
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(
          process.execPath,
          [main, 'lab', 'run', '--port-base', String(f.portBase), '--dir', dir],
          {
            detached: true,
            stdio: ['ignore', 'ignore', log],
          },
        );
      } finally {
        closeSync(log);
      }
      child.unref();
      const deadline = Date.now() + 30_000;
      while (!existsSync(statePath)) {
        const ended = child.exitCode !== null || child.signalCode !== null;
        if (Date.now() > deadline || ended) {
          if (!ended) child.kill();
          const why = labFailureReason(logPath);
          throw new InputError(
            `the lab did not start${why ? `: ${why}` : f.portBase ? ` (ports ${f.portBase}+ in use?)` : ''} (log: ${logPath})`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const st = readState(statePath);
      io.stdout.write(
        `certvet lab running (pid ${st.pid}) on 127.0.0.1:\n${describeEndpoints(st.endpoints)}\n\n`,
      );
      io.stdout.write(
        `Check it:  certvet check -f ${st.targets} --ca ${st.ca} --chain ${st.intermediates}\nStop it:   certvet lab stop${f.dir !== '.certvet-lab' ? ` --dir ${f.dir}` : ''}\n`,
      );
    });
  lab
    .command('run', { hidden: true })
    .option('--port-base <n>', 'first port', parseLabPortBase, 8440)
    .option('--dir <dir>', 'state directory', '.certvet-lab')
    .action(async (f: { portBase: number; dir: string }) => {
      const l = await startLab({ portBase: f.portBase });
      const ca = join(f.dir, 'ca.pem');
      const intermediates = join(f.dir, 'intermediates.pem');
      const targets = join(f.dir, 'targets.yaml');
      writeFileSync(ca, l.caPem);
      writeFileSync(intermediates, l.intermediatesPem);
      writeFileSync(join(f.dir, 'client.pem'), l.client.certPem);
      writeFileSync(join(f.dir, 'client.key'), l.client.keyPem, { mode: 0o600 });
      writeFileSync(targets, labTargetsYaml(l.endpoints));
      const state: LabState = { pid: process.pid, endpoints: l.endpoints, ca, intermediates, targets };
      writeFileSync(join(f.dir, 'state.json'), JSON.stringify(state, null, 2));
      await new Promise<void>((resolveStop) => {
        process.once('SIGTERM', () => resolveStop());
        process.once('SIGINT', () => resolveStop());
      });
      await l.close();
      rmSync(join(f.dir, 'state.json'), { force: true });
    });
  lab
    .command('stop')
    .description('stop the lab started by "certvet lab start"')
    .option('--dir <dir>', 'the lab state directory', '.certvet-lab')
    .action(async (f: { dir: string }) => {
      const statePath = join(resolve(f.dir), 'state.json');
      if (!existsSync(statePath)) throw new UsageError(`no lab is running (no ${statePath})`);
      const st = readState(statePath);
      if (alive(st.pid)) process.kill(st.pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (alive(st.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      rmSync(statePath, { force: true });
      io.stdout.write(`certvet lab stopped (pid ${st.pid}).\n`);
    });
}

/** The state file of a running lab (bounded read; a corrupt one is a usage error, not a crash). */
function readState(path: string): LabState {
  const text = Buffer.from(readInputFile(path, INPUT_LIMITS.certificate, 'lab state file')).toString('utf8');
  try {
    const st = JSON.parse(text) as LabState;
    if (typeof st?.pid !== 'number') throw new Error('no pid');
    return st;
  } catch {
    throw new UsageError(`${path}: is not a lab state file (delete it if no lab is running)`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
