// @vcr/consensus: the pure PBFT core. See ../README.md for the contract.
export * from './core';
export * from './evidence';
export * from './limits';
export * from './messages';
export * from './request-ids';
export * from './shape';
export * from './types';
export * from './view-change';
export * from './wire';
