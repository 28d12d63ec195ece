/**
 * Masks in canonical-crop coordinates (pixels of the crop, centre of pixel i at i + 0.5).
 * The renderer maps them back to the frame through the inverse transform.
 */

/**
 * The mouth mask rectangle of the 001 appendix, as fractions of the crop side: left, top,
 * right, bottom. With the default template it hides every lip and jaw landmark and no eye
 * landmark (checked on every frame of the sample clips).
 */
export const MOUTH_MASK_RECT = Object.freeze({ x1: 0.08, y1: 0.28, x2: 0.92, y2: 0.95 });

export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The mouth rectangle in pixels of a `size` crop. */
export function mouthMaskRect(size: number, rect = MOUTH_MASK_RECT): PixelRect {
  return { x0: rect.x1 * size, y0: rect.y1 * size, x1: rect.x2 * size, y1: rect.y2 * size };
}

/** A `size`x`size` single-channel mask, `value` inside the mouth rectangle (pixel centres inside). */
export function mouthMask(size: number, out?: Uint8Array, value = 255, rect = MOUTH_MASK_RECT): Uint8Array {
  const m = out ?? new Uint8Array(size * size);
  m.fill(0, 0, size * size);
  const r = mouthMaskRect(size, rect);
  const x0 = Math.max(0, Math.ceil(r.x0 - 0.5));
  const x1 = Math.min(size, Math.ceil(r.x1 - 0.5));
  for (let y = Math.max(0, Math.ceil(r.y0 - 0.5)); y < Math.min(size, Math.ceil(r.y1 - 0.5)); y++) m.fill(value, y * size + x0, y * size + x1);
  return m;
}

export interface FacePolygonOptions {
  /** How far the three chin points move down, as a fraction of the crop side. */
  chinShift: number;
  /** Scale of the hull about its centroid (1 keeps it, < 1 shrinks it). */
  shrink: number;
}

/**
 * 001 s3.2 (Fig. 6): the training polygon is the convex hull of the face edge at ear level,
 * the point halfway up the nose, the nose tip, and the chin's left, centre and right, the
 * chin points shifted down so the mouth can open wider than in the original frame. The
 * rendering polygon (001 s5) is "slightly smaller so as to only include the interior of the
 * face": less chin shift, shrunk about its centroid.
 */
export const defaultPolygonOptions: { training: FacePolygonOptions; render: FacePolygonOptions } = {
  training: { chinShift: 0.06, shrink: 1 },
  render: { chinShift: 0.02, shrink: 0.92 },
};

/** Landmarks the polygons are built from. */
export const POLYGON_LANDMARKS = Object.freeze({
  earLevel: [234, 454] as const,
  /** Halfway up the nose: the midpoint of the top of the nose bridge (6) and the tip (1). */
  midNose: [6, 1] as const,
  noseTip: 1,
  chin: [149, 152, 378] as const,
});

/**
 * The face polygon (a convex hull, vertices in `convexHull` order) from canonical landmarks
 * (468 x [x, y, z] in crop pixels). Returns packed [x0, y0, ...].
 */
export function facePolygon(canonical: ArrayLike<number>, size: number, options: FacePolygonOptions): Float32Array {
  const pt = (i: number): [number, number] => [canonical[3 * i]!, canonical[3 * i + 1]!];
  const L = POLYGON_LANDMARKS;
  const shift = options.chinShift * size;
  const [a, b] = [pt(L.midNose[0]), pt(L.midNose[1])];
  const points: number[] = [
    ...pt(L.earLevel[0]),
    ...pt(L.earLevel[1]),
    (a[0] + b[0]) / 2,
    (a[1] + b[1]) / 2,
    ...pt(L.noseTip),
  ];
  for (const c of L.chin) {
    const [x, y] = pt(c);
    points.push(x, y + shift);
  }
  const hull = convexHull(points);
  if (options.shrink !== 1) {
    let cx = 0;
    let cy = 0;
    const n = hull.length / 2;
    for (let i = 0; i < n; i++) {
      cx += hull[2 * i]!;
      cy += hull[2 * i + 1]!;
    }
    cx /= n;
    cy /= n;
    for (let i = 0; i < n; i++) {
      hull[2 * i] = cx + (hull[2 * i]! - cx) * options.shrink;
      hull[2 * i + 1] = cy + (hull[2 * i + 1]! - cy) * options.shrink;
    }
  }
  return hull;
}

export function trainingPolygon(canonical: ArrayLike<number>, size: number, options = defaultPolygonOptions.training): Float32Array {
  return facePolygon(canonical, size, options);
}

export function renderPolygon(canonical: ArrayLike<number>, size: number, options = defaultPolygonOptions.render): Float32Array {
  return facePolygon(canonical, size, options);
}

/** Convex hull (Andrew's monotone chain) of packed points; returns packed hull vertices. */
export function convexHull(points: ArrayLike<number>): Float32Array {
  const n = points.length / 2;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => points[2 * i]! - points[2 * j]! || points[2 * i + 1]! - points[2 * j + 1]!);
  const cross = (o: number, a: number, b: number): number =>
    (points[2 * a]! - points[2 * o]!) * (points[2 * b + 1]! - points[2 * o + 1]!) -
    (points[2 * a + 1]! - points[2 * o + 1]!) * (points[2 * b]! - points[2 * o]!);
  if (n < 3) return Float32Array.from(points);
  const lower: number[] = [];
  for (const i of idx) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, i) <= 0) lower.pop();
    lower.push(i);
  }
  const upper: number[] = [];
  for (let k = idx.length - 1; k >= 0; k--) {
    const i = idx[k]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, i) <= 0) upper.pop();
    upper.push(i);
  }
  const hull = [...lower.slice(0, -1), ...upper.slice(0, -1)];
  const out = new Float32Array(hull.length * 2);
  hull.forEach((i, k) => {
    out[2 * k] = points[2 * i]!;
    out[2 * k + 1] = points[2 * i + 1]!;
  });
  return out;
}

/** True when (x, y) is inside the polygon (even-odd rule). */
export function pointInPolygon(poly: ArrayLike<number>, x: number, y: number): boolean {
  const n = poly.length / 2;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = poly[2 * i]!;
    const yi = poly[2 * i + 1]!;
    const xj = poly[2 * j]!;
    const yj = poly[2 * j + 1]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Rasterises a polygon (even-odd rule, pixel centres) into a `width`x`height` single-channel
 * mask with `value` inside. Scanline fill: cost is proportional to the polygon's rows.
 */
export function fillPolygon(poly: ArrayLike<number>, width: number, height: number, out?: Uint8Array, value = 255): Uint8Array {
  const m = out ?? new Uint8Array(width * height);
  m.fill(0, 0, width * height);
  const n = poly.length / 2;
  if (n < 3) return m;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minY = Math.min(minY, poly[2 * i + 1]!);
    maxY = Math.max(maxY, poly[2 * i + 1]!);
  }
  const xs: number[] = [];
  for (let y = Math.max(0, Math.floor(minY)); y < Math.min(height, Math.ceil(maxY)); y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = poly[2 * i + 1]!;
      const yj = poly[2 * j + 1]!;
      if (yi > cy !== yj > cy) {
        const xi = poly[2 * i]!;
        const xj = poly[2 * j]!;
        xs.push(xi + ((cy - yi) * (xj - xi)) / (yj - yi));
      }
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const x0 = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const x1 = Math.min(width, Math.ceil(xs[k + 1]! - 0.5));
      if (x1 > x0) m.fill(value, y * width + x0, y * width + x1);
    }
  }
  return m;
}
