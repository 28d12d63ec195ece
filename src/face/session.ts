import type { Device } from '../runtime/devices.js';
import { createSession, type RuntimeEvent } from '../runtime/session.js';
import { resolveFaceModel, type CachedFaceModel, type FaceModelName, type ModelCacheOptions } from './model-cache.js';

/** Options shared by FaceDetector and FaceMesh for where and how their model runs. */
export interface FaceModelRuntimeOptions extends ModelCacheOptions {
  /**
   * Execution device. The face models are tiny (a few MFLOPs per frame), so the CPU is the
   * default: a GPU round trip costs more than the model.
   * @default 'cpu'
   */
  device?: Device;
  /**
   * onnxruntime intra-op threads; 0 lets onnxruntime choose (one per physical core). These
   * models are too small to split well: on a 2-core machine one thread ran FaceMesh in 4.0 ms
   * against 7 ms with two, and it leaves a core to the ffmpeg decoder. @default 1
   */
  threads?: number;
  onEvent?: (event: RuntimeEvent) => void;
}

export interface LoadedFaceModel {
  model: CachedFaceModel;
  session: import('onnxruntime-node').InferenceSession;
  device: string;
}

export async function loadFaceModel(name: FaceModelName, options: FaceModelRuntimeOptions): Promise<LoadedFaceModel> {
  const model = await resolveFaceModel(name, options);
  const threads = options.threads ?? 1;
  const { session, device } = await createSession(model.path, {
    device: options.device ?? 'cpu',
    sessionOptions: threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : undefined,
    onEvent: options.onEvent,
  });
  return { model, session, device };
}
