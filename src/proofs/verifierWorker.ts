// Worker thread body of the proof verifier pool: verifies a range of a shared packed batch in place.
import { parentPort } from 'node:worker_threads';
import type { PackedJobs } from './jobWire.js';
import { verifyPacked } from './multiproof.js';

parentPort!.on('message', (message: { id: number; jobs: PackedJobs; from: number; to: number }) => {
  const results = verifyPacked(message.jobs, message.from, message.to);
  parentPort!.postMessage({ id: message.id, results }, [results.buffer as ArrayBuffer]);
});
