/**
 * A bounded bank of the speaker's real mouth crops, chosen for coverage of mouth shapes and
 * head poses (issue 6: "bounded in size and chosen for coverage"). Frames stream in; when the
 * bank is full, the entry whose nearest neighbour is closest (the most redundant one) leaves.
 * Memory is `capacity` crops whatever the footage length.
 */
export interface BankEntry<T> {
  /** Source frame index in the fitted footage (consecutive indices play back naturally). */
  frame: number;
  /** Feature vector used for coverage (mouth-shape code and head pose, pre-scaled). */
  feature: Float64Array;
  payload: T;
}

export class CoverageBank<T> {
  readonly entries: BankEntry<T>[] = [];
  private nnDist: number[] = [];
  private nnIndex: number[] = [];

  constructor(readonly capacity: number) {
    if (!(capacity >= 2)) throw new RangeError('Bank capacity must be at least 2');
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Adds an entry; if over capacity, evicts the most redundant one (possibly the new one).
   * Returns whether the new entry stayed (its payload may then be filled in: the bank never
   * reads payloads).
   */
  add(entry: BankEntry<T>): boolean {
    const i = this.entries.length;
    this.entries.push(entry);
    this.nnDist.push(Infinity);
    this.nnIndex.push(-1);
    for (let j = 0; j < i; j++) {
      const d = dist2(entry.feature, this.entries[j]!.feature);
      if (d < this.nnDist[i]!) {
        this.nnDist[i] = d;
        this.nnIndex[i] = j;
      }
      if (d < this.nnDist[j]!) {
        this.nnDist[j] = d;
        this.nnIndex[j] = i;
      }
    }
    if (this.entries.length > this.capacity) return this.evict() !== entry;
    return true;
  }

  /** Removes the most redundant entry and returns it. */
  private evict(): BankEntry<T> {
    // Of the closest pair, drop the member whose second-nearest is also close (ties: the later).
    let victim = 0;
    for (let j = 1; j < this.entries.length; j++) if (this.nnDist[j]! < this.nnDist[victim]!) victim = j;
    const partner = this.nnIndex[victim]!;
    if (partner >= 0 && this.secondNearest(partner, victim) < this.secondNearest(victim, partner)) victim = partner;
    const [gone] = this.entries.splice(victim, 1);
    this.nnDist.splice(victim, 1);
    this.nnIndex.splice(victim, 1);
    for (let j = 0; j < this.entries.length; j++) {
      if (this.nnIndex[j]! > victim) this.nnIndex[j] = this.nnIndex[j]! - 1;
      else if (this.nnIndex[j] === victim) this.recompute(j);
    }
    return gone!;
  }

  private secondNearest(i: number, exclude: number): number {
    let best = Infinity;
    for (let j = 0; j < this.entries.length; j++) {
      if (j === i || j === exclude) continue;
      best = Math.min(best, dist2(this.entries[i]!.feature, this.entries[j]!.feature));
    }
    return best;
  }

  private recompute(i: number): void {
    let best = Infinity;
    let idx = -1;
    for (let j = 0; j < this.entries.length; j++) {
      if (j === i) continue;
      const d = dist2(this.entries[i]!.feature, this.entries[j]!.feature);
      if (d < best) {
        best = d;
        idx = j;
      }
    }
    this.nnDist[i] = best;
    this.nnIndex[i] = idx;
  }
}

export function dist2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}
