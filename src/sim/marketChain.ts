// The storage market on the real state machine: clients sign deals at the providers' asks for
// each shard of their erasure-coded files (K data + M parity, K + M distinct providers), providers
// publish them, seal the shards into sectors (real PoRep over the shard's bytes) and are paid as
// their WindowPoSts land; a provider that vanishes stops proving, the cron marks its sectors faulty
// and, after the fault limit, terminates them and slashes its deals (the client is refunded and
// gets half the provider's collateral). Clients watch their shards' sectors on chain and, once one
// has been faulty for the detection delay, deal the shard again with another provider while K
// shards are still live. It checks the money path against lying or failing providers at a scale
// the state machine can run; `simulateMarket` sweeps durability across schemes and rates.
import { addressOf, bcr, concatBytes, sha256, uintToBytesBE, utf8 } from '../primitives/index.js';
import { merkleRoot } from '../proofs/index.js';
import { DealState, SectorState, escrowAddKind, getDeal, getEscrow, getSector, dealIdOf, signDealProposal, transferKind, type StateDb, type VerifiedTx } from '../state/index.js';
import { SimRng } from './rng.js';
import type { SimChain } from './simChain.js';
import type { SimMiner } from './storage/agent.js';
import { runStorageSim, type SimGenesis, type StorageSimResult } from './storage/run.js';

export interface MarketChainOptions {
  genesis: SimGenesis;
  providers: number;
  files: number;
  k: number;
  m: number;
  failurePercentPerYear: number;
  /** Days a shard's sector stays faulty before its client deals it again. */
  detectDays: number;
  days: number;
  stepSlots: number;
  seed: string;
  /** Asks in atto per slot for one sector-sized piece, drawn uniformly from [askLow, askHigh]. */
  askLow: bigint;
  askHigh: bigint;
  /** Provider collateral per deal (atto). */
  providerCollateral: bigint;
}

interface Shard {
  data: Uint8Array;
  provider: SimMiner;
  nonce: number;
  /** Slot its sector was first seen faulty, or null. */
  faultySince: number | null;
  /** Replaced by a new deal (this one is left to the cron). */
  replaced: boolean;
}

interface ClientFile {
  key: Uint8Array;
  client: Uint8Array;
  shards: Shard[];
  nextNonce: number;
  lost: boolean;
  funded: boolean;
}

export interface MarketChainResult {
  run: StorageSimResult;
  files: number;
  filesLost: number;
  providersFailed: number;
  dealsMade: number;
  repairs: number;
  /** Deals by their final state on chain. */
  dealStates: Record<string, number>;
  /** What clients put in escrow, and what they hold at the end (escrow and balance: refunds and slash compensation included). */
  clientsDeposited: bigint;
  clientsHoldAtEnd: bigint;
}

const DEAL_STATE_NAMES = Object.fromEntries(Object.entries(DealState).map(([name, value]) => [value, name]));

export async function runMarketChain(o: MarketChainOptions): Promise<MarketChainResult> {
  if (o.k < 1 || o.m < 0 || o.k + o.m > o.providers) throw new RangeError(`K + M (${o.k} + ${o.m}) must fit among ${o.providers} providers, K >= 1`);
  const params = o.genesis.params;
  const slotsPerDay = Math.round(86_400_000 / params.slotMs);
  const sectorSize = 2048;
  const rng = new SimRng(`market-chain/${o.seed}`);
  const spread = Number(o.askHigh - o.askLow);
  const asks = Array.from({ length: o.providers }, () => o.askLow + BigInt(spread > 0 ? rng.below(spread + 1) : 0));
  const endSlot = o.days * slotsPerDay;
  // A deal starts after the provider could publish, seal and prove it, and runs past the end.
  const startDelay = Math.ceil(slotsPerDay / 2);
  const perDealEscrow = (start: number) => asks.reduce((max, a) => (a > max ? a : max), 0n) * BigInt(endSlot + slotsPerDay - start);
  const files: ClientFile[] = Array.from({ length: o.files }, (_, i) => {
    const key = sha256(concatBytes(utf8(`market-client/${o.seed}`), uintToBytesBE(i, 4)));
    return { key, client: addressOf(key), shards: [], nextNonce: 0, lost: false, funded: false };
  });
  let agents: SimMiner[] = [];
  let chainRef: SimChain | null = null;
  let failed = 0;
  let dealsMade = 0;
  let repairs = 0;
  let deposited = 0n;
  let lastDay = -1;

  const offer = (file: ClientFile, data: Uint8Array, slot: number, exclude: Set<SimMiner>): Shard | null => {
    // As in simulateMarket: a client hears 2(K + M) providers' asks and takes the cheapest.
    const open = agents.filter((a) => a.id !== null && !a.gone && !exclude.has(a));
    const heard: SimMiner[] = [];
    while (heard.length < Math.min(open.length, 2 * (o.k + o.m))) heard.push(open.splice(rng.below(open.length), 1)[0]!);
    const provider = heard.sort((a, b) => (asks[a.index]! < asks[b.index]! ? -1 : asks[a.index]! > asks[b.index]! ? 1 : a.index - b.index))[0];
    if (!provider) return null;
    const nonce = file.nextNonce++;
    const proposal = { pieceCommitment: merkleRoot(data.slice()), pieceBytes: sectorSize, client: file.client, provider: provider.id!, startSlot: slot + startDelay, endSlot: endSlot + slotsPerDay, pricePerSlot: asks[provider.index]!, providerCollateral: o.providerCollateral, clientCollateral: 0n, nonce };
    provider.offer({ proposal, clientSignature: signDealProposal(file.key, params.chainId, proposal), data });
    dealsMade++;
    return { data, provider, nonce, faultySince: null, replaced: false };
  };

  const clientTxs = async (chain: SimChain, view: StateDb, slot: number): Promise<VerifiedTx[]> => {
    const out: VerifiedTx[] = [];
    const day = Math.floor(slot / slotsPerDay);
    // Providers fail once a day, each with the yearly rate spread over the days.
    if (day !== lastDay) {
      lastDay = day;
      for (const a of agents) {
        if (a.gone || a.id === null || !rng.chance(o.failurePercentPerYear, 100 * 365)) continue;
        a.gone = true;
        failed++;
      }
    }
    // Clients fund their escrow once the providers exist, then offer every shard.
    if (!agents.every((a) => a.id !== null)) return out;
    for (const [i, file] of files.entries()) {
      if (!file.funded) {
        file.funded = true;
        const escrow = perDealEscrow(slot) * BigInt(2 * (o.k + o.m));
        deposited += escrow;
        out.push(await chain.tx(o.genesis.funder, transferKind, { to: file.client, value: escrow + bcr(1) }));
        out.push(await chain.tx(file.client, escrowAddKind, { account: file.client, value: escrow }));
        continue;
      }
      if (file.shards.length === 0) {
        const holders = new Set<SimMiner>();
        for (let s = 0; s < o.k + o.m; s++) {
          const data = sha256(concatBytes(utf8(`shard/${o.seed}`), uintToBytesBE(i, 4), uintToBytesBE(s, 4)));
          const bytes = new Uint8Array(sectorSize);
          for (let at = 0; at < sectorSize; at += 32) bytes.set(sha256(concatBytes(data, uintToBytesBE(at, 4))), at);
          const shard = offer(file, bytes, slot, holders);
          if (shard) {
            holders.add(shard.provider);
            file.shards.push(shard);
          }
        }
        continue;
      }
      if (file.lost || slot % slotsPerDay >= o.stepSlots) continue;
      // Once a day: which shards' sectors are faulty or gone, and repair those faulty long enough.
      const live: Shard[] = [];
      const failing: Shard[] = [];
      for (const shard of file.shards) {
        if (shard.replaced) continue;
        const id = await dealIdOf(view, file.client, shard.nonce);
        const deal = id === null ? null : await getDeal(view, id);
        const sector = deal && deal.sector > 0 ? await getSector(view, shard.provider.id!, deal.sector - 1) : null;
        const bad = deal !== null && (deal.state === DealState.slashed || deal.state === DealState.expired || sector?.state === SectorState.faulty || sector?.state === SectorState.terminated);
        if (!bad) {
          shard.faultySince = null;
          live.push(shard);
          continue;
        }
        shard.faultySince ??= slot;
        if (slot - shard.faultySince >= o.detectDays * slotsPerDay) failing.push(shard);
        else live.push(shard);
      }
      if (live.length < o.k) {
        file.lost = true;
        continue;
      }
      for (const shard of failing) {
        const replacement = offer(file, shard.data, slot, new Set(file.shards.filter((s) => !s.replaced).map((s) => s.provider)));
        if (!replacement) continue;
        shard.replaced = true;
        file.shards.push(replacement);
        repairs++;
      }
    }
    return out;
  };

  const run = await runStorageSim({
    genesis: o.genesis,
    // Funds for every deal it might take (each shard, and its repairs): the collateral, and the
    // pre-commit deposit and pledge of the sector each deal fills.
    miners: Array.from({ length: o.providers }, () => ({ joinDay: 0, sectors: 0, sealPerDay: 96, exitDay: null, dealEscrow: o.providerCollateral * BigInt(4 * o.files), extraFunds: (params.miners.preCommitDeposit + params.miners.initialPledge) * BigInt(4 * o.files) })),
    faults: { faultPpmPerDay: 0, repairDays: 1, permanentPercent: 0 },
    days: o.days,
    stepSlots: o.stepSlots,
    seed: o.seed,
    onStart: (started, chain) => {
      agents = started;
      chainRef = chain;
    },
    extraTxs: (chain, view, slot) => clientTxs(chain, view, slot),
  });

  // The end state, read from the chain the run left.
  const dealStates: Record<string, number> = {};
  let holdAtEnd = 0n;
  const view = chainRef!.view();
  for (const file of files) {
    holdAtEnd += (await getEscrow(view, file.client)).total;
    for (const shard of file.shards) {
      const id = await dealIdOf(view, file.client, shard.nonce);
      const deal = id === null ? null : await getDeal(view, id);
      const name = deal ? DEAL_STATE_NAMES[deal.state]! : 'never published';
      dealStates[name] = (dealStates[name] ?? 0) + 1;
    }
  }
  return { run, files: o.files, filesLost: files.filter((f) => f.lost).length, providersFailed: failed, dealsMade, repairs, dealStates, clientsDeposited: deposited, clientsHoldAtEnd: holdAtEnd };
}
