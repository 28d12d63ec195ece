import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpegHasUnixOutput } from '../src/media/frame-socket.js';
import { CHILD_MALLOC_ENV, spawnTracked } from '../src/media/process.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../src/errors.js';
import {
  VideoWriter,
  extractAudio,
  liveChildProcessCount,
  muxAudio,
  probeMedia,
  readFrames,
  readYuvFrames,
  resolveBinaries,
  toRational,
  type Frame,
} from '../src/media/index.js';
import { ffmpeg, makeClip, tempDir } from './helpers/media.js';

const tmp = tempDir();
const P = (name: string): string => join(tmp.dir, name);
let clip: string;
let silentClip: string;
let audioOnly: string;
let vfrClip: string;

beforeAll(() => {
  clip = makeClip(P('clip.mp4'), { seconds: 1, fps: 25 });
  silentClip = makeClip(P('silent.mp4'), { seconds: 1, audio: false });
  audioOnly = P('audio.m4a');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1', '-c:a', 'aac', audioOnly]);
  // Variable frame rate: keep 2 of every 3 frames, timestamps untouched.
  vfrClip = P('vfr.mp4');
  ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=30:duration=2',
    '-vf', "select='not(eq(mod(n\\,3)\\,2))'", '-vsync', 'vfr',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', vfrClip,
  ]);
});
afterAll(() => tmp.cleanup());

function packetTimes(path: string): number[] {
  const { ffprobe } = resolveBinaries();
  const out = execFileSync(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path]);
  return out.toString().trim().split('\n').map(Number).sort((a, b) => a - b);
}

async function collect(it: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => AvdubError.isInstance(e) && e.code === code);
  expect(liveChildProcessCount()).toBe(0);
}

describe('bad input is rejected before work starts, leaving no ffmpeg running', () => {
  let dir: string;
  let empty: string;
  let text: string;
  let truncated: string;
  let truncatedFaststart: string;
  beforeAll(() => {
    dir = P('a-directory.mp4');
    mkdirSync(dir);
    empty = P('empty.mp4');
    writeFileSync(empty, '');
    text = P('notes.mp4');
    writeFileSync(text, 'this is not a video\n'.repeat(20));
    const bytes = readFileSync(clip);
    truncated = P('truncated.mp4');
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    const fast = P('faststart.mp4');
    ffmpeg(['-i', clip, '-c', 'copy', '-movflags', '+faststart', fast]);
    const fb = readFileSync(fast);
    truncatedFaststart = P('truncated-faststart.mp4');
    writeFileSync(truncatedFaststart, fb.subarray(0, fb.length >> 1));
  });

  const entryPoints = {
    probeMedia: (p: string) => probeMedia(p),
    readFrames: (p: string) => collect(readFrames(p)),
    extractAudio: (p: string) => extractAudio(p),
  };
  for (const [name, call] of Object.entries(entryPoints)) {
    it(`${name}: missing path, directory, empty file, text file, truncated mp4`, async () => {
      await expectCode(call(P('does-not-exist.mp4')), ErrorCode.INPUT_NOT_FOUND);
      await expectCode(call(dir), ErrorCode.INPUT_NOT_A_FILE);
      await expectCode(call(empty), ErrorCode.INPUT_EMPTY);
      await expectCode(call(text), ErrorCode.UNSUPPORTED_MEDIA);
      await expectCode(call(truncated), ErrorCode.CORRUPT_MEDIA);
      await expectCode(call(truncatedFaststart), ErrorCode.CORRUPT_MEDIA);
    });
  }

  it('a video with no audio stream, where audio is needed', async () => {
    await expectCode(extractAudio(silentClip), ErrorCode.NO_AUDIO_STREAM);
    await expectCode(muxAudio(clip, silentClip, P('mux-out.mp4')), ErrorCode.NO_AUDIO_STREAM);
    expect(existsSync(P('mux-out.mp4'))).toBe(false);
  });

  it('an audio-only file where a video is needed', async () => {
    await expectCode(collect(readFrames(audioOnly)), ErrorCode.NO_VIDEO_STREAM);
    await expectCode(muxAudio(audioOnly, clip, P('mux-out2.mp4')), ErrorCode.NO_VIDEO_STREAM);
  });

  it('absurd options', async () => {
    await expectCode(collect(readFrames(clip, { scale: { width: 0, height: 10 } })), ErrorCode.INVALID_ARGUMENT);
    await expectCode(collect(readFrames(clip, { region: { x: 150, y: 0, width: 20, height: 10 } })), ErrorCode.INVALID_ARGUMENT);
    await expectCode(extractAudio(clip, { sampleRate: 5 }), ErrorCode.INVALID_ARGUMENT);
    await expectCode(VideoWriter.open(P('odd.mp4'), { width: 161, height: 120, fps: 25 }), ErrorCode.INVALID_ARGUMENT);
    await expectCode(VideoWriter.open(P('odd.mp4'), { width: 160, height: 120, fps: 25, crf: 80 }), ErrorCode.INVALID_ARGUMENT);
    await expectCode(VideoWriter.open(P('odd.mp4'), { width: 160, height: 120, fps: -1 }), ErrorCode.INVALID_ARGUMENT);
    expect(existsSync(P('odd.mp4'))).toBe(false);
  });
});

describe('probeMedia', () => {
  it('reports container, streams, fps and audio facts', async () => {
    const info = await probeMedia(clip, { scanFrames: true });
    expect(info.container).toContain('mp4');
    expect(info.video).toMatchObject({ codec: 'h264', width: 160, height: 120, rotation: 0, frameCount: 25, variableFrameRate: false });
    expect(info.video!.fps).toBeCloseTo(25, 6);
    expect(info.audio).toMatchObject({ codec: 'aac', sampleRate: 44100, channels: 1 });
    expect(info.duration).toBeGreaterThan(0.95);
  });

  it('detects variable frame rate from the real packet timestamps', async () => {
    const info = await probeMedia(vfrClip, { scanFrames: true });
    expect(info.video!.variableFrameRate).toBe(true);
    expect(info.video!.frameCount).toBe(40);
    expect(info.video!.frameInterval!.max).toBeGreaterThan(info.video!.frameInterval!.min * 1.5);
  });

  it('reports rotation and the displayed size', async () => {
    const rotated = P('rotated.mp4');
    ffmpeg(['-i', clip, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    const info = await probeMedia(rotated);
    // ffmpeg writes this tag as a display matrix turning the picture 90° counter-clockwise,
    // i.e. 270° clockwise; the pixels below confirm which way frames come out.
    expect(info.video).toMatchObject({ width: 160, height: 120, rotation: 270, displayWidth: 120, displayHeight: 160 });
    const [upright] = await collect(readFrames(rotated, { duration: 0.04 }));
    const [stored] = await collect(readFrames(clip, { duration: 0.04 }));
    expect(upright).toMatchObject({ width: 120, height: 160 });
    // 270° clockwise: the new top-left pixel is the stored top-right one.
    const px = (f: Frame, x: number, y: number): number[] => Array.from(f.data.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3));
    expect(px(upright!, 0, 0)).toEqual(px(stored!, 159, 0));
    expect(px(upright!, 119, 159)).toEqual(px(stored!, 0, 119));
  });
});

describe('readFrames', () => {
  it('streams every frame with its timestamp', async () => {
    const frames = await collect(readFrames(clip));
    expect(frames).toHaveLength(25);
    frames.forEach((f, i) => {
      expect(f.index).toBe(i);
      expect(f.width).toBe(160);
      expect(f.data.length).toBe(160 * 120 * 3);
      expect(f.timestamp).toBeCloseTo(i / 25, 6);
    });
    // Not all the same buffer unless asked.
    expect(frames[0]!.data).not.toBe(frames[1]!.data);
  });

  it('gives the real timestamps of a variable-frame-rate video', async () => {
    const frames = await collect(readFrames(vfrClip));
    const truth = packetTimes(vfrClip);
    expect(frames.map((f) => f.timestamp)).toEqual(truth.map((t) => expect.closeTo(t, 5)));
  });

  it('crops a region and scales it', async () => {
    const [full] = await collect(readFrames(clip, { duration: 0.04 }));
    const [crop] = await collect(readFrames(clip, { duration: 0.04, region: { x: 10, y: 20, width: 40, height: 30 } }));
    expect(crop).toMatchObject({ width: 40, height: 30 });
    // Region pixels equal the full frame's pixels there.
    for (const [x, y] of [[0, 0], [39, 29], [17, 11]] as const) {
      for (let c = 0; c < 3; c++) {
        expect(crop!.data[(y * 40 + x) * 3 + c]).toBe(full!.data[((y + 20) * 160 + (x + 10)) * 3 + c]);
      }
    }
    const [scaled] = await collect(readFrames(clip, { duration: 0.04, scale: { width: 64, height: 48 } }));
    expect(scaled).toMatchObject({ width: 64, height: 48 });
    expect(scaled!.data.length).toBe(64 * 48 * 3);
  });

  it('seeks with start/duration and keeps file-timeline timestamps', async () => {
    const frames = await collect(readFrames(clip, { start: 0.4, duration: 0.2 }));
    expect(frames.length).toBe(5);
    expect(frames[0]!.timestamp).toBeCloseTo(0.4, 3);
  });

  it('reuseBuffer recycles a small pool of buffers', async () => {
    const seen = new Set<Uint8Array>();
    let n = 0;
    for await (const f of readFrames(clip, { reuseBuffer: true })) {
      seen.add(f.data);
      n++;
    }
    expect(n).toBe(25);
    expect(seen.size).toBeLessThanOrEqual(4);
  });

  it('breaking out of the loop kills ffmpeg', async () => {
    let n = 0;
    for await (const _ of readFrames(clip)) if (++n === 3) break;
    expect(n).toBe(3);
    expect(liveChildProcessCount()).toBe(0);
  });

  it('abort stops decoding with E_ABORTED and kills ffmpeg', async () => {
    const c = new AbortController();
    const run = (async () => {
      let n = 0;
      for await (const _ of readFrames(clip, { signal: c.signal })) if (++n === 2) c.abort();
    })();
    await expectCode(run, ErrorCode.ABORTED);
  });

  it('reports progress with totals', async () => {
    const events: number[] = [];
    await collect(readFrames(clip, { onProgress: (e) => events.push(e.done) }));
    expect(events.at(-1)).toBe(25);
  });
});

describe('readFrames transports', () => {
  // Sockets are made under os.tmpdir(): point it at a folder of this test's own (TMPDIR is read
  // per call, and other test files decode at the same time), which must be empty at the end.
  const sockets = P('sockets');
  let savedTmp: string | undefined;
  beforeAll(() => {
    mkdirSync(sockets, { recursive: true });
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = sockets;
  });
  afterAll(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  });
  const socketFiles = (): string[] => readdirSync(sockets);
  const available = ffmpegHasUnixOutput(resolveBinaries().ffmpeg);

  it('the socket and the pipe give the same bytes and timestamps, RGB and I420, with a slow consumer', async () => {
    expect(available).toBe(process.platform !== 'win32'); // the bundled build has the unix protocol
    for (const read of [readFrames, readYuvFrames] as const) {
      const viaPipe = (await collect(read(vfrClip, { transport: 'pipe' }))).map((f) => ({ t: f.timestamp, d: Buffer.from(f.data) }));
      const viaSocket: typeof viaPipe = [];
      for await (const f of read(vfrClip, { transport: 'socket' })) {
        // Slower than ffmpeg: the reader must pause and resume without losing or splitting bytes.
        if (viaSocket.length % 5 === 0) await new Promise((r) => setTimeout(r, 15));
        viaSocket.push({ t: f.timestamp, d: Buffer.from(f.data) });
      }
      expect(viaSocket.length).toBe(viaPipe.length);
      viaSocket.forEach((f, i) => {
        expect(f.t).toBe(viaPipe[i]!.t);
        expect(f.d.equals(viaPipe[i]!.d)).toBe(true);
      });
    }
    expect(socketFiles()).toEqual([]);
  });

  it('over the socket: break, abort and an input ffmpeg cannot open leave no process and no socket file', async () => {
    let n = 0;
    for await (const _ of readFrames(clip, { transport: 'socket' })) if (++n === 3) break;
    expect(n).toBe(3);
    expect(liveChildProcessCount()).toBe(0);
    const c = new AbortController();
    const run = (async () => {
      let k = 0;
      for await (const _ of readFrames(clip, { transport: 'socket', signal: c.signal })) if (++k === 2) c.abort();
    })();
    await expectCode(run, ErrorCode.ABORTED);
    // ffmpeg exits before it listens (its input is not a video, the probe was skipped by
    // passing one): the reader stops waiting for the socket and reports ffmpeg's failure.
    const bad = P('not-a-video.mp4');
    writeFileSync(bad, 'plain text, not a video');
    const info = await probeMedia(clip);
    await expectCode(collect(readFrames(bad, { transport: 'socket', info: { ...info, path: bad } })), ErrorCode.FFMPEG_FAILED);
    expect(socketFiles()).toEqual([]);
  });

  it("'auto' falls back to stdout when ffmpeg cannot make the socket; 'socket' fails", async () => {
    // An ffmpeg that refuses any unix: output, as a sandboxed or stripped build might.
    const real = resolveBinaries().ffmpeg;
    const wrapper = P('ffmpeg-no-socket.sh');
    writeFileSync(wrapper, `#!/bin/sh\ncase "$*" in *unix:*) echo "unix socket: permission denied" >&2; exit 1;; esac\nexec ${JSON.stringify(real)} "$@"\n`, { mode: 0o755 });
    const viaPipe = await collect(readFrames(clip, { transport: 'pipe' }));
    const auto = await collect(readFrames(clip, { ffmpegPath: wrapper }));
    expect(auto.length).toBe(viaPipe.length);
    auto.forEach((f, i) => expect(Buffer.from(f.data).equals(Buffer.from(viaPipe[i]!.data))).toBe(true));
    await expectCode(collect(readFrames(clip, { ffmpegPath: wrapper, transport: 'socket' })), ErrorCode.FFMPEG_FAILED);
    expect(socketFiles()).toEqual([]);
  });

  it('rejects an unknown transport', async () => {
    await expectCode(collect(readFrames(clip, { transport: 'carrier-pigeon' as never })), ErrorCode.INVALID_ARGUMENT);
  });
});

describe('VideoWriter', () => {
  const W = 64;
  const H = 48;
  const solid = (r: number, g: number, b: number): Uint8Array => {
    const d = new Uint8Array(W * H * 3);
    for (let i = 0; i < d.length; i += 3) [d[i], d[i + 1], d[i + 2]] = [r, g, b];
    return d;
  };

  it('round-trips frames, fps and colours', async () => {
    const out = P('written.mp4');
    const w = await VideoWriter.open(out, { width: W, height: H, fps: '30000/1001', crf: 10, preset: 'ultrafast' });
    const colours: [number, number, number][] = [];
    for (let i = 0; i < 30; i++) {
      const c: [number, number, number] = [(i * 8) % 256, 128, 255 - i * 4];
      colours.push(c);
      await w.write(solid(...c));
    }
    expect(await w.close()).toBe(out);
    const info = await probeMedia(out, { scanFrames: true });
    expect(info.video).toMatchObject({ codec: 'h264', width: W, height: H, frameCount: 30, variableFrameRate: false });
    expect(info.video!.fps).toBeCloseTo(30000 / 1001, 3);
    const frames = await collect(readFrames(out));
    expect(frames).toHaveLength(30);
    frames.forEach((f, i) => {
      const mid = ((H >> 1) * W + (W >> 1)) * 3;
      for (let c = 0; c < 3; c++) expect(Math.abs(f.data[mid + c]! - colours[i]![c]!)).toBeLessThanOrEqual(6);
      expect(f.timestamp).toBeCloseTo((i * 1001) / 30000, 4);
    });
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('keeps variable-frame-rate timestamps from readFrames', async () => {
    const out = P('vfr-copy.mp4');
    const src = await probeMedia(vfrClip);
    const w = await VideoWriter.open(out, { width: 160, height: 120, fps: src.video!.nominalFrameRate, variableFrameRate: true, preset: 'ultrafast' });
    let written = 0;
    for await (const f of readFrames(vfrClip)) {
      await w.write(f);
      written++;
    }
    await w.close();
    expect(packetTimes(out)).toEqual(packetTimes(vfrClip).map((t) => expect.closeTo(t, 4)));
    // Every frame decodes, the last included (a 1/90000 encoder time base used to leave the last
    // packet without a duration, and decoders dropped it).
    let decoded = 0;
    for await (const _ of readFrames(out)) decoded++;
    expect(decoded).toBe(written);
  });

  it('adds audio from another file without losing frames, padded to the video length', async () => {
    // Regression: `-shortest` in the encoding run dropped the frames inside x264's lookahead
    // when the audio (1 s here) ended before the video (2 s).
    const out = P('with-audio.mp4');
    const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, preset: 'veryfast', audioFrom: clip });
    for (let i = 0; i < 50; i++) await w.write(solid(i, i, i));
    await w.close();
    const info = await probeMedia(out, { scanFrames: true });
    expect(info.video!.frameCount).toBe(50);
    expect(info.audio?.codec).toBe('aac');
    expect(info.audio!.duration).toBeGreaterThan(1.9);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('rejects bad frames and timestamps', async () => {
    const w = await VideoWriter.open(P('bad.mp4'), { width: W, height: H, fps: 25 });
    await expect(w.write(new Uint8Array(10))).rejects.toThrow(/Expected a 64x48 RGB frame/);
    await w.write(solid(0, 0, 0), 0.5);
    await expect(w.write(solid(0, 0, 0), 0.5)).rejects.toThrow(/increasing timestamps/);
    await w.abort();
    expect(existsSync(P('bad.mp4'))).toBe(false);
    expect(liveChildProcessCount()).toBe(0);
  });

  it('abort mid-write leaves no output, no temp file and no process', async () => {
    const c = new AbortController();
    const out = P('aborted.mp4');
    const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, signal: c.signal });
    await w.write(solid(1, 2, 3));
    c.abort();
    await expect(w.write(solid(1, 2, 3))).rejects.toSatisfy((e: unknown) => AvdubError.isInstance(e, ErrorCode.ABORTED));
    await w.abort();
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.partial'))).toEqual([]);
    expect(liveChildProcessCount()).toBe(0);
  });

  it('closing with no frames fails and writes nothing', async () => {
    const out = P('nothing.mp4');
    const w = await VideoWriter.open(out, { width: W, height: H, fps: 25 });
    await expect(w.close()).rejects.toThrow(/No frames/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('audio', () => {
  it('extracts 16 kHz mono float samples of the right length and pitch', async () => {
    const { samples, sampleRate, channels } = await extractAudio(clip);
    expect(sampleRate).toBe(16000);
    expect(channels).toBe(1);
    expect(samples.length).toBeGreaterThan(15000);
    expect(samples.length).toBeLessThan(17500);
    // 440 Hz sine: count rising zero crossings over the middle 0.5 s.
    let crossings = 0;
    for (let i = 4000; i < 12000; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings++;
    expect(crossings).toBeGreaterThanOrEqual(218);
    expect(crossings).toBeLessThanOrEqual(222);
  });

  it('muxes PCM samples onto a video, padded to the video duration', async () => {
    const out = P('muxed.mp4');
    const samples = new Float32Array(8000).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16000));
    await muxAudio(clip, { samples, sampleRate: 16000 }, out);
    const info = await probeMedia(out);
    expect(info.video?.codec).toBe('h264');
    expect(info.audio?.codec).toBe('aac');
    expect(info.audio!.duration).toBeGreaterThan(0.95);
    expect(info.audio!.duration).toBeLessThan(1.1);
  });
});

describe('muxAudio with a probe given', () => {
  it('uses the given probe of the audio file (no second probe) and writes the same file', async () => {
    const ainfo = await probeMedia(audioOnly);
    await muxAudio(clip, audioOnly, P('mux-probed.mp4'));
    await muxAudio(clip, audioOnly, P('mux-given.mp4'), { audioInfo: ainfo });
    expect(readFileSync(P('mux-given.mp4')).equals(readFileSync(P('mux-probed.mp4')))).toBe(true);
    // A probe that says "no audio" is believed: proof that it replaced probing the file.
    await expectCode(muxAudio(clip, audioOnly, P('mux-x.mp4'), { audioInfo: { ...ainfo, audio: undefined } }), ErrorCode.NO_AUDIO_STREAM);
  });
});

describe('toRational', () => {
  it('keeps NTSC rates exact', () => {
    expect(toRational(29.97)).toEqual({ num: 30000, den: 1001 });
    expect(toRational('24000/1001')).toEqual({ num: 24000, den: 1001 });
    expect(toRational(25)).toEqual({ num: 25, den: 1 });
    expect(toRational('25')).toEqual({ num: 25, den: 1 });
  });
});

describe('spawnTracked environment', () => {
  const echo = async (): Promise<string> => {
    const t = spawnTracked('/bin/sh', ['-c', 'echo "$MALLOC_MMAP_THRESHOLD_ $MALLOC_TRIM_THRESHOLD_"']);
    let out = '';
    t.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await t.exited;
    return out.trim();
  };

  it.skipIf(process.platform === 'win32')('gives children the glibc malloc settings, unless the environment already has them', async () => {
    const saved = process.env.MALLOC_TRIM_THRESHOLD_;
    delete process.env.MALLOC_TRIM_THRESHOLD_;
    try {
      expect(await echo()).toBe(`${CHILD_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_} ${CHILD_MALLOC_ENV.MALLOC_TRIM_THRESHOLD_}`);
      process.env.MALLOC_TRIM_THRESHOLD_ = '12345';
      expect((await echo()).split(' ')[1]).toBe('12345');
    } finally {
      if (saved === undefined) delete process.env.MALLOC_TRIM_THRESHOLD_;
      else process.env.MALLOC_TRIM_THRESHOLD_ = saved;
    }
  });
});
