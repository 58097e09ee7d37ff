// Worker thread body of the proof verifier pool: verifies a range of a shared packed batch in place.
import { parentPort } from 'node:worker_threads';
import type { PackedJobs } from './jobWire.js';
import { verifyPacked } from './multiproof.js';

parentPort!.on('message', (message: { id: number; request: { jobs: PackedJobs; from: number; to: number } }) => {
  const { jobs, from, to } = message.request;
  const result = verifyPacked(jobs, from, to);
  parentPort!.postMessage({ id: message.id, result }, [result.buffer as ArrayBuffer]);
});
