/**
 * Small concurrency helpers for the streaming passes (internal): a wake-all notifier, and an
 * async queue that knows when its consumer is waiting (the render pass uses that to tell a
 * model that needs more input from one that is merely busy, see render-pass.ts).
 */

/** Wakes every waiter on `notify()`. Loops re-check their condition after each wake. */
export class Notifier {
  private waiters: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** An unbounded async FIFO with one consumer (`for await`). */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private closed = false;
  private error: unknown;
  private failed = false;
  private wake?: () => void;
  private iterating = false;

  /** Called whenever the consumer starts waiting for an item. */
  onStarve?: () => void;
  /** Called whenever the consumer takes an item. */
  onTake?: () => void;

  get length(): number {
    return this.items.length - this.head;
  }

  /** True while the consumer waits for an item that is not there. */
  get starving(): boolean {
    return this.wake !== undefined;
  }

  get isClosed(): boolean {
    return this.closed || this.failed;
  }

  push(item: T): void {
    if (this.closed || this.failed) throw new Error('AsyncQueue: push after close');
    this.items.push(item);
    this.wakeConsumer();
  }

  /** No more items: the consumer ends after the queued ones. */
  close(): void {
    this.closed = true;
    this.wakeConsumer();
  }

  /** The consumer throws `error` at its next step (queued items are dropped). */
  fail(error: unknown): void {
    if (!this.failed) this.error = error;
    this.failed = true;
    this.wakeConsumer();
  }

  private wakeConsumer(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    if (this.iterating) throw new Error('AsyncQueue: one consumer only');
    this.iterating = true;
    for (;;) {
      if (this.failed) throw this.error;
      if (this.head < this.items.length) {
        const item = this.items[this.head]!;
        this.items[this.head] = undefined as T;
        this.head++;
        if (this.head > 64 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        this.onTake?.();
        yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.onStarve?.();
      });
    }
  }
}
