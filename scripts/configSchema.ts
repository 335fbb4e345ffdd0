/**
 * Writes schema/config.schema.json, the JSON Schema of `certvet serve`'s config, from its zod
 * schema (src/monitor/config.ts): `npm run schema:config`. test/monitor-config.test.ts fails
 * when the shipped file differs from what this generates.
 */
import { realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/monitor/config.js';

export function configSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const out = fileURLToPath(new URL('../../schema/config.schema.json', import.meta.url));
  writeFileSync(out, configSchemaText());
  console.log(`wrote ${out}`);
}
