import { describe, expect, it } from 'vitest';
import { AvdubError, ErrorCode } from '../src/errors.js';
import { OnnxGraphBuilder } from '../src/onnx/graph.js';
import {
  EXECUTION_PROVIDERS,
  autoOrder,
  createSession,
  listDevices,
  loadOrt,
  type RuntimeEvent,
} from '../src/runtime/index.js';

function scaleModel(factor: number): Uint8Array {
  const g = new OnnxGraphBuilder('scale');
  g.input('x', ['n']);
  g.output('y', ['n']);
  g.op('Mul', ['x', g.constant(new Float32Array([factor]), [1])], {}, 'y');
  return g.toBytes();
}

describe('runtime', () => {
  it('the device table is frozen and covers every device', () => {
    expect(Object.isFrozen(EXECUTION_PROVIDERS)).toBe(true);
    expect(Object.keys(EXECUTION_PROVIDERS).sort()).toEqual(['coreml', 'cpu', 'cuda', 'dml', 'tensorrt', 'webgpu']);
    expect(autoOrder('linux').at(-1)).toBe('cpu');
    expect(autoOrder('aix')).toEqual(['cpu']);
  });

  it('runs a model on the CPU and caches the session per model and device', async () => {
    const bytes = scaleModel(3);
    const a = await createSession(bytes, { device: 'cpu' });
    expect(a.device).toBe('cpu');
    const ort = await loadOrt();
    const out = await a.session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2]), [2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([3, 6]);
    expect(await createSession(bytes, { device: 'cpu' })).toBe(a);
    expect(await createSession(scaleModel(4), { device: 'cpu' })).not.toBe(a);
  });

  it('auto falls back to the CPU, records each failure and says so in an event', async () => {
    const devices = await listDevices({ probe: true });
    const accelerated = devices.filter((d) => d.works && d.device !== 'cpu').map((d) => d.device);
    const events: RuntimeEvent[] = [];
    const r = await createSession(scaleModel(5), { device: 'auto', onEvent: (e) => events.push(e), cache: false });
    if (accelerated.some((d) => autoOrder().includes(d))) {
      expect(r.device).not.toBe('cpu'); // a GPU machine: auto must use it
      return;
    }
    expect(r.device).toBe('cpu');
    expect(r.attempts.at(-1)).toEqual({ device: 'cpu', ok: true });
    if (autoOrder().length > 1) {
      expect(r.attempts[0]!.ok).toBe(false);
      expect(r.attempts[0]!.error).toBeTruthy();
      expect(events.find((e) => e.type === 'device-fallback')).toMatchObject({ requested: 'auto', used: 'cpu' });
    }
  });

  it('an explicit device that cannot start throws E_DEVICE_UNAVAILABLE listing what is available', async () => {
    const devices = await listDevices({ probe: true });
    const cuda = devices.find((d) => d.device === 'cuda');
    if (cuda?.works) return; // this machine has CUDA: nothing to refuse
    const err = await createSession(scaleModel(6), { device: 'cuda' }).catch((e: unknown) => e);
    expect(AvdubError.isInstance(err, ErrorCode.DEVICE_UNAVAILABLE)).toBe(true);
    const e = err as AvdubError;
    expect(e.message).toMatch(/Available: .*cpu/);
    expect(e.details.available).toContain('cpu');
    expect((e.details.attempts as { device: string }[])[0]!.device).toBe('cuda');
  });

  it('validates the device name and the model', async () => {
    await expect(createSession(scaleModel(1), { device: 'gpu' as never })).rejects.toSatisfy((e: unknown) =>
      AvdubError.isInstance(e, ErrorCode.INVALID_ARGUMENT),
    );
    await expect(createSession('/nonexistent/model.onnx')).rejects.toSatisfy((e: unknown) =>
      AvdubError.isInstance(e, ErrorCode.INPUT_NOT_FOUND),
    );
    await expect(createSession(new Uint8Array([1, 2, 3, 4]), { device: 'cpu' })).rejects.toSatisfy((e: unknown) =>
      AvdubError.isInstance(e, ErrorCode.MODEL_LOAD),
    );
  });

  it('listDevices reports the CPU as bundled and working', async () => {
    const devices = await listDevices({ probe: true });
    expect(devices.find((d) => d.device === 'cpu')).toMatchObject({ listed: true, bundled: true, works: true });
    for (const d of devices) if (!d.listed) expect(d.works).toBeUndefined();
  });
});
