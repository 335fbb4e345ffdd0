/** The result model lives in `src/model/`; re-exported here for existing imports. */
export {
  buildReport,
  type CrossCheck,
  exitCodeOf,
  type Report,
  type Status,
  type Summary,
  statusOf,
  type TargetResult,
  type Timings,
  type TlsInfo,
  type TlsVersion,
  type VerificationInfo,
} from '../model/result.js';
