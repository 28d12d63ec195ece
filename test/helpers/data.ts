import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Shared test media (../shared/data) is reached only through AVDUB_TEST_DATA; CI sets it.
 * When unset, data-driven suites skip with this message and everything else still runs.
 */
const root = process.env.AVDUB_TEST_DATA ? resolve(process.env.AVDUB_TEST_DATA) : undefined;
export const hasTestData = root !== undefined && existsSync(join(root, 'MANIFEST.tsv'));
export const SKIP_MESSAGE = 'AVDUB_TEST_DATA is not set (point it at ../shared/data): skipping tests on real clips';
if (!hasTestData) console.warn(`[avdub tests] ${SKIP_MESSAGE}`);

export function dataPath(...parts: string[]): string {
  if (!root) throw new Error(SKIP_MESSAGE);
  return join(root, ...parts);
}

export const VIDEO_CLIPS = [
  'latentsync_demo1_video.mp4',
  'latentsync_demo2_video.mp4',
  'mimictalk_oldcommit_May_5s.mp4',
  'retalking_face_2.mp4',
  'retalking_face_4.mp4',
  'sadtalker_WDA_KatieHill_000.mp4',
] as const;

export const AUDIO_TRACKS = [
  'latentsync_demo1_audio.wav',
  'latentsync_demo2_audio.wav',
  'mimictalk_oldcommit_Obama_5s.wav',
  'retalking_audio_1.wav',
  'retalking_audio_2.wav',
  'sadtalker_RD_Radio31_000.wav',
  'sadtalker_japanese.wav',
] as const;

export const videoPath = (name: string): string => dataPath('video', name);
export const audioPath = (name: string): string => dataPath('audio', name);
