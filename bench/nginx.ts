/**
 * Benchmark fixture: N loopback TLS endpoints served by nginx (from apt), each with its own
 * ECDSA P-256 leaf under one intermediate, so the measured client — not a Node test server — is
 * the bottleneck. nginx runs in the foreground as a child in a temporary prefix; `cpuSeconds()`
 * reads its worker's CPU time from /proc so a benchmark can report the server's share.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issue, privateKeyPem } from '../src/lab/pki.js';

export interface NginxFixture {
  readonly dir: string;
  readonly caFile: string;
  readonly caPem: string;
  readonly ports: readonly number[];
  /** CPU seconds (user + system) nginx's processes have used so far. */
  cpuSeconds(): number;
  close(): Promise<void>;
}

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ?? null;

/** A free block of `n` consecutive loopback ports (probed by binding each). */
async function freePorts(n: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const ports = Array.from({ length: n }, (_, i) => base + i);
    let ok = true;
    for (const p of ports) {
      const free = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(false));
        s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
      });
      if (!free) {
        ok = false;
        break;
      }
    }
    if (ok) return ports;
  }
  throw new Error('no free block of ports for nginx');
}

export async function startNginx(n: number, o: { workers?: number } = {}): Promise<NginxFixture> {
  if (!NGINX) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const dir = mkdtempSync(join(tmpdir(), 'certvet-nginx-'));
  for (const d of ['logs', 'tmp', 'certs']) mkdirSync(join(dir, d));
  const root = await issue({ subject: 'CN=Bench Root,O=certvet bench', ca: true });
  const ica = await issue({
    subject: 'CN=Bench Issuing CA,O=certvet bench',
    ca: true,
    issuer: root,
    pathLen: 0,
  });
  writeFileSync(join(dir, 'ca.pem'), root.pem);
  const ports = await freePorts(n);
  const servers: string[] = [];
  for (const [i, port] of ports.entries()) {
    const leaf = await issue({
      subject: `CN=endpoint-${i}.bench.test`,
      issuer: ica,
      dns: [`endpoint-${i}.bench.test`],
      ips: ['127.0.0.1'],
    });
    writeFileSync(join(dir, 'certs', `${i}.pem`), leaf.pem + ica.pem);
    writeFileSync(join(dir, 'certs', `${i}.key`), await privateKeyPem(leaf.key), { mode: 0o600 });
    servers.push(
      `server { listen 127.0.0.1:${port} ssl; ssl_certificate certs/${i}.pem; ssl_certificate_key certs/${i}.key; location / { return 200 "ok\\n"; } }`,
    );
  }
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${user}worker_processes ${o.workers ?? 1};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'tmp')}; proxy_temp_path ${join(dir, 'tmp')}; fastcgi_temp_path ${join(dir, 'tmp')};
  uwsgi_temp_path ${join(dir, 'tmp')}; scgi_temp_path ${join(dir, 'tmp')};
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache off; ssl_session_tickets off;
  keepalive_timeout 5s;
  ${servers.join('\n  ')}
}
`,
  );
  const test = spawnSync(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-t'], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t failed: ${test.stderr}`);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // Ready when the last port accepts.
  const last = ports.at(-1)!;
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(last, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const pids = () => {
    const out: number[] = [child.pid!];
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === child.pid) out.push(Number(p));
      } catch {
        /* gone */
      }
    }
    return out;
  };
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    caPem: root.pem,
    ports,
    cpuSeconds() {
      let ticks = 0;
      for (const pid of pids()) {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          ticks += Number(f[11]) + Number(f[12]);
        } catch {
          /* gone */
        }
      }
      return ticks / 100;
    },
    async close() {
      child.kill('SIGQUIT');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
