export {
  ReferenceSelector,
  defaultReferenceSelectorOptions,
  maskReferenceToMouth,
  mulberry32,
  type ReferenceCandidate,
  type ReferenceSelectorOptions,
} from './selector.js';
