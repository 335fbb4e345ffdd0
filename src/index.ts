/**
 * certvet as a library. Everything here is pure and typed; nothing prints or exits.
 */
export {
  type CertificateSource,
  type CheckCallOptions,
  type Checker,
  type CheckerOptions,
  type CrlSource,
  checkTarget,
  createChecker,
  type Duration,
  type ScanCallOptions,
  scan,
  type TargetInput,
  type TargetObject,
} from './check/checker.js';
export { CertificateVerificationError, CertvetOptionError } from './check/errors.js';
export { type Policy, type PolicyContext, type PolicyFinding, spkiPin } from './check/expectations.js';
export type { DnsLookup } from './check/lookup.js';
export type { CertificateRules } from './check/rules.js';
export { type ConnectVerifiedOptions, connectVerified } from './client/connectVerified.js';
export { createDispatcher, type DispatcherOptions, VerifiedDispatcher } from './client/dispatcher.js';
export { createHttpsAgent, type HttpsAgentOptions, VerifiedHttpsAgent } from './client/httpsAgent.js';
export type { FailOn, VerifiedClientOptions } from './client/options.js';
export { verificationOf } from './client/verifiedConnection.js';
export {
  type CustomFindingCode,
  FINDING_CODES,
  type Finding,
  type FindingCode,
  type Severity,
  worstSeverity,
} from './findings/catalogue.js';
export type {
  CertificateSource as ChainCertificateSource,
  ChainEntry,
  ChainPublicKey,
  SubjectAltNames,
} from './model/chainEntry.js';
export { chainEntry, daysRemaining } from './model/chainEntryBuilder.js';
export type { CrossCheck, Summary, Timings, TlsInfo, TlsVersion, VerificationInfo } from './model/result.js';
export {
  buildReport,
  exitCodeOf,
  type Report,
  type Status,
  statusOf,
  type TargetResult,
} from './model/result.js';
export type { RevocationInfo } from './model/revocation.js';
export {
  clientCertMiddleware,
  createRequestGuard,
  mtlsServerOptions,
  requireClientCert,
  verdictFor,
} from './mtls/adapters.js';
export { type AllowRule, allowedBy, checkAllowRules } from './mtls/allow.js';
export { MtlsConfigError } from './mtls/errors.js';
export { acceptedVerdict, type ConnectionLike, clientIdentityOf } from './mtls/gate.js';
export { type ClientIdentity, identityOf } from './mtls/identity.js';
export { type Rejection, rejectionOf } from './mtls/rejection.js';
export type { MtlsGateOptions, MtlsGuardOptions } from './mtls/serverOptions.js';
export {
  createMtlsHttp2Server,
  createMtlsHttpsServer,
  createMtlsServer,
  gateServer,
  type MtlsServer,
  type MtlsServerEvents,
  type RefusedPeer,
} from './mtls/servers.js';
export {
  type AcceptedClient,
  ClientCertVerifier,
  type ClientCertVerifierOptions,
  type ClientTrust,
  type ClientVerdict,
  createClientCertVerifier,
  type RefusedClient,
} from './mtls/verifier.js';
export { DeadlineError } from './probe/deadline.js';
export type { Observation, ProbeErrorCode, ProbeFailure } from './probe/observation.js';
export { StartTlsError } from './probe/starttls/conversation.js';
export { FetchPolicy, FetchPolicyError } from './revocation/fetchPolicy.js';
export { type Crl, type CrlStatus, checkCrls } from './verify/crl.js';
export { CrlParseError, loadCrls, parseCrl } from './verify/loadCrls.js';
export { matchExpectedName, type NameMatch } from './verify/names/match.js';
export type {
  Conformance,
  CrlPolicy,
  ExpectedName,
  Profile,
  Purpose,
  TlsProfile,
  VerifyBudget,
  VerifyOptions,
} from './verify/options.js';
export { type VerifyResult, verifyCertificate } from './verify/verify.js';
export {
  type Certificate,
  CertificateParseError,
  isSelfSigned,
  parseCertificate,
} from './x509/certificate.js';
export type { GeneralName } from './x509/generalName.js';
export { type LoadedCertificates, type LoadProblem, loadCertificates } from './x509/load.js';
export type { DistinguishedName } from './x509/name.js';
export { type PemBlock, readPemBlocks } from './x509/pem.js';
