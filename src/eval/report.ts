/**
 * Tables of evaluation results: plain text for the terminal (`avdub eval`) and Markdown for
 * docs/evaluation.md (`scripts/eval-all.ts`). One row per clip and strategy.
 */
import type { EvalStrategy, EvaluationResult, StrategyMetrics } from './evaluate.js';

interface Column {
  head: string;
  cell: (m: StrategyMetrics) => string;
}

const fixed = (x: number | undefined, digits: number): string => {
  if (x === undefined || Number.isNaN(x)) return 'n/a';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return x.toFixed(digits);
};
const signed = (x: number): string => (Number.isFinite(x) && x > 0 ? `+${x}` : `${x}`);

const COLUMNS: Column[] = [
  { head: 'PSNR dB', cell: (m) => fixed(m.self.psnrMouth, 2) },
  { head: 'SSIM', cell: (m) => fixed(m.self.ssimMouth, 3) },
  { head: 'LMD', cell: (m) => fixed(m.self.lmd, 4) },
  { head: 'sharp', cell: (m) => fixed(m.self.sharpnessRatio, 2) },
  { head: 'jitter', cell: (m) => fixed(m.self.jitter, 4) },
  { head: 'changed', cell: (m) => `${m.self.changedOutsideMask}` },
  { head: 'self r', cell: (m) => fixed(m.self.openingCorrelation, 2) },
  { head: 'cross r', cell: (m) => fixed(m.cross.openingCorrelation, 2) },
  { head: 'replay', cell: (m) => fixed(m.cross.replay, 2) },
  { head: 'cross offset', cell: (m) => `${signed(m.cross.avOffset)} (${fixed(m.cross.avOffsetCorrelation, 2)})` },
  { head: 'unseen r', cell: (m) => fixed(m.crossUnseen.openingCorrelation, 2) },
  { head: 'unseen offset', cell: (m) => `${signed(m.crossUnseen.avOffset)} (${fixed(m.crossUnseen.avOffsetCorrelation, 2)})` },
];
const VISEME: Column[] = [
  { head: 'p/b/m closed', cell: (m) => fixed(m.viseme?.bilabialClosed, 2) },
  { head: 'open vowel open', cell: (m) => fixed(m.viseme?.openVowelOpen, 2) },
];

function rows(results: readonly EvaluationResult[], withClip: boolean): string[][] {
  const viseme = results.some((r) => Object.values(r.strategies).some((m) => m?.viseme));
  const cols = viseme ? [...COLUMNS, ...VISEME] : COLUMNS;
  const out: string[][] = [[...(withClip ? ['clip'] : []), 'strategy', ...cols.map((c) => c.head)]];
  for (const r of results) {
    for (const [s, m] of Object.entries(r.strategies) as [EvalStrategy, StrategyMetrics][]) {
      out.push([...(withClip ? [r.clip] : []), m.runs && m.runs > 1 ? `${s} (mean of ${m.runs})` : s, ...cols.map((c) => c.cell(m))]);
    }
  }
  return out;
}

/** Aligned plain-text table (one row per clip and strategy). */
export function evaluationTable(results: readonly EvaluationResult[], options: { clipColumn?: boolean } = {}): string {
  const t = rows(results, options.clipColumn ?? results.length > 1);
  const widths = t[0]!.map((_, i) => Math.max(...t.map((r) => r[i]!.length)));
  return t.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** The same table in GitHub Markdown. */
export function evaluationMarkdown(results: readonly EvaluationResult[]): string {
  const t = rows(results, true);
  const line = (r: string[]): string => `| ${r.join(' | ')} |`;
  return [line(t[0]!), line(t[0]!.map((_, i) => (i < 2 ? '---' : '---:'))), ...t.slice(1).map(line)].join('\n');
}

/**
 * Whether the personalized model (`viterbi`) beats both baselines on a metric, per clip:
 * LMD (lower is better) and cross-reenactment opening correlation (higher is better; an
 * undefined correlation counts as 0).
 */
export function beatsBaselines(r: EvaluationResult): { lmd: boolean; crossCorrelation: boolean; crossUnseenCorrelation: boolean } {
  const m = r.strategies.viterbi;
  const bases = (['static-mean', 'random-bank'] as const).map((s) => r.strategies[s]).filter((x): x is StrategyMetrics => x !== undefined);
  if (!m || bases.length === 0) return { lmd: false, crossCorrelation: false, crossUnseenCorrelation: false };
  const c = (x: number): number => (Number.isNaN(x) ? 0 : x);
  return {
    lmd: bases.every((b) => m.self.lmd < b.self.lmd),
    crossCorrelation: bases.every((b) => c(m.cross.openingCorrelation) > c(b.cross.openingCorrelation)),
    crossUnseenCorrelation: bases.every((b) => c(m.crossUnseen.openingCorrelation) > c(b.crossUnseen.openingCorrelation)),
  };
}
