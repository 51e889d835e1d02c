// A block's certificate as JSON, made once per block object: every receipt of
// a block carries the same certificate (a block commits with up to a batch of
// waiting writers), and every read under the latest block too.

import type { CommittedBlock } from '@vcr/consensus';
import { certificateToJson } from '@vcr/proofs';

const certificateJsonOfBlock = new WeakMap<CommittedBlock, ReturnType<typeof certificateToJson>>();

/** The JSON is shared between answers: callers serialize it and never change it. */
export function certificateJsonOf(block: CommittedBlock): ReturnType<typeof certificateToJson> {
  let json = certificateJsonOfBlock.get(block);
  if (json === undefined) {
    json = certificateToJson(block.certificate);
    certificateJsonOfBlock.set(block, json);
  }
  return json;
}

const certificateTextOfBlock = new WeakMap<CommittedBlock, string>();

/** The same JSON as text, made once per block: read answers splice it in instead of serializing it per key. */
export function certificateTextOf(block: CommittedBlock): string {
  let text = certificateTextOfBlock.get(block);
  if (text === undefined) {
    text = JSON.stringify(certificateJsonOf(block));
    certificateTextOfBlock.set(block, text);
  }
  return text;
}
