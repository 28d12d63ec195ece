/**
 * `avdub lipsync` and `avdub dub`: the pipeline from the command line, with a progress bar on
 * a terminal (plain lines otherwise), `--json` for the report, and exit codes by error class.
 */
import { writeFile } from 'node:fs/promises';
import { parseCommandArgs, usageError } from './args.js';
import { AvdubError } from '../errors.js';
import { OnnxLipsyncModel } from '../lipsync/onnx-model.js';
import type { LipsyncModel } from '../lipsync/types.js';
import { Wav2LipOnnxModel } from '../lipsync/wav2lip.js';
import { X264_PRESETS, type X264Preset } from '../media/writer.js';
import { DubPipeline, type DubPipelineOptions, type PipelineProgressEvent, type PipelineResult } from '../pipeline/pipeline.js';
import { DEVICES, type Device } from '../runtime/devices.js';
import { AtomicOutput } from '../util/atomic.js';
import type { DeepPartial } from '../util/options.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

interface Io {
  out(s: string): void;
  err(s: string): void;
}

const COMMON = `Output and model:
  -o, --output <file>        Output video (default: beside the input)
  --json                     Print the JSON report on stdout
  --report <file>            Also write the JSON report to a file
  --quiet                    No progress
  --crf <0-51>               x264 quality (default 18)      --preset <p>  x264 preset (default medium)
  --profile <file>           Use a saved speaker profile instead of fitting on the video
  --save-profile <file>      Save the fitted speaker profile
  --model <m.onnx> --card <c.json>   Your own 001-contract lip-sync model
  --wav2lip <m.onnx> [--card <c.json>]  A Wav2Lip ONNX export
  --device <d>               Device for --model/--wav2lip (default auto); the face tracker runs on the CPU
  --cache-dir <dir>          Stage cache (default AVDUB_CACHE_DIR or ~/.cache/avdub)   --no-cache`;

export const LIPSYNC_USAGE = `Usage: avdub lipsync <video> --audio <track> [-o out.mp4] [options]

Visual dubbing only: re-synthesizes the speaker's mouth to match <track> (any audio or video
file) and muxes <track> as the soundtrack. A track shorter than the video is padded with
silence, a longer one is trimmed (both reported); --audio-length error refuses instead.

  --audio <file>             The new speech (required)
  --audio-length fit|error   Default fit
${COMMON}`;

export const DUB_USAGE = `Usage: avdub dub <video> --to <lang> [-o out.mp4] [options]

Full dubbing: transcript (ASR or --transcript), translation (MT or --translation), speech
(TTS, espeak by default, offline), timing fitted to the original slots, lip-sync. Writes the
translated subtitles beside the output (<out>.<lang>.srt).

  --to <lang>                Target language, BCP-47 (required)
  --from <lang>              Source language hint for ASR
  --transcript <x.srt|vtt>   A transcript instead of ASR
  --translation <y.srt|vtt>  A translation instead of MT (alone: its cues are the segments)
  --asr <id>                 ASR provider id (default openai:whisper-1)
  --mt <id>                  MT provider id (default openai:gpt-4o-mini; libretranslate:default)
  --tts <id>                 TTS provider id (default espeak:default)
  --voice <name>             Provider voice
  --subtitles <file>         Where to write the subtitles   --no-subtitles
${COMMON}`;

const commonOptions = {
  output: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  crf: { type: 'string' },
  preset: { type: 'string' },
  profile: { type: 'string' },
  'save-profile': { type: 'string' },
  model: { type: 'string' },
  card: { type: 'string' },
  wav2lip: { type: 'string' },
  device: { type: 'string' },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const usage = usageError;
const parse = parseCommandArgs;

type CommonValues = { [K in keyof typeof commonOptions]?: (typeof commonOptions)[K]['type'] extends 'boolean' ? boolean : string };

function pipelineOptions(v: CommonValues, text: string): DeepPartial<DubPipelineOptions> {
  const o: DeepPartial<DubPipelineOptions> = {};
  if (v.crf !== undefined) {
    const crf = Number(v.crf);
    if (!Number.isInteger(crf) || crf < 0 || crf > 51) throw usage(`Expected an integer between 0 and 51 for --crf but received ${v.crf}`, text);
    o.crf = crf;
  }
  if (v.preset !== undefined) {
    if (!X264_PRESETS.includes(v.preset as X264Preset)) throw usage(`Unknown --preset "${v.preset}" (one of ${X264_PRESETS.join(', ')})`, text);
    o.preset = v.preset as X264Preset;
  }
  if (v['no-cache']) o.cacheDir = false;
  else if (v['cache-dir'] !== undefined) o.cacheDir = v['cache-dir'];
  return o;
}

async function loadModel(v: CommonValues, text: string): Promise<LipsyncModel | undefined> {
  const device = (v.device ?? 'auto') as Device;
  if (!DEVICES.includes(device)) throw usage(`Unknown --device "${v.device}" (one of ${DEVICES.join(', ')})`, text);
  if (v.model !== undefined && v.wav2lip !== undefined) throw usage('Pass either --model or --wav2lip', text);
  if ((v.model !== undefined || v.wav2lip !== undefined) && v.profile !== undefined) throw usage('--profile is for the personalized model; drop --model/--wav2lip', text);
  if (v.model !== undefined) {
    if (v.card === undefined) throw usage('--model needs --card <card.json>', text);
    return OnnxLipsyncModel.create({ model: v.model, card: v.card, device });
  }
  if (v.wav2lip !== undefined) return Wav2LipOnnxModel.create({ model: v.wav2lip, card: v.card, device });
  if (v.card !== undefined) throw usage('--card goes with --model or --wav2lip', text);
  return undefined;
}

/** Exit codes for the pipeline's errors: the shared table (src/cli/exit-codes.ts). */
export const pipelineExitCode = exitCodeFor;

/** Progress: a bar redrawn in place on a terminal, one line per stage otherwise. */
export class ProgressBar {
  private stage = '';
  private lastLine = '';
  private readonly done = new Set<string>();
  constructor(
    private readonly io: Io,
    private readonly tty: boolean,
    private readonly write: (s: string) => void = (s) => process.stderr.write(s),
  ) {}

  update(e: PipelineProgressEvent): void {
    if (e.stage !== this.stage) {
      if (this.tty && this.lastLine) this.write('\n');
      this.stage = e.stage;
      this.lastLine = '';
      if (!this.tty) this.io.err(`[${e.stage}]${e.cached ? ' cached' : ''}`);
    }
    if (!this.tty) {
      // One more line when a counted stage completes (the pipeline's own event carries no fps).
      if (e.total !== undefined && e.total > 1 && e.done === e.total && e.fps !== undefined && !this.done.has(e.stage)) {
        this.done.add(e.stage);
        this.io.err(`[${e.stage}] ${e.done}/${e.total}, ${e.fps.toFixed(1)} fps`);
      }
      return;
    }
    const width = 30;
    let line: string;
    if (e.total !== undefined && e.total > 0) {
      const f = Math.min(1, e.done / e.total);
      const fill = Math.round(f * width);
      line = `${e.stage.padEnd(12)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.round(f * 100)).padStart(3)}% ${e.done}/${e.total}`;
    } else line = `${e.stage.padEnd(12)} ${e.done}`;
    if (e.fps !== undefined) line += ` ${e.fps.toFixed(1)} fps`;
    if (e.etaSeconds !== undefined && e.done < (e.total ?? Infinity)) line += ` eta ${formatSeconds(e.etaSeconds)}`;
    if (e.cached) line += ' (cached)';
    if (line !== this.lastLine) {
      this.write(`\r${line.padEnd(this.lastLine.length)}`);
      this.lastLine = line;
    }
  }

  end(): void {
    if (this.tty && this.lastLine) this.write('\n');
    this.lastLine = '';
  }
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

async function finish(result: PipelineResult, v: CommonValues, io: Io): Promise<number> {
  const r = result.report;
  if (v.report !== undefined) {
    const out = await AtomicOutput.open(v.report);
    try {
      await writeFile(out.tempPath, JSON.stringify(r, null, 2));
      await out.commit();
    } catch (e) {
      await out.discard();
      throw e;
    }
  }
  if (v.json) io.out(JSON.stringify(r, null, 2));
  else {
    const lines = [
      `wrote ${result.output}`,
      ...(result.subtitles ? [`wrote ${result.subtitles}`] : []),
      `frames: ${r.frames.total} (${r.frames.rendered} lip-synced, ${r.frames.crossFaded} cross-faded, ${r.frames.passedThrough} passed through)`,
      `faces: ${r.faces.tracks.length} track(s), main track ${r.faces.mainTrackId}${r.faces.untouchedTracks ? `, ${r.faces.untouchedTracks} left untouched` : ''}`,
      ...(r.timing ? [`timing: ${r.segments?.length ?? 0} segment(s), ${r.timing.overflows} overflow(s)`] : []),
      ...r.warnings.map((w) => `warning: ${w}`),
    ];
    io.err(lines.join('\n'));
  }
  return EXIT.OK;
}

async function runJob(io: Io, v: CommonValues, job: (onProgress: (e: PipelineProgressEvent) => void) => Promise<PipelineResult>): Promise<number> {
  const bar = new ProgressBar(io, Boolean(process.stderr.isTTY) && !v.json);
  try {
    const result = await job((e) => (v.quiet ? undefined : bar.update(e)));
    bar.end();
    return await finish(result, v, io);
  } catch (error) {
    bar.end();
    const code = pipelineExitCode(error);
    if (AvdubError.isInstance(error)) io.err(`avdub: ${error.code}: ${error.message}`);
    else io.err(`avdub: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return code;
  }
}

export async function lipsyncCommand(args: string[], io: Io, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, { ...commonOptions, audio: { type: 'string' }, 'audio-length': { type: 'string' } }, LIPSYNC_USAGE);
  if (values.help) {
    io.out(LIPSYNC_USAGE);
    return EXIT.OK;
  }
  if (positionals.length !== 1) throw usage('Expected exactly one video path', LIPSYNC_USAGE);
  if (values.audio === undefined) throw usage('--audio <track> is required', LIPSYNC_USAGE);
  const audioLength = values['audio-length'] ?? 'fit';
  if (audioLength !== 'fit' && audioLength !== 'error') throw usage(`Expected fit or error for --audio-length but received ${audioLength}`, LIPSYNC_USAGE);
  const v = values as CommonValues;
  const pipeline = new DubPipeline(pipelineOptions(v, LIPSYNC_USAGE));
  const model = await loadModel(v, LIPSYNC_USAGE);
  return runJob(io, v, (onProgress) =>
    pipeline.lipsync({
      video: positionals[0]!,
      audio: values.audio!,
      audioLength,
      output: values.output,
      model,
      profile: values.profile,
      saveProfile: values['save-profile'],
      signal,
      onProgress,
    }),
  );
}

export async function dubCommand(args: string[], io: Io, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...commonOptions,
      to: { type: 'string' },
      from: { type: 'string' },
      transcript: { type: 'string' },
      translation: { type: 'string' },
      asr: { type: 'string' },
      mt: { type: 'string' },
      tts: { type: 'string' },
      voice: { type: 'string' },
      subtitles: { type: 'string' },
      'no-subtitles': { type: 'boolean' },
    },
    DUB_USAGE,
  );
  if (values.help) {
    io.out(DUB_USAGE);
    return EXIT.OK;
  }
  if (positionals.length !== 1) throw usage('Expected exactly one video path', DUB_USAGE);
  if (values.to === undefined) throw usage('--to <lang> is required', DUB_USAGE);
  if (values.subtitles !== undefined && values['no-subtitles']) throw usage('Pass either --subtitles or --no-subtitles', DUB_USAGE);
  const v = values as CommonValues;
  const pipeline = new DubPipeline(pipelineOptions(v, DUB_USAGE));
  const model = await loadModel(v, DUB_USAGE);
  return runJob(io, v, (onProgress) =>
    pipeline.dub({
      video: positionals[0]!,
      to: values.to!,
      from: values.from,
      transcript: values.transcript,
      translation: values.translation,
      asr: values.asr,
      mt: values.mt,
      tts: values.tts,
      voice: values.voice,
      subtitles: values['no-subtitles'] ? false : values.subtitles,
      output: values.output,
      model,
      profile: values.profile,
      saveProfile: values['save-profile'],
      signal,
      onProgress,
    }),
  );
}
