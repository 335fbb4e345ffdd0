import { createHash } from 'node:crypto';

/**
 * Deterministic sharding for batch runners: a target belongs to shard K of N by a hash of its
 * text, so shards are stable when the file is reordered or grows.
 */
export function inShard(target: string, k: number, n: number): boolean {
  if (n <= 1) return true;
  const h = createHash('sha256').update(target.trim().toLowerCase()).digest();
  return (h.readUInt32BE(0) % n) + 1 === k;
}
