/**
 * One model's onnxruntime sessions, one per device asked for (internal). The runtime's cache
 * keys sessions by model content; holding them here as well saves re-hashing a large model
 * on every `generate` call.
 */
import { AvdubError, ErrorCode } from '../errors.js';
import type { Device } from '../runtime/devices.js';
import { createSession, type RuntimeEvent, type RuntimeSession } from '../runtime/session.js';
import { is } from '../util/validate.js';

export interface ModelSessionOptions {
  device: Device;
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. */
  threads: number;
  onEvent?: (event: RuntimeEvent) => void;
}

export class ModelSessions {
  private readonly sessions = new Map<Device, Promise<RuntimeSession>>();

  constructor(
    private readonly model: string | Uint8Array,
    private readonly options: ModelSessionOptions,
  ) {}

  get(device: Device = this.options.device): Promise<RuntimeSession> {
    let s = this.sessions.get(device);
    if (!s) {
      const { threads, onEvent } = this.options;
      s = createSession(this.model, {
        device,
        sessionOptions: threads > 0 ? { intraOpNumThreads: threads } : undefined,
        onEvent,
      });
      this.sessions.set(device, s);
      s.catch(() => this.sessions.delete(device));
    }
    return s;
  }
}

/** Checks the `model` option: a path or ONNX bytes. */
export function checkModelSource(model: unknown): asserts model is string | Uint8Array {
  if (model instanceof Uint8Array) {
    if (model.byteLength === 0) {
      throw new AvdubError(ErrorCode.INVALID_ARGUMENT, 'Expected non-empty ONNX bytes for model but received 0 bytes', {
        details: { option: 'model' },
      });
    }
    return;
  }
  is.string('model', model);
}
