/**
 * Visual-only lip-sync: a studio has a finished dubbed track; re-synthesize the speaker's mouth
 * to match it. The personalized model is fitted on the video's own footage and speech (cached
 * under AVDUB_CACHE_DIR, so a second run decodes the video once).
 *
 * Run: node node_modules/vite-node/vite-node.mjs examples/lipsync.ts [video] [audio] [out.mp4]
 * (defaults: the shared 5 s clips in ../shared/data)
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// In your project: import { AvdubError, DubPipeline } from 'avdub';
import { AvdubError } from '../src/errors.js';
import { DubPipeline } from '../src/pipeline/index.js';

const data = process.env.AVDUB_TEST_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const video = process.argv[2] ?? join(data, 'video', 'mimictalk_oldcommit_May_5s.mp4');
const audio = process.argv[3] ?? join(data, 'audio', 'mimictalk_oldcommit_Obama_5s.wav');
const output = process.argv[4] ?? join(tmpdir(), 'avdub-lipsync-example.mp4');

const pipeline = new DubPipeline({ crf: 18, preset: 'veryfast' });
const controller = new AbortController();
process.once('SIGINT', () => controller.abort()); // Ctrl-C: no output file, no ffmpeg left behind

try {
  const { report } = await pipeline.lipsync({
    video,
    audio,
    output,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.total && e.done < e.total && e.done % 25 !== 0) return;
      const eta = e.etaSeconds !== undefined ? `, eta ${e.etaSeconds.toFixed(0)} s` : '';
      console.log(`${e.stage}: ${e.done}/${e.total ?? '?'}${e.fps ? ` at ${e.fps.toFixed(1)} fps` : ''}${eta}${e.cached ? ' (cached)' : ''}`);
    },
  });
  console.log(`wrote ${report.output}`);
  console.log(`frames: ${report.frames.rendered} lip-synced, ${report.frames.crossFaded} cross-faded, ${report.frames.passedThrough} untouched`);
  console.log(`audio: ${report.audio.duration.toFixed(2)} s, ${report.audio.action} (difference ${report.audio.differenceSeconds} s)`);
  console.log(`decodes: ${report.passes.decodes}; peak memory ${report.peakRssMiB} MiB`);
  for (const w of report.warnings) console.log(`warning: ${w}`);
} catch (e) {
  if (AvdubError.isInstance(e)) console.error(`${e.code}: ${e.message}`); // e.g. E_NO_FACE
  throw e;
}
