// A chain of blocks on an in-memory store for EVM tests: each block's txs (signed by an ethers
// wallet) are applied and committed; calls run on the state after the last block.
import { Wallet } from 'ethers';
import { expect } from 'vitest';
import { fromHex, hexKey, keccak256 } from '../../src/primitives/index.js';
import { MemoryKv, Overlay, StateDb, applyBlockTxs, putAccount, simulateCall, verifyTx, type BlockEnv, type EvmOutcome, type Receipt } from '../../src/state/index.js';
import { testGenesis } from './chain.js';

export const params = testGenesis().params;
export const wallet = new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
export const sender = fromHex(wallet.address);
export const producer = new Uint8Array(20).fill(0xee);
export const env = (height: number): BlockEnv => ({ params, height, slot: height, parentSlot: height - 1, producer, vrfOutput: keccak256(new Uint8Array([height])), timestampMs: 1_700_000_000_000 + height * 1000, blockHash: async (h) => (h < height ? keccak256(new Uint8Array([0xb1, h])) : undefined) });

/** A chain of blocks on an in-memory store: each block's txs are applied and committed. */
export class EvmChain {
  readonly kv = new MemoryKv();
  height = 0;
  nonce = 0;

  async fund(address: Uint8Array, amount: bigint): Promise<void> {
    const overlay = new Overlay(this.kv);
    const state = new StateDb(overlay);
    await putAccount(state, address, { balance: amount, nonce: 0, vesting: null });
    await state.commit();
    this.kv.apply(overlay.entries());
  }

  async block(raws: Uint8Array[]): Promise<Receipt[]> {
    const overlay = new Overlay(this.kv);
    const state = new StateDb(overlay);
    this.height++;
    const { receipts } = await applyBlockTxs(state, env(this.height), raws.map((raw) => verifyTx(raw, params)));
    await state.commit();
    this.kv.apply(overlay.entries());
    return receipts;
  }

  async send(fields: { to?: string | null; data?: string; value?: bigint; gasLimit?: bigint }): Promise<Receipt> {
    const raw = fromHex(await wallet.signTransaction({ type: 2, chainId: BigInt(params.chainId), nonce: this.nonce++, maxFeePerGas: params.minGasPrice * 2n, maxPriorityFeePerGas: 1n, gasLimit: fields.gasLimit ?? 3_000_000n, to: fields.to ?? null, data: fields.data ?? '0x', value: fields.value ?? 0n }));
    return (await this.block([raw]))[0]!;
  }

  state(): StateDb {
    return new StateDb(new Overlay(this.kv));
  }

  /** Runs a call on the state after the last block (nothing is kept). */
  simulate(to: Uint8Array, data: string): Promise<EvmOutcome> {
    return simulateCall(this.state(), env(this.height + 1), { from: sender, to, value: 0n, data: fromHex(data) });
  }

  async call(to: Uint8Array, data: string): Promise<string> {
    const outcome = await this.simulate(to, data);
    expect(outcome.failure).toBeNull();
    return '0x' + hexKey(outcome.returnData);
  }
}

