// @vcr/crypto-node: the node:crypto backend for @vcr/proofs.
export * from './node-backend';
