// Sync downloads blocks in batches; before a batch is imported (one block at a time, in order),
// its signatures and VRF proofs are verified on worker threads and the results recorded in the
// sender and VRF caches, so import finds them done. Inputs a proof depends on (the miner's VRF key,
// the randomness anchor) are predicted from the head state and the batch's own headers; a wrong
// prediction only costs a cache miss, since the caches are keyed by every input.
import { LRUCache } from 'lru-cache';
import { availableParallelism } from 'node:os';
import { electionInput, slotRandomness, type ChainParams } from '../consensus/index.js';
import { getMiner, primeSender } from '../state/index.js';
import { WorkerPool } from '../util/workerPool.js';
import type { Block } from './block.js';
import type { ChainStore } from './chainStore.js';
import { randomnessAnchorHeight } from './eligibility.js';
import { primeVrf } from './vrfCache.js';

export interface VrfJob {
  publicKey: Uint8Array;
  alpha: Uint8Array;
  proof: Uint8Array;
}

export interface PreverifyRequest {
  vrf: VrfJob[];
  txs: Uint8Array[];
}

export interface PreverifyResult {
  vrfOutputs: (Uint8Array | null)[];
  /** Tx id and sender of each tx that verified (others are left for import to reject). */
  senders: { id: Uint8Array; sender: Uint8Array }[];
}

export class BlockPreverifier {
  /** Started on first use: a node that never syncs never pays for the threads. */
  private workers: WorkerPool<PreverifyRequest, PreverifyResult> | null = null;
  /** VRF outputs of recently prepared headers by height: the anchors of the next batch. */
  private readonly recentOutputs = new LRUCache<number, Uint8Array>({ max: 4096 });

  constructor(
    private readonly chain: ChainStore,
    readonly threads = Math.max(1, availableParallelism() - 1),
  ) {}

  private get pool(): WorkerPool<PreverifyRequest, PreverifyResult> {
    this.workers ??= new WorkerPool(new URL('./preverifyWorker.ts', import.meta.url), this.threads, { params: this.chain.params satisfies ChainParams });
    return this.workers;
  }

  /** Verifies the batch's VRF proofs and tx signatures on the workers and caches the results. */
  async prepare(blocks: Block[]): Promise<void> {
    for (const block of blocks) {
      this.recentOutputs.set(block.header.height, block.header.vrfOutput);
    }
    const jobs = await this.vrfJobs(blocks);
    const txs = blocks.flatMap((b) => b.txs);
    const parts = this.pool.size;
    const vrfPer = Math.ceil(jobs.length / parts);
    const txPer = Math.ceil(txs.length / parts);
    const results = await Promise.all(
      Array.from({ length: parts }, (_, i) =>
        this.pool.run({ vrf: jobs.slice(i * vrfPer, (i + 1) * vrfPer), txs: txs.slice(i * txPer, (i + 1) * txPer) }, i),
      ),
    );
    results.forEach((result, i) => {
      result.vrfOutputs.forEach((output, j) => {
        const job = jobs[i * vrfPer + j]!;
        primeVrf(job.publicKey, job.alpha, job.proof, output);
      });
      for (const { id, sender } of result.senders) primeSender(id, sender);
    });
  }

  private async vrfJobs(blocks: Block[]): Promise<VrfJob[]> {
    const state = this.chain.headState();
    const keys = new Map<number, Uint8Array | undefined>();
    const jobs: VrfJob[] = [];
    for (const { header } of blocks) {
      if (!keys.has(header.miner)) keys.set(header.miner, (await getMiner(state, header.miner))?.vrfKey);
      const publicKey = keys.get(header.miner);
      const anchor = await this.anchorOutput(randomnessAnchorHeight(this.chain.params, header.height - 1));
      if (!publicKey || !anchor) continue;
      jobs.push({ publicKey, alpha: electionInput(slotRandomness(anchor, header.slot), header.slot), proof: header.vrfProof });
    }
    return jobs;
  }

  private async anchorOutput(height: number): Promise<Uint8Array | undefined> {
    const recent = this.recentOutputs.get(height);
    if (recent) return recent;
    const id = await this.chain.canonicalId(height);
    return id ? (await this.chain.getHeader(id))?.vrfOutput : undefined;
  }

  async close(): Promise<void> {
    await this.workers?.close();
    this.workers = null;
  }
}
