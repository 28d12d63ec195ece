/**
 * Shared benchmark helpers (conventions 15): every benchmark times its subject and an honest
 * baseline in the same run, and reports medians and the ratio, never a lone absolute time.
 * Results go to bench/results/<name>.json with the machine's facts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Timing {
  runs: number[];
  median: number;
}

/** Runs `fn` `warmup` times untimed, then `runs` times; seconds per run. */
export async function time(fn: () => Promise<unknown> | unknown, runs = 5, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push((performance.now() - t0) / 1000);
  }
  return { runs: out, median: median(out) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

export interface Comparison {
  name: string;
  subject: string;
  baseline: string;
  /** Work items per run (frames, seconds of audio...), to print throughput. */
  units?: { count: number; label: string };
  subjectTiming: Timing;
  baselineTiming: Timing;
  /** subject throughput / baseline throughput (>1: subject faster). */
  ratio: number;
  target?: string;
  extra?: Record<string, unknown>;
}

/**
 * Prints and returns subject vs baseline. The ratio divides the medians, so both timings must
 * cover the same work (the same frames, the same seconds of audio); normalise per item first
 * when they do not.
 */
export function compare(
  name: string,
  subject: string,
  subjectTiming: Timing,
  baseline: string,
  baselineTiming: Timing,
  opts: { units?: { count: number; label: string }; target?: string; extra?: Record<string, unknown> } = {},
): Comparison {
  const c: Comparison = {
    name,
    subject,
    baseline,
    subjectTiming,
    baselineTiming,
    ratio: baselineTiming.median / subjectTiming.median,
    ...opts,
  };
  const rate = (t: Timing): string =>
    opts.units ? ` (${(opts.units.count / t.median).toFixed(1)} ${opts.units.label}/s)` : '';
  console.log(`\n${name}`);
  console.log(`  ${subject.padEnd(44)} median ${subjectTiming.median.toFixed(3)} s${rate(subjectTiming)}`);
  console.log(`  ${baseline.padEnd(44)} median ${baselineTiming.median.toFixed(3)} s${rate(baselineTiming)}`);
  console.log(`  ratio (throughput subject / baseline): ${c.ratio.toFixed(3)}${opts.target ? `   target ${opts.target}` : ''}`);
  return c;
}

export function writeResults(name: string, results: unknown): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ machine: machine(), results }, null, 2));
  console.log(`\nwrote ${path}`);
  return path;
}

/** Shared clips come only from AVDUB_TEST_DATA (default ../shared/data beside the repo). */
export function dataDir(): string {
  return process.env.AVDUB_TEST_DATA ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data');
}
