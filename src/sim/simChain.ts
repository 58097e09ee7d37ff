// A chain in virtual time on the real state machine: each step runs one block through the node's
// own packBlockTxs (tx kinds, fees, the deadline cron, the beacon) on an in-memory store. Steps are
// batched: one executed block stands for every block won in its slots, and the issuance those
// blocks would have minted goes to their producers one by one (the block's producer is a pool
// account that pays them out), so rewards follow the real per-block schedule while the cost grows
// with steps, not blocks. With a step of one slot and a block only where one was won, this is the
// chain itself. Txs enter as verified: signatures are the gossip layer's check, not the state's.
import { blockIssuance, type ChainParams } from '../consensus/index.js';
import { concatBytes, decode, encode, keyString, sha256, systemAddress, uintToBytesBE } from '../primitives/index.js';
import { MemoryKv, Overlay, StateDb, credit, debit, flatKey, getAccount, minerCodec, minerKey, packBlockTxs, txBodyCodec, type BlockEnv, type Miner, type Receipt, type TxKind, type VerifiedTx } from '../state/index.js';

/** Receives each executed block's issuance and fees, and pays them to the blocks' producers. */
export const SIM_POOL_ADDRESS = systemAddress('sim-pool');

/** A block won at a slot, by the owner of the winning miner. */
export interface WonBlock {
  slot: number;
  producer: Uint8Array;
}

export interface StepResult {
  slot: number;
  height: number;
  receipts: { tx: VerifiedTx; receipt: Receipt }[];
  /** Txs the state refused outright (nonce, funds for the fee): a bug in the scenario's agents. */
  rejected: { tx: VerifiedTx; code: string; message: string }[];
  /** Per won block, in order: the issuance and fees its producer received. */
  paid: { block: WonBlock; issuance: bigint; fees: bigint }[];
}

export class SimChain {
  /** Height and slot of the last executed block (the genesis block at first). */
  height = 0;
  slot = 0;
  /** Slot of the last won block: the next one's issuance starts here. */
  private lastWonSlot = 0;
  /** Fees taken in steps without a won block, paid with the next one. */
  private unpaidFees = 0n;
  private readonly nonces = new Map<string, number>();
  private readonly miners = new Map<number, { bytes: Uint8Array; miner: Miner }>();

  constructor(
    readonly params: ChainParams,
    readonly kv: MemoryKv,
    private readonly seed: Uint8Array,
  ) {}

  /** The committed state, for reads between steps. */
  view(): StateDb {
    return new StateDb(new Overlay(this.kv));
  }

  /**
   * A miner's committed record, decoded again only when its stored bytes changed: the run reads
   * every miner several times a step and most steps leave them alone. Read-only.
   */
  miner(id: number): Miner | null {
    const bytes = this.kv.map.get(keyString(flatKey(minerKey(id))));
    if (!bytes) return null;
    const cached = this.miners.get(id);
    if (cached?.bytes === bytes) return cached.miner;
    const miner = decode(minerCodec, bytes, 'miner');
    this.miners.set(id, { bytes, miner });
    return miner;
  }

  /** A verified tx from `sender`, its nonce following the sender's earlier txs in this run unless given. */
  async tx(sender: Uint8Array, kind: TxKind, payload: unknown, options: { nonce?: number; gasPrice?: bigint } = {}): Promise<VerifiedTx> {
    const bytes = kind.encodePayload(payload);
    const decoded = kind.decodePayload(bytes);
    const gas = kind.gas(decoded);
    const id = Buffer.from(sender).toString('hex');
    // An explicit nonce is the sender's own business (a mempool's senders): it is not tracked here.
    const nonce = options.nonce ?? this.nonces.get(id) ?? (await getAccount(this.view(), sender)).nonce;
    if (options.nonce === undefined) this.nonces.set(id, nonce + 1);
    const body = { chainId: this.params.chainId, nonce, gasLimit: gas, gasPrice: options.gasPrice ?? this.params.minGasPrice, kind: kind.id, payload: bytes };
    const bodyBytes = encode(txBodyCodec, body);
    return { id: sha256(concatBytes(bodyBytes, sender)), bytes: bodyBytes, body, sender, kind, payload: decoded, gas };
  }

  /** Executes one block at `slot` with `txs`, and pays out the blocks won since the last step. */
  async step(slot: number, txs: VerifiedTx[], won: WonBlock[]): Promise<StepResult> {
    if (slot <= this.slot) throw new RangeError(`step slot ${slot} is not after ${this.slot}`);
    const overlay = new Overlay(this.kv);
    const state = new StateDb(overlay);
    const env: BlockEnv = {
      params: this.params,
      height: this.height + 1,
      slot,
      parentSlot: this.slot,
      producer: SIM_POOL_ADDRESS,
      vrfOutput: sha256(concatBytes(this.seed, uintToBytesBE(slot, 8))),
      timestampMs: this.params.genesisTime + slot * this.params.slotMs,
    };
    const result = await packBlockTxs(state, env, txs);
    this.unpaidFees += result.receipts.reduce((sum, r) => sum + r.fee, 0n);
    const paid: StepResult['paid'] = [];
    for (const block of won) {
      if (block.slot <= this.lastWonSlot || block.slot > slot) throw new RangeError(`won block at slot ${block.slot} outside (${this.lastWonSlot}, ${slot}]`);
      const issuance = blockIssuance(this.lastWonSlot, block.slot, this.params);
      const fees = this.unpaidFees;
      this.unpaidFees = 0n;
      await debit(state, SIM_POOL_ADDRESS, issuance + fees, slot);
      await credit(state, block.producer, issuance + fees);
      this.lastWonSlot = block.slot;
      paid.push({ block, issuance, fees });
    }
    state.commitValues();
    this.kv.apply(overlay.entries());
    this.height = env.height;
    this.slot = slot;
    // A refused tx did not take its nonce: the sender's next tx reuses it.
    for (const { tx } of result.rejected) this.nonces.delete(Buffer.from(tx.sender).toString('hex'));
    return {
      slot,
      height: env.height,
      receipts: result.included.map((tx, i) => ({ tx, receipt: result.receipts[i]! })),
      rejected: result.rejected.map(({ tx, error }) => ({ tx, code: error.code, message: error.message })),
      paid,
    };
  }
}
