/*
 * The service's configuration (`certvet serve -c certvet.yaml`, DESIGN.md §9): one zod schema,
 * from which schema/config.schema.json is generated (scripts/configSchema.ts; a test keeps the
 * shipped file equal to it), read from YAML or JSON with errors that name file:line and the key.
 * Relative paths (store, ca, chain, crl, targetsFile, client files) are relative to the config
 * file's directory. Nothing here reads certificates or target files: src/monitor/plan.ts does,
 * so `--check-config` reports those errors too, with the key that named the file.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { isMap, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { STARTTLS_PROTOCOLS } from '../scan/target.js';
import { buildEntrySchema } from '../scan/targetFile.js';
import { configDurationMs } from '../util/duration.js';
import { notifyListSchema } from './notify/config.js';

/** A configuration that cannot be used: the message names file:line and the key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CERTVET_CONFIG_INVALID';
}

/** Largest config file read (a config is a few KB; target lists go in targetsFile). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

const duration = (what: string, minMs: number, maxMs: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = configDurationMs(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a ${what} (e.g. 30s, 5m, 1h)` });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is out of range for a ${what}` });
      return z.NEVER;
    }
    return ms;
  });

const files = z
  .union([z.string().min(1), z.array(z.string().min(1))])
  .transform((v) => (Array.isArray(v) ? v : [v]));
const days = z.number().int().min(0).max(3650);

/** Options that say how to check (the `check` flags of the same names), at any level. */
const checkOptions = {
  ca: files.optional(),
  systemCa: z.boolean().optional(),
  chain: files.optional(),
  crl: files.optional(),
  clientCert: z.string().min(1).optional(),
  clientKey: z.string().min(1).optional(),
  clientPfx: z.string().min(1).optional(),
  clientKeyPassEnv: z.string().min(1).optional(),
  clientKeyPassFile: z.string().min(1).optional(),
  timeout: duration('timeout', 100, 600_000).optional(),
  warnDays: days.optional(),
  critDays: days.optional(),
  warnPercent: z.number().min(0).max(100).optional(),
  revocation: z.enum(['off', 'soft', 'hard']).optional(),
  profile: z.enum(['webpki', 'rfc5280']).optional(),
  strict: z.boolean().optional(),
  starttls: z.enum(STARTTLS_PROTOCOLS).optional(),
};

/**
 * How often an ongoing problem is announced again (a `reminder` event while a target stays
 * warning, critical or error): `4h`, `1d`…; absent: never.
 */
const renotify = duration('renotify interval', 60_000, 365 * 86400_000);

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a label name is [a-zA-Z_][a-zA-Z0-9_]*');

const groupSchema = z
  .object({
    name: z.string().regex(/^[\w.-]{1,64}$/, 'a group name is 1 to 64 letters, digits, "_", "." or "-"'),
    targets: z.array(z.union([z.string().min(1), buildEntrySchema(z)])).optional(),
    targetsFile: z.string().min(1).optional(),
    interval: duration('interval', 1000, 7 * 86400_000).optional(),
    renotify: renotify.optional(),
    labels: z.record(labelName, z.string()).optional(),
    ...checkOptions,
  })
  .strict()
  .refine((g) => g.targets !== undefined || g.targetsFile !== undefined, {
    message: 'a group needs "targets" or "targetsFile"',
  });

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'expected HOST:PORT (e.g. 127.0.0.1:9219, [::1]:9219)')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0 to 65535');

const tokenSchema = z
  .object({
    name: z.string().min(1).optional(),
    env: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.env === undefined) !== (t.file === undefined), {
    message: 'a token comes from "env" (an environment variable) or "file", exactly one',
  });

export const configSchema = z
  .object({
    listen: listen.default('127.0.0.1:9219'),
    store: z.string().min(1).default('./certvet.db'),
    defaults: z
      .object({
        interval: duration('interval', 1000, 7 * 86400_000).default(300_000),
        concurrency: z.number().int().min(1).max(1024).default(16),
        /** Random spread of each run time, as a fraction of the interval. */
        jitter: z.number().min(0).max(0.5).default(0.1),
        renotify: renotify.optional(),
        ...checkOptions,
      })
      .strict()
      .default({ interval: 300_000, concurrency: 16, jitter: 0.1 }),
    groups: z.array(groupSchema).default([]),
    resolve: z.array(z.string().min(1)).default([]),
    modules: z.record(z.string().regex(/^[\w.-]{1,64}$/), z.object(checkOptions).strict()).default({}),
    probe: z
      .object({ allow: z.array(z.string().min(1)).default([]) })
      .strict()
      .default({ allow: [] }),
    notify: notifyListSchema.default([]),
    auth: z
      .object({ tokens: z.array(tokenSchema).min(1) })
      .strict()
      .optional(),
    /** Days of check history kept. */
    retention: z.number().int().min(1).max(36500).default(90),
  })
  .strict();

export type ServeConfigInput = z.input<typeof configSchema>;
export type ServeConfig = z.output<typeof configSchema> & {
  /** The file it was read from (null: built in code), and its directory (relative paths). */
  readonly file: string | null;
  readonly baseDir: string;
};
export type GroupConfig = ServeConfig['groups'][number];
export type CheckOptionsConfig = z.output<z.ZodObject<typeof checkOptions>>;

/** The JSON Schema of the config file (what editors validate against). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    $id: 'https://certvet.dev/schema/config.schema.json',
    title: 'certvet serve configuration',
  };
}

type Issue = z.core.$ZodIssue;

/**
 * The most telling issue: of a union (a target is a string or an entry object), the branch that
 * got furthest — "groups.0.targets.1.starttls: …", not "groups.0.targets.1: Invalid input".
 */
function deepest(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: Issue | null = null;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    const candidate = deepest({ ...first, path: [...issue.path, ...first.path] } as Issue);
    if (!best || candidate.path.length > best.path.length) best = candidate;
  }
  return best && best.path.length > issue.path.length ? best : issue;
}

/** Validates a config object (e.g. from code); `where` and `lineOf` place errors. */
export function parseConfig(
  value: unknown,
  where: { file: string | null; baseDir: string; lineOf?: (path: readonly PropertyKey[]) => number | null },
): ServeConfig {
  const parsed = configSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = deepest(parsed.error.issues[0]!);
    const path =
      issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined
        ? [...issue.path, issue.keys[0]]
        : issue.path;
    const line = where.lineOf?.(path) ?? null;
    const key = path.length ? path.map(String).join('.') : '(top level)';
    const at = where.file ? `${where.file}${line ? `:${line}` : ''}: ` : '';
    const message = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
    throw new ConfigError(`${at}${key}: ${message}`);
  }
  const config = { ...parsed.data, file: where.file, baseDir: where.baseDir };
  const names = new Set<string>();
  for (const [i, g] of config.groups.entries()) {
    if (names.has(g.name)) {
      const line = where.lineOf?.(['groups', i, 'name']) ?? null;
      throw new ConfigError(
        `${where.file ? `${where.file}${line ? `:${line}` : ''}: ` : ''}groups.${i}.name: "${g.name}" is used by another group`,
      );
    }
    names.add(g.name);
  }
  return config;
}

/** Reads and validates a YAML or JSON config file. */
export function loadConfig(file: string): ServeConfig {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ConfigError(`${file}: not a regular file`);
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigError(`${file}: larger than ${MAX_CONFIG_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(
      `${file}: cannot read the config: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
    );
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    throw new ConfigError(`${file}:${pos.line}:${pos.col}: invalid YAML/JSON: ${e.message.split('\n')[0]}`);
  }
  const lineOf = (path: readonly PropertyKey[]): number | null => {
    // The deepest node of the path that exists: a missing key is reported at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(
        path.slice(0, n).map((k) => (typeof k === 'symbol' ? String(k) : k)),
        true,
      ) as YamlNode | undefined;
      if (node?.range) {
        // A key's line is where the key is written, not its value.
        const parent =
          n > 0 ? (doc.getIn(path.slice(0, n - 1) as unknown[], true) as YamlNode | undefined) : undefined;
        if (parent && isMap(parent)) {
          const pair = parent.items.find((p) => (p.key as { value?: unknown })?.value === path[n - 1]);
          const keyNode = pair?.key as YamlNode | undefined;
          if (keyNode?.range) return lc.linePos(keyNode.range[0]).line;
        }
        return lc.linePos(node.range[0]).line;
      }
    }
    return null;
  };
  return parseConfig(doc.toJS(), { file, baseDir: dirname(resolvePath(file)), lineOf });
}

/** A path from the config, made absolute against the config's directory. */
export function configPath(config: Pick<ServeConfig, 'baseDir'>, p: string): string {
  return isAbsolute(p) ? p : resolvePath(config.baseDir, p);
}
