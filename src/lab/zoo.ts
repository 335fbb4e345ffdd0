import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:tls';
import { buildEndpointSpecs, issueRevocationCases, type LabEndpoint } from './labEndpoints.js';
import { buildLabPki } from './labPki.js';
import { emptyPublications, startRepositoryServer } from './labRepository.js';
import { startTlsEndpoints } from './labServers.js';
import { privateKeyPem } from './pki.js';

export { LAB_DOMAIN, type LabEndpoint } from './labEndpoints.js';

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

/** The lab's HTTP repository (CRLs, OCSP, AIA) listens on `portBase + REPOSITORY_PORT_OFFSET`. */
export const REPOSITORY_PORT_OFFSET = 99;

/** The highest port base whose ports (endpoints and repository) all fit below 65536. */
export const MAX_LAB_PORT_BASE = 65535 - REPOSITORY_PORT_OFFSET;

/**
 * Starts the lab: a zoo of TLS endpoints on 127.0.0.1, each showing one problem (or none).
 * Ports are `portBase`, `portBase + 1`, … and `portBase + REPOSITORY_PORT_OFFSET`; portBase 0
 * picks free ports; above MAX_LAB_PORT_BASE is a RangeError.
 *
 * The steps: start the HTTP CRL/OCSP/AIA server (its URLs go into the certificates), build the
 * PKI, issue and publish the revocation cases, build the endpoints' certificates, start each
 * TLS endpoint.
 */
export async function startLab(opts: { portBase?: number; address?: string } = {}): Promise<Lab> {
  const address = opts.address ?? '127.0.0.1';
  if (
    opts.portBase !== undefined &&
    !(Number.isInteger(opts.portBase) && opts.portBase >= 0 && opts.portBase <= MAX_LAB_PORT_BASE)
  )
    throw new RangeError(
      `the lab's port base must be 0 (free ports) or 1 to ${MAX_LAB_PORT_BASE}, not ${opts.portBase}`,
    );
  const now = Date.now();
  const published = emptyPublications();
  const repository = await startRepositoryServer(
    published,
    opts.portBase ? opts.portBase + REPOSITORY_PORT_OFFSET : 0,
    address,
  );
  const http = repository.server;
  const pki = await buildLabPki(now);
  const revocation = await issueRevocationCases(pki, published, repository.base, now);
  const specs = await buildEndpointSpecs(pki, revocation, repository.base, address, now);
  let servers: Server[];
  let endpoints: LabEndpoint[];
  try {
    ({ servers, endpoints } = await startTlsEndpoints(specs, opts.portBase, address, pki.ica));
  } catch (e) {
    http.close();
    throw e;
  }
  return {
    endpoints,
    caPem: pki.root.pem,
    intermediatesPem: pki.ica.pem,
    client: { certPem: pki.clientLeaf.pem + pki.ica.pem, keyPem: await privateKeyPem(pki.clientLeaf.key) },
    close: () => closeLab(http, servers),
  };
}

/** Closes the lab: the HTTP server's open connections, then every server. */
async function closeLab(http: HttpServer, servers: readonly Server[]): Promise<void> {
  http.closeAllConnections();
  await Promise.all([...servers, http].map((s) => new Promise((r) => s.close(() => r(undefined)))));
}

/** The lab endpoint as a check target string. */
export function labTarget(e: LabEndpoint): string {
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}
