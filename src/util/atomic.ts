import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { AvdubError, ErrorCode } from '../errors.js';

/**
 * Outputs are written to a temporary sibling and renamed only on success, so a failed or
 * cancelled run never leaves a half-written file under the name the user asked for. The temp
 * name keeps the extension, because ffmpeg picks the muxer from it.
 */
export class AtomicOutput {
  readonly finalPath: string;
  readonly tempPath: string;
  private settled = false;

  private constructor(finalPath: string) {
    this.finalPath = resolve(finalPath);
    const ext = extname(this.finalPath);
    const stem = basename(this.finalPath, ext);
    this.tempPath = join(dirname(this.finalPath), `.${stem}.avdub-${randomBytes(4).toString('hex')}.partial${ext}`);
  }

  /** Checks the target directory exists (creating it) and the target is not a directory. */
  static async open(finalPath: string): Promise<AtomicOutput> {
    const out = new AtomicOutput(finalPath);
    try {
      const s = await stat(out.finalPath);
      if (s.isDirectory()) {
        throw new AvdubError(ErrorCode.OUTPUT_WRITE, `Output path is a directory: ${out.finalPath}`);
      }
    } catch (e) {
      if (AvdubError.isInstance(e)) throw e;
    }
    try {
      await mkdir(dirname(out.finalPath), { recursive: true });
    } catch (cause) {
      throw new AvdubError(ErrorCode.OUTPUT_WRITE, `Cannot create output directory for ${out.finalPath}`, { cause });
    }
    return out;
  }

  async commit(): Promise<string> {
    if (this.settled) return this.finalPath;
    this.settled = true;
    try {
      await rename(this.tempPath, this.finalPath);
    } catch (cause) {
      await rm(this.tempPath, { force: true });
      throw new AvdubError(ErrorCode.OUTPUT_WRITE, `Cannot move output into place at ${this.finalPath}`, { cause });
    }
    return this.finalPath;
  }

  async discard(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await rm(this.tempPath, { force: true });
  }
}
