import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One model cache for every face test on this machine, outside the repo: the first test
 * converts the TF.js models (about a second), the rest reuse them. Writes are atomic, so
 * parallel test workers are safe.
 */
export const TEST_MODEL_CACHE = process.env.AVDUB_CACHE_DIR
  ? join(process.env.AVDUB_CACHE_DIR, 'models')
  : join(tmpdir(), 'avdub-test-cache', 'models');
