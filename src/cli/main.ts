import { parseCommandArgs, usageError } from './args.js';
import { AvdubError } from '../errors.js';
import { probeMedia, type MediaInfo } from '../media/probe.js';
import { listDevices } from '../runtime/session.js';
import { trackCommand } from './track.js';
import { dubCommand, lipsyncCommand } from './pipeline-commands.js';
import { evalCommand } from './eval.js';
import { VERSION } from '../version.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

const HELP = `avdub ${VERSION}: audiovisual dubbing

Usage:
  avdub probe <file> [--json]     Facts about a media file (streams, fps/VFR, rotation, audio)
  avdub devices [--json]          Execution providers this install can use (each is tested)
  avdub track <video> [--json out.json] [--overlay out.mp4]
                                  Find and track faces; landmarks, pose, canonical crop box
  avdub lipsync <video> --audio <track> [-o out.mp4] [--json]
                                  Lip-sync the video to a finished dubbed track
  avdub dub <video> --to <lang> [--transcript x.srt] [--translation y.srt]
            [--asr|--mt|--tts <provider id>] [-o out.mp4] [--json]
                                  Transcribe, translate, synthesize, time-fit and lip-sync
  avdub eval <video> [--out dir] [--json]
                                  Lip-sync quality: self/cross-reenactment against baselines
  avdub --version | --help

Exit codes: 0 ok, 1 failure, 2 usage, 3 bad input, 4 device, 5 provider, 6 no face, 130 aborted.
Environment: AVDUB_FFMPEG / AVDUB_FFPROBE choose system binaries.`;

export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: CliIO = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

/** Runs the CLI; returns the exit code instead of exiting, so it can be tested in-process. */
export async function main(argv: string[], io: CliIO = stdio): Promise<number> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error('SIGINT'));
  process.once('SIGINT', onSigint);
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(HELP);
      return command === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (command === '--version' || command === '-v') {
      io.out(VERSION);
      return EXIT.OK;
    }
    switch (command) {
      case 'probe':
        return await probeCommand(rest, io, controller.signal);
      case 'devices':
        return await devicesCommand(rest, io);
      case 'track':
        return await trackCommand(rest, io, controller.signal);
      case 'lipsync':
        return await lipsyncCommand(rest, io, controller.signal);
      case 'dub':
        return await dubCommand(rest, io, controller.signal);
      case 'eval':
        return await evalCommand(rest, io, controller.signal);
      default:
        throw usage(`Unknown command "${command}". Run avdub --help.`);
    }
  } catch (error) {
    const code = exitCodeFor(error);
    if (AvdubError.isInstance(error)) io.err(`avdub: ${error.code}: ${error.message}`);
    else io.err(`avdub: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return code;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const usage = (message: string): AvdubError => usageError(message);
const parse = parseCommandArgs;

async function probeCommand(args: string[], io: CliIO, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw usage('Usage: avdub probe <file> [--json]');
  const info = await probeMedia(positionals[0]!, { scanFrames: true, signal });
  io.out(values.json ? JSON.stringify(info, null, 2) : formatProbe(info));
  return EXIT.OK;
}

async function devicesCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  const devices = await listDevices({ probe: true });
  if (values.json) io.out(JSON.stringify(devices, null, 2));
  else {
    io.out(table([['device', 'in build', 'bundled', 'works', 'note'], ...devices.map((d) => [
      d.device,
      d.listed ? 'yes' : 'no',
      d.bundled ? 'yes' : 'no',
      d.works === undefined ? '-' : d.works ? 'yes' : 'no',
      d.error ?? '',
    ])]));
  }
  return EXIT.OK;
}

export function formatProbe(info: MediaInfo): string {
  const rows: string[][] = [
    ['file', info.path],
    ['container', `${info.container}${info.containerLongName ? ` (${info.containerLongName})` : ''}`],
    ['duration', `${info.duration.toFixed(3)} s`],
    ['size', `${info.size} bytes${info.bitRate ? `, ${Math.round(info.bitRate / 1000)} kb/s` : ''}`],
  ];
  const v = info.video;
  if (v) {
    rows.push(
      ['video', `${v.codec}${v.profile ? ` (${v.profile})` : ''}, ${v.pixelFormat ?? '?'}`],
      ['size', `${v.width}x${v.height}${v.rotation ? `, rotated ${v.rotation}° -> ${v.displayWidth}x${v.displayHeight}` : ''}`],
      ['fps', `${v.fps.toFixed(3)} (nominal ${v.nominalFrameRate})${v.variableFrameRate ? ', variable frame rate' : ', constant'}`],
      ['frames', v.frameCount === undefined ? 'unknown' : `${v.frameCount}`],
    );
  } else rows.push(['video', 'none']);
  const a = info.audio;
  if (a) rows.push(['audio', `${a.codec}, ${a.sampleRate} Hz, ${a.channels} ch${a.channelLayout ? ` (${a.channelLayout})` : ''}, ${a.duration.toFixed(3)} s`]);
  else rows.push(['audio', 'none']);
  return table(rows);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
