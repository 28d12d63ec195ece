import type { AvdubError } from '../errors.js';
import { parseCommandArgs, usageError } from './args.js';
import { EVAL_STRATEGIES, evaluate, type EvalStrategy, type EvaluateOptions } from '../eval/evaluate.js';
import { evaluationTable } from '../eval/report.js';
import type { TimedPhoneme } from '../eval/metrics.js';
import { DEVICES, type Device } from '../runtime/devices.js';

export const EVAL_USAGE = `Usage: avdub eval <video> [--out dir] [--json] [--held-out 0.3] [--guard 10] [--seed 1]
                  [--random-seeds 5] [--max-seconds 30] [--strategies viterbi,static-mean,random-bank,identity]
                  [--tts "text" [--language en]] [--device cpu|auto|...]

Evaluates the personalized lip-sync model on a clip of the speaker (docs/evaluation.md):
fits it on the first 70% of the tracked frames, then measures self-reenactment on the held-out
30% (mouth PSNR/SSIM, LMD, sharpness, jitter, pixels changed outside the render mask) and
cross-reenactment (correlation of the generated mouth opening with the driving stretch's real
one, and the audio-visual offset), for the model and its baselines in the same run. --tts
drives the held-out frames with espeak-ng speech of the text and adds viseme consistency.
--out writes <clip>.json, <clip>-opening.png and <clip>-sheet.png; --json prints the result.`;

interface Io {
  out(s: string): void;
  err(s: string): void;
}

function usage(message: string): AvdubError {
  return usageError(message, EVAL_USAGE);
}

function numberArg(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const x = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) {
    throw usage(`Expected ${integer ? 'an integer' : 'a number'} for --${name} but received ${JSON.stringify(raw)}`);
  }
  return x;
}

/** `avdub eval`: returns the exit code; usage errors throw E_INVALID_ARGUMENT, a missing file E_INPUT_NOT_FOUND. */
export async function evalCommand(args: string[], io: Io, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      out: { type: 'string' },
      json: { type: 'boolean' },
      'held-out': { type: 'string' },
      guard: { type: 'string' },
      seed: { type: 'string' },
      'random-seeds': { type: 'string' },
      'max-seconds': { type: 'string' },
      strategies: { type: 'string' },
      tts: { type: 'string' },
      language: { type: 'string' },
      device: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    EVAL_USAGE,
  );
  if (values.help) {
    io.out(EVAL_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw usage('Expected exactly one video path');
  const device = (values.device ?? 'cpu') as Device;
  if (!DEVICES.includes(device)) throw usage(`Unknown --device "${values.device}" (one of ${DEVICES.join(', ')})`);
  let strategies: EvalStrategy[] | undefined;
  if (values.strategies !== undefined) {
    strategies = values.strategies.split(',').map((s) => s.trim()) as EvalStrategy[];
    const bad = strategies.filter((s) => !EVAL_STRATEGIES.includes(s));
    if (bad.length || strategies.length === 0) throw usage(`Unknown strategy "${bad[0] ?? ''}" (one of ${EVAL_STRATEGIES.join(', ')})`);
  }
  if (values.language !== undefined && values.tts === undefined) throw usage('--language needs --tts');
  const options: EvaluateOptions = {
    outDir: values.out,
    heldOutFraction: numberArg('held-out', values['held-out'], false),
    guardFrames: numberArg('guard', values.guard, true),
    seed: numberArg('seed', values.seed, true),
    randomBankSeeds: numberArg('random-seeds', values['random-seeds'], true),
    maxSeconds: numberArg('max-seconds', values['max-seconds'], false),
    strategies,
    device,
    signal,
  };
  if (values.tts !== undefined) {
    const { espeakSpeechModel } = await import('../providers/espeak.js');
    const speech = await espeakSpeechModel({ timings: 'phoneme' }).synthesize({ text: values.tts, language: values.language ?? 'en', abortSignal: signal });
    const phonemes: TimedPhoneme[] = (speech.timings ?? []).filter((t) => t.kind === 'phoneme').map(({ text, start, end }) => ({ text, start, end }));
    options.tts = { audio: speech.audio, phonemes, label: `espeak-ng (${values.language ?? 'en'}): ${values.tts}` };
  }
  const result = await evaluate(positionals[0]!, options);
  if (values.json) io.out(JSON.stringify(result, null, 2));
  else {
    const h = result.heldOut;
    io.out(
      `${result.clip}: ${result.trackedFrames} tracked frames at ${result.fps} fps; fit on ${result.fit.frames}, ` +
        `held out ${h.start}-${h.end} (${h.frames}); cross audio from ${result.cross.b.start}-${result.cross.b.end}; ` +
        `${result.timing.total?.toFixed(1)} s`,
    );
    io.out(evaluationTable([result]));
    if (result.outputs) io.out(`wrote ${result.outputs.json}\nwrote ${result.outputs.plot}\nwrote ${result.outputs.sheet}`);
  }
  return 0;
}
