import { content, DerError, TAG, type Tlv } from './der.js';

/** A certificate or CRL time, kept at the one-second granularity RFC 5280 encodes. */
export interface X509Time {
  /** Seconds since the Unix epoch (UTC). */
  readonly seconds: number;
  readonly encoding: 'UTCTime' | 'GeneralizedTime';
  /** The text as encoded, for messages. */
  readonly raw: string;
}

const UTC_RE = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GEN_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Decodes a Time per RFC 5280 §4.1.2.5.1/§4.1.2.5.2: UTCTime is YYMMDDHHMMSSZ (YY >= 50 is
 * 19YY), GeneralizedTime is YYYYMMDDHHMMSSZ; seconds are mandatory, fractions and offsets are
 * forbidden, and every field must be in range.
 */
export function decodeTime(t: Tlv): X509Time {
  if (t.cls !== 0 || t.constructed) throw new DerError('Time: unexpected ASN.1 type');
  const raw = Buffer.from(content(t)).toString('latin1');
  let y: number;
  let m: RegExpExecArray | null;
  let encoding: X509Time['encoding'];
  if (t.tag === TAG.UTC_TIME) {
    m = UTC_RE.exec(raw);
    if (!m) throw new DerError(`UTCTime "${printable(raw)}" is not of the form YYMMDDHHMMSSZ`);
    const yy = Number(m[1]);
    y = yy >= 50 ? 1900 + yy : 2000 + yy;
    encoding = 'UTCTime';
  } else if (t.tag === TAG.GENERALIZED_TIME) {
    m = GEN_RE.exec(raw);
    if (!m) throw new DerError(`GeneralizedTime "${printable(raw)}" is not of the form YYYYMMDDHHMMSSZ`);
    y = Number(m[1]);
    encoding = 'GeneralizedTime';
  } else {
    throw new DerError('Time: neither UTCTime nor GeneralizedTime');
  }
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const s = Number(m[6]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59)
    throw new DerError(`${encoding} "${raw}" is not a valid date and time`);
  // Not Date.UTC: it maps years 0..99 to 1900..1999, and GeneralizedTime may say 0000 or 0001.
  const at = new Date(0);
  at.setUTCFullYear(y, mo - 1, d);
  at.setUTCHours(h, mi, s, 0);
  return { seconds: Math.floor(at.getTime() / 1000), encoding, raw };
}

function daysInMonth(y: number, m: number): number {
  // Day 0 of the next month is the last day of month m (setUTCFullYear, unlike Date.UTC, keeps y < 100).
  const last = new Date(0);
  last.setUTCFullYear(y, m, 0);
  return last.getUTCDate();
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
}

/** ISO-8601 text of an X509Time. */
export function isoOf(t: X509Time): string {
  return new Date(t.seconds * 1000).toISOString().replace('.000Z', 'Z');
}
