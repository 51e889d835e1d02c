// The registry state machine (executor, key index) and, re-exported, its shared formats from @vcr/registry.
export * from '@vcr/registry';
export * from './key-index';
export * from './state';
