import { createHash } from 'node:crypto';

/**
 * A monitored target's id: stable across restarts and reloads, derived from its group, its text
 * and the address it is dialled at (so its history follows it), 16 hex digits.
 */
export function targetId(group: string, target: string, resolve: string | undefined): string {
  return createHash('sha256')
    .update(`${group}\u0000${target}\u0000${resolve ?? ''}`)
    .digest('hex')
    .slice(0, 16);
}
