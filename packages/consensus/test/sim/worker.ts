// Runs a range of seeds in a worker thread and posts each result back.
import { parentPort, workerData } from 'node:worker_threads';
import { runSeed } from './scenario';

const { seeds } = workerData as { seeds: number[] };
for (const seed of seeds) {
  let result;
  try {
    result = runSeed(seed);
  } catch (error) {
    result = { seed, crashed: String(error instanceof Error ? error.stack : error) };
  }
  parentPort?.postMessage(result);
}
