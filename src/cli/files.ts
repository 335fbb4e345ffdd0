import {
  DEFAULT_IDLE_TIMEOUT_MS,
  InputReadError,
  inputName,
  limitText,
  readBounded,
  readBoundedSync,
} from '../util/boundedRead.js';
import { parseDurationText } from '../util/duration.js';
import { MAX_CERT_FILE_BYTES } from '../x509/load.js';
import { InputError, UsageError } from './errors.js';

/**
 * The documented size limits of every local input (docs/check.md, "Input limits"). Anything
 * larger — including an endless device, FIFO or pipe — is refused after limit + 1 bytes.
 */
export const INPUT_LIMITS = {
  /** Certificate files: the argument of verify/inspect, --ca, --chain. */
  certificate: MAX_CERT_FILE_BYTES,
  /** Local CRL files (check: --crl-max-bytes, which also bounds downloads). */
  crl: 64 * 1024 * 1024,
  /** Target files (-f), plain or YAML/JSON. */
  targets: 64 * 1024 * 1024,
  /** --client-cert, --client-key, --client-pfx. */
  clientIdentity: 1024 * 1024,
  /** --client-key-pass-file. */
  passphrase: 4096,
} as const;

/** What is being read, for the limit and the message. */
export interface InputSpec {
  /** "CA file", "target file", … */
  readonly what: string;
  readonly limit: number;
  /** The flag that named the input ("--ca"), so the message names it too. */
  readonly flag?: string;
  /** A usage-type input (e.g. a passphrase file): failures are exit 64, not 3. */
  readonly usage?: boolean;
}

/**
 * Idle deadline for pipes and FIFOs: CERTVET_INPUT_TIMEOUT (e.g. "30s", "500ms", plain
 * seconds), default 60 s. Terminals are never timed (a person is typing).
 */
export function inputIdleTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CERTVET_INPUT_TIMEOUT?.trim();
  if (!v) return DEFAULT_IDLE_TIMEOUT_MS;
  const ms = parseDurationText(v) ?? Number.NaN;
  if (!(ms >= 1 && ms <= 3600_000))
    throw new UsageError(`CERTVET_INPUT_TIMEOUT: "${v}" is not a duration between 1ms and 1h (e.g. 30s)`);
  return ms;
}

function labelOf(path: string, spec: InputSpec): string {
  return spec.flag ? `${spec.flag} ${inputName(path)}` : inputName(path);
}

function describe(e: InputReadError, path: string, spec: InputSpec): string {
  const label = labelOf(path, spec);
  switch (e.code) {
    case 'CERTVET_INPUT_TOO_LARGE':
      return e.size !== null
        ? `${label}: is ${e.size} bytes, larger than the ${limitText(spec.limit)} limit for a ${spec.what}`
        : `${label}: is larger than the ${limitText(spec.limit)} limit for a ${spec.what} (stopped reading after ${spec.limit + 1} bytes)`;
    case 'CERTVET_INPUT_TIMEOUT':
      return `${label}: gave up reading the ${spec.what}: ${e.message}`;
    default:
      return `${label}: cannot read ${spec.what}: ${e.message}`;
  }
}

export function toCliError(e: unknown, path: string, spec: InputSpec): Error {
  if (!(e instanceof InputReadError)) return e as Error;
  const message = describe(e, path, spec);
  return spec.usage ? new UsageError(message) : new InputError(message);
}

/**
 * Reads one input (a file, a device, a FIFO, or stdin for "-") through the bounded reader.
 * Failures are InputError (exit 3) or, for usage-type inputs, UsageError (exit 64), with a
 * message naming the flag, the input and the limit.
 */
export async function readInput(path: string, spec: InputSpec): Promise<Uint8Array> {
  try {
    return await readBounded(path, { limit: spec.limit, idleTimeoutMs: inputIdleTimeoutMs() });
  } catch (e) {
    throw toCliError(e, path, spec);
  }
}

/**
 * Synchronous bounded read, for callers that cannot await (bounded in size, not in time).
 * Prefer readInput.
 */
export function readInputFile(path: string, limit: number, what = 'file'): Uint8Array {
  try {
    return readBoundedSync(path, { limit });
  } catch (e) {
    throw toCliError(e, path, { what, limit });
  }
}
