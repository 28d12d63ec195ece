import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('examples/custom-tts-provider.ts', () => {
  it('runs and speaks through the registry', () => {
    const out = execFileSync(process.execPath, ['node_modules/vite-node/vite-node.mjs', 'examples/custom-tts-provider.ts'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const m = /my-tts:deep-voice spoke ([\d.]+) s at 22050 Hz, rms ([\d.]+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0.4);
    expect(Number(m![2])).toBeGreaterThan(0.02);
    expect(out).toMatch(/words: Hola@0\.00 qué@/);
  });
});
