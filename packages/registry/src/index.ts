// @vcr/registry: the registry's shared formats. See ../README.md for the contract.
export * from './approvals';
export * from './governance';
export * from './leaf';
export * from './limits';
export * from './membership-change';
export * from './ops';
export * from './pending';
export * from './refusal';
export * from './prefix-index';
export * from './values';
