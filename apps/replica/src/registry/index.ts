// The registry state machine: operations, state, executor, and reading its log leaves.
export * from './key-index';
export * from './leaf';
export * from './ops';
export * from './state';
