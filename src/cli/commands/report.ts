import type { Command } from 'commander';
import { parseResult, ResultParseError } from '../../model/parseResult.js';
import { exitCodeOf } from '../../model/result.js';
import { FORMATS, type Format, reportChunks } from '../../report/render.js';
import { ResultSpool } from '../../report/resultSpool.js';
import { neutralize } from '../../report/sanitize.js';
import { colorsFor } from '../../report/style.js';
import { inputName } from '../../util/boundedRead.js';
import { UsageError } from '../errors.js';
import { inputIdleTimeoutMs, toCliError } from '../files.js';
import { readLines } from '../lineReader.js';
import { oneOf } from '../parse.js';
import { openReportOutput } from '../reportOutput.js';

/** The longest jsonl line `report merge` reads (one result; chains are far smaller). */
export const MAX_RESULT_LINE_BYTES = 16 * 1024 * 1024;

export interface MergeFlags {
  format: Format;
  output?: string;
  color: boolean;
}

interface MergeIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * `certvet report merge a.jsonl b.jsonl …`: the shards of a `check --shard K/N` run (or any
 * jsonl outputs) as one report in any format. Files are read line by line into a ResultSpool,
 * so memory follows the number of results only through a compact entry each. Results keep the
 * order of the files and of the lines in them; a target in more than one file is kept each
 * time, with a warning. Exit status as `check`: by the worst status merged.
 */
export async function runMerge(files: readonly string[], f: MergeFlags, io: MergeIo): Promise<number> {
  if (files.length === 0) throw new UsageError('report merge: no files given (the jsonl outputs to merge)');
  if (files.filter((x) => x === '-').length > 1)
    throw new UsageError('report merge: "-" (stdin) given twice');
  const spool = new ResultSpool();
  const firstSeen = new Map<string, string>();
  // Opened only once every input has been read: a merge that fails on an input leaves an
  // existing -o report as it was, not truncated to nothing.
  let out: ReturnType<typeof openReportOutput> | null = null;
  try {
    for (const file of files) {
      const name = inputName(file);
      try {
        for await (const [line, text] of readLines(file, {
          maxLineBytes: MAX_RESULT_LINE_BYTES,
          idleTimeoutMs: inputIdleTimeoutMs(),
        })) {
          if (!text.trim()) continue;
          let r: ReturnType<typeof parseResult>;
          try {
            r = parseResult(text);
          } catch (e) {
            if (e instanceof ResultParseError) throw new UsageError(`${name}:${line}: ${e.message}`);
            throw e;
          }
          const where = `${name}:${line}`;
          const key = `${r.target}\u0000${r.address ?? ''}`;
          const before = firstSeen.get(key);
          if (before)
            io.stderr.write(
              `certvet: ${neutralize(`${where}: ${JSON.stringify(r.target)}${r.address ? ` (${r.address})` : ''} is also at ${before}; both are kept (overlapping shards?)`)}\n`,
            );
          else firstSeen.set(key, where);
          spool.add(r);
        }
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw toCliError(e, file, { what: 'result file (jsonl)', limit: MAX_RESULT_LINE_BYTES });
      }
    }
    firstSeen.clear();
    out = openReportOutput(f.output, io.stdout);
    const colors = colorsFor(io.stdout, f.color && !f.output);
    for (const chunk of reportChunks(spool, f.format, colors)) await out.write(chunk);
    await out.close();
    return exitCodeOf(spool);
  } finally {
    spool.close();
    out?.destroy();
  }
}

export function registerReport(program: Command, io: MergeIo): void {
  const report = program.command('report').description('work with saved results (jsonl)');
  report
    .command('merge')
    .description(
      'merge jsonl outputs (e.g. the shards of check --shard K/N) into one report; exit by worst status',
    )
    .argument('<file...>', 'jsonl files from check --format jsonl (- for stdin)')
    .option('--format <format>', FORMATS.join(', '), oneOf(FORMATS), 'text')
    .option('-o, --output <file>', 'write the report to a file')
    .option('--no-color', 'no colour (NO_COLOR is honoured too)')
    .action(async (files: string[], flags: MergeFlags) => {
      process.exitCode = await runMerge(files, flags, io);
    });
}
