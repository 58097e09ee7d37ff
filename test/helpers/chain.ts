// Test fixtures: a chain on a temp LevelDB with the test genesis; blocks made by its genesis miner
// (the dev key as worker), with real VRF tickets and WinningPoSts from sectors sealed in memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainStore, claimSlot, encodeHeader, genesisSealRandomness, parseGenesis, readGenesisJson, zeroCommD, type Block, type Genesis } from '../../src/chain/index.js';
import { slotStart } from '../../src/consensus/index.js';
import { Database } from '../../src/db/index.js';
import { DEV_WORKER_KEY, devVrfSecret } from '../../src/node.js';
import { addressOf, bytesEqual, encode, fromHex, parseAddress, type Field } from '../../src/primitives/index.js';
import { PROOF_PROFILES, TreeReader, bufferSource, buildTreeCache, provePost, replicaIdOf, sealInMemory, type ProvableSector } from '../../src/proofs/index.js';
import { ESCROW_PREFIX, currentDeadline, decodeAccount, decodeEscrow, getMiner, minerIds, getSector, provableSectors, signTx, submitWindowPostKind, transferPayload, verifyTx, windowPostRandomness, type BlockEnv, type TxContext, type VerifiedTx } from '../../src/state/index.js';
import { byPartition, submitWindowPostPayload } from '../../src/state/miners/txs.js';
import { silentLogger } from '../../src/util/logger.js';

export const DEV_KEY = fromHex('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
export const DEV_ADDRESS = addressOf(DEV_KEY);
export const WORKER_KEY = fromHex(DEV_WORKER_KEY);
export const TEAM_ADDRESS = parseAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
export const GENESIS_TIME = 1_700_000_000_000;
export const TEST_PROOFS = PROOF_PROFILES.test;

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

/**
 * Every atto the state holds: account balances, miner collateral, pledges and deposits, and market
 * escrow. Conservation: this equals the genesis allocations plus what issuance minted.
 */
/** Chain stores on temp dirs for one test file: `fresh()` opens one; `closeAll()` (afterAll) closes and deletes them. */
export function chainStores(prefix: string): { fresh(): Promise<ChainStore>; closeAll(): Promise<void> } {
  const opened: { db: Database; dir: { cleanup: () => void } }[] = [];
  return {
    async fresh() {
      const dir = tempDir(prefix);
      const { chain, db } = await openChain(dir.path);
      opened.push({ db, dir });
      return chain;
    },
    async closeAll() {
      for (const { db, dir } of opened) {
        await db.close();
        dir.cleanup();
      }
    },
  };
}

export async function heldSupply(chain: ChainStore, db: Database): Promise<bigint> {
  let held = 0n;
  for await (const [key, value] of db.entries(0x10)) {
    if (key[1] === 0x01) held += decodeAccount(value).balance;
    if (key[1] === ESCROW_PREFIX) held += decodeEscrow(value).total;
  }
  for (const id of await minerIds(chain.headState())) {
    const m = (await getMiner(chain.headState(), id))!;
    held += m.collateral + m.pledge + m.deposits;
  }
  return held;
}

export function transferTx(key: Uint8Array, nonce: number, to: Uint8Array, value: bigint, gasPrice = 1n, chainId = 3012): Uint8Array {
  return signTx(key, { chainId, nonce, gasLimit: 21_000, gasPrice, kind: 0, payload: encode(transferPayload, { to, value }) });
}

/** Signs a tx of any kind. */
export function kindTx<P>(key: Uint8Array, nonce: number, kind: { id: number; gas(p: unknown): number; decodePayload(b: Uint8Array): unknown }, codec: Field<P>, payload: P, chainId = 3012): Uint8Array {
  const bytes = encode(codec, payload);
  return signTx(key, { chainId, nonce, gasLimit: kind.gas(kind.decodePayload(bytes)), gasPrice: 1n, kind: kind.id, payload: bytes });
}

let genesisSectors: Promise<Map<number, ProvableSector>> | null = null;

/** The test genesis miner's sectors, regenerated from its seed (as its node would). */
export function genesisMinerSectors(genesis = testGenesis()): Promise<Map<number, ProvableSector>> {
  genesisSectors ??= (async () => {
    const miner = genesis.miners[0]!;
    const out = new Map<number, ProvableSector>();
    for (const [n] of miner.sectors.entries()) {
      const sealed = sealInMemory(TEST_PROOFS, replicaIdOf(1, n, genesisSealRandomness(miner.seed, n), zeroCommD(TEST_PROOFS.sectorSize)), new Uint8Array(TEST_PROOFS.sectorSize));
      const source = bufferSource(sealed.replica);
      out.set(n, { sectorNumber: n, commC: sealed.commC, commRLast: sealed.commRLast, replica: new TreeReader(source, await buildTreeCache(source, 3)) });
    }
    return out;
  })();
  return genesisSectors;
}

/** The WindowPoSt txs (one per partition) for the miner's open deadline at `slot` that are due and not yet proven. */
export async function dueWindowPosts(chain: ChainStore, slot: number, provable: Map<number, ProvableSector>, skip: ReadonlySet<number> = new Set(), pendingWorkerTxs = 0): Promise<Uint8Array[]> {
  const state = chain.headState();
  const miner = (await getMiner(state, 1))!;
  const window = currentDeadline(chain.params.miners, miner, slot);
  if (!window || skip.has(window.deadline)) return [];
  const randomness = await windowPostRandomness(state, chain.head.header.height + 1, 1, window.period, window.deadline, window.open);
  const txs: Uint8Array[] = [];
  let nonce = (await chain.getAccount(addressOf(WORKER_KEY))).nonce + pendingWorkerTxs;
  for (const [partition, sectors] of byPartition(chain.params.miners, await provableSectors(state, 1, window.deadline))) {
    let due = false;
    for (const s of sectors) if ((await getSector(state, 1, s.number))!.provenPeriod < window.period + 1) due = true;
    if (!due) continue;
    const proof = await provePost(TEST_PROOFS, 'window', randomness!, sectors.map((s) => provable.get(s.number)!));
    const payload = encode(submitWindowPostPayload, { miner: 1, deadline: window.deadline, partition, skipped: [], proof });
    txs.push(signTx(WORKER_KEY, { chainId: chain.params.chainId, nonce: nonce++, gasLimit: 400_000 + proof.length * 2, gasPrice: 1n, kind: submitWindowPostKind.id, payload }));
  }
  return txs;
}

/**
 * Builds (does not import) the next block on the head, in the first slot >= minSlot the miner wins,
 * adding the miner's WindowPoSt when one is due (as its node would).
 */
export async function nextBlock(chain: ChainStore, minSlot: number, txs: Uint8Array[] = [], options: { windowPost?: boolean; skipDeadlines?: ReadonlySet<number>; sectors?: Map<number, ProvableSector>; workerKey?: Uint8Array } = {}): Promise<Block> {
  const provable = options.sectors ?? (await genesisMinerSectors(chain.genesis));
  const worker = addressOf(WORKER_KEY);
  const pendingWorkerTxs = txs.filter((t) => bytesEqual(verifyTx(t, chain.params).sender, worker)).length;
  const vrfSecret = devVrfSecret(chain.genesis.miners[0]!.seed);
  const first = Math.max(minSlot, chain.head.header.slot + 1);
  for (let slot = first; ; slot++) {
    if (slot > first + 200) throw new Error(`the test miner won no slot in ${first}..${slot}: has it lost its power?`);
    const ticket = await claimSlot(chain.headState(), chain.params, 1, vrfSecret, chain.head.header.height, slot);
    if (!ticket) continue;
    const posts = options.windowPost === false ? [] : await dueWindowPosts(chain, slot, provable, options.skipDeadlines, pendingWorkerTxs);
    const candidates: VerifiedTx[] = [...txs, ...posts].map((t) => verifyTx(t, chain.params));
    const winningPost = await provePost(TEST_PROOFS, 'winning', ticket.postRandomness, ticket.sectors.map((s) => provable.get(s.sectorNumber)!));
    const { block, rejected } = await chain.buildBlock(chain.head.id, { workerKey: options.workerKey ?? WORKER_KEY, minerId: 1, slot, timestamp: slotStart(chain.params, slot), ticket, winningPost, candidates });
    if (rejected.length) throw new Error(`rejected txs: ${rejected.map((r) => r.error.code).join(',')}`);
    return block;
  }
}

/** Makes the test miner's next block with `txs` and imports it. */
export async function addBlock(chain: ChainStore, txs: Uint8Array[] = [], options: Parameters<typeof nextBlock>[3] = {}): Promise<Block> {
  const block = await nextBlock(chain, chain.head.header.slot + 1, txs, options);
  await chain.importBlock(block, nowForSlot(chain, block.header.slot));
  return block;
}

export function nowForSlot(chain: ChainStore, slot: number): number {
  return slotStart(chain.params, slot);
}

export function encodeHeaderBytes(block: Block): Uint8Array {
  return encodeHeader(block.header);
}

/** A tx context for calling a kind's handler directly (the block around it is a plain test block). */
export function txContext(base: Pick<TxContext, 'state' | 'params' | 'sender' | 'txId' | 'height' | 'slot'>): TxContext {
  const block: BlockEnv = { params: base.params, height: base.height, slot: base.slot, parentSlot: Math.max(0, base.slot - 1), producer: new Uint8Array(20).fill(0xee), vrfOutput: new Uint8Array(32), timestampMs: base.slot * 1000 };
  return { ...base, gasLimit: 1_000_000, gasPrice: base.params.minGasPrice, block };
}
