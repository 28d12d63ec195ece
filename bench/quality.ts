/**
 * The slow quality evaluation (issue 8 / issue 6): `evaluate()` on every clip of the shared test
 * media, the personalized model against its two baselines in the same run, plus TTS viseme
 * consistency with a fixed espeak-ng sentence. Not part of `npm test` or `npm run bench` (it is
 * not a *.bench.ts file: it measures quality, not speed).
 *
 *   node node_modules/vite-node/vite-node.mjs bench/quality.ts [clip-name-filter...] [--no-tts] [--out dir]
 *
 * Writes bench/results/quality.json (every result, with machine facts and the commit) and the
 * per-clip JSON/PNG outputs under bench/results/quality/, and prints the Markdown tables that
 * docs/evaluation.md quotes.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beatsBaselines, evaluate, evaluationMarkdown, type EvaluateOptions, type EvaluationResult } from '../src/eval/index.js';
import type { TimedPhoneme } from '../src/eval/metrics.js';
import { espeakSpeechModel } from '../src/providers/espeak.js';
import { dataDir, writeResults } from './lib.js';

/** Many bilabials (p, b, m) and open vowels, so viseme consistency has something to check. */
export const TTS_SENTENCE =
  'Bob and Mary met my mum by the harbour. Papa bought a big map of Panama, and Mark parked the car by the barn.';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const noTts = args.includes('--no-tts');
const outIdx = args.indexOf('--out');
const outDir = outIdx >= 0 ? args[outIdx + 1]! : join(here, 'results', 'quality');
const filters = args.filter((a, i) => !a.startsWith('--') && (outIdx < 0 || i !== outIdx + 1));

function git(...a: string[]): string {
  try {
    return execFileSync('git', a, { cwd: join(here, '..'), encoding: 'utf8' }).trimEnd();
  } catch {
    return 'unknown';
  }
}

const videoDir = join(dataDir(), 'video');
const clips = readdirSync(videoDir)
  .filter((f) => /\.(mp4|mov|mkv|webm)$/i.test(f))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (clips.length === 0) {
  console.error(`No clips in ${videoDir}${filters.length ? ` matching ${filters.join(', ')}` : ''} (set AVDUB_TEST_DATA)`);
  process.exit(1);
}

let tts: EvaluateOptions['tts'];
if (!noTts) {
  const speech = await espeakSpeechModel({ timings: 'phoneme' }).synthesize({ text: TTS_SENTENCE, language: 'en' });
  const phonemes: TimedPhoneme[] = (speech.timings ?? []).filter((t) => t.kind === 'phoneme').map(({ text, start, end }) => ({ text, start, end }));
  tts = { audio: speech.audio, phonemes, label: `espeak-ng en: ${TTS_SENTENCE}` };
}

const commit = git('rev-parse', '--short', 'HEAD').trim();
const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean);
console.log(`avdub quality evaluation: ${clips.length} clip(s), commit ${commit}${dirty.length ? ` + ${dirty.length} uncommitted file(s) under src/` : ''}`);
const results: EvaluationResult[] = [];
for (const clip of clips) {
  const t0 = performance.now();
  let lastStage = '';
  const r = await evaluate(join(videoDir, clip), {
    outDir,
    tts,
    onProgress: (e) => {
      if (e.stage !== lastStage) {
        lastStage = e.stage;
        process.stderr.write(`  ${clip}: ${e.stage}\n`);
      }
    },
  });
  results.push(r);
  const b = beatsBaselines(r);
  console.log(
    `${clip}: held out ${r.heldOut.start}-${r.heldOut.end}, ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      `viterbi beats both baselines on LMD: ${b.lmd}, cross r: ${b.crossCorrelation}, unseen cross r: ${b.crossUnseenCorrelation}`,
  );
}

console.log(`\n${evaluationMarkdown(results)}\n`);
console.log('| clip | LMD | cross r | unseen cross r |\n| --- | --- | --- | --- |');
for (const r of results) {
  const b = beatsBaselines(r);
  const yes = (x: boolean): string => (x ? 'yes' : '**no**');
  console.log(`| ${r.clip} | ${yes(b.lmd)} | ${yes(b.crossCorrelation)} | ${yes(b.crossUnseenCorrelation)} |`);
}
writeResults('quality', {
  commit,
  uncommitted: dirty,
  command: `node node_modules/vite-node/vite-node.mjs bench/quality.ts ${args.join(' ')}`.trim(),
  tts: tts?.label ?? null,
  beatsBaselines: Object.fromEntries(results.map((r) => [r.clip, beatsBaselines(r)])),
  results,
});
