import { Command, CommanderError } from 'commander';
import { neutralize } from '../report/sanitize.js';
import { packageVersion } from '../util/packageRoot.js';
import { InputError, UsageError } from './errors.js';
import { describeSystemError } from './systemError.js';

type Io = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };
type Register = (program: Command, io: Io) => void;

/**
 * The commands, in help order, each loaded on demand: `certvet check` does not load the lab's
 * certificate generator, nor `certvet lab` the scanner (start-up is part of every run).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  check: async () => (await import('./commands/check.js')).registerCheck,
  verify: async () => (await import('./commands/verify.js')).registerVerify,
  inspect: async () => (await import('./commands/inspect.js')).registerInspect,
  lab: async () => (await import('./commands/lab.js')).registerLab,
  demo: async () => (await import('./commands/demo.js')).registerDemo,
  'mtls-server': async () => (await import('./commands/mtlsServer.js')).registerMtlsServer,
  report: async () => (await import('./commands/report.js')).registerReport,
  serve: async () => (await import('./commands/serve.js')).registerServe,
};

/**
 * Builds the certvet command line: every command, or only `command` when it names one (what
 * `run` does; help, a typo or no command loads them all), or none when `command` is null (a
 * bare `--version` needs no command). The commands print; the library they call never does.
 */
export async function buildProgram(
  io: Io = { stdout: process.stdout, stderr: process.stderr },
  command?: string | null,
): Promise<Command> {
  const program = new Command();
  program
    .name('certvet')
    .description('Tells you, quickly and exactly, whether TLS certificates can be trusted — and why not.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const names =
    command === null
      ? []
      : command !== undefined && Object.hasOwn(COMMANDS, command)
        ? [command]
        : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]!())(program, io);
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
  // The first argument that is not an option is the command (certvet has no global options
  // that take a value). Without one, `--version` is answered without loading any command.
  const args = argv.slice(2);
  const command = args.find((a) => !a.startsWith('-'));
  const versionOnly =
    command === undefined && args.length > 0 && args.every((a) => a === '-V' || a === '--version');
  const program = await buildProgram(undefined, versionOnly ? null : command);
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
