import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeWav, readAudio, readWav, wavInfo, writeWav } from '../../src/audio/index.js';
import { AvdubError, ErrorCode } from '../../src/errors.js';
import { resolveBinaries } from '../../src/media/index.js';
import { AUDIO_TRACKS, audioPath, hasTestData } from '../helpers/data.js';

const dir = mkdtempSync(join(tmpdir(), 'avdub-wav-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tone(n: number, sr: number, f = 440, amp = 0.5): Float32Array {
  return new Float32Array(n).map((_, i) => amp * Math.sin((2 * Math.PI * f * i) / sr));
}

/** A WAV file built by hand: extra chunks, odd sizes, WAVE_FORMAT_EXTENSIBLE. */
function handWav(opts: { bits: 16 | 24; channels: number; sr: number; frames: Int32Array[]; extensible?: boolean; junk?: number }): Buffer {
  const { bits, channels, sr } = opts;
  const n = opts.frames[0]!.length;
  const bytesPer = bits / 8;
  const data = Buffer.alloc(n * channels * bytesPer);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      const v = opts.frames[c]![i]!;
      const o = (i * channels + c) * bytesPer;
      if (bits === 16) data.writeInt16LE(v, o);
      else data.writeIntLE(v, o, 3);
    }
  }
  const fmtSize = opts.extensible ? 40 : 16;
  const fmt = Buffer.alloc(fmtSize);
  fmt.writeUInt16LE(opts.extensible ? 0xfffe : 1, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(sr, 4);
  fmt.writeUInt32LE(sr * channels * bytesPer, 8);
  fmt.writeUInt16LE(channels * bytesPer, 12);
  fmt.writeUInt16LE(bits, 14);
  if (opts.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(bits, 18);
    fmt.writeUInt32LE(3, 20);
    fmt.writeUInt16LE(1, 24); // KSDATAFORMAT_SUBTYPE_PCM starts with 0x0001
  }
  const chunk = (id: string, body: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(body.length, 4);
    return Buffer.concat([h, body, body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const parts = [chunk('fmt ', fmt)];
  if (opts.junk !== undefined) parts.push(chunk('LIST', Buffer.alloc(opts.junk, 0x41)));
  parts.push(chunk('data', data));
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), ...parts]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

describe('WAV I/O (node-wav)', () => {
  it.each<[{ bitDepth?: 16 | 24; float?: boolean }, number]>([
    [{ bitDepth: 16 }, 1 / 32767],
    [{ bitDepth: 24 }, 1 / 8388607],
    [{ float: true }, 0],
  ])('round-trips %o within quantisation', async (opts, tol) => {
    const x = tone(1000, 16000);
    const buf = encodeWav({ samples: x, sampleRate: 16000 }, opts);
    const info = wavInfo(buf);
    expect(info).toMatchObject({ sampleRate: 16000, channels: 1, frames: 1000, float: 'float' in opts });
    const y = decodeWav(buf);
    expect(y.sampleRate).toBe(16000);
    expect(y.channels).toBe(1);
    expect(y.samples.length).toBe(1000);
    for (let i = 0; i < x.length; i++) expect(Math.abs(y.samples[i]! - x[i]!)).toBeLessThanOrEqual(tol + 1e-7);
  });

  it('keeps stereo interleaving through encode/decode and write/read', async () => {
    const n = 500;
    const st = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      st[2 * i] = 0.25;
      st[2 * i + 1] = -0.5;
    }
    const path = join(dir, 'stereo.wav');
    await writeWav(path, { samples: st, sampleRate: 22050, channels: 2 }, { float: true });
    const back = await readWav(path);
    expect(back).toMatchObject({ sampleRate: 22050, channels: 2 });
    expect(Array.from(back.samples.subarray(0, 4))).toEqual([0.25, -0.5, 0.25, -0.5]);
    // no temporary file left behind
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('decodes WAVE_FORMAT_EXTENSIBLE 24-bit with an odd-sized LIST chunk (node-wav alone cannot)', () => {
    const n = 300;
    const l = new Int32Array(n).map((_, i) => Math.round(8388607 * 0.5 * Math.sin(i / 10)));
    const r = new Int32Array(n).fill(-8388608); // the most negative code: must decode to -1, not +1
    const buf = handWav({ bits: 24, channels: 2, sr: 48000, frames: [l, r], extensible: true, junk: 13 });
    const y = decodeWav(buf);
    expect(y).toMatchObject({ sampleRate: 48000, channels: 2 });
    expect(y.samples.length).toBe(2 * n);
    for (let i = 0; i < n; i++) {
      expect(y.samples[2 * i]).toBeCloseTo(l[i]! / 8388607, 6);
      expect(y.samples[2 * i + 1]).toBe(-1);
    }
  });

  it('decodes a 16-bit file whose data chunk sits at an unaligned offset', () => {
    const frames = [new Int32Array(100).map((_, i) => i * 100 - 5000)];
    const buf = handWav({ bits: 16, channels: 1, sr: 8000, frames, junk: 3 });
    const y = decodeWav(buf.subarray(0)); // also a view, not a fresh buffer
    expect(y.samples[0]).toBeCloseTo(-5000 / 32768, 6);
    expect(y.samples[99]).toBeCloseTo(4900 / 32767, 6);
  });

  it('accepts a streamed data chunk with size 0xFFFFFFFF', () => {
    const buf = encodeWav({ samples: tone(200, 8000), sampleRate: 8000 });
    buf.writeUInt32LE(0xffffffff, 40);
    expect(decodeWav(buf).samples.length).toBe(200);
  });

  it('rejects what is not a PCM/float WAV with typed errors', () => {
    expect(() => decodeWav(Buffer.from('not a wav file at all'))).toThrow(
      expect.objectContaining({ code: ErrorCode.UNSUPPORTED_MEDIA }),
    );
    const noData = encodeWav({ samples: tone(10, 8000), sampleRate: 8000 }).subarray(0, 36);
    expect(() => decodeWav(noData)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MEDIA }));
    const alaw = Buffer.from(encodeWav({ samples: tone(10, 8000), sampleRate: 8000 }));
    alaw.writeUInt16LE(6, 20); // WAVE_FORMAT_ALAW
    expect(() => decodeWav(alaw)).toThrow(/not PCM or float/);
    expect(() => decodeWav('x' as unknown as Uint8Array)).toThrow(AvdubError);
    expect(() => encodeWav({ samples: tone(10, 8000), sampleRate: 8000 }, { bitDepth: 12 as 16 })).toThrow(/bitDepth/);
  });

  it('readAudio resamples WAV in-process and decodes other formats through ffmpeg', async () => {
    const sr = 44100;
    const path = join(dir, 'tone.wav');
    writeFileSync(path, encodeWav({ samples: tone(sr, sr, 1000), sampleRate: sr }));
    const a = await readAudio(path);
    expect(a).toMatchObject({ sampleRate: 16000, channels: 1 });
    expect(a.samples.length).toBe(16000);
    const keep = await readAudio(path, { sampleRate: 'keep' });
    expect(keep.sampleRate).toBe(44100);

    const { ffmpeg } = resolveBinaries();
    const flac = join(dir, 'tone.flac');
    execFileSync(ffmpeg, ['-loglevel', 'error', '-y', '-i', path, flac]);
    const b = await readAudio(flac);
    expect(b).toMatchObject({ sampleRate: 16000, channels: 1 });
    // both paths give the same 1 kHz tone (ffmpeg's soxr vs our Kaiser sinc: tiny differences)
    let maxDiff = 0;
    for (let i = 2000; i < 14000; i++) maxDiff = Math.max(maxDiff, Math.abs(a.samples[i]! - b.samples[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
    const stereo = join(dir, 'stereo.flac');
    execFileSync(ffmpeg, ['-loglevel', 'error', '-y', '-i', path, '-ac', '2', stereo]);
    expect(await readAudio(stereo, { channels: 'keep', sampleRate: 'keep' })).toMatchObject({ sampleRate: 44100, channels: 2 });
  });

  it('readAudio reports a missing file with E_INPUT_NOT_FOUND', async () => {
    await expect(readAudio(join(dir, 'missing.wav'))).rejects.toMatchObject({ code: ErrorCode.INPUT_NOT_FOUND });
    await expect(readAudio(join(dir, 'x.wav'), { sampleRate: 10 })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });

  it('writeWav leaves nothing behind when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const path = join(dir, 'aborted.wav');
    await expect(writeWav(path, { samples: tone(100, 8000), sampleRate: 8000 }, { signal: ac.signal })).rejects.toMatchObject({
      code: ErrorCode.ABORTED,
    });
    expect(existsSync(path)).toBe(false);
  });
});

describe.skipIf(!hasTestData)('WAV decoding of the sample tracks', () => {
  it.each([...AUDIO_TRACKS])('%s decodes like ffmpeg does', async (name) => {
    const mine = await readWav(audioPath(name));
    const { ffmpeg } = resolveBinaries();
    const raw = execFileSync(ffmpeg, ['-loglevel', 'error', '-i', audioPath(name), '-f', 'f32le', '-c:a', 'pcm_f32le', 'pipe:1'], {
      maxBuffer: 1 << 28,
    });
    const ref = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(mine.samples.length).toBe(ref.length);
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(mine.samples[i]! - ref[i]!));
    // node-wav divides positive codes by 2^(b-1) - 1, ffmpeg by 2^(b-1): at most ~3e-5 apart
    expect(maxDiff).toBeLessThan(5e-5);
    expect(readFileSync(audioPath(name)).length).toBeGreaterThan(0);
  });
});
