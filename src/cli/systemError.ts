/**
 * A file-system error that escaped a command (an output path that cannot be written, a
 * directory that cannot be created): a usage error naming the path, never a stack trace.
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

/** The one-line message for an errno error with a path, or null for anything else. */
export function describeSystemError(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== 'string' || typeof err.path !== 'string') return null;
  const reason = REASONS[err.code] ?? err.code;
  const verb = (err.syscall && VERBS[err.syscall]) ?? 'cannot use';
  return `${err.path}: ${verb}: ${reason}`;
}
