// Typed values: the formats services read (flags, pin sets, endpoints, JSON),
// their schemas and the pure helpers. See docs/values.md.
export { type JsonValue, type ValueIssue, canonicalJson } from './json';
export { valueLimits } from '../limits';
export * from './schemas';
export * from './typed-value';
export * from './flag';
export * from './pins';
export * from './endpoint';
