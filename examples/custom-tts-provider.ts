/**
 * Bring your own TTS: a SpeechModel is a plain object with an id and one async method.
 * Run: node node_modules/vite-node/vite-node.mjs examples/custom-tts-provider.ts
 */
import { createDefaultRegistry, customProvider, espeakSpeechModel, type SpeechModel } from '../src/providers/index.js';

const engine = espeakSpeechModel(); // stands in for your engine: an HTTP API, a binary, an ONNX model...

// ---- the provider: ten lines ----
const myTts: SpeechModel = {
  specificationVersion: 'v1',
  provider: 'my-tts',
  modelId: 'deep-voice',
  async synthesize({ text, language, speed, abortSignal }) {
    const { audio, timings } = await engine.synthesize({ text, language, speed, abortSignal, providerOptions: { espeak: { pitch: 25 } } });
    return { audio, timings, warnings: [] }; // audio: { samples: Float32Array, sampleRate }
  },
};
// ---------------------------------

// Register it next to the built-ins and look it up by "provider:model" id, like espeak:default.
const registry = createDefaultRegistry({ providers: { 'my-tts': customProvider({ speechModels: { 'deep-voice': myTts } }) } });
const tts = registry.speechModel('my-tts:deep-voice');

const { audio, timings } = await tts.synthesize({ text: 'Hola, ¿qué tal?', language: 'es' });
const seconds = audio.samples.length / audio.sampleRate;
let energy = 0;
for (const s of audio.samples) energy += s * s;
console.log(`${tts.provider}:${tts.modelId} spoke ${seconds.toFixed(2)} s at ${audio.sampleRate} Hz, rms ${Math.sqrt(energy / audio.samples.length).toFixed(3)}`);
console.log(`words: ${timings?.filter((t) => t.kind === 'word').map((t) => `${t.text}@${t.start.toFixed(2)}`).join(' ')}`);

// In the dubbing pipeline it replaces espeak the same way (DubPipeline is not written yet):
//   const pipeline = new DubPipeline({ registry, tts: 'my-tts:deep-voice' });
//   // or pass the object itself:  new DubPipeline({ tts: myTts })
