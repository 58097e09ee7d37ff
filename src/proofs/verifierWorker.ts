// Worker thread body of the proof verifier pool: verifies packed multiproof batches.
import { parentPort } from 'node:worker_threads';
import { unpackJobs, type PackedJobs } from './jobWire.js';
import { verifyMultiproofs } from './multiproof.js';

parentPort!.on('message', (message: { id: number; jobs: PackedJobs }) => {
  const results = Uint8Array.from(verifyMultiproofs(unpackJobs(message.jobs)), (ok) => (ok ? 1 : 0));
  parentPort!.postMessage({ id: message.id, results }, [results.buffer]);
});
