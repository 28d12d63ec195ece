import type { InferenceSession } from 'onnxruntime-node';

/** Where a model runs. `auto` tries the platform's accelerators in order, then the CPU. */
export type Device = 'auto' | 'cpu' | 'cuda' | 'tensorrt' | 'dml' | 'coreml' | 'webgpu';
export type ConcreteDevice = Exclude<Device, 'auto'>;
export type ExecutionProviderConfig = InferenceSession.ExecutionProviderConfig;

export const DEVICES: readonly Device[] = Object.freeze(['auto', 'cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu']);

/**
 * The one table from device names to onnxruntime execution-provider configs (conventions 4).
 * Each list is tried as a whole; onnxruntime runs any node the EP cannot take on the CPU.
 */
export const EXECUTION_PROVIDERS: Readonly<Record<ConcreteDevice, readonly ExecutionProviderConfig[]>> = Object.freeze({
  cpu: Object.freeze(['cpu']),
  cuda: Object.freeze([{ name: 'cuda', deviceId: 0 }]),
  tensorrt: Object.freeze([{ name: 'tensorrt', deviceId: 0 }]),
  dml: Object.freeze([{ name: 'dml', deviceId: 0 }]),
  coreml: Object.freeze(['coreml']),
  webgpu: Object.freeze(['webgpu']),
});

/**
 * What `auto` tries, per platform, before falling back to the CPU. TensorRT is left out (its
 * first engine build takes minutes) and so is WebGPU on Linux (without a GPU it can pick a
 * software adapter slower than the CPU EP); both stay available by name.
 */
export const AUTO_ORDER: Readonly<Partial<Record<NodeJS.Platform, readonly ConcreteDevice[]>>> = Object.freeze({
  linux: Object.freeze(['cuda', 'cpu'] as const),
  win32: Object.freeze(['cuda', 'dml', 'cpu'] as const),
  darwin: Object.freeze(['coreml', 'cpu'] as const),
});

export function autoOrder(platform: NodeJS.Platform = process.platform): readonly ConcreteDevice[] {
  return AUTO_ORDER[platform] ?? ['cpu'];
}
