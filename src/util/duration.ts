/*
 * The one duration grammar of certvet, for flags (`--timeout 10s`), environment variables
 * (CERTVET_INPUT_TIMEOUT), library options (`timeout: '10s'`) and the service's config
 * (`interval: 5m`): a decimal number with an optional unit — `ms`, `s`, `m`, `h`, `d` — where a
 * bare number is seconds. Each caller applies its own range and wording; a library option given
 * as a JavaScript number is milliseconds, as Node's own timeouts are (src/check/checker.ts).
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86400_000 };

/** Milliseconds (rounded), or null when `text` is not a duration. */
export function parseDurationText(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
}

/** A config value: duration text, or a number of seconds. Milliseconds, or null. */
export function configDurationMs(value: string | number): number | null {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : null;
  return parseDurationText(value);
}
