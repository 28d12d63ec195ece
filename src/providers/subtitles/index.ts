export {
  parseSrt,
  formatSrt,
  type FormatSubtitlesOptions,
} from './srt.js';
export { parseVtt, formatVtt, type FormatVttOptions } from './vtt.js';
export {
  formatTimestamp,
  plainText,
  defaultParseSubtitlesOptions,
  type SubtitleCue,
  type SubtitleDocument,
  type SubtitleFormat,
  type ParseSubtitlesOptions,
  type WritableCue,
} from './cue.js';
export {
  SUBTITLES_PROVIDER,
  detectSubtitleFormat,
  parseSubtitles,
  formatSubtitles,
  readSubtitleFile,
  languageFromFileName,
  cuesToTranscript,
  alignCuesToTranscript,
  subtitleTranscriptionModel,
  subtitleTranslationModel,
  exportTranscript,
  exportTranslation,
  importTranscript,
  importTranslation,
  type SubtitleSource,
  type SubtitleSourceOptions,
  type ExportSubtitlesOptions,
} from './provider.js';
