/**
 * The lip-sync model interface shared by every implementation (the personalized default, the
 * 001-contract ONNX model, the Wav2Lip adapter). Types only: no runtime dependencies
 * (conventions 3).
 *
 * A model turns a stream of canonical face crops plus one audio window per frame into a stream
 * of generated crops, in frame order, with memory bounded by its chunk size: the pipeline
 * pushes frames in as an (async) iterable and pulls generated crops out, never holding the
 * whole video.
 */
import type { MelPresetName } from '../audio/mel.js';
import type { RgbImage } from '../face/image.js';
import type { Device } from '../runtime/devices.js';
import type { OperationOptions } from '../util/progress.js';

/**
 * A canonical face crop (the face stack's FaceCanonicalizer output): RGB24, row-major, no
 * padding, square; 256 x 256 in the 001 setup.
 */
export type CanonicalCrop = RgbImage;

/** The audio window a model wants for each video frame. */
export interface LipsyncAudioSpec {
  /** The MelFrontend preset that computes the windows (`paper`: 80 x 24, `wav2lip`: 80 x 16). */
  preset: MelPresetName;
  /** Mel bands per window (80 in both presets). */
  melBands: number;
  /** Mel frames per window (24 for 001, 16 for Wav2Lip). */
  windowFrames: number;
  /** The value of a silent window element (padding outside the audio). */
  silence: number;
}

/** How many reference crops a model takes (`ReferenceSelector` picks them). */
export interface LipsyncReferenceSpec {
  /** Fewest references the model accepts (0: optional). */
  min: number;
  /** Most it accepts; undefined: no limit. */
  max?: number;
  /** How many to give it (001 s3.1.4: 10). */
  preferred: number;
}

/** One input frame. */
export interface LipsyncInputFrame {
  /** The frame's canonical crop, unmasked: each model masks it the way its contract says. */
  crop: CanonicalCrop;
  /**
   * The frame's audio window, `melBands x windowFrames` values, band-major:
   * `audio[m * windowFrames + k]` is mel band m at window frame k. This is one frame of
   * `MelFrontend.windows()` ([T][nMels][windowFrames]) for the model's preset.
   */
  audio: Float32Array;
  /** Head pose of the target frame, degrees (models that match poses use it; others ignore it). */
  pose?: { yaw: number; pitch: number; roll: number };
  /** Speech in the new audio at this frame (voice activity); false asks for a closed, still mouth. */
  voiced?: boolean;
  /**
   * Canonical (x, y) of the target frame's nose base (`mouthAnchor` of its canonical
   * landmarks), which does not move with speech. The personalized model pastes the chosen
   * mouth at its source frame's offset from this point; other models ignore it.
   */
  anchor?: readonly [number, number];
}

/** What a model generates from. */
export interface LipsyncInput {
  /**
   * Frames in the track. Known up front (tracks are found before lip-sync) so chunks can be
   * split evenly (001 s3.2.1); `frames` must yield exactly this many.
   */
  frameCount: number;
  /** The track's frames in order; read lazily, a chunk (plus buffers) at a time. */
  frames: AsyncIterable<LipsyncInputFrame> | Iterable<LipsyncInputFrame>;
  /**
   * Reference crops of the same speaker (canonical crops, unmasked; a 001 model keeps only
   * their mouth region). Never the target frame or its neighbours (001 s3.1.4).
   */
  references?: readonly CanonicalCrop[];
  /**
   * Per-band mean and standard deviation of the whole driving audio's log-mel (`melBandStats`),
   * for models that normalise audio per recording. Optional: such models fall back to running
   * statistics.
   */
  audioStats?: { mean: Float32Array; std: Float32Array };
}

/** An input frame for `generatePatches`: no crop (a patch model never reads it). */
export type LipsyncPatchInputFrame = Omit<LipsyncInputFrame, 'crop'>;

/** What `generatePatches` generates from: `LipsyncInput` with crop-less frames. */
export interface LipsyncPatchInput extends Omit<LipsyncInput, 'frames'> {
  frames: AsyncIterable<LipsyncPatchInputFrame> | Iterable<LipsyncPatchInputFrame>;
}

/** One generated frame. */
export interface LipsyncOutputFrame {
  /** Track index of the frame (0-based), in increasing order. */
  index: number;
  /** The generated crop, the same size as the input crop. */
  crop: CanonicalCrop;
}

/** Per-call options: cancellation, progress (`stage: 'lipsync'`), and where the model runs. */
export interface LipsyncGenerateOptions extends OperationOptions {
  /** Execution device for this call. @default the device the model was created with */
  device?: Device;
}

/**
 * A lip-sync model. Implementations: `OnnxLipsyncModel` (001 contract), `Wav2LipOnnxModel`,
 * and the personalized default.
 */
export interface LipsyncModel {
  readonly specificationVersion: 'v1';
  /** Implementation family: `'onnx-001'`, `'wav2lip-onnx'`, `'personalized'`... */
  readonly kind: string;
  /** The model's own name (from its card or profile). */
  readonly name: string;
  /** The audio windows `generate` expects. */
  readonly audio: LipsyncAudioSpec;
  /** The references `generate` expects. */
  readonly references: LipsyncReferenceSpec;
  /**
   * Declared (with `generatePatches`) by a model whose output differs from its input crop only
   * inside a fixed region and that never reads the input crop's pixels: the personalized model,
   * a real mouth crop feathered into the mouth rectangle. One weight in [0, 1] per crop pixel,
   * row-major: `generate`'s output is `input + patchAlpha * (patch - input)`. Absent for models
   * that generate the whole crop (the ONNX contracts).
   */
  readonly patchAlpha?: Float32Array;
  /**
   * `generate` without the input crops and without compositing: each output crop is the patch,
   * valid where `patchAlpha` > 0 and arbitrary elsewhere. It may be a buffer the model keeps (a
   * bank crop): read it, never write it. A patch buffer's pixels never change once yielded (the
   * model yields a new buffer for new pixels), so a caller may cache work per buffer. The render pass uses this to skip cropping every frame
   * and multiplies its mask by `patchAlpha`, so pixels outside the patch keep the frame's own
   * values instead of the crop's resampled copy of them.
   */
  generatePatches?(input: LipsyncPatchInput, options?: LipsyncGenerateOptions): AsyncIterable<LipsyncOutputFrame>;
  /**
   * Generates one crop per input frame, in order. Frames are read as needed, so memory stays
   * bounded by the model's chunk (plus buffer frames) and batch, not by the track length.
   * Errors (bad input, an aborted signal: `E_ABORTED`) surface from the iteration. Stopping
   * the iteration early stops reading `input.frames`.
   */
  generate(input: LipsyncInput, options?: LipsyncGenerateOptions): AsyncIterable<LipsyncOutputFrame>;
}
