import { content, DerError, TAG, type Tlv } from './der.js';

/** A certificate or CRL time, kept at the one-second granularity RFC 5280 encodes. */
export interface X509Time {
  /** Seconds since the Unix epoch (UTC). */
  readonly seconds: number;
  readonly encoding: 'UTCTime' | 'GeneralizedTime';
  /** The text as encoded, for messages. */
  readonly raw: string;
}

/** Reads `n` ASCII digits of `raw` at `at` as a number, or -1 when any is not a digit. */
function digits(raw: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = raw.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** YY|YYYY MM DD HH MM SS "Z", exactly: [year, month, day, hour, minute, second] or null. */
function fields(raw: string, yearDigits: 2 | 4): number[] | null {
  if (raw.length !== yearDigits + 11 || raw.charCodeAt(yearDigits + 10) !== 0x5a) return null;
  const out = [digits(raw, 0, yearDigits)];
  for (let at = yearDigits; at < yearDigits + 10; at += 2) out.push(digits(raw, at, 2));
  return out.includes(-1) ? null : out;
}

/**
 * Decodes a Time per RFC 5280 §4.1.2.5.1/§4.1.2.5.2: UTCTime is YYMMDDHHMMSSZ (YY >= 50 is
 * 19YY), GeneralizedTime is YYYYMMDDHHMMSSZ; seconds are mandatory, fractions and offsets are
 * forbidden, and every field must be in range.
 */
export function decodeTime(t: Tlv): X509Time {
  if (t.cls !== 0 || t.constructed) throw new DerError('Time: unexpected ASN.1 type');
  const c = content(t);
  let raw = '';
  for (let i = 0; i < c.length; i++) raw += String.fromCharCode(c[i]!);
  let y: number;
  let m: number[] | null;
  let encoding: X509Time['encoding'];
  if (t.tag === TAG.UTC_TIME) {
    m = fields(raw, 2);
    if (!m) throw new DerError(`UTCTime "${printable(raw)}" is not of the form YYMMDDHHMMSSZ`);
    const yy = m[0]!;
    y = yy >= 50 ? 1900 + yy : 2000 + yy;
    encoding = 'UTCTime';
  } else if (t.tag === TAG.GENERALIZED_TIME) {
    m = fields(raw, 4);
    if (!m) throw new DerError(`GeneralizedTime "${printable(raw)}" is not of the form YYYYMMDDHHMMSSZ`);
    y = m[0]!;
    encoding = 'GeneralizedTime';
  } else {
    throw new DerError('Time: neither UTCTime nor GeneralizedTime');
  }
  const [, mo, d, h, mi, s] = m as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59)
    throw new DerError(`${encoding} "${raw}" is not a valid date and time`);
  return { seconds: daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s, encoding, raw };
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (as Date counts them;
 * H. Hinnant's days_from_civil), for any year 0..9999 — Date.UTC would map 0..99 to 19xx.
 */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
}

/** ISO text already made, per time value (parsed certificates are cached and reused). */
const isoText = new WeakMap<X509Time, string>();

/** ISO-8601 text of an X509Time. */
export function isoOf(t: X509Time): string {
  let text = isoText.get(t);
  if (text === undefined) {
    text = new Date(t.seconds * 1000).toISOString().replace('.000Z', 'Z');
    isoText.set(t, text);
  }
  return text;
}
