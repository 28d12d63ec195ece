import type { RgbImage } from './image.js';

/** An RGB colour. */
export type Rgb = readonly [number, number, number];

/**
 * Minimal drawing on RGB24 images, for debug overlays (`avdub track --overlay`): filled dots,
 * 1-pixel lines, polylines. Coordinates are continuous pixels (centre of pixel i at i + 0.5).
 */
export function drawDot(img: RgbImage, x: number, y: number, color: Rgb, radius = 1): void {
  const { width: W, height: H, data } = img;
  const cx = Math.floor(x);
  const cy = Math.floor(y);
  const r = Math.max(0, Math.round(radius));
  for (let j = -r; j <= r; j++) {
    const py = cy + j;
    if (py < 0 || py >= H) continue;
    for (let i = -r; i <= r; i++) {
      const px = cx + i;
      if (px < 0 || px >= W || i * i + j * j > r * r + r) continue;
      const o = (py * W + px) * 3;
      data[o] = color[0];
      data[o + 1] = color[1];
      data[o + 2] = color[2];
    }
  }
}

/** A line, `thickness` pixels wide (DDA with square pens), clipped to the image. */
export function drawLine(img: RgbImage, x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
  const steps = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)));
  if (!Number.isFinite(steps)) return;
  const r = Math.max(0, Math.floor((thickness - 1) / 2));
  for (let s = 0; s <= steps; s++) {
    const t = steps === 0 ? 0 : s / steps;
    drawDot(img, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, color, r);
  }
}

/** Lines through packed points [x0, y0, x1, y1, ...], closed back to the first when `closed`. */
export function drawPolyline(img: RgbImage, points: ArrayLike<number>, color: Rgb, closed = true, thickness = 1): void {
  const n = points.length / 2;
  for (let i = 0; i + 1 < n + (closed ? 1 : 0); i++) {
    const j = (i + 1) % n;
    drawLine(img, points[2 * i]!, points[2 * i + 1]!, points[2 * j]!, points[2 * j + 1]!, color, thickness);
  }
}

/** Copies an RGB image, cropping to `width` x `height` from the top-left corner. */
export function copyImage(img: RgbImage, width = img.width, height = img.height): RgbImage {
  if (width === img.width && height === img.height) return { data: new Uint8Array(img.data), width, height };
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(img.data.subarray(y * img.width * 3, y * img.width * 3 + width * 3), y * width * 3);
  return { data, width, height };
}
