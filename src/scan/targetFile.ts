import { isIP } from 'node:net';
import type { Node as YamlNode } from 'yaml';
import type { z as Zod } from 'zod';
import { lazyRequire } from '../util/lazyRequire.js';
import { STARTTLS_PROTOCOLS } from './target.js';

/** One entry of a target file, with its per-target options. */
export interface TargetEntry {
  readonly target: string;
  /** 1-based line in the file, for messages. */
  readonly line: number;
  readonly port?: number;
  readonly servername?: string;
  readonly resolve?: string;
  readonly starttls?: (typeof STARTTLS_PROTOCOLS)[number];
  readonly expectName?: string;
  readonly ca?: readonly string[];
  readonly clientCert?: string;
  readonly clientKey?: string;
  readonly warnDays?: number;
  readonly critDays?: number;
  readonly revocation?: 'off' | 'soft' | 'hard';
  /** Certificate rules for this target (see src/check/rules.ts). */
  readonly rules?: {
    readonly keyTypes?: string[];
    readonly minRsaBits?: number;
    readonly maxValidityDays?: number;
    readonly requireEku?: string[];
    readonly forbiddenIssuers?: string[];
    readonly severity?: 'info' | 'warning' | 'critical';
  };
}

export class TargetFileError extends Error {
  override readonly name = 'TargetFileError';
}

/*
 * yaml and zod are loaded on first use: a target list of plain lines (or targets given as
 * arguments) does not pay ~100 ms of start-up for a parser it does not need.
 */
const yaml = lazyRequire<typeof import('yaml')>('yaml');
const zod = lazyRequire<{ z: typeof Zod }>('zod');
let schema: ReturnType<typeof buildEntrySchema> | undefined;
const entrySchema = () => (schema ??= buildEntrySchema(zod().z));

/** The zod schema of one structured target entry (also the service config's group targets). */
export const buildEntrySchema = (z: typeof Zod) =>
  z
    .object({
      target: z.string().min(1),
      port: z.number().int().min(1).max(65535).optional(),
      servername: z.string().min(1).optional(),
      // The address to dial (the HOST:PORT part is the entry itself); "[::1]" as well as "::1".
      resolve: z
        .string()
        .min(1)
        .transform((v) => v.trim().replace(/^\[(.*)\]$/, '$1'))
        .refine((v) => isIP(v) !== 0, 'must be an IP address (the address to dial, e.g. 10.1.2.3 or [::1])')
        .optional(),
      starttls: z.enum(STARTTLS_PROTOCOLS).optional(),
      expectName: z.string().min(1).optional(),
      ca: z.union([z.string(), z.array(z.string())]).optional(),
      clientCert: z.string().optional(),
      clientKey: z.string().optional(),
      warnDays: z.number().int().min(0).optional(),
      critDays: z.number().int().min(0).optional(),
      revocation: z.enum(['off', 'soft', 'hard']).optional(),
      rules: z
        .object({
          keyTypes: z.array(z.string().min(1)).optional(),
          minRsaBits: z.number().int().positive().optional(),
          maxValidityDays: z.number().positive().optional(),
          requireEku: z.array(z.string().min(1)).optional(),
          forbiddenIssuers: z.array(z.string().min(1)).optional(),
          severity: z.enum(['info', 'warning', 'critical']).optional(),
        })
        .strict()
        .optional(),
    })
    .strict();

/**
 * The entries of a target file, one at a time: plain lines (`#` comments) are decoded line by
 * line from the bytes, so a 100,000-line file is held once, as read; YAML/JSON is parsed whole
 * (see `parseTargetFile`). Iterating twice reads the file twice (a validation pass, then the
 * scan), without keeping the entries.
 */
export function targetFileEntries(data: Uint8Array, file: string): Iterable<TargetEntry> {
  const bytes = data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? data.subarray(3) : data;
  if (isStructured(firstLineOf(bytes))) return parseStructured(Buffer.from(bytes).toString('utf8'), file);
  return {
    *[Symbol.iterator]() {
      let start = 0;
      let line = 0;
      const decoder = new TextDecoder();
      while (start < bytes.length) {
        let end = bytes.indexOf(0x0a, start);
        if (end < 0) end = bytes.length;
        line++;
        // A comment starts with "#" at the start of the line or after blanks, not inside a
        // target (a "#" there is part of it: a password with one is then refused whole).
        const text = decoder
          .decode(bytes.subarray(start, end))
          .replace(/(?:^|\s)#.*$/, '')
          .trim();
        if (text) yield { target: text, line };
        start = end + 1;
      }
    },
  };
}

/** The first line that is neither blank nor a comment (decides the file's format). */
function firstLineOf(bytes: Uint8Array): string {
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const l = Buffer.from(bytes.subarray(start, Math.min(end, start + 4096)))
      .toString('utf8')
      .trim();
    if (l && !l.startsWith('#')) return l;
    start = end + 1;
  }
  return '';
}

/** YAML list or map, or JSON; a bracketed IPv6 target ("[::1]:443") is a plain line. */
function isStructured(firstLine: string): boolean {
  return /^\s*(-\s|targets\s*:|\{|\[\s*(["{\]]|$))/.test(firstLine);
}

/**
 * Reads a target file: plain lines (`#` comments), or YAML/JSON — a list, or `{ targets: [...] }`
 * — whose entries are target strings or objects with per-target options. Errors name the file
 * and line.
 */
export function parseTargetFile(text: string, file: string): TargetEntry[] {
  return [...targetFileEntries(new TextEncoder().encode(text), file)];
}

function parseStructured(trimmed: string, file: string): TargetEntry[] {
  const { isMap, isSeq, LineCounter, parseDocument } = yaml();
  const lc = new LineCounter();
  const doc = parseDocument(trimmed, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    throw new TargetFileError(
      `${file}:${pos.line}:${pos.col}: invalid YAML/JSON: ${e.message.split('\n')[0]}`,
    );
  }
  const lineOf = (n: YamlNode | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : 1);
  let list: YamlNode | null | undefined = doc.contents as YamlNode | null;
  if (isMap(list)) {
    const t = list.get('targets', true) as YamlNode | undefined;
    const extra = list.items
      .map((p) => String((p.key as { value?: unknown })?.value))
      .filter((k) => k !== 'targets');
    if (extra.length)
      throw new TargetFileError(`${file}:${lineOf(list)}: unknown key "${extra[0]}" (expected "targets")`);
    list = t;
  }
  if (!isSeq(list))
    throw new TargetFileError(
      `${file}:${lineOf(list)}: expected a list of targets (or "targets:" with a list)`,
    );
  return list.items.map((item) => {
    const node = item as YamlNode;
    const line = lineOf(node);
    const value = (node as { toJSON(): unknown }).toJSON();
    if (typeof value === 'string') return { target: value, line };
    const parsed = entrySchema().safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      let at = line;
      const key = issue.path[0] ?? (issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined);
      if (isMap(node) && key !== undefined) {
        const pair = node.items.find((p) => (p.key as { value?: unknown })?.value === key);
        if (pair) at = lineOf(pair.key as YamlNode);
      }
      const field = issue.path.length ? `"${issue.path.join('.')}"` : 'entry';
      throw new TargetFileError(`${file}:${at}: ${field}: ${issue.message}`);
    }
    const v = parsed.data;
    return {
      ...v,
      ca: v.ca === undefined ? undefined : Array.isArray(v.ca) ? v.ca : [v.ca],
      line,
    } as TargetEntry;
  });
}
