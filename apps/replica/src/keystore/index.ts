// The replica's keystore (DESIGN section 5): key handles that sign and report
// their public key; private key bytes never leave a backend.
export { checkLabel, createKeyHandle, isValidLabel, type KeyHandle, type KeyStore, KeyStoreError, type KeyStoreErrorCode, keystoreLimits } from './keystore';
export { MemoryKeyStore } from './memory-keystore';
export {
  defaultScryptCost,
  EncryptedFileKeyStore,
  type EncryptedFileKeyStoreOptions,
  encryptedFileLimits,
  type KeyFile,
  passphraseFromEnvironment,
  type ScryptCost,
} from './encrypted-file-keystore';
export {
  createGuardedSigner,
  type GuardedSignerOptions,
  isVoteKind,
  type JournalAnchor,
  type JournalEntry,
  journalEntryHash,
  journalEntryToJson,
  type JournalRejection,
  type JournalVerdict,
  MemorySignerJournal,
  type SignerJournal,
  SignerRefusal,
  type SignerRefusalCode,
  verifyJournal,
  VOTE_KINDS,
  type VoteKind,
} from './guarded-signer';
export { Pkcs11KeyStore, type Pkcs11KeyStoreOptions, pkcs11Limits, pkcs11PinFromEnvironment } from './pkcs11-keystore';
export { type ConfiguredKey, type KeyStoreConfig, openConfiguredKey } from './open-keystore';
