import { readFrames, readYuvFrames, type ReadFramesOptions } from '../media/frames.js';
import { probeMedia, requireVideo, type MediaInfo } from '../media/probe.js';
import { yuvMatrixFor } from '../media/yuv.js';
import type { FaceImage } from './image.js';

/** A decoded frame as the face models read it, with its place in the video. */
export type IndexedFaceFrame = FaceImage & { index: number; timestamp: number };

export type ReadFaceFramesOptions = Pick<ReadFramesOptions, 'signal' | 'ffmpegPath' | 'ffprobePath' | 'start' | 'duration' | 'transport'> & {
  info?: MediaInfo;
};

/**
 * Streams a video's frames for tracking: the decoder's I420 with its matrix (`YuvFaceImage`:
 * no RGB conversion in ffmpeg, half the bytes to read), or RGB24 where I420 cannot carry the
 * frame (an odd width or height). A frame's buffer is valid until the next iteration; two
 * or three buffers serve the whole video.
 */
export async function* readFaceFrames(path: string, options: ReadFaceFramesOptions = {}): AsyncGenerator<IndexedFaceFrame, void, undefined> {
  const info = options.info ?? (await probeMedia(path, { ffmpegPath: options.ffmpegPath, ffprobePath: options.ffprobePath, signal: options.signal }));
  const video = requireVideo(info);
  const read = { ...options, info };
  if (video.displayWidth % 2 || video.displayHeight % 2) {
    yield* readFrames(path, { ...read, reuseBuffer: true });
    return;
  }
  const yuv = yuvMatrixFor(video);
  const pool: Uint8Array[] = [];
  let held: Uint8Array | undefined;
  for await (const frame of readYuvFrames(path, { ...read, bufferPool: pool })) {
    // The consumer is done with the previous frame: its buffer goes back to the reader.
    if (held) pool.push(held);
    held = frame.data;
    yield { ...frame, yuv };
  }
}
