import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { neutralize } from '../report/sanitize.js';
import { registerCheck } from './commands/check.js';
import { registerDemo } from './commands/demo.js';
import { registerInspect } from './commands/inspect.js';
import { registerLab } from './commands/lab.js';
import { registerMtlsServer } from './commands/mtlsServer.js';
import { registerReport } from './commands/report.js';
import { registerVerify } from './commands/verify.js';
import { InputError, UsageError } from './errors.js';
import { describeSystemError } from './systemError.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Builds the certvet command line. The commands print; the library they call never does. */
export function buildProgram(io = { stdout: process.stdout, stderr: process.stderr }): Command {
  const program = new Command();
  program
    .name('certvet')
    .description('Tells you, quickly and exactly, whether TLS certificates can be trusted — and why not.')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerCheck(program, io);
  registerVerify(program, io);
  registerInspect(program, io);
  registerLab(program, io);
  registerDemo(program, io);
  registerMtlsServer(program, io);
  registerReport(program, io);
  program.addHelpText(
    'after',
    `
Exit status: 0 all ok, 1 warnings, 2 critical problems, 3 input could not be read or checked, 64 usage error.
Inputs (files, devices, FIFOs, - for stdin) are read up to documented size limits; pipes and FIFOs
give up after CERTVET_INPUT_TIMEOUT without data (default 60s). See docs/check.md, "Input limits".
Docs: docs/verification.md (what is checked), docs/conformance.md (x509-limbo results).`,
  );
  return program;
}

/** Runs the CLI on `argv` (process.argv form) and returns the exit status; never calls process.exit. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return 0;
      return 64;
    }
    if (e instanceof UsageError || e instanceof InputError) {
      // Messages may quote server or certificate text: neutralised like every report.
      process.stderr.write(
        `${e.message
          .split('\n')
          .map((l) => `certvet: ${neutralize(l)}`)
          .join('\n')}\n`,
      );
      return e.exitCode;
    }
    const sys = describeSystemError(e);
    if (sys) {
      process.stderr.write(`certvet: ${neutralize(sys)}\n`);
      return 64;
    }
    process.stderr.write(`certvet: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 70;
  }
}
