// Quorum arithmetic, integers only, in one place (STYLE: "quorum math in one small module").
// PBFT needs any two quorums to intersect in at least f + 1 replicas, so at
// least one honest replica is in both: 2q - n >= f + 1, hence
// q = floor((n + f) / 2) + 1. For n = 3f + 1 this is the familiar 2f + 1;
// with n = 5 and f = 1 it is 4; with n = 7 and f = 2 it is 5.

import { assert } from './assert';

/** The largest f that n replicas tolerate: floor((n - 1) / 3). */
export function maxFaultTolerance(replicaCount: number): number {
  assert(Number.isSafeInteger(replicaCount) && replicaCount >= 1, 'replica count must be a positive integer');
  return Math.floor((replicaCount - 1) / 3);
}

export function quorumSize(replicaCount: number, f: number): number {
  assert(Number.isSafeInteger(replicaCount) && replicaCount >= 1, 'replica count must be a positive integer');
  assert(Number.isSafeInteger(f) && f >= 0 && 3 * f + 1 <= replicaCount, 'f must satisfy n >= 3f + 1');
  return Math.floor((replicaCount + f) / 2) + 1;
}

/** f + 1: enough matching votes to be sure one honest replica sent one (view-change join, state-transfer trust). */
export function weakQuorumSize(f: number): number {
  assert(Number.isSafeInteger(f) && f >= 0, 'f must be a non-negative integer');
  return f + 1;
}
