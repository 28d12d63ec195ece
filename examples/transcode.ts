/**
 * Streams a video through avdub's media layer: probe, decode every frame with its real
 * timestamp, re-encode to H.264 with the original audio, with progress and Ctrl-C cancellation.
 * A place to put per-frame work (the renderer does exactly this loop).
 *
 *   node node_modules/vite-node/vite-node.mjs examples/transcode.ts <in.mp4> <out.mp4>
 */
import { AvdubError, VideoWriter, probeMedia, readFrames } from '../src/index.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: transcode.ts <in.mp4> <out.mp4>');
  process.exit(2);
}

const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));
const { signal } = controller;

try {
  const info = await probeMedia(input, { scanFrames: true, signal });
  const v = info.video;
  if (!v) throw new Error(`${input} has no video`);
  const writer = await VideoWriter.open(output, {
    width: v.displayWidth - (v.displayWidth % 2),
    height: v.displayHeight - (v.displayHeight % 2),
    fps: v.nominalFrameRate,
    variableFrameRate: v.variableFrameRate,
    audioFrom: info.audio ? input : undefined,
    expectedFrames: v.frameCount,
    signal,
    onProgress: (e) => process.stderr.write(`\rencode ${e.done}/${e.total ?? '?'} ${e.fps?.toFixed(1) ?? '-'} fps, eta ${e.etaSeconds?.toFixed(1) ?? '-'} s `),
  });
  try {
    // Odd sizes are cropped by one pixel here, explicitly: H.264 4:2:0 needs even sizes.
    const region = { x: 0, y: 0, width: v.displayWidth - (v.displayWidth % 2), height: v.displayHeight - (v.displayHeight % 2) };
    const needCrop = region.width !== v.displayWidth || region.height !== v.displayHeight;
    for await (const frame of readFrames(input, { info, signal, reuseBuffer: true, region: needCrop ? region : undefined })) {
      await writer.write(frame);
    }
    console.error(`\nwrote ${await writer.close()}`);
  } catch (e) {
    await writer.abort();
    throw e;
  }
} catch (e) {
  if (AvdubError.isInstance(e)) {
    console.error(`\n${e.code}: ${e.message}`);
    process.exit(e.code === 'E_ABORTED' ? 130 : 1);
  }
  throw e;
}
