// @vcr/proofs: the public surface. See ../README.md for the contract.
export * from './assert';
export * from './bytes';
export * from './canonical';
export * from './certificate';
export * from './crypto-backend';
export * from './domain';
export * from './ed25519-rule';
export * from './epoch-chain';
export * from './hash';
export * from './header';
export * from './limits';
export * from './membership';
export * from './noble-backend';
export * from './quorum';
export * from './wire';
export * from './merkle-log';
export * from './merkle-map';
