import { writeFile } from 'node:fs/promises';
import { parseCommandArgs, usageError } from './args.js';
import { FaceCanonicalizer } from '../canonical/canonicalizer.js';
import { throwIfAborted, type AvdubError } from '../errors.js';
import type { Affine } from '../face/image.js';
import { EYES, LIPS, MESH_POINT_COUNT } from '../face/landmarks.js';
import { copyImage, drawDot, drawPolyline, type Rgb } from '../face/overlay.js';
import { FaceTracker, requireMainTrack, type FaceTrack, type FaceTrackingResult } from '../face/tracker.js';
import type { SmoothingMethod } from '../face/smoothing.js';
import { readFrames } from '../media/frames.js';
import { probeMedia, requireVideo } from '../media/probe.js';
import { VideoWriter } from '../media/writer.js';
import { DEVICES, type Device } from '../runtime/devices.js';
import { AtomicOutput } from '../util/atomic.js';

export const TRACK_USAGE = `Usage: avdub track <video> [--json out.json] [--overlay out.mp4]
                   [--smoothing gaussian|one-euro|none] [--device cpu|auto|...] [--detector-size 128|256]

Tracks the faces of a video (BlazeFace + FaceMesh, 468 landmarks, head pose, smoothed) and
prints a summary. --json writes every track (landmarks, pose, canonical crop transform per
frame); --overlay writes a video with the landmarks, the 256x256 canonical crop box and its
mouth mask drawn on each frame, to check the result by eye. Exit code 6 when no face is found.`;

interface Io {
  out(s: string): void;
  err(s: string): void;
}

function usage(message: string): AvdubError {
  return usageError(message, TRACK_USAGE);
}

/** `avdub track`: returns the exit code; usage errors throw E_INVALID_ARGUMENT, no face throws E_NO_FACE. */
export async function trackCommand(args: string[], io: Io, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      json: { type: 'string' },
      overlay: { type: 'string' },
      smoothing: { type: 'string' },
      device: { type: 'string' },
      'detector-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    TRACK_USAGE,
  );
  if (values.help) {
    io.out(TRACK_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw usage('Expected exactly one video path');
  const video = positionals[0]!;
  const smoothing = (values.smoothing ?? 'gaussian') as SmoothingMethod;
  if (!['gaussian', 'one-euro', 'none'].includes(smoothing)) throw usage(`Unknown --smoothing "${values.smoothing}"`);
  const device = (values.device ?? 'cpu') as Device;
  if (!DEVICES.includes(device)) throw usage(`Unknown --device "${values.device}" (one of ${DEVICES.join(', ')})`);
  const detectorSize = values['detector-size'] === undefined ? undefined : Number(values['detector-size']);
  if (detectorSize !== undefined && !(Number.isInteger(detectorSize) && detectorSize >= 32 && detectorSize % 32 === 0)) {
    throw usage(`Expected a multiple of 32 for --detector-size but received ${values['detector-size']}`);
  }

  const info = await probeMedia(video, { signal });
  const v = requireVideo(info);
  const tracker = await FaceTracker.create({ device, smoothing: { method: smoothing }, detector: detectorSize ? { inputSize: detectorSize } : {}, signal });
  const t0 = performance.now();
  const result = await tracker.track(info.path, { signal });
  const seconds = (performance.now() - t0) / 1000;
  const canon = new FaceCanonicalizer();

  io.out(summary(info.path, result, seconds));
  if (values.json !== undefined) {
    const out = await AtomicOutput.open(values.json);
    try {
      await writeFile(out.tempPath, JSON.stringify(toJson(info.path, result, canon)));
      await out.commit();
    } catch (e) {
      await out.discard();
      throw e;
    }
    io.out(`wrote ${out.finalPath}`);
  }
  if (values.overlay !== undefined) {
    const path = await writeOverlay(info.path, values.overlay, result, canon, v.fps, v.variableFrameRate, signal);
    io.out(`wrote ${path}`);
  }
  requireMainTrack(result, info.path);
  return 0;
}

function summary(path: string, r: FaceTrackingResult, seconds: number): string {
  const lines = [`${path}: ${r.frameCount} frames, ${r.width}x${r.height}, tracked in ${seconds.toFixed(1)} s (${(r.frameCount / Math.max(seconds, 1e-9)).toFixed(1)} fps)`];
  if (r.tracks.length === 0) lines.push('no face found');
  for (const t of r.tracks) {
    const main = t === r.mainTrack ? ' (main)' : '';
    const cover = r.frameCount ? ((100 * t.faces.length) / r.frameCount).toFixed(1) : '0';
    lines.push(
      `track ${t.id}${main}: frames ${t.start}-${t.end}, ${t.faces.length} with face (${cover}% of the video), ${t.gaps.length} gap(s), eye distance ${t.medianInterocular.toFixed(0)} px`,
    );
  }
  return lines.join('\n');
}

const round = (x: number, k = 100): number => Math.round(x * k) / k;

function toJson(path: string, r: FaceTrackingResult, canon: FaceCanonicalizer): unknown {
  return {
    video: path,
    frameCount: r.frameCount,
    width: r.width,
    height: r.height,
    mainTrackId: r.mainTrack?.id ?? null,
    landmarkLayout: `${MESH_POINT_COUNT} MediaPipe FaceMesh points, packed x, y, z (frame pixels)`,
    canonical: { size: canon.size, template: canon.options.template.name, transform: 'toFrame: crop pixels -> frame pixels [a, b, c, d, e, f]' },
    tracks: r.tracks.map((t) => ({
      id: t.id,
      start: t.start,
      end: t.end,
      gaps: t.gaps,
      medianInterocular: round(t.medianInterocular),
      frames: t.faces.map((f) => ({
        index: f.index,
        timestamp: round(f.timestamp, 1e6),
        confidence: round(f.confidence, 1e4),
        pose: { yaw: round(f.pose.yaw), pitch: round(f.pose.pitch), roll: round(f.pose.roll) },
        box: { x: round(f.box.x), y: round(f.box.y), width: round(f.box.width), height: round(f.box.height) },
        canonical: { toFrame: canon.transform(f.landmarks).toFrame.map((x) => round(x, 1e5)) },
        landmarks: Array.from(f.landmarks, (x) => round(x)),
      })),
    })),
  };
}

const COLORS: Rgb[] = [
  [0, 255, 0],
  [255, 200, 0],
  [0, 200, 255],
  [255, 0, 255],
];
const RED: Rgb = [255, 40, 40];
const WHITE: Rgb = [255, 255, 255];

async function writeOverlay(
  path: string,
  outPath: string,
  r: FaceTrackingResult,
  canon: FaceCanonicalizer,
  fps: number,
  vfr: boolean,
  signal: AbortSignal,
): Promise<string> {
  // H.264 4:2:0 needs even sizes: drop the last column/row when odd.
  const width = r.width - (r.width % 2);
  const height = r.height - (r.height % 2);
  // Per frame index: the faces to draw.
  const byFrame = new Map<number, { track: FaceTrack; k: number }[]>();
  for (const track of r.tracks) {
    track.faces.forEach((f, k) => {
      const list = byFrame.get(f.index) ?? [];
      list.push({ track, k });
      byFrame.set(f.index, list);
    });
  }
  const writer = await VideoWriter.open(outPath, {
    width,
    height,
    fps: fps > 0 ? fps : 25,
    variableFrameRate: vfr,
    preset: 'veryfast',
    crf: 20,
    // No audio: VideoWriter's audioFrom muxes with -shortest, which (with this ffmpeg build)
    // drops the last ~17 frames still inside the x264 lookahead. The overlay is for the eyes.
    signal,
  });
  try {
    const size = canon.size;
    const box = [0, 0, size, 0, size, size, 0, size];
    const rect = canon.mouthRect();
    const mouth = [rect.x0, rect.y0, rect.x1, rect.y0, rect.x1, rect.y1, rect.x0, rect.y1];
    const eyes = new Set(EYES);
    const lips = new Set(LIPS);
    for await (const frame of readFrames(path, { reuseBuffer: true, signal })) {
      throwIfAborted(signal);
      const img = copyImage(frame, width, height);
      const thick = Math.max(1, Math.round(Math.min(width, height) / 400));
      for (const { track, k } of byFrame.get(frame.index) ?? []) {
        const face = track.faces[k]!;
        const color = COLORS[(track.id - 1) % COLORS.length]!;
        const t = canon.transform(face.landmarks);
        drawPolyline(img, mapPoints(t.toFrame, box), track === r.mainTrack ? WHITE : color, true, thick + 1);
        drawPolyline(img, mapPoints(t.toFrame, mouth), RED, true, thick);
        for (let i = 0; i < MESH_POINT_COUNT; i++) {
          const c: Rgb = eyes.has(i) ? [0, 160, 255] : lips.has(i) ? RED : color;
          drawDot(img, face.landmarks[3 * i]!, face.landmarks[3 * i + 1]!, c, Math.max(1, thick - 1));
        }
      }
      await writer.write(img.data, frame.timestamp);
    }
    return await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

function mapPoints(m: Affine, pts: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < pts.length; i += 2) out.push(m[0] * pts[i]! + m[1] * pts[i + 1]! + m[2], m[3] * pts[i]! + m[4] * pts[i + 1]! + m[5]);
  return out;
}
