// The sealing pipeline: seal locally, pre-commit, wait for the seed, prove-commit. Sectors hold zeros
// (committed capacity) or the pieces of published deals, packed largest first so every piece sits at an
// offset that is a multiple of its size; the unsealed sector data stays on disk for retrieval.
//
// Jobs and deal pieces are kept durably in `sealing.json` beside the sectors (written before a step's
// result is relied on), so a restart resumes every sector from its last finished stage: a sector being
// labelled is sealed again, a sealed one is pre-committed, a pre-commit or publication that never
// landed is sent again, and a pre-committed one is prove-committed; nothing paid for is lost.
import { join } from 'node:path';
import { open, readFile, rm, truncate } from 'node:fs/promises';
import { packPieces } from './dealPacking.js';
import type { ChainStore } from '../chain/index.js';
import { zeroCommD } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { BcrError, addressOf, bytesEqual, errorMessage, formatBcr, fromHex, hexKey, toChecksumAddress, toHex } from '../primitives/index.js';
import { writeFile } from 'node:fs/promises';
import { merkleRoot, replicaIdOf, unsealedCommD, verifyPorep } from '../proofs/index.js';
import { sealProgressLogger } from './sealProgress.js';
import { addCollateralKind, collateralPayload, dealIdOf, escrowAddKind, escrowAddPayload, getDeal, getEscrow, getMiner, getSector, publishDealKind, publishDealPayload, type DealProposal, preCommitKind, preCommitPayload, proveCommitKind, proveCommitPayload, sealInputs, SectorState, type TxKind } from '../state/index.js';
import type { Field } from '../primitives/index.js';
import { decode, encode } from '../primitives/index.js';
import { dealProposalCodec } from '../state/index.js';
import { DurableSnapshot } from '../util/durableFile.js';
import type { Logger } from '../util/logger.js';
import { submitLocalTx } from './localTx.js';
import type { PieceIndex } from './pieceIndex.js';
import type { SectorStore } from './sectorStore.js';
import { sealChecked, type RemoteSectors } from './remoteSectors.js';

export interface SealJob {
  sector: number;
  status: 'sealing' | 'precommitted' | 'proving' | 'active' | 'failed';
  /** A deal sector: its deals, data file and CommD (committed capacity has none). */
  deals?: number[];
  /** Its deals by (client, nonce): deal ids can change in a reorg, these cannot. */
  dealKeys?: { client: Uint8Array; nonce: number }[];
  /** What the pre-commit needs once the sector is sealed (sent again if a reorg renumbered its deals). */
  sealed?: { commD: Uint8Array; commR: Uint8Array; sealRandHeight: number };
  precommitTries?: number;
  /** Prove-commits sent again after one failed on a seed a reorg changed. */
  proveTries?: number;
  /** Active, but its label layers are kept until the activation is final (a reorg may need a new PoRep). */
  scratchKept?: boolean;
  dataPath?: string;
  commD?: string;
  error?: string;
  /** The last tx sent for this sector, to read its receipt. */
  txId?: string;
  /** Where its pre-commit landed, once seen on chain. */
  precommitHeight?: number;
  /** The cluster worker holding the replica (sealed remotely); none when it is in the local store. */
  holder?: string;
  /** A remote seal asked for: its task key and inputs' height (a restart waits for the same task). */
  remoteSeal?: { key: string; sealRandHeight: number };
}

/** A deal on its way into a sector: published by our worker, then packed with others into a sector. */
export interface DealPiece {
  proposal: DealProposal;
  clientSignature: Uint8Array;
  /** The piece's bytes, padded to its size, until it is packed into a sector's data file. */
  piecePath: string;
  tx: string;
  status: 'publishing' | 'published' | 'packed' | 'failed';
  deal?: number;
  /** Where the piece sits once packed: its sector and byte offset in the sector's unsealed data. */
  sector?: number;
  offset?: number;
  error?: string;
}

/** Kept on the worker for the fees of sector and deal txs. */
const FEE_RESERVE = 10n ** 17n;

/** Pre-commit failures that mean its deal ids were renumbered by a reorg (the deals themselves stand). */
const DEAL_ID_FAILURES = new Set(['NOT_PROVIDER', 'NO_SUCH_DEAL', 'DEAL_NOT_AVAILABLE', 'COMMD_MISMATCH', 'DUPLICATE_DEAL', 'SECTOR_EXPIRES_TOO_SOON']);

export class SealingPipeline {
  readonly jobs = new Map<number, SealJob>();
  readonly dealPieces: DealPiece[] = [];
  private busy: Promise<void> = Promise.resolve();
  private readonly snapshot: DurableSnapshot;

  constructor(
    private readonly chain: ChainStore,
    private readonly mempool: Mempool,
    private readonly store: SectorStore,
    private readonly pieces: PieceIndex,
    private readonly minerId: number,
    private readonly workerKey: Uint8Array,
    private readonly log: Logger,
    private readonly remote: RemoteSectors | null = null,
  ) {
    this.snapshot = new DurableSnapshot(join(store.dir, STATE_FILE), () => JSON.stringify({ jobs: [...this.jobs.values()].map(jobJson), dealPieces: this.dealPieces.map(pieceJson) }, null, 1));
  }

  /** Writes the jobs and deal pieces durably (call after any change a restart must not lose). */
  persist(): Promise<void> {
    return this.snapshot.save();
  }

  /** The jobs as JSON (byte fields as hex), for RPC. */
  jobsJson(): SealJobJson[] {
    return [...this.jobs.values()].map(jobJson);
  }

  /** Waits for the last write of the jobs (shutdown). */
  flushed(): Promise<void> {
    return this.snapshot.settled();
  }

  /**
   * Reads `sealing.json` and resumes every job from its last finished stage (call once, before the
   * first tick): a sector that was being labelled is sealed again; a sealed one, or one whose
   * pre-commit never reached the chain, is pre-committed; a prove-commit is recomputed if the sector is
   * not active yet; a deal whose publication never landed is published again.
   */
  async resume(): Promise<{ jobs: number; pieces: number }> {
    let text: string;
    try {
      text = await readFile(join(this.store.dir, STATE_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { jobs: 0, pieces: 0 };
      throw error;
    }
    const saved = JSON.parse(text) as { jobs: SealJobJson[]; dealPieces: PieceJson[] };
    for (const j of saved.jobs) this.jobs.set(j.sector, jobFromJson(j));
    for (const d of saved.dealPieces) this.dealPieces.push(pieceFromJson(d));
    const state = this.chain.headState();
    for (const job of this.jobs.values()) {
      if (job.status === 'proving') job.status = 'precommitted'; // prove again unless it landed (tick sees)
      if (job.status === 'precommitted' && !(await getSector(state, this.minerId, job.sector)) && !(await this.landed(job.txId))) job.status = 'sealing';
      if (job.status !== 'sealing') continue;
      this.log.info({ sector: job.sector, stage: job.sealed ? 'sealed: pre-committing' : job.remoteSeal ? 'waiting for the cluster\'s seal' : 'sealing again' }, 'Resuming sector');
      if (!job.sealed && job.remoteSeal) void this.sealRemotely(job.sector);
      else this.busy = this.busy.then(() => (job.sealed ? this.precommit(job).catch((error: unknown) => this.markFailed(job, error)) : this.sealAndPrecommit(job.sector)));
    }
    for (const piece of this.dealPieces) {
      if (piece.status !== 'publishing' || (await this.landed(piece.tx))) continue;
      if ((await dealIdOf(state, piece.proposal.client, piece.proposal.nonce)) !== null) continue; // tick marks it published
      piece.tx = await this.publish(piece.proposal, piece.clientSignature);
      this.log.info({ client: toChecksumAddress(piece.proposal.client), tx: piece.tx }, 'Resuming deal: publishing it again');
    }
    await this.persist();
    return { jobs: this.jobs.size, pieces: this.dealPieces.length };
  }

  /** Whether a tx this pipeline sent is in a block of the canonical chain. */
  private async landed(txId: string | undefined): Promise<boolean> {
    return txId !== undefined && (await this.chain.getTxLocation(fromHex(txId))) !== undefined;
  }

  get sectorSize(): number {
    return this.store.params.sectorSize;
  }

  /** Queues `count` new committed-capacity sectors; returns their numbers. */
  async request(count: number): Promise<number[]> {
    const numbers: number[] = [];
    for (let i = 0; i < count; i++) {
      const number = await this.nextSectorNumber();
      numbers.push(number);
      this.jobs.set(number, { sector: number, status: 'sealing' });
      // A cluster seals committed capacity on its workers, many at once; this node seals one at a time.
      if (this.remote) void this.sealRemotely(number);
      else this.busy = this.busy.then(() => this.sealAndPrecommit(number));
    }
    await this.persist();
    return numbers;
  }

  private async nextSectorNumber(): Promise<number> {
    const miner = await getMiner(this.chain.headState(), this.minerId);
    if (!miner) throw new Error(`miner ${this.minerId} does not exist`);
    return Math.max(miner.nextSector, ...[...this.jobs.keys()].map((n) => n + 1));
  }

  /**
   * An offline deal: the client's signed proposal and its piece, handed to the provider directly.
   * Checks the piece against the proposal, then publishes it as a deal received over the network.
   */
  async importDeal(proposal: DealProposal, clientSignature: Uint8Array, piece: Uint8Array): Promise<{ tx: string }> {
    const sectorSize = this.store.params.sectorSize;
    if (proposal.provider !== this.minerId) throw new BcrError('NOT_PROVIDER', `the proposal is for miner ${proposal.provider}, this node runs miner ${this.minerId}`);
    if (proposal.pieceBytes > sectorSize || piece.length > proposal.pieceBytes) throw new BcrError('PIECE_TOO_LARGE', `a ${piece.length}-byte piece does not fit the proposal's ${proposal.pieceBytes} bytes in a ${sectorSize}-byte sector`);
    const padded = new Uint8Array(proposal.pieceBytes);
    padded.set(piece);
    if (!bytesEqual(merkleRoot(padded), proposal.pieceCommitment)) throw new BcrError('PIECE_MISMATCH', 'the data does not match the proposal\'s piece commitment');
    const piecePath = await this.store.stagingPath(`${hexKey(proposal.pieceCommitment)}-${proposal.nonce}.piece`);
    await writeFile(piecePath, padded);
    return this.addDeal({ proposal, clientSignature, piecePath });
  }

  /**
   * A verified piece (padded to its size on disk): locks the provider collateral (topping up the
   * owner's escrow from the worker when needed) and publishes the deal; once it is on chain the piece
   * is packed into a sector.
   */
  async addDeal(deal: { proposal: DealProposal; clientSignature: Uint8Array; piecePath: string }): Promise<{ tx: string }> {
    const { proposal } = deal;
    if (proposal.provider !== this.minerId) throw new BcrError('NOT_PROVIDER', `the proposal is for miner ${proposal.provider}, this node runs miner ${this.minerId}`);
    const tx = await this.publish(proposal, deal.clientSignature);
    this.dealPieces.push({ ...deal, tx, status: 'publishing' });
    // On disk before the provider relies on it: a restart publishes it again if the tx is lost.
    await this.persist();
    this.log.info({ client: toChecksumAddress(proposal.client), pieceBytes: proposal.pieceBytes, tx }, 'Publishing deal');
    return { tx };
  }

  /** Sends the deal's publication (topping up the owner's escrow for its collateral first); the tx id. */
  private async publish(proposal: DealProposal, clientSignature: Uint8Array): Promise<string> {
    const state = this.chain.headState();
    const owner = (await getMiner(state, this.minerId))!.owner;
    const escrow = await getEscrow(state, owner);
    const pendingCollateral = this.dealPieces.filter((d) => d.status === 'publishing').reduce((sum, d) => sum + d.proposal.providerCollateral, 0n);
    const short = proposal.providerCollateral + pendingCollateral - (escrow.total - escrow.locked);
    if (short > 0n) {
      await this.submit(escrowAddKind, escrowAddPayload, { account: owner, value: short });
      this.log.info({ value: short.toString() }, 'Moved provider collateral into the owner\'s escrow');
    }
    return this.submit(publishDealKind, publishDealPayload, { proposal, clientSignature });
  }

  /**
   * Why this miner could not honour `pending` deals on top of everything under way (null: it can).
   * Sectors being sealed still need their pre-commit deposit and initial pledge, pre-committed ones
   * their pledge less the deposit returned; deal pieces not yet in a sector need sectors of their own;
   * deals not yet on chain need their provider collateral in the owner's escrow. Miner collateral and
   * free escrow cover their own side; the worker's balance (less a fee reserve) tops up either.
   */
  async fundsProblem(pending: { pieceBytes: number; providerCollateral: bigint }[]): Promise<string | null> {
    const state = this.chain.headState();
    const params = this.chain.params.miners;
    const miner = (await getMiner(state, this.minerId))!;
    const escrow = await getEscrow(state, miner.owner);
    const worker = await this.chain.getAccount(addressOf(this.workerKey));
    const perSector = params.preCommitDeposit + params.initialPledge;
    let sectorNeed = 0n;
    let sectorsUnderWay = 0;
    for (const job of this.jobs.values()) {
      if (job.status === 'sealing') sectorNeed += perSector;
      else if (job.status === 'precommitted' || job.status === 'proving') sectorNeed += params.initialPledge > params.preCommitDeposit ? params.initialPledge - params.preCommitDeposit : 0n;
      else continue;
      sectorsUnderWay++;
    }
    const unpacked = this.dealPieces.filter((d) => d.status === 'publishing' || d.status === 'published');
    const pieceBytes = unpacked.reduce((sum, d) => sum + d.proposal.pieceBytes, 0) + pending.reduce((sum, d) => sum + d.pieceBytes, 0);
    const newSectors = Math.ceil(pieceBytes / this.sectorSize);
    sectorNeed += BigInt(newSectors) * perSector;
    const collateralNeed = [...unpacked.filter((d) => d.status === 'publishing').map((d) => d.proposal.providerCollateral), ...pending.map((d) => d.providerCollateral)].reduce((a, b) => a + b, 0n);
    const escrowFree = escrow.total - escrow.locked;
    const short = (need: bigint, have: bigint) => (need > have ? need - have : 0n);
    const spare = short(worker.balance, FEE_RESERVE);
    if (short(sectorNeed, miner.collateral) + short(collateralNeed, escrowFree) <= spare) return null;
    return `miner ${this.minerId} cannot fund this deal: ${sectorsUnderWay + newSectors} sector(s) under way or needed lock ${formatBcr(sectorNeed)} BCR (pre-commit deposit ${formatBcr(params.preCommitDeposit)} and initial pledge ${formatBcr(params.initialPledge)} each) and its pending deals ${formatBcr(collateralNeed)} BCR of provider collateral, against ${formatBcr(miner.collateral)} BCR of miner collateral, ${formatBcr(escrowFree)} BCR of free escrow and ${formatBcr(spare)} BCR spare on its worker (bcr miner collateral add)`;
  }

  /** What became of a deal this pipeline published: its stage (or its sector's) and any error. */
  dealStatus(proposal: DealProposal): { stage: string; error: string | null } | null {
    const piece = this.dealPieces.find((d) => bytesEqual(d.proposal.client, proposal.client) && d.proposal.nonce === proposal.nonce);
    if (!piece) return null;
    if (piece.status !== 'packed' || piece.sector === undefined) return { stage: piece.status, error: piece.error ?? null };
    const job = this.jobs.get(piece.sector);
    return { stage: `sector ${piece.sector} ${job?.status ?? 'unknown'}`, error: job?.error ?? null };
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

  /**
   * A prove-commit computed on one fork fails on another when a reorg replaced the block whose beacon
   * mix is the seed: while the pre-commit stands, the proof is computed again on the current seed.
   */
  private async reorgedSeed(job: SealJob): Promise<boolean> {
    const failure = await this.failedReceipt(job);
    if (!failure?.startsWith('INVALID_POREP')) return false;
    const sector = await getSector(this.chain.headState(), this.minerId, job.sector);
    if (sector?.state !== SectorState.precommitted) return false;
    job.proveTries = (job.proveTries ?? 0) + 1;
    job.status = 'precommitted';
    delete job.txId;
    this.log.info({ sector: job.sector, err: failure, attempt: job.proveTries }, 'Prove-commit failed on a seed a reorg changed: proving again');
    return true;
  }

  private async sealAndPrecommit(number: number): Promise<void> {
    const job = this.jobs.get(number)!;
    try {
      const sealRandHeight = Math.max(0, this.chain.head.header.height - 1);
      const inputs = await sealInputs({ state: this.chain.headState() }, sealRandHeight, sealRandHeight);
      if (!inputs) throw new Error('no seal randomness');
      const commD = job.commD ? fromHex(job.commD) : zeroCommD(this.store.params.sectorSize);
      this.log.info({ sector: number, deals: job.deals ?? [] }, 'Sealing sector');
      const progress = sealProgressLogger(this.log, number);
      const sealed = job.dataPath ? await this.store.sealData(this.minerId, number, inputs.sealRandomness, commD, job.dataPath, progress) : await this.store.sealCommittedCapacity(this.minerId, number, inputs.sealRandomness, commD, progress);
      job.sealed = { commD, commR: fromHex(sealed.meta.commR), sealRandHeight };
      await this.persist();
      await this.precommit(job);
    } catch (error) {
      job.status = 'failed';
      job.error = errorMessage(error);
      this.log.warn({ sector: number, err: job.error }, 'Sealing failed');
    }
  }

  /**
   * Has a cluster worker seal a committed-capacity sector, then pre-commits it here once its CommR
   * passed a PoRep check on a seed drawn after the seal (sealChecked).
   */
  private async sealRemotely(number: number): Promise<void> {
    const job = this.jobs.get(number)!;
    try {
      if (!job.remoteSeal) {
        const sealRandHeight = Math.max(0, this.chain.head.header.height - 1);
        job.remoteSeal = { key: `seal:${this.minerId}:${number}:${sealRandHeight}`, sealRandHeight };
        await this.persist();
      }
      const { sealRandHeight, key } = job.remoteSeal;
      const inputs = await sealInputs({ state: this.chain.headState() }, sealRandHeight, sealRandHeight);
      if (!inputs) throw new Error('no seal randomness');
      const commD = zeroCommD(this.store.params.sectorSize);
      this.log.info({ sector: number, key }, 'Sealing sector on the cluster');
      const sealed = await sealChecked(this.remote!, this.store.params, this.minerId, { key, sector: number, sealRandomness: inputs.sealRandomness, commD });
      job.holder = sealed.holder;
      job.sealed = { commD, commR: sealed.commR, sealRandHeight };
      await this.persist();
      this.log.info({ sector: number, holder: sealed.holder, commR: toHex(sealed.commR) }, 'Sector sealed on the cluster');
      this.busy = this.busy.then(() => this.precommit(job).catch((error: unknown) => this.markFailed(job, error)));
    } catch (error) {
      job.status = 'failed';
      job.error = errorMessage(error);
      this.log.warn({ sector: number, err: job.error }, 'Sealing on the cluster failed');
    }
  }

  /**
   * The holder's PoRep, verified here before its prove-commit is sent. A holder that answers with a
   * proof that does not verify is reported (its answers refused from then on); when it does that or
   * gives no PoRep at all, the sector is sealed once more on another worker: sealing is
   * deterministic, so the same inputs give the pre-committed CommR and the deposit is saved.
   */
  private async proveRemotely(job: SealJob, sealRandomness: Uint8Array, seed: Uint8Array, resealed = false): Promise<void> {
    const holder = job.holder!;
    const { commD, commR } = job.sealed!;
    try {
      let failure: string;
      try {
        const proof = await this.remote!.provePorep({ key: `porep:${this.minerId}:${job.sector}:${toHex(seed)}`, holder, sector: job.sector, seed });
        const invalid = verifyPorep({ params: this.store.params, replicaId: replicaIdOf(this.minerId, job.sector, sealRandomness, commD), commD, commR, seed }, proof);
        if (!invalid) {
          await this.ensureCollateral();
          job.txId = await this.submit(proveCommitKind, proveCommitPayload, { miner: this.minerId, sector: job.sector, proof });
          this.log.info({ sector: job.sector, holder, proofBytes: proof.length }, 'Submitted prove-commit (PoRep from the cluster, verified)');
          await this.persist();
          return;
        }
        await this.remote!.reportBad(holder, `PoRep of sector ${job.sector} does not verify (${invalid})`);
        failure = `worker ${holder} returned a PoRep that does not verify (${invalid})`;
      } catch (error) {
        failure = errorMessage(error);
      }
      if (resealed || !job.remoteSeal) throw new Error(failure);
      this.log.warn({ sector: job.sector, holder, err: failure }, 'No valid PoRep from the holder: sealing the sector again on another worker');
      const again = await sealChecked(this.remote!, this.store.params, this.minerId, { key: `${job.remoteSeal.key}:again`, sector: job.sector, sealRandomness, commD });
      if (!bytesEqual(again.commR, commR)) throw new Error(`sealed again to another CommR (${toHex(again.commR)}): the pre-commit's CommR came from a lying worker`);
      job.holder = again.holder;
      await this.persist();
      await this.proveRemotely(job, sealRandomness, seed, true);
    } catch (error) {
      job.status = 'failed';
      job.error = errorMessage(error);
      this.log.warn({ sector: job.sector, holder, err: job.error }, 'Prove-commit failed');
      await this.persist();
    }
  }

  /** Deal ids of the sector's deals at the head, waiting (briefly) for any a reorg took off the chain to land again. */
  private async resolveDeals(job: SealJob): Promise<number[]> {
    if (!job.dealKeys) return job.deals ?? [];
    for (let attempt = 0; ; attempt++) {
      const ids = await Promise.all(job.dealKeys.map((k) => dealIdOf(this.chain.headState(), k.client, k.nonce)));
      if (ids.every((id) => id !== null)) return ids as number[];
      if (attempt >= 120) throw new Error('a deal of this sector is no longer on chain');
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Sends the sealed sector's pre-commit, naming its deals by their ids at the head. */
  private async precommit(job: SealJob): Promise<void> {
    const { commD, commR, sealRandHeight } = job.sealed!;
    const expiration = this.chain.head.header.slot + 1000 * this.chain.params.miners.provingPeriod;
    await this.ensureCollateral();
    const deals = await this.resolveDeals(job);
    job.deals = deals;
    const dealEnd = await this.latestDealEnd(deals);
    job.precommitTries = (job.precommitTries ?? 0) + 1;
    job.txId = await this.submit(preCommitKind, preCommitPayload, { miner: this.minerId, sector: job.sector, commD, commR, sealRandHeight, expiration: Math.max(expiration, dealEnd + 1), dealIds: deals });
    job.status = 'precommitted';
    await this.persist();
    this.log.info({ sector: job.sector, deals }, 'Pre-committed sector');
  }

  private async latestDealEnd(deals: number[]): Promise<number> {
    let end = 0;
    for (const id of deals) end = Math.max(end, (await getDeal(this.chain.headState(), id))?.proposal.endSlot ?? 0);
    return end;
  }

  private markFailed(job: SealJob, error: unknown): void {
    job.status = 'failed';
    job.error = errorMessage(error);
    this.log.warn({ sector: job.sector, err: job.error }, 'Pre-commit failed');
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

  /** Follows deals being published: failed on chain, or on chain with an id. */
  private async checkPublished(piece: DealPiece): Promise<void> {
    // On chain first: a publication sent again after a restart may fail (NONCE_USED) while the first stands.
    const onChain = await dealIdOf(this.chain.headState(), piece.proposal.client, piece.proposal.nonce);
    if (onChain !== null) {
      piece.deal = onChain;
      piece.status = 'published';
      this.log.info({ deal: onChain }, 'Deal published');
      return;
    }
    const location = await this.chain.getTxLocation(fromHex(piece.tx));
    if (location) {
      const receipt = (await this.chain.getReceipts(location.blockId))![location.index]!;
      if (receipt.status !== 0) {
        piece.status = 'failed';
        piece.error = receipt.error;
        await rm(piece.piecePath, { force: true });
        this.log.warn({ err: receipt.error, tx: piece.tx }, 'Publishing the deal failed on chain');
        return;
      }
    }
    const id = await dealIdOf(this.chain.headState(), piece.proposal.client, piece.proposal.nonce);
    if (id === null) return;
    piece.deal = id;
    piece.status = 'published';
    this.log.info({ deal: id }, 'Deal published');
  }

  /** Packs the published pieces into new sectors (largest first) and starts sealing them. */
  private async packPublished(): Promise<void> {
    const ready = this.dealPieces.filter((d) => d.status === 'published');
    if (ready.length === 0) return;
    const sectorSize = this.store.params.sectorSize;
    for (const group of packPieces(ready.map((d) => d.proposal.pieceBytes), sectorSize)) {
      const number = await this.nextSectorNumber();
      const dataPath = await this.store.stagingPath(`sector-${number}.unsealed`);
      await writeFile(dataPath, new Uint8Array(0));
      await truncate(dataPath, sectorSize);
      const file = await open(dataPath, 'r+');
      try {
        for (const { index, offset } of group) {
          const piece = ready[index]!;
          await file.write(await readFile(piece.piecePath), 0, piece.proposal.pieceBytes, offset);
          piece.sector = number;
          piece.offset = offset;
          piece.status = 'packed';
        }
      } finally {
        await file.close();
      }
      const pieces = group.map(({ index }) => ready[index]!);
      await this.pieces.add(pieces.map((d) => ({ pieceCommitment: toHex(d.proposal.pieceCommitment), pieceBytes: d.proposal.pieceBytes, deal: d.deal!, sector: number, offset: d.offset!, unsealedPath: dataPath })));
      const commD = unsealedCommD(pieces.map((d) => ({ commitment: d.proposal.pieceCommitment, bytes: d.proposal.pieceBytes })), sectorSize)!;
      this.jobs.set(number, { sector: number, status: 'sealing', deals: pieces.map((d) => d.deal!), dealKeys: pieces.map((d) => ({ client: d.proposal.client, nonce: d.proposal.nonce })), dataPath, commD: hexKey(commD) });
      await this.persist();
      // Only once the packing is on disk: a crash before it packs the pieces again from these files.
      for (const piece of pieces) await rm(piece.piecePath, { force: true });
      this.log.info({ sector: number, deals: pieces.map((d) => d.deal), bytes: pieces.reduce((sum, d) => sum + d.proposal.pieceBytes, 0) }, 'Packed deal pieces into a sector: sealing it');
      this.busy = this.busy.then(() => this.sealAndPrecommit(number));
    }
  }

  /** Called on every slot: starts sealing published deals, prove-commits sectors whose seed is now known. */
  /** Label layers and columns of sectors whose activation is final: only the PoRep needed them. */
  private async deleteFinalScratch(): Promise<void> {
    if (![...this.jobs.values()].some((job) => job.scratchKept)) return;
    const finalId = await this.chain.canonicalId(this.chain.finalizedHeight);
    const finalSlot = finalId ? (await this.chain.getHeader(finalId))?.slot ?? 0 : 0;
    for (const job of this.jobs.values()) {
      if (!job.scratchKept) continue;
      const sector = await getSector(this.chain.headState(), this.minerId, job.sector);
      // Activation is a slot: final once the finalized block is at or past it.
      if (!sector || sector.state !== SectorState.active || sector.activation > finalSlot) continue;
      job.scratchKept = false;
      if (job.holder !== undefined && this.remote) {
        await this.remote.release({ holder: job.holder, sector: job.sector, what: 'scratch' });
        this.log.info({ sector: job.sector, holder: job.holder }, 'Sealing scratch to be deleted on its worker (activation final)');
        continue;
      }
      const freed = await this.store.deleteScratch(job.sector);
      this.log.info({ sector: job.sector, bytesFreed: freed }, 'Sealing scratch deleted (activation final)');
    }
  }

  async tick(): Promise<void> {
    const params = this.chain.params.miners;
    for (const piece of this.dealPieces) if (piece.status === 'publishing') await this.checkPublished(piece);
    await this.packPublished();
    await this.deleteFinalScratch();
    for (const job of this.jobs.values()) {
      if (job.status !== 'precommitted' && job.status !== 'proving') continue;
      if (job.status === 'precommitted' && job.dealKeys && job.sealed && (job.precommitTries ?? 0) < 3) {
        const failure = await this.failedReceipt(job);
        if (failure && DEAL_ID_FAILURES.has(failure)) {
          this.log.info({ sector: job.sector, err: failure }, 'Pre-commit named deal ids a reorg changed: sending it again');
          job.status = 'sealing';
          this.busy = this.busy.then(() => this.precommit(job).catch((error: unknown) => this.markFailed(job, error)));
          continue;
        }
      }
      if (job.status === 'proving' && (job.proveTries ?? 0) < 3 && (await this.reorgedSeed(job))) continue;
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
        job.scratchKept = true;
        this.log.info({ sector: job.sector }, 'Sector active: power added');
        continue;
      }
      if (job.status === 'proving') continue;
      const seedHeight = sector.precommitHeight + params.seedDelay;
      if (this.chain.head.header.height <= seedHeight) continue;
      job.status = 'proving';
      try {
        const inputs = (await sealInputs({ state: this.chain.headState() }, sector.sealRandHeight, seedHeight))!;
        if (job.holder !== undefined && this.remote) {
          // Off the slot loop: the holder's answer may take a while.
          void this.proveRemotely(job, inputs.sealRandomness, inputs.seed);
          continue;
        }
        const proof = await this.store.provePorep(job.sector, inputs.seed, job.dataPath);
        await this.ensureCollateral();
        job.txId = await this.submit(proveCommitKind, proveCommitPayload, { miner: this.minerId, sector: job.sector, proof });
        this.log.info({ sector: job.sector, proofBytes: proof.length }, 'Submitted prove-commit');
      } catch (error) {
        job.status = 'failed';
        job.error = errorMessage(error);
        this.log.warn({ sector: job.sector, err: job.error }, 'Prove-commit failed');
      }
    }
    await this.persist();
  }
}

const STATE_FILE = 'sealing.json';

export type SealJobJson = Omit<SealJob, 'dealKeys' | 'sealed'> & { dealKeys?: { client: string; nonce: number }[]; sealed?: { commD: string; commR: string; sealRandHeight: number } };
type PieceJson = Omit<DealPiece, 'proposal' | 'clientSignature'> & { proposal: string; clientSignature: string };

function jobJson(job: SealJob): SealJobJson {
  const { dealKeys, sealed, ...rest } = job;
  return {
    ...rest,
    ...(dealKeys ? { dealKeys: dealKeys.map((k) => ({ client: toHex(k.client), nonce: k.nonce })) } : {}),
    ...(sealed ? { sealed: { commD: toHex(sealed.commD), commR: toHex(sealed.commR), sealRandHeight: sealed.sealRandHeight } } : {}),
  };
}

function jobFromJson(j: SealJobJson): SealJob {
  const { dealKeys, sealed, ...rest } = j;
  return {
    ...rest,
    ...(dealKeys ? { dealKeys: dealKeys.map((k) => ({ client: fromHex(k.client), nonce: k.nonce })) } : {}),
    ...(sealed ? { sealed: { commD: fromHex(sealed.commD), commR: fromHex(sealed.commR), sealRandHeight: sealed.sealRandHeight } } : {}),
  };
}

function pieceJson(piece: DealPiece): PieceJson {
  return { ...piece, proposal: toHex(encode(dealProposalCodec, piece.proposal)), clientSignature: toHex(piece.clientSignature) };
}

function pieceFromJson(p: PieceJson): DealPiece {
  return { ...p, proposal: decode(dealProposalCodec, fromHex(p.proposal), 'stored deal proposal'), clientSignature: fromHex(p.clientSignature) };
}
