/**
 * A file-system error that escaped a command (an output path that cannot be written, a
 * directory that cannot be created), or a port a command could not listen on: a usage error
 * naming the path or address, never a stack trace.
 */
const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EEXIST: 'already exists',
};

const VERBS: Readonly<Record<string, string>> = {
  open: 'cannot open',
  mkdir: 'cannot create directory',
  write: 'cannot write',
  rename: 'cannot rename',
  unlink: 'cannot remove',
  rmdir: 'cannot remove',
  stat: 'cannot stat',
};

/** Why a server could not listen, for the codes an operator can act on. */
const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
};

/**
 * The one-line message for an errno error with a path (or a server's failed listen, naming
 * the address and port), or null for anything else.
 */
export function describeSystemError(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException & { address?: unknown; port?: unknown };
  if (!(e instanceof Error) || typeof err.code !== 'string') return null;
  if (err.syscall === 'listen' && typeof err.address === 'string' && typeof err.port === 'number') {
    const host = err.address.includes(':') ? `[${err.address}]` : err.address;
    const privileged = err.code === 'EACCES' && err.port > 0 && err.port < 1024;
    return `cannot listen on ${host}:${err.port}: ${LISTEN_REASONS[err.code] ?? err.code}${privileged ? ' (ports below 1024 need privileges)' : ''}`;
  }
  if (typeof err.path !== 'string') return null;
  const reason = REASONS[err.code] ?? err.code;
  const verb = (err.syscall && VERBS[err.syscall]) ?? 'cannot use';
  return `${err.path}: ${verb}: ${reason}`;
}
