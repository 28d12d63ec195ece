export {
  DEVICES,
  EXECUTION_PROVIDERS,
  AUTO_ORDER,
  autoOrder,
  type Device,
  type ConcreteDevice,
  type ExecutionProviderConfig,
} from './devices.js';
export {
  createSession,
  clearSessionCache,
  listDevices,
  loadOrt,
  type CreateSessionOptions,
  type RuntimeSession,
  type RuntimeEvent,
  type DeviceAttempt,
  type DeviceInfo,
} from './session.js';
