// Test fixtures: a chain on a temp LevelDB with the test genesis and the dev key as producer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainStore, parseGenesis, readGenesisJson, type Block, type Genesis } from '../../src/chain/index.js';
import { slotStart } from '../../src/consensus/index.js';
import { Database } from '../../src/db/index.js';
import { addressOf, fromHex, parseAddress } from '../../src/primitives/index.js';
import { signTx, transferPayload, verifyTx, type VerifiedTx } from '../../src/state/index.js';
import { encode } from '../../src/primitives/index.js';
import { silentLogger } from '../../src/util/logger.js';

export const DEV_KEY = fromHex('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
export const DEV_ADDRESS = addressOf(DEV_KEY);
export const TEAM_ADDRESS = parseAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
export const GENESIS_TIME = 1_700_000_000_000;

export function testGenesis(): Genesis {
  return parseGenesis(readGenesisJson('test'), GENESIS_TIME);
}

export function tempDir(prefix = 'bcr-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export async function openChain(path: string, genesis = testGenesis()): Promise<{ chain: ChainStore; db: Database }> {
  const db = await Database.open(path);
  const chain = await ChainStore.open({ db, genesis, log: silentLogger });
  return { chain, db };
}

export function transferTx(key: Uint8Array, nonce: number, to: Uint8Array, value: bigint, gasPrice = 1n, chainId = 3012): Uint8Array {
  return signTx(key, { chainId, nonce, gasLimit: 21_000, gasPrice, kind: 0, payload: encode(transferPayload, { to, value }) });
}

/** Builds (does not import) the next block at `slot` on the chain's head. */
export async function nextBlock(chain: ChainStore, slot: number, txs: Uint8Array[] = []): Promise<Block> {
  const candidates: VerifiedTx[] = txs.map((t) => verifyTx(t, chain.params));
  const { block, rejected } = await chain.buildBlock({
    producerKey: DEV_KEY,
    producer: DEV_ADDRESS,
    slot,
    timestamp: slotStart(chain.params, slot),
    candidates,
  });
  if (rejected.length) throw new Error(`rejected txs: ${rejected.map((r) => r.error.code).join(',')}`);
  return block;
}

export function nowForSlot(chain: ChainStore, slot: number): number {
  return slotStart(chain.params, slot);
}
