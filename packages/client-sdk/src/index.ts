// @vcr/client-sdk: verified reads, signed writes with verified receipts,
// trusted-state tracking, history and watch. Node and browsers. See ../README.md.
export { RegistryClient, type RegistryClientOptions, type Value } from './client';
export type { ReadOptions, VerifiedRead, VerifiedListing, ListedKey, ListingPage, Certified } from './reads';
export {
  type FlagEvaluationResult,
  type FlagReadOptions,
  type PinCheck,
  type PinReadOptions,
  type Provenance,
  TypedReader,
  type TypedSource,
  TypedValueError,
  type TypedValueErrorReason,
  type VerifiedEndpoint,
  type VerifiedEndpoints,
  type VerifiedFlag,
  type VerifiedPinSet,
} from './typed';
export type { VerifiedReceipt } from './writes';
export { describeReceipt, type ReceiptOutcome, receiptOutcome } from './receipt';
export type { VerifiedChange } from './verify';
export type { VerifiedOrgs, VerifiedPendingList } from './pending';
export { orgsOfClient, type RequestOutcome, verifyBlockResults, type VerifiedPendingChange, type VerifiedSubmission } from './audit-checks';
export { blockResultsSchema, type UntrustedBlockResults } from './audit-wire';
export type { WatchOptions } from './changes';
export { RegistryView, type ViewEvent, type ViewOptions, type ViewStatus } from './view';
export { type Attempt, type AttemptClass, type AttemptCode, attemptClass, ForkError, RegistryError, type RegistryErrorCode, ReplicasFailedError } from './errors';
export { MemoryStorage, type TrustStorage } from './storage';
export { TRUST_FORMAT, type TrustedHead } from './trust-state';
export type { FetchAnswer, FetchLike } from './http';
// An answer whose body is in memory (what nodeFetch gives; for in-memory transports): read without a stream.
export { BufferedAnswer } from './buffered-answer';
// The SDK's bounded JSON GET and error text, for tools that read replicas (ops/audit, ops/membership, ops/witness).
export { errorSummary, type HttpAnswer, readCapped, requestJson } from './http';
export { sdkLimits } from './limits';
