import { readdirSync, readFileSync } from 'node:fs';

/**
 * How many sockets the process may open at once without running into the open-file limit
 * (RLIMIT_NOFILE; EMFILE past it): read the soft limit from /proc/self/limits on Linux, leave
 * headroom for what is already open (stdio, the event loop, files) plus a margin, and give a
 * quarter of the rest to certificate-controlled fetches (OCSP, CRL, AIA) and the remainder to
 * target connections. Where the limit cannot be read, a conservative 256 (macOS's default) is
 * assumed; on Windows there is no such limit.
 */
export interface FdBudget {
  /** The soft open-file limit (Infinity: none). */
  readonly limit: number;
  /** Whether `limit` was read from the system (false: assumed). */
  readonly measured: boolean;
  /** Target connections (probes) at once. */
  readonly targets: number;
  /** Revocation and AIA fetches at once, across all targets. */
  readonly fetches: number;
}

const MARGIN = 16;
const ASSUMED_LIMIT = 256;

/** The soft RLIMIT_NOFILE from /proc/self/limits; null where that file does not exist. */
export function readSoftFdLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined)
    try {
      text = readFileSync('/proc/self/limits', 'latin1');
    } catch {
      return null;
    }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return null;
  return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

function openNow(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/** The budget for a soft limit of `limit` descriptors of which `inUse` are taken. */
export function budgetFor(limit: number, inUse = 32, measured = true): FdBudget {
  if (!Number.isFinite(limit))
    return { limit, measured, targets: Number.POSITIVE_INFINITY, fetches: Number.POSITIVE_INFINITY };
  const usable = Math.max(2, limit - inUse - MARGIN);
  const fetches = Math.max(1, Math.floor(usable / 4));
  return { limit, measured, targets: Math.max(1, usable - fetches), fetches };
}

let cached: FdBudget | null = null;

/** This process's budget, computed once (the first call counts the descriptors open then). */
export function fdBudget(): FdBudget {
  if (cached) return cached;
  const limit = readSoftFdLimit();
  if (limit !== null) cached = budgetFor(limit, openNow() ?? 32);
  else if (process.platform === 'win32') cached = budgetFor(Number.POSITIVE_INFINITY, 0, false);
  else cached = budgetFor(ASSUMED_LIMIT, openNow() ?? 32, false);
  return cached;
}
