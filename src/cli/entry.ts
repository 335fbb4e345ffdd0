/*
 * The file of the running CLI, for commands that start certvet again in a child process (`lab
 * start`). `./main.js` beside this module is that file in both layouts: dist/src/cli/main.js as
 * tsc builds it, and dist/cli/main.js in the bundle users run (scripts/bundle.ts), which is flat.
 */
import { fileURLToPath } from 'node:url';

export const cliEntry = (): string => fileURLToPath(new URL('./main.js', import.meta.url));
