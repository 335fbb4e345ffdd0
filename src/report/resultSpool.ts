/**
 * Where results wait for a report that needs all of them (json, junit, prometheus, html,
 * text): each result is kept as one JSON line — in memory while the lines are small, then in
 * a temporary file — and only a compact entry per target (status, target, leaf expiry,
 * duration and where its line is) stays in memory. Renderers read results back one at a time,
 * so peak memory follows the number of targets only through those entries, never through
 * their chains and findings. The summary (and so the exit status) comes from counters.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Status, Summary, TargetResult } from '../model/result.js';

/** What a renderer may know about every target without reading its result back. */
export interface ResultEntry {
  /** Position of the target in the input (the report's order). */
  readonly index: number;
  readonly target: string;
  readonly status: Status;
  readonly durationMs: number;
  /** The leaf's notAfter (ISO) and whole days remaining, when a chain was seen. */
  readonly leafNotAfter: string | null;
  readonly leafDays: number | null;
}

/** A report's results, readable one at a time: what the renderers take. */
export interface ReportSource {
  readonly generatedAt: string;
  readonly summary: Summary;
  /** One entry per result, in input order. */
  readonly entries: readonly ResultEntry[];
  /** The full result of an entry. */
  read(entry: ResultEntry): TargetResult;
}

/** In-memory lines beyond this many bytes move to a temporary file. */
const DEFAULT_MEMORY_BYTES = 8 * 1024 * 1024;

interface Located extends ResultEntry {
  /** In memory: the line itself; spilled: its offset and length in the file. */
  line: string | null;
  offset: number;
  length: number;
}

export class ResultSpool implements ReportSource {
  readonly summary = { total: 0, ok: 0, warning: 0, critical: 0, error: 0 };
  private readonly located: Located[] = [];
  private sorted = true;
  private memoryBytes = 0;
  private dir: string | null = null;
  private fd: number | null = null;
  private fileBytes = 0;

  constructor(
    readonly generatedAt: string = new Date().toISOString(),
    private readonly memoryLimit: number = DEFAULT_MEMORY_BYTES,
  ) {}

  /** Adds a result; `index` is its place in the input (default: arrival order). */
  add(result: TargetResult, index: number = this.located.length): void {
    const line = JSON.stringify(result);
    const leaf = result.chain[0];
    const last = this.located.at(-1);
    if (last && last.index > index) this.sorted = false;
    const entry: Located = {
      index,
      target: result.target,
      status: result.status,
      durationMs: result.durationMs,
      leafNotAfter: leaf?.notAfter ?? null,
      leafDays: leaf?.daysRemaining ?? null,
      line,
      offset: 0,
      length: 0,
    };
    this.located.push(entry);
    this.summary.total++;
    this.summary[result.status]++;
    if (this.fd !== null) this.spill(entry);
    else {
      this.memoryBytes += line.length;
      if (this.memoryBytes > this.memoryLimit) for (const e of this.located) this.spill(e);
    }
  }

  get entries(): readonly ResultEntry[] {
    if (!this.sorted) {
      this.located.sort((a, b) => a.index - b.index);
      this.sorted = true;
    }
    return this.located;
  }

  read(entry: ResultEntry): TargetResult {
    const e = entry as Located;
    if (e.line !== null) return JSON.parse(e.line) as TargetResult;
    const buf = Buffer.allocUnsafe(e.length);
    let got = 0;
    while (got < e.length) {
      const n = readSync(this.fd!, buf, got, e.length - got, e.offset + got);
      if (n === 0) throw new Error('certvet: the temporary result file was truncated');
      got += n;
    }
    return JSON.parse(buf.toString('utf8')) as TargetResult;
  }

  /** Whether results have moved to a temporary file (for tests and diagnostics). */
  get spilled(): boolean {
    return this.fd !== null;
  }

  /** Removes the temporary file. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private spill(e: Located): void {
    if (e.line === null) return;
    if (this.fd === null) {
      this.dir = mkdtempSync(join(tmpdir(), 'certvet-results-'));
      this.fd = openSync(join(this.dir, 'results.jsonl'), 'w+', 0o600);
    }
    const buf = Buffer.from(e.line, 'utf8');
    let put = 0;
    while (put < buf.length) put += writeSync(this.fd, buf, put, buf.length - put, this.fileBytes + put);
    e.offset = this.fileBytes;
    e.length = buf.length;
    this.fileBytes += buf.length;
    e.line = null;
    this.memoryBytes = 0;
  }
}

/** A ReportSource over results already in memory (the library's `renderReport`). */
export function memorySource(report: {
  readonly generatedAt: string;
  readonly summary: Summary;
  readonly results: readonly TargetResult[];
}): ReportSource {
  const entries: ResultEntry[] = report.results.map((r, index) => ({
    index,
    target: r.target,
    status: r.status,
    durationMs: r.durationMs,
    leafNotAfter: r.chain[0]?.notAfter ?? null,
    leafDays: r.chain[0]?.daysRemaining ?? null,
  }));
  return {
    generatedAt: report.generatedAt,
    summary: report.summary,
    entries,
    read: (e) => report.results[e.index]!,
  };
}
