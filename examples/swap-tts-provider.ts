/**
 * Swapping the TTS provider: the pipeline takes a registry id (`--tts openai:tts-1`,
 * `espeak:default`, yours) or a SpeechModel object. Here "your engine" is a ten-line provider
 * registered next to the built-ins (it wraps espeak with another voice and pitch to stay
 * offline; put your HTTP call or ONNX model in `synthesize`). Everything else (timing,
 * lip-sync, subtitles) is unchanged.
 *
 * With an OpenAI-compatible server instead (needs OPENAI_API_KEY or a local server):
 *   pipeline.dub({ ..., tts: 'openai:tts-1', voice: 'alloy' })
 *   avdub dub talk.mp4 --to es --translation talk.es.srt --tts openai:tts-1 --voice alloy
 *
 * Run: node node_modules/vite-node/vite-node.mjs examples/swap-tts-provider.ts [video]
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// In your project: import { DubPipeline, createDefaultRegistry, customProvider, espeakSpeechModel, type SpeechModel } from 'avdub';
import { DubPipeline } from '../src/pipeline/index.js';
import { createDefaultRegistry, customProvider, espeakSpeechModel, type SpeechModel } from '../src/providers/index.js';

const data = process.env.AVDUB_TEST_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const video = process.argv[2] ?? join(data, 'video', 'mimictalk_oldcommit_May_5s.mp4');

const engine = espeakSpeechModel({ pitch: 30 }); // stands in for your engine
const myTts: SpeechModel = {
  specificationVersion: 'v1',
  provider: 'my-tts',
  modelId: 'warm-voice',
  async synthesize({ text, language, speed, abortSignal }) {
    const { audio } = await engine.synthesize({ text, language, speed, abortSignal });
    return { audio, warnings: [] }; // { samples: Float32Array, sampleRate }, mono
  },
};

const registry = createDefaultRegistry({ providers: { 'my-tts': customProvider({ speechModels: { 'warm-voice': myTts } }) } });
const pipeline = new DubPipeline({ registry, preset: 'veryfast' });

// A translation file alone is enough: its cues are the segments (no ASR, no MT).
const translation = join(tmpdir(), 'avdub-swap.de.srt');
writeFileSync(translation, '1\n00:00:00,300 --> 00:00:04,600\nWillkommen zu unserer Sendung von heute Abend.\n');

const { output, report } = await pipeline.dub({ video, to: 'de', translation, tts: 'my-tts:warm-voice', output: join(tmpdir(), 'avdub-swap.de.mp4') });
console.log(`wrote ${output} with ${report.providers?.speech}`);
console.log(report.segments?.map((s) => `#${s.id} x${s.factor} ${s.placedStart}-${s.placedEnd} s`).join('\n'));
