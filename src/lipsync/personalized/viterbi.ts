/**
 * Chooses one bank entry per output frame by dynamic programming (Viterbi): unary cost = how
 * far the entry's mouth shape and pose are from the target, transition cost = 0 when the next
 * entry is the source frame right after the previous one (real footage plays on), a small cost
 * to hold the same entry, and `switchCost` for a jump elsewhere. This avoids the flicker of
 * choosing the nearest crop frame by frame while following the predicted shapes.
 */
export interface ViterbiOptions {
  /** Cost of jumping to a non-consecutive source frame. */
  switchCost: number;
  /** Cost of holding the same entry for another frame (a frozen mouth), per frame. */
  holdCost: number;
  /** Per output frame: multiply holdCost by this (e.g. 0 during silence, where stillness is right). */
  holdScale?: ArrayLike<number>;
}

/**
 * @param unary T x B costs (row-major)
 * @param sourceFrame B source frame indices of the bank entries
 * @returns the chosen entry per frame and the path's total cost
 */
export function viterbi(
  unary: Float64Array,
  T: number,
  B: number,
  sourceFrame: ArrayLike<number>,
  opts: ViterbiOptions,
): { path: Int32Array; cost: number } {
  // successor[b] = the bank entry holding source frame sourceFrame[b] + 1, or -1.
  const byFrame = new Map<number, number>();
  for (let b = 0; b < B; b++) byFrame.set(sourceFrame[b]!, b);
  const predecessor = new Int32Array(B).fill(-1);
  for (let b = 0; b < B; b++) {
    const next = byFrame.get(sourceFrame[b]! + 1);
    if (next !== undefined) predecessor[next] = b;
  }
  let prev = Float64Array.from(unary.subarray(0, B));
  let cur = new Float64Array(B);
  const back = new Int32Array(T * B);
  for (let t = 1; t < T; t++) {
    // Best "jump from anywhere" source: the overall minimum of the previous row.
    let minPrev = Infinity;
    let argMin = 0;
    for (let b = 0; b < B; b++) if (prev[b]! < minPrev) {
      minPrev = prev[b]!;
      argMin = b;
    }
    const hold = opts.holdCost * (opts.holdScale ? opts.holdScale[t]! : 1);
    for (let b = 0; b < B; b++) {
      let best = minPrev + opts.switchCost;
      let arg = argMin;
      const stay = prev[b]! + hold;
      if (stay < best) {
        best = stay;
        arg = b;
      }
      const p = predecessor[b]!;
      if (p >= 0 && prev[p]! < best) {
        best = prev[p]!;
        arg = p;
      }
      cur[b] = best + unary[t * B + b]!;
      back[t * B + b] = arg;
    }
    [prev, cur] = [cur, prev];
  }
  let end = 0;
  for (let b = 1; b < B; b++) if (prev[b]! < prev[end]!) end = b;
  const path = new Int32Array(T);
  path[T - 1] = end;
  for (let t = T - 1; t > 0; t--) path[t - 1] = back[t * B + path[t]!]!;
  return { path, cost: prev[end]! };
}
