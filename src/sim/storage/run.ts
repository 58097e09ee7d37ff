// The storage scenario's engine: miners join over virtual time, seal, prove, fault, recover and
// exit on the real state machine (SimChain), and the block lottery hands out the blocks by their
// proven power. It samples every day: each miner's power, blocks and rewards, and the supply as
// the state defines it, checking that the coins held equal the genesis allocations plus issuance.
import { ed25519 } from '@noble/curves/ed25519.js';
import { mintedAtSlot, type ChainParams } from '../../consensus/index.js';
import { concatBytes, keyString, sha256, uintToBytesBE, utf8 } from '../../primitives/index.js';
import { ESCROW_PREFIX, MemoryKv, STATE_VALUE_PREFIX, StateKeyPrefix, circulatingSupply, decodeAccount, decodeEscrow, getMiner, minerIds, powerAt, supplyOf, type StateDb, type VerifiedTx } from '../../state/index.js';
import { SimRng } from '../rng.js';
import { SimChain } from '../simChain.js';
import { SlotLottery } from '../lottery.js';
import { SimMiner, type FaultModel, type MinerPlan } from './agent.js';

/** The genesis a run starts from (built by the caller from a network's genesis file). */
export interface SimGenesis {
  params: ChainParams;
  /** The genesis state. The run copies it. */
  kv: MemoryKv;
  /** Sum of the genesis allocations. */
  total: bigint;
  /** Accounts holding vesting grants (for the supply's vesting-locked part). */
  vested: Uint8Array[];
  /** A liquid account miners buy their collateral from (the tech allocation). */
  funder: Uint8Array;
}

export interface StorageSimOptions {
  genesis: SimGenesis;
  miners: MinerPlan[];
  faults: FaultModel;
  days: number;
  /** Run this many slots instead of `days` whole days (short runs and tests). */
  slots?: number;
  /** Slots per executed block (at most one deadline window, so every window gets a block). */
  stepSlots: number;
  seed: string;
  /** Extra txs each step (the economics scenario's council spending). */
  extraTxs?: (chain: SimChain, view: StateDb, slot: number, height: number) => Promise<VerifiedTx[]>;
  /** Hands the miner agents to the caller before the first step (the market scenario's clients deal with them). */
  onStart?: (agents: SimMiner[], chain: SimChain) => void;
  /** Called once a day with the day and the steps run so far. */
  onDay?: (day: number) => void;
}

export interface StorageMinerOutcome {
  miner: number;
  joinDay: number;
  exitDay: number | null;
  sectorsPlanned: number;
  blocks: number;
  /** Issuance and fees its blocks paid (atto). */
  rewards: bigint;
  /** Power share averaged over the run's slots. */
  powerShare: number;
  blockShare: number;
  rewardShare: number;
  /** Fault fees and termination fees it paid (atto), from its collateral and pledge. */
  penalties: bigint;
  /** Its largest pledge and collateral locked at once (atto). */
  peakLocked: bigint;
}

export interface DayRow {
  day: number;
  miner: number;
  sectors: number;
  blocks: number;
  rewards: bigint;
  locked: bigint;
}

export interface SupplyRow {
  day: number;
  minted: bigint;
  circulating: bigint;
  collateral: bigint;
  pledge: bigint;
  burned: bigint;
  foundation: bigint;
  vestingLocked: bigint;
  /** Coins held in accounts, escrows and miner balances, less the total: zero when supply is conserved. */
  conservationError: bigint;
}

export interface StorageSimResult {
  days: number;
  steps: number;
  slots: number;
  blocks: number;
  txs: number;
  failedTxs: Record<string, number>;
  rejectedTxs: number;
  miners: StorageMinerOutcome[];
  daily: DayRow[];
  supply: SupplyRow[];
}

/** Coins held anywhere in the state: account balances, escrows, and miners' collateral, deposits and pledge. */
export async function heldCoins(kv: MemoryKv, view: StateDb): Promise<bigint> {
  const accountPrefix = keyString(new Uint8Array([STATE_VALUE_PREFIX, StateKeyPrefix.account]));
  const escrowPrefix = keyString(new Uint8Array([STATE_VALUE_PREFIX, ESCROW_PREFIX]));
  let held = 0n;
  for (const [id, value] of kv.map) {
    if (id.startsWith(accountPrefix)) held += decodeAccount(value).balance;
    else if (id.startsWith(escrowPrefix)) held += decodeEscrow(value).total;
  }
  for (const id of await minerIds(view)) {
    const m = (await getMiner(view, id))!;
    held += m.collateral + m.deposits + m.pledge;
  }
  return held;
}

/** A copy of a store, so runs from one genesis never share state. */
export function copyKv(kv: MemoryKv): MemoryKv {
  const copy = new MemoryKv();
  for (const [id, value] of kv.map) copy.map.set(id, value);
  return copy;
}

export async function runStorageSim(options: StorageSimOptions): Promise<StorageSimResult> {
  const { genesis, stepSlots, days } = options;
  const params = genesis.params;
  const width = Math.floor(params.miners.provingPeriod / params.miners.deadlines);
  if (!Number.isSafeInteger(stepSlots) || stepSlots < 1 || stepSlots > width) throw new RangeError(`the step must be 1..${width} slots (one deadline window)`);
  if (!Number.isInteger(days) || days < 1) throw new RangeError('days must be a positive integer');
  const slotsPerDay = Math.round(86_400_000 / params.slotMs);
  const endSlot = options.slots ?? days * slotsPerDay;
  if (!Number.isSafeInteger(endSlot) || endSlot < stepSlots) throw new RangeError('run at least one step of slots');
  const rng = new SimRng(`storage/${options.seed}`);
  const chain = new SimChain(params, copyKv(genesis.kv), sha256(utf8(`beacon/${options.seed}`)));
  const lottery = new SlotLottery<SimMiner>(rng.fork('lottery'), params.miners.activeSlotCoeff);
  const agents = options.miners.map((plan, i) => {
    const secret = sha256(concatBytes(utf8(`sim-miner/${options.seed}`), uintToBytesBE(i, 4)));
    const owner = sha256(concatBytes(utf8('sim-owner'), secret)).slice(0, 20);
    return new SimMiner(i, owner, ed25519.getPublicKey(secret), plan, options.faults, rng.fork(`miner-${i}`), params);
  });
  options.onStart?.(agents, chain);
  // Election power is looked up as far back as the chain's lookback reaches in slots.
  const f = params.miners.activeSlotCoeff;
  const lookbackSteps = Math.min(params.miners.powerLookback, Math.max(1, Math.round((params.miners.powerLookback * Number(f.denominator)) / Number(f.numerator) / stepSlots)));
  const stats = agents.map(() => ({ blocks: 0, rewards: 0n, powerSlots: 0n, peakLocked: 0n, locked: 0n }));
  let networkPowerSlots = 0n;
  let lastPowers = '';
  const result: StorageSimResult = { days, steps: 0, slots: endSlot, blocks: 0, txs: 0, failedTxs: {}, rejectedTxs: 0, miners: [], daily: [], supply: [] };
  const byOwner = new Map(agents.map((a) => [Buffer.from(a.owner).toString('hex'), a]));

  for (let slot = stepSlots; slot <= endSlot; slot += stepSlots) {
    const view = chain.view();
    const height = chain.height + 1;
    // Powers for the lottery of this step's slots.
    const entrants = [];
    for (const agent of agents) {
      if (agent.id === null) continue;
      const miner = chain.miner(agent.id)!;
      const power = powerAt(miner.powerLog, Math.max(0, height - lookbackSteps));
      entrants.push({ power, who: agent });
      stats[agent.index]!.powerSlots += miner.power * BigInt(stepSlots);
      networkPowerSlots += miner.power * BigInt(stepSlots);
    }
    // The thresholds are recomputed only when some power changed (most steps change none).
    const powers = entrants.map((e) => `${e.who.index}:${e.power}`).join(',');
    if (powers !== lastPowers) lottery.setPowers(entrants);
    lastPowers = powers;
    const won = lottery.draw(slot - stepSlots, slot).map(({ slot: s, who }) => ({ slot: s, producer: who.owner, agent: who }));
    const txs: VerifiedTx[] = [];
    for (const agent of agents) txs.push(...(await agent.txs(chain, view, genesis.funder, slot, height, slotsPerDay, stepSlots)));
    if (options.extraTxs) txs.push(...(await options.extraTxs(chain, view, slot, height)));
    const creating = agents.filter((a) => a.id === null && txs.some((t) => t.kind.name === 'createMiner' && Buffer.compare(t.sender, a.owner) === 0));
    const minersBefore = (await minerIds(view)).length;
    const step = await chain.step(slot, txs, won);
    result.steps++;
    result.blocks += won.length;
    result.txs += step.receipts.length;
    result.rejectedTxs += step.rejected.length;
    for (const { receipt } of step.receipts) if (receipt.error) result.failedTxs[receipt.error] = (result.failedTxs[receipt.error] ?? 0) + 1;
    for (const { block, issuance, fees } of step.paid) {
      const agent = byOwner.get(Buffer.from(block.producer).toString('hex'))!;
      stats[agent.index]!.blocks++;
      stats[agent.index]!.rewards += issuance + fees;
    }
    // Miner ids follow the order their createMiner txs applied in.
    if (creating.length) {
      const after = chain.view();
      for (let id = minersBefore + 1; id <= (await minerIds(after)).length; id++) {
        const record = (await getMiner(after, id))!;
        const agent = byOwner.get(Buffer.from(record.owner).toString('hex'));
        if (agent) agent.id = id;
      }
    }
    if (slot % slotsPerDay < stepSlots || slot === endSlot) await sample(Math.floor(slot / slotsPerDay), slot);
  }

  async function sample(day: number, slot: number): Promise<void> {
    const view = chain.view();
    for (const agent of agents) {
      const miner = agent.id === null ? null : await getMiner(view, agent.id);
      const locked = miner ? miner.collateral + miner.deposits + miner.pledge : 0n;
      const s = stats[agent.index]!;
      if (locked > s.peakLocked) s.peakLocked = locked;
      s.locked = locked;
      result.daily.push({ day, miner: agent.index, sectors: miner ? Number(miner.power / BigInt(miner.sectorSize)) : 0, blocks: s.blocks, rewards: s.rewards, locked });
    }
    const minted = mintedAtSlot(slot, params);
    const total = genesis.total + minted;
    const breakdown = await supplyOf(view, slot, total, genesis.vested);
    result.supply.push({
      day,
      minted,
      circulating: circulatingSupply(breakdown),
      collateral: breakdown.minerCollateral,
      pledge: breakdown.minerPledge,
      burned: breakdown.burned,
      foundation: breakdown.foundation,
      vestingLocked: breakdown.vestingLocked,
      conservationError: (await heldCoins(chain.kv, view)) - total,
    });
    options.onDay?.(day);
  }

  const totalBlocks = stats.reduce((sum, s) => sum + s.blocks, 0);
  const totalRewards = stats.reduce((sum, s) => sum + s.rewards, 0n);
  const ratio = (a: bigint, b: bigint) => (b === 0n ? 0 : Number((a * 1_000_000_000n) / b) / 1e9);
  result.miners = agents.map((agent, i) => {
    const s = stats[i]!;
    return {
      miner: i,
      joinDay: agent.plan.joinDay,
      exitDay: agent.plan.exitDay,
      sectorsPlanned: agent.plan.sectors,
      blocks: s.blocks,
      rewards: s.rewards,
      powerShare: ratio(s.powerSlots, networkPowerSlots),
      blockShare: totalBlocks ? s.blocks / totalBlocks : 0,
      rewardShare: ratio(s.rewards, totalRewards),
      // What went in and did not come back out, nor is still locked, was burned as fees.
      penalties: agent.deposited - agent.withdrawn - s.locked,
      peakLocked: s.peakLocked,
    };
  });
  return result;
}
