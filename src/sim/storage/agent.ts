// A simulated storage miner: it joins, seals committed-capacity sectors (really sealed, at the test
// proof profile's size), proves them with the tx kinds a node sends (pre-commit, prove-commit with a
// real PoRep, a real WindowPoSt per deadline), loses sectors to disk faults, repairs and recovers
// them or lets the cron terminate them, and may exit. Its decisions are a pure function of the
// committed state and its own random stream.
import type { ChainParams } from '../../consensus/index.js';
import { PROOF_PROFILES, TreeReader, bufferSource, buildTreeCache, merkleRoot, provePorep, provePost, replicaIdOf, sealInMemory, type ProofParams, type ProvableSector } from '../../proofs/index.js';
import {
  SectorState,
  addCollateralKind,
  byPartition,
  createMinerKind,
  currentDeadline,
  dealIdOf,
  declareRecoveriesKind,
  escrowAddKind,
  derivedRandomness,
  getBeacon,
  getSector,
  preCommitKind,
  publishDealKind,
  proveCommitKind,
  provableSectors,
  sealInputs,
  submitWindowPostKind,
  terminateSectorsKind,
  transferKind,
  windowPostRandomness,
  withdrawCollateralKind,
  type DealProposal,
  type Miner,
  type StateDb,
  type VerifiedTx,
} from '../../state/index.js';
import type { SimRng } from '../rng.js';
import type { SimChain } from '../simChain.js';

export interface MinerPlan {
  /** Day the miner joins (buys collateral, registers). */
  joinDay: number;
  /** Sectors it keeps live (it reseals what faults take for good). */
  sectors: number;
  sealPerDay: number;
  /** Day it terminates every sector and withdraws its collateral; null: it stays. */
  exitDay: number | null;
  /** Escrow its owner holds for deals' provider collateral (atto); zero: it takes no deals. */
  dealEscrow?: bigint;
  /** Funds its owner starts with beyond its collateral and deal escrow (for deal sectors' pledges). */
  extraFunds?: bigint;
}

/** A client's signed deal the provider publishes and seals (the piece fills one sector). */
export interface OfferedDeal {
  proposal: DealProposal;
  clientSignature: Uint8Array;
  data: Uint8Array;
}

export interface FaultModel {
  /** Chance per sector per day that its disk fails, in parts per million. */
  faultPpmPerDay: number;
  /** Days to repair a failed sector (then it declares the recovery and proves it). */
  repairDays: number;
  /** Percent of failures that lose the sector for good (never recovered; the cron terminates it). */
  permanentPercent: number;
}

interface SimSector {
  number: number;
  sealRandHeight: number;
  precommitHeight: number;
  /** Until prove-commit: what the PoRep needs. */
  sealed: ReturnType<typeof sealInMemory> | null;
  provable: ProvableSector | null;
  /** Slot the disk failed, or null. */
  brokenAt: number | null;
  permanent: boolean;
  /** A deal sector's data (the PoRep opens it); null: committed capacity, all zeros. */
  data: Uint8Array | null;
}

const zeroCommDs = new Map<number, Uint8Array>();
function zeroCommD(sectorSize: number): Uint8Array {
  let commD = zeroCommDs.get(sectorSize);
  if (!commD) zeroCommDs.set(sectorSize, (commD = merkleRoot(new Uint8Array(sectorSize))));
  return commD;
}

async function readerOf(bytes: Uint8Array): Promise<TreeReader> {
  const source = bufferSource(bytes);
  return new TreeReader(source, await buildTreeCache(source, 3));
}

export class SimMiner {
  id: number | null = null;
  /** Collateral it added, and withdrew (atto). */
  deposited = 0n;
  withdrawn = 0n;
  private created = false;
  private collateralAdded = false;
  private exited = false;
  private withdrawnAll = false;
  private readonly sectors = new Map<number, SimSector>();
  private nextSector = 0;
  private sealedToday = { day: -1, count: 0 };
  private readonly proofs: ProofParams;
  /** Deals to publish, then (once the chain gave them ids) to seal. */
  private readonly offered: OfferedDeal[] = [];
  private readonly published: OfferedDeal[] = [];
  private readonly dealsToSeal: { id: number; data: Uint8Array }[] = [];
  /** A provider that vanished (its disks and node gone): it sends nothing more; the cron does the rest. */
  gone = false;

  constructor(
    readonly index: number,
    readonly owner: Uint8Array,
    readonly vrfKey: Uint8Array,
    readonly plan: MinerPlan,
    private readonly faults: FaultModel,
    private readonly rng: SimRng,
    private readonly params: ChainParams,
  ) {
    this.proofs = { ...PROOF_PROFILES[params.miners.proofProfile] };
  }

  /** What joining costs: every planned sector's pre-commit deposit and pledge, and fees besides. */
  get collateralNeeded(): bigint {
    const m = this.params.miners;
    return (m.preCommitDeposit + m.initialPledge) * BigInt(this.plan.sectors);
  }

  get live(): number {
    return [...this.sectors.values()].filter((s) => !s.permanent || s.brokenAt === null).length;
  }

  /** A client hands over a signed deal and its data. */
  offer(deal: OfferedDeal): void {
    this.offered.push(deal);
  }

  /** The txs this miner sends in the block at `slot` (height `height`), given the committed state. */
  async txs(chain: SimChain, view: StateDb, funder: Uint8Array, slot: number, height: number, slotsPerDay: number, stepSlots: number): Promise<VerifiedTx[]> {
    const day = Math.floor(slot / slotsPerDay);
    const out: VerifiedTx[] = [];
    if (day < this.plan.joinDay || this.gone) return out;
    if (!this.created) {
      this.created = true;
      const dealEscrow = this.plan.dealEscrow ?? 0n;
      out.push(await chain.tx(funder, transferKind, { to: this.owner, value: this.collateralNeeded + dealEscrow + (this.plan.extraFunds ?? 0n) + 10n ** 21n }));
      out.push(await chain.tx(this.owner, createMinerKind, { worker: this.owner, vrfKey: this.vrfKey, peerId: '', multiaddrs: [] }));
      if (dealEscrow > 0n) out.push(await chain.tx(this.owner, escrowAddKind, { account: this.owner, value: dealEscrow }));
      return out;
    }
    if (this.id === null) return out;
    const id = this.id;
    const miner = chain.miner(id)!;
    if (!this.collateralAdded) {
      this.collateralAdded = true;
      this.deposited = this.collateralNeeded;
      // A provider that only takes deals tops up per sector as its deals come.
      if (this.collateralNeeded > 0n) out.push(await chain.tx(this.owner, addCollateralKind, { miner: id, value: this.collateralNeeded }));
      return out;
    }
    if (this.exited) {
      if (!this.withdrawnAll && miner.collateral > 0n && miner.deposits === 0n) {
        this.withdrawnAll = true;
        this.withdrawn = miner.collateral;
        out.push(await chain.tx(this.owner, withdrawCollateralKind, { miner: id, value: miner.collateral }));
      }
      return out;
    }
    if (this.plan.exitDay !== null && day >= this.plan.exitDay) {
      this.exited = true;
      const live: number[] = [];
      for (const s of this.sectors.values()) {
        const record = await getSector(view, id, s.number);
        if (record && (record.state === SectorState.active || record.state === SectorState.faulty)) live.push(s.number);
      }
      this.sectors.clear();
      if (live.length) out.push(await chain.tx(this.owner, terminateSectorsKind, { miner: id, sectors: live }));
      return out;
    }
    await this.forget(view, id, height);
    this.breakDisks(slot, stepSlots, slotsPerDay);
    for (const deal of this.published.splice(0)) {
      const dealId = await dealIdOf(view, deal.proposal.client, deal.proposal.nonce);
      if (dealId !== null) this.dealsToSeal.push({ id: dealId, data: deal.data });
    }
    for (const deal of this.offered.splice(0)) {
      out.push(await chain.tx(this.owner, publishDealKind, { proposal: deal.proposal, clientSignature: deal.clientSignature }));
      this.published.push(deal);
    }
    // Fees taken from collateral leave less for the pledges to come: top it up from the owner's
    // rewards first (the top-up applies before this block's proofs and pre-commit).
    const m = this.params.miners;
    const pending = BigInt([...this.sectors.values()].filter((s) => s.sealed !== null).length);
    const needed = pending * (m.initialPledge - m.preCommitDeposit) + (this.wantsToSeal(day) ? m.preCommitDeposit + m.initialPledge : 0n);
    if (miner.collateral < needed) {
      this.deposited += needed - miner.collateral;
      out.push(await chain.tx(this.owner, addCollateralKind, { miner: id, value: needed - miner.collateral }));
    }
    out.push(...(await this.windowPosts(chain, view, id, miner, slot, height)));
    out.push(...(await this.recoveries(chain, view, id, slot, slotsPerDay)));
    out.push(...(await this.proveCommits(chain, view, id, height)));
    const seal = await this.sealOne(chain, view, id, slot, height, day);
    if (seal) out.push(seal);
    return out;
  }

  /**
   * Sectors the chain ended: a pre-commit that expired, or a failed sector the cron terminated
   * (a healthy proven sector lives past the run, so only these are looked up).
   */
  private async forget(view: StateDb, id: number, height: number): Promise<void> {
    for (const s of [...this.sectors.values()]) {
      if (s.sealed === null && s.brokenAt === null) continue;
      const record = await getSector(view, id, s.number);
      if (record ? record.state === SectorState.terminated : s.precommitHeight < height) this.sectors.delete(s.number);
    }
  }

  /**
   * Disk failures in this step: one draw per miner (at most one failure a step, exact while the
   * expected failures per miner per step are well below one, as they are at any sane rate), then
   * which proven sector it hit.
   */
  private breakDisks(slot: number, stepSlots: number, slotsPerDay: number): void {
    const healthy = [...this.sectors.values()].filter((s) => s.provable !== null && s.brokenAt === null);
    if (healthy.length === 0 || !this.rng.chance(Math.min(healthy.length * this.faults.faultPpmPerDay * stepSlots, 1_000_000 * slotsPerDay), 1_000_000 * slotsPerDay)) return;
    const s = healthy[this.rng.below(healthy.length)]!;
    s.brokenAt = slot;
    s.permanent = this.rng.chance(this.faults.permanentPercent, 100);
  }

  private async windowPosts(chain: SimChain, view: StateDb, id: number, miner: Miner, slot: number, height: number): Promise<VerifiedTx[]> {
    const now = currentDeadline(this.params.miners, miner, slot);
    if (!now) return [];
    const due = await provableSectors(view, id, now.deadline);
    if (due.length === 0) return [];
    const randomness = await windowPostRandomness(view, height, id, now.period, now.deadline, now.open);
    if (!randomness) return [];
    const out: VerifiedTx[] = [];
    for (const [partition, members] of byPartition(this.params.miners, due)) {
      const proven: ProvableSector[] = [];
      const skipped: number[] = [];
      for (const ref of members) {
        const record = (await getSector(view, id, ref.number))!;
        if (record.provenPeriod >= now.period + 1) continue;
        const s = this.sectors.get(ref.number);
        if (!s?.provable || s.brokenAt !== null) skipped.push(ref.number);
        else proven.push(s.provable);
      }
      if (proven.length === 0 && skipped.length === 0) continue;
      // A partition all skipped still tells the chain at once (the sectors turn faulty now).
      const proof = await provePost(this.proofs, 'window', randomness, proven);
      out.push(await chain.tx(this.owner, submitWindowPostKind, { miner: id, deadline: now.deadline, partition, skipped, proof }));
    }
    return out;
  }

  private async recoveries(chain: SimChain, view: StateDb, id: number, slot: number, slotsPerDay: number): Promise<VerifiedTx[]> {
    const ready: number[] = [];
    for (const s of this.sectors.values()) {
      if (s.brokenAt === null || s.permanent || slot - s.brokenAt < this.faults.repairDays * slotsPerDay) continue;
      const record = await getSector(view, id, s.number);
      if (record?.state === SectorState.faulty && !record.recovering) {
        s.brokenAt = null;
        ready.push(s.number);
      } else if (record?.state === SectorState.active) s.brokenAt = null; // repaired before its next proof
    }
    return ready.length ? [await chain.tx(this.owner, declareRecoveriesKind, { miner: id, sectors: ready.sort((a, b) => a - b) })] : [];
  }

  private async proveCommits(chain: SimChain, view: StateDb, id: number, height: number): Promise<VerifiedTx[]> {
    const out: VerifiedTx[] = [];
    for (const s of this.sectors.values()) {
      if (!s.sealed || s.precommitHeight === 0) continue;
      const seedHeight = s.precommitHeight + this.params.miners.seedDelay;
      if (height <= seedHeight) continue;
      const inputs = await sealInputs({ state: view }, s.sealRandHeight, seedHeight);
      if (!inputs) continue;
      const sealed = s.sealed;
      const proof = await provePorep(
        { params: this.proofs, replicaId: sealed.replicaId, commC: sealed.commC, commRLast: sealed.commRLast, data: await readerOf(s.data ?? new Uint8Array(this.proofs.sectorSize)), replica: await readerOf(sealed.replica), columns: await readerOf(sealed.columns), layers: sealed.layers.map((l) => bufferSource(l)) },
        inputs.seed,
      );
      out.push(await chain.tx(this.owner, proveCommitKind, { miner: id, sector: s.number, proof }));
      s.provable = { sectorNumber: s.number, commC: sealed.commC, commRLast: sealed.commRLast, replica: await readerOf(sealed.replica) };
      s.sealed = null;
      s.data = null;
    }
    return out;
  }

  private wantsToSeal(day: number): boolean {
    if (this.sealedToday.day !== day) this.sealedToday = { day, count: 0 };
    return this.sealedToday.count < this.plan.sealPerDay && (this.dealsToSeal.length > 0 || this.live < this.plan.sectors);
  }

  private async sealOne(chain: SimChain, view: StateDb, id: number, slot: number, height: number, day: number): Promise<VerifiedTx | null> {
    if (!this.wantsToSeal(day)) return null;
    const sealRandHeight = height - 1;
    const beacon = await getBeacon(view, sealRandHeight);
    if (!beacon) return null;
    this.sealedToday.count++;
    const number = this.nextSector++;
    // A deal's piece fills the sector: its CommD is the piece's commitment. Otherwise committed capacity.
    const deal = this.dealsToSeal.shift();
    const data = deal?.data ?? new Uint8Array(this.proofs.sectorSize);
    const commD = deal ? merkleRoot(data.slice()) : zeroCommD(this.proofs.sectorSize);
    const replicaId = replicaIdOf(id, number, derivedRandomness('seal', beacon.mix, sealRandHeight), commD);
    const sealed = sealInMemory(this.proofs, replicaId, data);
    this.sectors.set(number, { number, sealRandHeight, precommitHeight: height, sealed, provable: null, brokenAt: null, permanent: false, data: deal ? data : null });
    // Sectors live past the run: expiry is not what this scenario studies.
    const expiration = slot + (20 * 365 * 86_400_000) / this.params.slotMs;
    return chain.tx(this.owner, preCommitKind, { miner: id, sector: number, commD, commR: sealed.commR, sealRandHeight, expiration: Math.floor(expiration), dealIds: deal ? [deal.id] : [] });
  }
}
