// Election and fork simulation in virtual time: miners of given powers run the real win threshold
// (consensus/election.ts) slot by slot; an honest miner builds on the best chain it can see, and a
// block reaches the others `delaySlots` slots after it was made; optionally one miner mines
// selfishly (SelfishMiner below). Fork choice is the protocol's: most blocks, then the smaller VRF
// output. Researchers use it to see how block shares follow power, how many blocks a network delay
// orphans, and what withholding blocks gains, for any active slot coefficient f.
//
// VRF outputs are stood in for by sha256(seed, slot, miner): a VRF output is uniform and unknown
// before the slot, which is all the lottery needs. Everything is a pure function of the options.
import { isHeavierTip, winThreshold, type ActiveSlotCoefficient } from '../consensus/index.js';
import { concatBytes, sha256, uintToBytesBE } from '../primitives/index.js';

export interface ElectionSimOptions {
  powers: bigint[];
  slots: number;
  f: ActiveSlotCoefficient;
  /** Slots until a block reaches the other miners (1: by the next slot). */
  delaySlots: number;
  seed: Uint8Array;
  /** A miner that mines selfishly (withholds its blocks, publishes to win races); others are honest. */
  selfishMiner?: number;
}

export interface MinerOutcome {
  power: bigint;
  /** Slots won (blocks made). */
  won: number;
  /** Its blocks on the final chain. */
  canonical: number;
}

export interface ElectionSimResult {
  slots: number;
  /** Slots by number of winners: no winner, exactly one, more than one. */
  emptySlots: number;
  singleWinnerSlots: number;
  multiWinnerSlots: number;
  blocks: number;
  chainLength: number;
  orphaned: number;
  miners: MinerOutcome[];
}

export interface SimBlock {
  height: number;
  /** The stand-in VRF output's top 64 bits: the fork-choice tie-break (smaller wins). */
  ticket: bigint;
  miner: number;
  parent: SimBlock | null;
}

/** The protocol's fork choice between two tips (the first kept on a tie). */
export function better(a: SimBlock | null, b: SimBlock | null): SimBlock | null {
  if (!a) return b;
  if (!b) return a;
  return isHeavierTip(b, a) ? b : a;
}

/** Top 64 bits of each miner's stand-in VRF output for a slot: four miners per sha256. */
function slotTickets(seed: Uint8Array, slot: number, miners: number): bigint[] {
  const tickets: bigint[] = [];
  for (let chunk = 0; tickets.length < miners; chunk++) {
    const digest = sha256(concatBytes(seed, uintToBytesBE(slot, 8), uintToBytesBE(chunk, 4)));
    const view = new DataView(digest.buffer, digest.byteOffset, 32);
    for (let i = 0; i < 4 && tickets.length < miners; i++) tickets.push(view.getBigUint64(i * 8));
  }
  return tickets;
}

export function simulateElection(options: ElectionSimOptions): ElectionSimResult {
  const { powers, slots, f, delaySlots, seed } = options;
  if (powers.length === 0 || powers.some((p) => p <= 0n)) throw new RangeError('every miner needs a positive power');
  if (!Number.isInteger(delaySlots) || delaySlots < 1) throw new RangeError('delaySlots must be an integer >= 1');
  const selfish = options.selfishMiner === undefined ? null : new SelfishMiner(options.selfishMiner);
  if (selfish && !(selfish.index >= 0 && selfish.index < powers.length)) throw new RangeError('selfishMiner must be the index of a miner');
  const total = powers.reduce((a, b) => a + b, 0n);
  // Compared on the top 64 bits: the error is below 2^-64 per draw.
  const thresholds = powers.map((p) => winThreshold(p, total, f) >> 192n);
  const miners: MinerOutcome[] = powers.map((power) => ({ power, won: 0, canonical: 0 }));
  const ownLatest: (SimBlock | null)[] = powers.map(() => null);
  /** Blocks not yet seen by everyone, by the slot at which they become public. */
  const inFlight = new Map<number, SimBlock[]>();
  let publicBest: SimBlock | null = null;
  const counts = { empty: 0, single: 0, multi: 0, blocks: 0 };

  const publish = (block: SimBlock, slot: number) => {
    const visibleAt = slot + delaySlots;
    inFlight.set(visibleAt, [...(inFlight.get(visibleAt) ?? []), block]);
  };

  for (let slot = 0; slot < slots; slot++) {
    for (const block of inFlight.get(slot) ?? []) publicBest = better(publicBest, block);
    inFlight.delete(slot);
    if (selfish) for (const block of selfish.react(publicBest)) publish(block, slot);
    const tickets = slotTickets(seed, slot, powers.length);
    let winners = 0;
    tickets.forEach((ticket, i) => {
      if (ticket >= thresholds[i]!) return;
      winners++;
      miners[i]!.won++;
      if (i === selfish?.index) {
        selfish.mine(ticket, publicBest);
        return;
      }
      // An honest winner builds on the best block it can see (public ones and its own) and sends it.
      const parent = better(publicBest, ownLatest[i]!);
      const block: SimBlock = { height: (parent?.height ?? 0) + 1, ticket, miner: i, parent };
      ownLatest[i] = block;
      publish(block, slot);
    });
    counts.blocks += winners;
    if (winners === 0) counts.empty++;
    else if (winners === 1) counts.single++;
    else counts.multi++;
  }
  let head = publicBest;
  for (const pending of inFlight.values()) for (const block of pending) head = better(head, block);
  // At the end the selfish miner shows what it kept.
  if (selfish) head = better(head, selfish.privateTip);
  const chainLength = head?.height ?? 0;
  for (let block = head; block; block = block.parent) miners[block.miner]!.canonical++;
  return {
    slots,
    emptySlots: counts.empty,
    singleWinnerSlots: counts.single,
    multiWinnerSlots: counts.multi,
    blocks: counts.blocks,
    chainLength,
    orphaned: counts.blocks - chainLength,
    miners,
  };
}

/**
 * Eyal and Sirer's selfish mining on slots. Blocks it wins stay private; when the honest chain
 * gains a block it publishes: everything if that leaves it level (a race the VRF tie-break
 * settles) or one ahead, else enough to match the honest height. Behind, it adopts the public chain.
 */
export class SelfishMiner {
  privateTip: SimBlock | null = null;
  private unpublished: SimBlock[] = [];
  private lastSeen: SimBlock | null = null;

  constructor(readonly index: number) {}

  /** At the start of a slot, once the blocks due have arrived: the blocks to publish now. */
  react(publicBest: SimBlock | null): SimBlock[] {
    const honestMoved = publicBest !== this.lastSeen && publicBest !== null && publicBest.miner !== this.index;
    this.lastSeen = publicBest;
    const publicHeight = publicBest?.height ?? 0;
    const privateHeight = this.privateTip?.height ?? 0;
    if (privateHeight < publicHeight || (privateHeight === publicHeight && this.unpublished.length === 0)) {
      this.privateTip = better(publicBest, this.privateTip);
      this.unpublished = [];
      return [];
    }
    if (!honestMoved || this.unpublished.length === 0) return [];
    const lead = privateHeight - publicHeight;
    const count = lead <= 1 ? this.unpublished.length : this.unpublished.filter((b) => b.height <= publicHeight).length;
    return this.unpublished.splice(0, count);
  }

  /** It won the slot: extend the private chain (adopting the public one first if that is longer). */
  mine(ticket: bigint, publicBest: SimBlock | null): void {
    if ((publicBest?.height ?? 0) > (this.privateTip?.height ?? 0)) {
      this.privateTip = publicBest;
      this.unpublished = [];
    }
    const block: SimBlock = { height: (this.privateTip?.height ?? 0) + 1, ticket, miner: this.index, parent: this.privateTip };
    this.privateTip = block;
    this.unpublished.push(block);
  }
}
