/**
 * A minimal Matroska (EBML) stream writer for raw RGB frames with exact timestamps.
 *
 * Why: a rawvideo pipe carries no timestamps, so ffmpeg could only assume a constant rate.
 * Framing each frame as a SimpleBlock in its own Cluster, with a microsecond timecode, lets
 * `VideoWriter` keep the source's real timestamps (variable frame rate included). ffmpeg's
 * Matroska demuxer reads `V_UNCOMPRESSED` with the pixel format as a ColourSpace fourcc.
 */

const TIMECODE_SCALE_NS = 1000; // timecodes in microseconds

function vintSize(n: number): Buffer {
  // EBML data-size vint; 8 bytes covers any frame we could hold in memory.
  for (let len = 1; len <= 8; len++) {
    if (n < 2 ** (7 * len) - 1) {
      const b = Buffer.alloc(len);
      let v = n;
      for (let i = len - 1; i >= 0; i--) {
        b[i] = v % 256;
        v = Math.floor(v / 256);
      }
      b[0]! |= 1 << (8 - len);
      return b;
    }
  }
  throw new RangeError(`EBML size too large: ${n}`);
}

function id(hex: number): Buffer {
  const bytes: number[] = [];
  for (let v = hex; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}

function el(idHex: number, payload: Buffer): Buffer {
  return Buffer.concat([id(idHex), vintSize(payload.length), payload]);
}

function uint(idHex: number, value: number): Buffer {
  const bytes: number[] = [];
  let v = Math.max(0, Math.floor(value));
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return el(idHex, Buffer.from(bytes));
}

function str(idHex: number, value: string): Buffer {
  return el(idHex, Buffer.from(value, 'latin1'));
}

/** EBML header + Segment (unknown size) + Info + Tracks for one raw video track. */
export function mkvHeader(width: number, height: number, fourcc: string): Buffer {
  const ebml = el(
    0x1a45dfa3,
    Buffer.concat([
      uint(0x4286, 1),
      uint(0x42f7, 1),
      uint(0x42f2, 4),
      uint(0x42f3, 8),
      str(0x4282, 'matroska'),
      uint(0x4287, 4),
      uint(0x4285, 2),
    ]),
  );
  const info = el(0x1549a966, Buffer.concat([uint(0x2ad7b1, TIMECODE_SCALE_NS), str(0x4d80, 'avdub'), str(0x5741, 'avdub')]));
  const video = el(
    0xe0,
    Buffer.concat([uint(0xb0, width), uint(0xba, height), el(0x2eb524, Buffer.from(fourcc, 'latin1'))]),
  );
  const track = el(
    0xae,
    Buffer.concat([uint(0xd7, 1), uint(0x73c5, 1), uint(0x83, 1), str(0x86, 'V_UNCOMPRESSED'), video]),
  );
  const tracks = el(0x1654ae6b, track);
  // Unknown-size Segment: we stream and never seek back.
  const segment = Buffer.concat([id(0x18538067), Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
  return Buffer.concat([ebml, segment, info, tracks]);
}

/**
 * The bytes that precede one frame's pixels: a Cluster holding the absolute timecode and one
 * keyframe SimpleBlock. Returned separately so the (large) pixel buffer is never copied.
 */
export function mkvFramePrefix(timestampSeconds: number, frameBytes: number): Buffer {
  const timecode = uint(0xe7, Math.round(timestampSeconds * 1e6));
  // SimpleBlock body: track 1 (vint 0x81), relative timecode int16 0, flags 0x80 (keyframe).
  const blockHead = Buffer.from([0x81, 0x00, 0x00, 0x80]);
  const blockSize = blockHead.length + frameBytes;
  const simpleBlockHead = Buffer.concat([id(0xa3), vintSize(blockSize), blockHead]);
  const clusterPayload = timecode.length + simpleBlockHead.length + frameBytes;
  return Buffer.concat([id(0x1f43b675), vintSize(clusterPayload), timecode, simpleBlockHead]);
}
