// Mempool floods against the node's own pool (src/mempool: per-sender limits, a bounded pool that
// evicts the cheapest, blocks filled best-paying first) and the real state machine: honest users
// send transfers at a steady rate and price while an attacker keeps every one of its accounts'
// pool slots full at a price of its choosing. What the attacker pays is what its included txs cost
// in fees; the damage is how long honest txs wait and how many the pool refuses.
import type { ChainParams } from '../consensus/index.js';
import { DEFAULT_MEMPOOL_OPTIONS, Mempool, MempoolError } from '../mempool/index.js';
import { concatBytes, sha256, uintToBytesBE, utf8 } from '../primitives/index.js';
import { TxError, getAccount, spendable, transferKind, type VerifiedTx } from '../state/index.js';
import { SimRng } from './rng.js';
import { SimChain } from './simChain.js';
import { copyKv, type SimGenesis } from './storage/run.js';

export interface FloodOptions {
  genesis: SimGenesis;
  slots: number;
  honestUsers: number;
  /** Each honest user sends one transfer every this many slots. */
  honestEverySlots: number;
  /** Gas price of honest txs and of the attacker's, as multiples of the chain's minimum (0: no attack). */
  honestPriceMultiple: number;
  attackerPriceMultiple: number;
  attackerAccounts: number;
  seed: string;
}

export interface FloodResult {
  attackerPriceMultiple: number;
  blocks: number;
  honestSent: number;
  honestRefused: number;
  honestIncluded: number;
  /** Slots from sending to inclusion, over the honest txs included. */
  honestMeanWaitSlots: number;
  honestP95WaitSlots: number;
  attackerIncluded: number;
  /** Fees the attacker's included txs paid (atto), and per hour of slots. */
  attackerFees: bigint;
  attackerFeesPerHour: bigint;
  /** Honest txs still pooled at the end. */
  honestPending: number;
}

const keyOf = (label: string, i: number) => sha256(concatBytes(utf8(label), uintToBytesBE(i, 4))).slice(0, 20);

export async function simulateFlood(o: FloodOptions): Promise<FloodResult> {
  const params: ChainParams = o.genesis.params;
  const chain = new SimChain(params, copyKv(o.genesis.kv), sha256(utf8(`flood/${o.seed}`)));
  const rng = new SimRng(`flood/${o.seed}`);
  const honest = Array.from({ length: o.honestUsers }, (_, i) => keyOf(`honest/${o.seed}`, i));
  const attacker = Array.from({ length: o.attackerPriceMultiple > 0 ? o.attackerAccounts : 0 }, (_, i) => keyOf(`attacker/${o.seed}`, i));
  const pool = new Mempool({
    params,
    accountState: async (address) => {
      const account = await getAccount(chain.view(), address);
      return { nonce: account.nonce, spendable: spendable(account, chain.slot) };
    },
  }, { now: () => params.genesisTime + chain.slot * params.slotMs });
  // Everyone is funded by the first block.
  const funding: VerifiedTx[] = [];
  for (const address of [...honest, ...attacker]) funding.push(await chain.tx(o.genesis.funder, transferKind, { to: address, value: 10n ** 22n }));
  await chain.step(1, funding, []);

  const honestPrice = params.minGasPrice * BigInt(o.honestPriceMultiple);
  const attackerPrice = params.minGasPrice * BigInt(Math.max(1, o.attackerPriceMultiple));
  const sentAt = new Map<string, number>();
  const waits: number[] = [];
  const result = { blocks: 0, honestSent: 0, honestRefused: 0, attackerIncluded: 0, attackerFees: 0n };
  const isAttacker = new Set(attacker.map((a) => Buffer.from(a).toString('hex')));
  const submit = async (sender: Uint8Array, price: bigint, to: Uint8Array): Promise<boolean> => {
    const next = pool.nextPendingNonce(sender, (await getAccount(chain.view(), sender)).nonce);
    const tx = await chain.tx(sender, transferKind, { to, value: 1n }, { nonce: next, gasPrice: price });
    try {
      await pool.add(tx);
      return true;
    } catch (error) {
      if (error instanceof MempoolError || error instanceof TxError) return false;
      throw error;
    }
  };

  for (let slot = 2; slot <= o.slots; slot++) {
    for (const [i, user] of honest.entries()) {
      if ((slot + i) % o.honestEverySlots !== 0) continue;
      result.honestSent++;
      const before = pool.nextPendingNonce(user, (await getAccount(chain.view(), user)).nonce);
      if (await submit(user, honestPrice, attacker[0] ?? honest[0]!)) sentAt.set(`${Buffer.from(user).toString('hex')}/${before}`, slot);
      else result.honestRefused++;
    }
    // The attacker tops every account up to the pool's per-sender limit, each slot.
    for (const account of attacker) {
      const nonce = (await getAccount(chain.view(), account)).nonce;
      for (let n = pool.nextPendingNonce(account, nonce); n < nonce + DEFAULT_MEMPOOL_OPTIONS.maxPerSender; n++) if (!(await submit(account, attackerPrice, honest[0]!))) break;
    }
    if (!rng.chance(Number(params.miners.activeSlotCoeff.numerator), Number(params.miners.activeSlotCoeff.denominator))) continue;
    const candidates = await pool.selectForBlock(params.maxTxsPerBlock);
    const step = await chain.step(slot, candidates, []);
    result.blocks++;
    for (const { tx, receipt } of step.receipts) {
      const sender = Buffer.from(tx.sender).toString('hex');
      if (isAttacker.has(sender)) {
        result.attackerIncluded++;
        result.attackerFees += receipt.fee;
        continue;
      }
      const sent = sentAt.get(`${sender}/${tx.body.nonce}`);
      if (sent !== undefined) {
        waits.push(slot - sent);
        sentAt.delete(`${sender}/${tx.body.nonce}`);
      }
    }
    await pool.onHeadChange({ reverted: [], applied: [] });
  }
  waits.sort((a, b) => a - b);
  const slotsPerHour = BigInt(Math.round(3_600_000 / params.slotMs));
  return {
    attackerPriceMultiple: o.attackerPriceMultiple,
    blocks: result.blocks,
    honestSent: result.honestSent,
    honestRefused: result.honestRefused,
    honestIncluded: waits.length,
    honestMeanWaitSlots: waits.length ? waits.reduce((a, b) => a + b, 0) / waits.length : 0,
    honestP95WaitSlots: waits.length ? waits[Math.min(waits.length - 1, Math.floor(waits.length * 0.95))]! : 0,
    attackerIncluded: result.attackerIncluded,
    attackerFees: result.attackerFees,
    attackerFeesPerHour: (result.attackerFees * slotsPerHour) / BigInt(o.slots),
    honestPending: sentAt.size,
  };
}
