/**
 * The canonical face template: where the alignment landmarks sit in the canonical crop.
 *
 * 001 s3.1.1 aligns "landmarks at each eye, the midpoint between the eyes, and top of the
 * nose" to "a face template in which the coordinates of these landmarks are fixed", and
 * s3.1.2 warns that lip and chin landmarks must never steer the crop (their motion would leak
 * mouth shape into the masked input). The paper does not publish its template, so ours is
 * derived and documented here (and in docs/face.md):
 *
 * - Points: both eyes' corners and lower lids (the lids that do not move when the eyes blink;
 *   upper lids would jolt the crop on every blink), the point midway between the eyes (168),
 *   and the top of the nose bridge (6). 20 points, so landmark noise averages out (001 s3.1.2),
 *   and none below the nose: lower bridge points sit in front of the eye plane and pull the
 *   crop with every pitch change.
 * - Shape: the generalized-Procrustes mean of these points over every frame of the six sample
 *   clips (1,401 frames, FaceMesh landmarks), made left/right symmetric.
 * - Placement (fractions of the crop side): eye centres at y = 0.21, distance between eye
 *   centres 0.30, centred in x. This is what the mouth mask of the 001 appendix,
 *   [0.08, 0.28, 0.92, 0.95], needs: over all sample frames the lowest eye landmark then sits
 *   at y <= 0.23 (above the mask's top edge 0.28) while every lip and jaw landmark stays inside
 *   the mask (jaw x in [0.11, 0.88], chin y <= 0.83).
 */

/** One template point: a mesh landmark index and its (x, y) as fractions of the crop side. */
export interface TemplatePoint {
  index: number;
  x: number;
  y: number;
}

export interface FaceTemplate {
  name: string;
  points: readonly TemplatePoint[];
}

const p = (index: number, x: number, y: number): TemplatePoint => Object.freeze({ index, x, y });

/** The default template (see the module comment for how it was derived). */
export const CANONICAL_TEMPLATE: FaceTemplate = Object.freeze({
  name: 'avdub-eyes-nose-v1',
  points: Object.freeze([
    // right eye (image left): outer corner, lower lid, inner corner
    p(33, 0.2848, 0.2101),
    p(7, 0.2944, 0.2156),
    p(163, 0.3059, 0.219),
    p(144, 0.3223, 0.2221),
    p(145, 0.347, 0.2239),
    p(153, 0.3707, 0.2219),
    p(154, 0.3929, 0.2169),
    p(155, 0.4074, 0.2134),
    p(133, 0.4152, 0.2099),
    // left eye (image right): inner corner, lower lid, outer corner
    p(362, 0.5848, 0.2099),
    p(382, 0.5926, 0.2134),
    p(381, 0.6071, 0.2169),
    p(380, 0.6293, 0.2219),
    p(374, 0.653, 0.2239),
    p(373, 0.6777, 0.2221),
    p(390, 0.6941, 0.219),
    p(249, 0.7056, 0.2156),
    p(263, 0.7152, 0.2101),
    // midway between the eyes, top of the nose bridge
    p(168, 0.5, 0.1712),
    p(6, 0.5, 0.2027),
  ]),
});

/** Landmark indices a template aligns on. */
export function templateIndices(template: FaceTemplate = CANONICAL_TEMPLATE): number[] {
  return template.points.map((q) => q.index);
}
