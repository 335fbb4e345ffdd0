/**
 * Reads a TargetResult back from its JSON (a line of `--format jsonl`), for `certvet report
 * merge`: the fields the renderers rely on are checked, so a truncated or foreign line is
 * refused with the field that is wrong instead of producing a broken report, and a status that
 * its findings do not give is refused rather than trusted. Fields beyond
 * these are kept as they are (newer writers may add fields; DESIGN.md §4).
 */
import { z } from 'zod';
import { statusOf, type TargetResult } from './result.js';

const finding = z.looseObject({
  code: z.string(),
  severity: z.enum(['info', 'warning', 'critical', 'error']),
  message: z.string(),
});

const chainEntry = z.looseObject({
  subject: z.string(),
  issuer: z.string(),
  serialNumber: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  daysRemaining: z.number(),
  sha256: z.string(),
});

const targetResult = z.looseObject({
  target: z.string(),
  host: z.string().nullable(),
  port: z.number().nullable(),
  address: z.string().nullable(),
  servername: z.string().nullable(),
  status: z.enum(['ok', 'warning', 'critical', 'error']),
  findings: z.array(finding),
  chain: z.array(chainEntry),
  durationMs: z.number(),
  tls: z.looseObject({ protocol: z.string().nullable() }).optional(),
});

export class ResultParseError extends Error {
  override readonly name = 'ResultParseError';
  readonly code = 'CERTVET_INVALID_RESULT';
}

/** Parses one result (a jsonl line); throws ResultParseError naming the field. */
export function parseResult(text: string): TargetResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ResultParseError(`not JSON: ${(e as Error).message}`);
  }
  const r = targetResult.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ResultParseError(
      `not a certvet result: ${issue.path.length ? `"${issue.path.join('.')}": ` : ''}${issue.message}`,
    );
  }
  const result = r.data as unknown as TargetResult;
  // The status is derived from the findings; a line whose status is milder (or harsher) than
  // its findings was edited or corrupted, and is not reported as it claims.
  const derived = statusOf(result.findings);
  if (derived !== result.status)
    throw new ResultParseError(`"status" is "${result.status}" but its findings make it "${derived}"`);
  return result;
}
