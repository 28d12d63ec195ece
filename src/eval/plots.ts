/**
 * Pictures a person can check: a mouth-opening plot (generated against reference) and a
 * contact sheet of frames. Drawn as SVG and rendered to PNG by sharp (librsvg), so no extra
 * dependency; written atomically.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { writeFile } from 'node:fs/promises';
import { AtomicOutput } from '../util/atomic.js';
import type { RgbImage } from '../face/image.js';

export interface Series {
  label: string;
  values: ArrayLike<number>;
  color: string;
}

/** A line plot of one or more series over frame index (or `timestamps` when given) as PNG. */
export async function plotSeriesPng(
  path: string,
  series: Series[],
  opts: { title?: string; timestamps?: ArrayLike<number>; width?: number; height?: number; yLabel?: string } = {},
): Promise<string> {
  const W = opts.width ?? 900;
  const H = opts.height ?? 320;
  const m = { l: opts.yLabel ? 72 : 56, r: 16, t: 48, b: 40 };
  const n = Math.max(...series.map((s) => s.values.length));
  const xs = (i: number): number => (opts.timestamps ? opts.timestamps[i]! : i);
  const x0 = xs(0);
  const x1 = xs(Math.max(0, n - 1)) || 1;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) for (let i = 0; i < s.values.length; i++) if (Number.isFinite(s.values[i])) {
    lo = Math.min(lo, s.values[i]!);
    hi = Math.max(hi, s.values[i]!);
  }
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-9) hi = lo + 1;
  const px = (x: number): number => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number): number => H - m.b - ((y - lo) / (hi - lo)) * (H - m.t - m.b);
  const paths = series.map((s) => {
    let d = '';
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i]!;
      if (!Number.isFinite(v)) continue;
      d += `${d ? 'L' : 'M'}${px(xs(i)).toFixed(1)},${py(v).toFixed(1)}`;
    }
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`;
  });
  const legend = series
    // Legend on its own row under the title, so long labels never collide with it.
    .map((s, i) => `<rect x="${m.l + 10 + i * 200}" y="30" width="14" height="4" fill="${s.color}"/><text x="${m.l + 30 + i * 200}" y="36" font-size="12" font-family="sans-serif">${escapeXml(s.label)}</text>`)
    .join('');
  const ticks = [lo, (lo + hi) / 2, hi]
    .map((v) => `<text x="${m.l - 6}" y="${py(v) + 4}" font-size="11" text-anchor="end" font-family="sans-serif">${v.toFixed(3)}</text><line x1="${m.l}" x2="${W - m.r}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="white"/>${ticks}
<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>
<text x="${W / 2}" y="${H - 8}" font-size="12" text-anchor="middle" font-family="sans-serif">${opts.timestamps ? 'time (s)' : 'frame'}</text>
${opts.yLabel ? `<text x="14" y="${(m.t + H - m.b) / 2}" font-size="12" text-anchor="middle" font-family="sans-serif" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})">${escapeXml(opts.yLabel)}</text>` : ''}
${opts.title ? `<text x="${W - m.r}" y="16" font-size="13" text-anchor="end" font-family="sans-serif">${escapeXml(opts.title)}</text>` : ''}
${legend}${paths.join('')}</svg>`;
  return writePng(path, await sharp(Buffer.from(svg)).png().toBuffer());
}

/**
 * A grid of frames, `columns` wide, each scaled to `cellWidth`; rows are typically
 * [real, generated] pairs so a person compares them side by side.
 */
export async function contactSheetPng(
  path: string,
  frames: RgbImage[],
  opts: { columns?: number; cellWidth?: number; labels?: string[] } = {},
): Promise<string> {
  const columns = opts.columns ?? 2;
  const cellW = opts.cellWidth ?? 192;
  const tiles = await Promise.all(
    frames.map(async (f) => {
      const cellH = Math.round((f.height / f.width) * cellW);
      const buf = await sharp(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), {
        raw: { width: f.width, height: f.height, channels: 3 },
      })
        .resize(cellW, cellH, { kernel: 'lanczos3' })
        .png()
        .toBuffer();
      return { buf, cellH };
    }),
  );
  const cellH = Math.max(1, ...tiles.map((t) => t.cellH));
  const labelH = opts.labels ? 18 : 0;
  const rows = Math.ceil(frames.length / columns);
  const composites: OverlayOptions[] = tiles.map((t, i) => ({
    input: t.buf,
    left: (i % columns) * cellW,
    top: Math.floor(i / columns) * (cellH + labelH) + labelH,
  }));
  if (opts.labels) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${columns * cellW}" height="${rows * (cellH + labelH)}">${frames
      .map((_, i) => `<text x="${(i % columns) * cellW + 4}" y="${Math.floor(i / columns) * (cellH + labelH) + 13}" font-size="12" font-family="sans-serif">${escapeXml(opts.labels![i] ?? '')}</text>`)
      .join('')}</svg>`;
    composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  }
  const png = await sharp({
    create: { width: columns * cellW, height: Math.max(1, rows * (cellH + labelH)), channels: 3, background: '#ffffff' },
  })
    .composite(composites)
    .png()
    .toBuffer();
  return writePng(path, png);
}

async function writePng(path: string, png: Buffer): Promise<string> {
  const out = await AtomicOutput.open(path);
  try {
    await writeFile(out.tempPath, png);
    return await out.commit();
  } catch (e) {
    await out.discard();
    throw e;
  }
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
