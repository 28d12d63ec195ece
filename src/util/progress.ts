/**
 * Progress is one callback with a tagged union (conventions 10); the CLI turns it into a bar.
 * `total` is undefined when unknown (e.g. a stream without a frame count).
 */
export interface ProgressEvent {
  stage: string;
  done: number;
  total?: number;
  /** Items (frames) per second since the stage started. */
  fps?: number;
  /** Seconds left, estimated from `fps` when `total` is known. */
  etaSeconds?: number;
}
export type ProgressCallback = (event: ProgressEvent) => void;

/** Options every long call accepts. */
export interface OperationOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/**
 * Rate-limited progress for one stage: reports at most every `intervalMs`, plus the final item,
 * so a 100k-frame job does not call back 100k times.
 */
export class ProgressMeter {
  private readonly start = performance.now();
  private last = -Infinity;
  constructor(
    private readonly stage: string,
    private readonly total: number | undefined,
    private readonly onProgress?: ProgressCallback,
    private readonly intervalMs = 200,
  ) {}

  tick(done: number): void {
    if (!this.onProgress) return;
    const now = performance.now();
    const final = this.total !== undefined && done >= this.total;
    if (!final && now - this.last < this.intervalMs) return;
    this.last = now;
    const seconds = (now - this.start) / 1000;
    const fps = seconds > 0 ? done / seconds : undefined;
    const etaSeconds =
      this.total !== undefined && fps !== undefined && fps > 0 ? Math.max(0, (this.total - done) / fps) : undefined;
    this.onProgress({ stage: this.stage, done, total: this.total, fps, etaSeconds });
  }
}
