// Worker thread body of the block preverifier: VRF proofs and tx signatures of a sync batch.
import { parentPort, workerData } from 'node:worker_threads';
import { vrfVerify, type ChainParams } from '../consensus/index.js';
import { verifyTx } from '../state/index.js';
import type { PreverifyRequest, PreverifyResult } from './preverify.js';

const { params } = workerData as { params: ChainParams };

function preverify(request: PreverifyRequest): PreverifyResult {
  const vrfOutputs = request.vrf.map((job) => vrfVerify(job.publicKey, job.alpha, job.proof));
  const senders: PreverifyResult['senders'] = [];
  for (const bytes of request.txs) {
    try {
      const tx = verifyTx(bytes, params);
      senders.push({ id: tx.id, sender: tx.sender });
    } catch {
      // invalid: import rejects it with its reason
    }
  }
  return { vrfOutputs, senders };
}

parentPort!.on('message', (message: { id: number; request: PreverifyRequest }) => {
  try {
    parentPort!.postMessage({ id: message.id, result: preverify(message.request) });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
