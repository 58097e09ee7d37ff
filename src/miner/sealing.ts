// Committed-capacity sealing pipeline: seal locally, pre-commit, wait for the seed, prove-commit.
import { join } from 'node:path';
import type { ChainStore } from '../chain/index.js';
import { zeroCommD } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { BcrError, bytesEqual, errorMessage, fromHex, hexKey, toChecksumAddress } from '../primitives/index.js';
import { writeFile } from 'node:fs/promises';
import { SectorFiles, TreeReader, buildTreeCache, fileSource, merkleRoot, provePorep, unsealedCommD, type LeafSource, type SealProgress } from '../proofs/index.js';
import { addCollateralKind, collateralPayload, dealIdOf, getDeal, getMiner, getSector, publishDealKind, publishDealPayload, type DealProposal, preCommitKind, preCommitPayload, proveCommitKind, proveCommitPayload, sealInputs, SectorState, type TxKind } from '../state/index.js';
import type { Field } from '../primitives/index.js';
import type { Logger } from '../util/logger.js';
import { submitLocalTx } from './localTx.js';
import type { SectorStore } from './sectorStore.js';

export interface SealJob {
  sector: number;
  status: 'publishing' | 'sealing' | 'precommitted' | 'proving' | 'active' | 'failed';
  /** A deal sector: its deals, data file and CommD (committed capacity has none). */
  deals?: number[];
  dataPath?: string;
  commD?: string;
  /** A deal being published: the client and nonce that identify it once on chain. */
  publishing?: { client: Uint8Array; nonce: number };
  error?: string;
  /** The last tx sent for this sector, to read its receipt. */
  txId?: string;
  /** Where its pre-commit landed, once seen on chain. */
  precommitHeight?: number;
}

export class SealingPipeline {
  readonly jobs = new Map<number, SealJob>();
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly chain: ChainStore,
    private readonly mempool: Mempool,
    private readonly store: SectorStore,
    private readonly minerId: number,
    private readonly workerKey: Uint8Array,
    private readonly log: Logger,
  ) {}

  /** Queues `count` new committed-capacity sectors; returns their numbers. */
  async request(count: number): Promise<number[]> {
    const numbers: number[] = [];
    for (let i = 0; i < count; i++) {
      const number = await this.nextSectorNumber();
      numbers.push(number);
      this.jobs.set(number, { sector: number, status: 'sealing' });
      this.busy = this.busy.then(() => this.sealAndPrecommit(number));
    }
    return numbers;
  }

  private async nextSectorNumber(): Promise<number> {
    const miner = await getMiner(this.chain.headState(), this.minerId);
    if (!miner) throw new Error(`miner ${this.minerId} does not exist`);
    return Math.max(miner.nextSector, ...[...this.jobs.keys()].map((n) => n + 1));
  }

  /**
   * An offline deal: the client's signed proposal and its piece, handed to the provider directly.
   * Checks the piece against the proposal, publishes the deal, and once it is on chain seals the
   * piece (zeros after it) into a new sector that names the deal. Returns the sector number.
   */
  async importDeal(proposal: DealProposal, clientSignature: Uint8Array, piece: Uint8Array): Promise<{ sector: number; tx: string }> {
    const sectorSize = this.store.params.sectorSize;
    if (proposal.provider !== this.minerId) throw new BcrError('NOT_PROVIDER', `the proposal is for miner ${proposal.provider}, this node runs miner ${this.minerId}`);
    if (proposal.pieceBytes > sectorSize || piece.length > proposal.pieceBytes) throw new BcrError('PIECE_TOO_LARGE', `a ${piece.length}-byte piece does not fit the proposal's ${proposal.pieceBytes} bytes in a ${sectorSize}-byte sector`);
    const sectorData = new Uint8Array(sectorSize);
    sectorData.set(piece);
    if (!bytesEqual(merkleRoot(sectorData.subarray(0, proposal.pieceBytes)), proposal.pieceCommitment)) throw new BcrError('PIECE_MISMATCH', 'the data does not match the proposal\'s piece commitment');
    const commD = unsealedCommD([{ commitment: proposal.pieceCommitment, bytes: proposal.pieceBytes }], sectorSize)!;
    const dataPath = await this.store.stagingPath(`${hexKey(proposal.pieceCommitment)}-${proposal.nonce}.bin`);
    await writeFile(dataPath, sectorData);
    const tx = await this.submit(publishDealKind, publishDealPayload, { proposal, clientSignature });
    const number = await this.nextSectorNumber();
    this.jobs.set(number, { sector: number, status: 'publishing', txId: tx, dataPath, commD: hexKey(commD), publishing: { client: proposal.client, nonce: proposal.nonce } });
    this.log.info({ sector: number, client: toChecksumAddress(proposal.client), bytes: piece.length, tx }, 'Publishing an imported deal');
    return { sector: number, tx };
  }

  private async submit<P>(kind: TxKind, codec: Field<P>, payload: P): Promise<string> {
    return hexKey((await submitLocalTx(this.chain, this.mempool, this.workerKey, kind, codec, payload)).id);
  }

  /** Tops up free collateral (from the worker's balance) to cover a deposit and a pledge. */
  private async ensureCollateral(): Promise<void> {
    const params = this.chain.params.miners;
    const miner = (await getMiner(this.chain.headState(), this.minerId))!;
    const needed = params.preCommitDeposit + params.initialPledge;
    if (miner.collateral >= needed) return;
    await this.submit(addCollateralKind, collateralPayload, { miner: this.minerId, value: needed - miner.collateral });
    this.log.info({ value: (needed - miner.collateral).toString() }, 'Added collateral from the worker account');
  }

  /** The failure reason of a sector's last tx, once it is in a block. */
  private async failedReceipt(job: SealJob): Promise<string | null> {
    if (!job.txId) return null;
    const location = await this.chain.getTxLocation(fromHex(job.txId));
    if (!location) return null;
    const receipt = (await this.chain.getReceipts(location.blockId))![location.index]!;
    return receipt.status === 0 ? null : receipt.error;
  }

  private async sealAndPrecommit(number: number): Promise<void> {
    const job = this.jobs.get(number)!;
    try {
      const sealRandHeight = Math.max(0, this.chain.head.header.height - 1);
      const inputs = await sealInputs({ state: this.chain.headState() }, sealRandHeight, sealRandHeight);
      if (!inputs) throw new Error('no seal randomness');
      const commD = job.commD ? fromHex(job.commD) : zeroCommD(this.store.params.sectorSize);
      this.log.info({ sector: number, deals: job.deals ?? [] }, 'Sealing sector');
      const progress = (p: SealProgress) => {
        if (p.phase === 'labels' && p.done === 0) this.log.info({ sector: number, layer: p.layer }, 'Sealing: labelling layer');
      };
      const sealed = job.dataPath ? await this.store.sealData(this.minerId, number, inputs.sealRandomness, commD, job.dataPath, progress) : await this.store.sealCommittedCapacity(this.minerId, number, inputs.sealRandomness, commD, progress);
      const expiration = this.chain.head.header.slot + 1000 * this.chain.params.miners.provingPeriod;
      await this.ensureCollateral();
      const deals = job.deals ?? [];
      const dealEnd = await this.latestDealEnd(deals);
      job.txId = await this.submit(preCommitKind, preCommitPayload, { miner: this.minerId, sector: number, commD, commR: fromHex(sealed.meta.commR), sealRandHeight, expiration: Math.max(expiration, dealEnd + 1), dealIds: deals });
      job.status = 'precommitted';
      this.log.info({ sector: number }, 'Pre-committed sector');
    } catch (error) {
      job.status = 'failed';
      job.error = errorMessage(error);
      this.log.warn({ sector: number, err: job.error }, 'Sealing failed');
    }
  }

  private async latestDealEnd(deals: number[]): Promise<number> {
    let end = 0;
    for (const id of deals) end = Math.max(end, (await getDeal(this.chain.headState(), id))?.proposal.endSlot ?? 0);
    return end;
  }

  /** Marks the job failed when its last tx landed and failed; true if so. */
  private async failedOnChain(job: SealJob, message: string): Promise<boolean> {
    const failure = await this.failedReceipt(job);
    if (!failure) return false;
    job.status = 'failed';
    job.error = failure;
    this.log.warn({ sector: job.sector, err: failure }, message);
    return true;
  }

  /** A published deal's sector starts sealing once the deal is on chain. */
  private async checkPublished(job: SealJob): Promise<void> {
    if (await this.failedOnChain(job, 'Publishing the deal failed on chain')) return;
    const id = await dealIdOf(this.chain.headState(), job.publishing!.client, job.publishing!.nonce);
    if (id === null) return;
    job.deals = [id];
    job.status = 'sealing';
    this.log.info({ sector: job.sector, deal: id }, 'Deal published: sealing its sector');
    this.busy = this.busy.then(() => this.sealAndPrecommit(job.sector));
  }

  /** Called on every slot: starts sealing published deals, prove-commits sectors whose seed is now known. */
  async tick(): Promise<void> {
    const params = this.chain.params.miners;
    for (const job of this.jobs.values()) {
      if (job.status === 'publishing') await this.checkPublished(job);
      if (job.status !== 'precommitted' && job.status !== 'proving') continue;
      if (await this.failedOnChain(job, 'Sector tx failed on chain')) continue;
      const sector = await getSector(this.chain.headState(), this.minerId, job.sector);
      if (!sector) {
        // Not yet in a block, or (once it was) expired unproven: its window closed, the deposit burned.
        if (job.precommitHeight !== undefined && this.chain.head.header.height > job.precommitHeight + params.maxProveCommitDelay) {
          job.status = 'failed';
          job.error = 'pre-commit expired before its prove-commit landed (deposit burned)';
          this.log.warn({ sector: job.sector }, 'Pre-commit expired');
        }
        continue;
      }
      job.precommitHeight = sector.precommitHeight;
      if (sector.state === SectorState.active) {
        job.status = 'active';
        this.log.info({ sector: job.sector }, 'Sector active: power added');
        continue;
      }
      if (job.status === 'proving') continue;
      const seedHeight = sector.precommitHeight + params.seedDelay;
      if (this.chain.head.header.height <= seedHeight) continue;
      job.status = 'proving';
      try {
        const inputs = (await sealInputs({ state: this.chain.headState() }, sector.sealRandHeight, seedHeight))!;
        const { dir, meta } = await this.store.get(job.sector);
        const leaves = this.store.params.sectorSize / 32;
        const opened: { close(): Promise<void> }[] = [];
        const open = async (path: string) => {
          const source = await fileSource(path, leaves);
          opened.push(source);
          return source;
        };
        const reader = async (source: LeafSource) => new TreeReader(source, await buildTreeCache(source));
        let proof: Uint8Array;
        try {
          proof = await provePorep(
            {
              params: this.store.params,
              replicaId: fromHex(meta.replicaId),
              commC: fromHex(meta.commC),
              commRLast: fromHex(meta.commRLast),
              data: await reader(await open(job.dataPath ?? join(this.store.dir, `zeros-${this.store.params.sectorSize}.bin`))),
              replica: await reader(await open(join(dir, SectorFiles.replica))),
              columns: await reader(await open(join(dir, SectorFiles.columns))),
              layers: await Promise.all(Array.from({ length: this.store.params.layers }, (_, l) => open(join(dir, SectorFiles.layer(l + 1))))),
            },
            inputs.seed,
          );
        } finally {
          await Promise.all(opened.map((s) => s.close()));
        }
        await this.ensureCollateral();
        job.txId = await this.submit(proveCommitKind, proveCommitPayload, { miner: this.minerId, sector: job.sector, proof });
        this.log.info({ sector: job.sector, proofBytes: proof.length }, 'Submitted prove-commit');
      } catch (error) {
        job.status = 'failed';
        job.error = errorMessage(error);
        this.log.warn({ sector: job.sector, err: job.error }, 'Prove-commit failed');
      }
    }
  }
}
