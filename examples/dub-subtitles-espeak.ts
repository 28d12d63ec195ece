/**
 * Full dubbing from subtitle files, offline: a human transcript (English) and a human
 * translation (Spanish) as SRT files, espeak-ng as the voice (WASM, no network), the
 * TimingAligner fitting each line into its slot, then lip-sync. Writes the video, the Spanish
 * subtitles beside it (timed to the dubbed speech), and prints the report's timing facts.
 *
 * Run: node node_modules/vite-node/vite-node.mjs examples/dub-subtitles-espeak.ts [video] [transcript.srt] [translation.srt]
 * (defaults: the shared 5 s clip and two small SRT files written here)
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// In your project: import { DubPipeline } from 'avdub';
import { DubPipeline } from '../src/pipeline/index.js';

const data = process.env.AVDUB_TEST_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const dir = tmpdir();
const video = process.argv[2] ?? join(data, 'video', 'mimictalk_oldcommit_May_5s.mp4');
let transcript = process.argv[3];
let translation = process.argv[4];
if (!transcript || !translation) {
  // A human transcript and translation, as a subtitle editor would save them (001 s4).
  transcript = join(dir, 'avdub-example.en.srt');
  translation = join(dir, 'avdub-example.es.srt');
  writeFileSync(transcript, '1\n00:00:00,200 --> 00:00:02,300\nThank you all for coming.\n\n2\n00:00:02,600 --> 00:00:04,900\nLet us begin with the news.\n');
  writeFileSync(translation, '1\n00:00:00,200 --> 00:00:02,300\nGracias a todos por venir.\n\n2\n00:00:02,600 --> 00:00:04,900\nEmpecemos con las noticias.\n');
}

const pipeline = new DubPipeline({ preset: 'veryfast' });
const { output, subtitles, report } = await pipeline.dub({
  video,
  to: 'es',
  transcript, // instead of ASR
  translation, // instead of MT
  tts: 'espeak:default', // the default; offline
  output: join(dir, 'avdub-example.es.mp4'),
  onProgress: (e) => e.done === 0 && console.log(`${e.stage}...`),
});

console.log(`wrote ${output}\nwrote ${subtitles}`);
for (const s of report.segments ?? []) {
  console.log(
    `#${s.id} [${s.start.toFixed(2)}-${s.end.toFixed(2)} s] "${s.text}": ${s.status}` +
      (s.factor !== undefined ? `, speed x${s.factor}, placed ${s.placedStart}-${s.placedEnd} s, overflow ${s.overflowMs} ms` : ''),
  );
}
console.log(`overflows: ${report.timing?.overflows}; frames lip-synced: ${report.frames.rendered + report.frames.crossFaded}/${report.frames.total}`);
