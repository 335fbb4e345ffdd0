/**
 * Certificate and server text is attacker-controlled. Every renderer passes it through one
 * neutraliser before its own escaping: control characters (C0 including NUL, DEL, C1),
 * bidirectional controls and marks (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069),
 * line/paragraph separators (U+2028, U+2029), the BOM, the XML non-characters U+FFFE/U+FFFF and
 * lone surrogates become visible escapes (`\x1b`, `\u202e`). A subject cannot move the cursor,
 * recolour the screen, reorder what the operator reads, break a Prometheus line or make a
 * JUnit file invalid XML. JSON needs none of this: JSON.stringify escapes what it must and
 * keeps the exact text for programs.
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replaces every unsafe character by a visible escape; the one sanitiser of all renderers. */
export function neutralize(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** For a terminal (text renderers). */
export const sanitizeForTerminal = neutralize;

/** Neutralised, then escaped for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return neutralize(s).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Neutralised (XML 1.0 forbids most C0 characters even as references), then XML-escaped. */
export function escapeXml(s: string): string {
  return neutralize(s).replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A Prometheus label value (text exposition format): neutralised (so no newline or other
 * control character is left), then `\` and `"` escaped as the format requires.
 */
export function escapePrometheusLabel(s: string): string {
  return neutralize(s).replace(/[\\"]/g, (c) => `\\${c}`);
}
