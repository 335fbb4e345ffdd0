/** Minimal DER writing for the lab's CRL and OCSP builders (test fixtures, not parsing). */
export function tlv(tag: number, content: Uint8Array | Buffer): Buffer {
  const len = content.length;
  let head: number[];
  if (len < 0x80) head = [tag, len];
  else if (len < 0x100) head = [tag, 0x81, len];
  else if (len < 0x10000) head = [tag, 0x82, len >> 8, len & 0xff];
  else if (len < 0x1000000) head = [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  else head = [tag, 0x84, len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff];
  return Buffer.concat([Buffer.from(head), content]);
}

export const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));

export function integer(hex: string): Buffer {
  let b = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if ((b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

const p2 = (n: number) => String(n).padStart(2, '0');

function stamp(d: Date): string {
  return `${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`;
}

/** RFC 5280 time: UTCTime through 2049, GeneralizedTime after. */
export function x509Time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  return y >= 2050
    ? tlv(0x18, Buffer.from(`${y}${stamp(d)}`))
    : tlv(0x17, Buffer.from(`${p2(y % 100)}${stamp(d)}`));
}

export function generalizedTime(d: Date): Buffer {
  return tlv(0x18, Buffer.from(`${d.getUTCFullYear()}${stamp(d)}`));
}

export const OIDS = {
  ecdsaSha256: seq(Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])),
  sha256Rsa: seq(
    Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]),
    Buffer.from([0x05, 0x00]),
  ),
};
