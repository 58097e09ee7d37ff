// State benchmark: transfers applied per second (decode + signature recovery + execution + state
// root + LevelDB write), with recovery inline on the main thread or pipelined on a worker as sync
// does; state-root update time per block at 1k and 100k accounts; next to the raw recovery rates
// of libsecp256k1 (native bindings) and @noble/curves measured in the same run.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { parseGenesis, readGenesisJson } from '../src/chain/index.js';
import { Database } from '../src/db/index.js';
import { addressOf, bcr, concatBytes, encode, nativeSignatureAvailable, setSignatureBackend, sha256, signDigest, signatureBackend, uintToBytesBE } from '../src/primitives/index.js';
import type { PreverifyRequest, PreverifyResult } from '../src/chain/preverify.js';
import { MemoryKv, Overlay, SectorState, StateDb, applyBlockTxs, blockStateKeys, clearSenderCache, getMiner, minerIds, primeSender, putAccount, putDeadlineSectors, putMiner, putMinerCount, putSector, runDeadlineCron, signTx, transferPayload, verifyTx, windowCycle, type BlockEnv } from '../src/state/index.js';
import { WorkerPool } from '../src/util/workerPool.js';
import { msSince, opsPerSecond, type BenchArea, type BenchRow } from './report.js';

const params = parseGenesis(readGenesisJson('test'), 1).params;
const producer = new Uint8Array(20).fill(0xee);

function rawRecoveryRates(): { native: number; noble: number } {
  const digests = Array.from({ length: 256 }, (_, i) => sha256(uintToBytesBE(i, 4)));
  const key = sha256(new Uint8Array([1]));
  const sigs = digests.map((d) => signDigest(key, d));
  let i = 0;
  const noble = opsPerSecond(() => {
    const j = i++ & 255;
    secp256k1.recoverPublicKey(concatBytes(sigs[j]!.subarray(64), sigs[j]!.subarray(0, 64)), digests[j]!, { prehash: false });
  });
  let native = 0;
  if (nativeSignatureAvailable()) {
    const binding = createRequire(import.meta.url)('secp256k1/bindings') as { ecdsaRecover(sig: Uint8Array, recid: number, msg: Uint8Array, compressed: boolean): Uint8Array };
    native = opsPerSecond(() => {
      const j = i++ & 255;
      binding.ecdsaRecover(sigs[j]!.subarray(0, 64), sigs[j]![64]!, digests[j]!, false);
    });
  }
  return { native, noble };
}

async function populate(db: Database, keys: Uint8Array[], filler: number): Promise<void> {
  const overlay = new Overlay(db);
  const state = new StateDb(overlay);
  for (const key of keys) await putAccount(state, addressOf(key), { balance: bcr(1_000_000), nonce: 0, vesting: null });
  for (let i = 0; i < filler; i++) await putAccount(state, sha256(uintToBytesBE(i, 4)).subarray(0, 20), { balance: BigInt(i + 1), nonce: 0, vesting: null });
  await state.commit();
  await db.write(overlay.entries(), false);
}

type Recovery = 'inline' | 'pipelined';

/** Recovers the senders of the next block on a worker while the main thread applies this one (as sync does). */
function workerRecovery(): { recover(txs: Uint8Array[]): Promise<void>; close(): Promise<void> } {
  const pool = new WorkerPool<PreverifyRequest, PreverifyResult>(new URL('../src/chain/preverifyWorker.ts', import.meta.url), 1, { params });
  return {
    async recover(txs) {
      const { senders } = await pool.run({ vrf: [], txs });
      for (const { id, sender } of senders) primeSender(id, sender);
    },
    close: () => pool.close(),
  };
}

/**
 * Applies `blocks` blocks of `perBlock` transfers from distinct senders; returns timings. Recovery
 * runs inline (main thread, cold cache) or pipelined (a worker recovers block b + 1 meanwhile).
 */
async function runTransfers(accounts: number, blocks: number, perBlock: number, recovery: Recovery = 'inline') {
  const dir = mkdtempSync(join(tmpdir(), 'bcr-bench-state-'));
  const db = await Database.open(dir);
  const senders = Array.from({ length: perBlock }, (_, i) => sha256(concatBytes(new Uint8Array([0xbe]), uintToBytesBE(i, 4))));
  await populate(db, senders, Math.max(0, accounts - senders.length));
  // Pre-sign every tx: signing is the wallet's cost, not the node's.
  const blockTxs: Uint8Array[][] = [];
  for (let b = 0; b < blocks; b++) {
    blockTxs.push(senders.map((key, i) => signTx(key, { chainId: params.chainId, nonce: b, gasLimit: 21_000, gasPrice: 1n, kind: 0, payload: encode(transferPayload, { to: sha256(uintToBytesBE(b * perBlock + i + 7, 8)).subarray(0, 20), value: 1n }) })));
  }
  clearSenderCache();
  const worker = recovery === 'pipelined' ? workerRecovery() : null;
  // Steady state: the worker is up (thread start and module load are not timed) and block 0 was
  // recovered while the block before it was applied.
  await worker?.recover(blockTxs[0]!);
  let recovering: Promise<void> | undefined;
  let verifyMs = 0;
  let executeMs = 0;
  let rootMs = 0;
  let writeMs = 0;
  const start = process.hrtime.bigint();
  for (let b = 0; b < blocks; b++) {
    let t = process.hrtime.bigint();
    await recovering;
    recovering = b + 1 < blocks ? worker?.recover(blockTxs[b + 1]!) : undefined;
    const txs = blockTxs[b]!.map((bytes) => verifyTx(bytes, params));
    verifyMs += msSince(t);
    t = process.hrtime.bigint();
    const overlay = new Overlay(db);
    const state = new StateDb(overlay);
    const env: BlockEnv = { params, height: b + 1, slot: b + 1, parentSlot: b, producer, vrfOutput: sha256(uintToBytesBE(b, 8)), timestampMs: (b + 1) * 1000 };
    await db.prefetch(blockStateKeys(producer, txs));
    await applyBlockTxs(state, env, txs);
    executeMs += msSince(t);
    t = process.hrtime.bigint();
    await state.commit();
    rootMs += msSince(t);
    t = process.hrtime.bigint();
    await db.write(overlay.entries(), true);
    writeMs += msSince(t);
  }
  const totalMs = msSince(start);
  await worker?.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  const n = blocks * perBlock;
  return { perSecond: (n * 1000) / totalMs, verifyMs: verifyMs / blocks, executeMs: executeMs / blocks, rootMs: rootMs / blocks, writeMs: writeMs / blocks };
}

/**
 * The end-of-block cron with `miners` miners, each with one proven sector: milliseconds per block
 * (one slot each) through the close index, against reading every miner record once per block (the
 * least the former full scan did), measured on the same in-memory state.
 */
async function cronCost(miners: number, blocks: number): Promise<{ cronMs: number; scanMs: number }> {
  const state = new StateDb(new Overlay(new MemoryKv()));
  const m = params.miners;
  const { cycle } = windowCycle(m);
  for (let id = 1; id <= miners; id++) {
    const periodStart = 1 + (id % cycle);
    const deadline = id % m.deadlines;
    await putMiner(state, id, { owner: producer, worker: producer, vrfKey: new Uint8Array(32), peerId: '', multiaddrs: [], sectorSize: 2048, collateral: bcr(100), pledge: bcr(1), deposits: 0n, power: 2048n, powerLog: [], periodStart, nextSector: 1, ineligibleUntil: 0 });
    await putSector(state, id, 0, { state: SectorState.active, commD: new Uint8Array(32), commR: new Uint8Array(32), sealRandHeight: 0, precommitHeight: 0, activation: 0, expiration: Number.MAX_SAFE_INTEGER, deadline, provenPeriod: 1 << 30, faultyPeriods: 0, declaredFaulty: false, recovering: false, deposit: 0n, pledge: bcr(1), dealIds: [] });
    await putDeadlineSectors(state, m, id, periodStart, deadline, [], [0]);
  }
  await putMinerCount(state, miners);
  const start = 10 * cycle;
  let t = process.hrtime.bigint();
  for (let slot = start; slot < start + blocks; slot++) await runDeadlineCron(state, { params, height: slot, slot, parentSlot: slot - 1 });
  const cronMs = msSince(t) / blocks;
  t = process.hrtime.bigint();
  for (let b = 0; b < blocks; b++) for (const id of await minerIds(state)) await getMiner(state, id);
  return { cronMs, scanMs: msSince(t) / blocks };
}

export const stateBench: BenchArea = {
  name: 'state',
  async run(args) {
    const quick = args.includes('--quick');
    const blocks = quick ? 3 : 10;
    const perBlock = 1000;
    const raw = rawRecoveryRates();
    const initial = signatureBackend();
    const results: Record<string, Awaited<ReturnType<typeof runTransfers>>> = {};
    for (const accounts of [1_000, 100_000]) results[`native_${accounts}`] = await runTransfers(accounts, blocks, perBlock);
    results.pipelined_1000 = await runTransfers(1_000, blocks, perBlock, 'pipelined');
    setSignatureBackend('noble');
    results.noble_1000 = await runTransfers(1_000, 2, perBlock);
    setSignatureBackend(initial);
    const cron = await cronCost(quick ? 2_000 : 10_000, quick ? 50 : 200);
    const cronMiners = quick ? 2_000 : 10_000;
    const n1 = results.native_1000!;
    const n100 = results.native_100000!;
    const rows: BenchRow[] = [
      { name: 'recover: libsecp256k1 (native bindings)', value: raw.native, unit: 'sig/s' },
      { name: 'recover: @noble/curves', value: raw.noble, unit: 'sig/s' },
      { name: 'transfers applied, 1k accounts', value: n1.perSecond, unit: 'tx/s', note: `${((100 * n1.perSecond) / raw.native).toFixed(0)}% of native recovery` },
      { name: 'transfers applied, 1k, recovery pipelined on a worker', value: results.pipelined_1000!.perSecond, unit: 'tx/s', note: `${((100 * results.pipelined_1000!.perSecond) / raw.native).toFixed(0)}% of native recovery (as sync does)` },
      { name: 'transfers applied, 100k accounts', value: n100.perSecond, unit: 'tx/s', note: `${((100 * n100.perSecond) / raw.native).toFixed(0)}% of native recovery` },
      { name: 'transfers applied, noble fallback, 1k', value: results.noble_1000!.perSecond, unit: 'tx/s' },
      { name: 'block of 1000 transfers, 1k accts: verify', value: n1.verifyMs, unit: 'ms' },
      { name: 'block of 1000 transfers, 1k accts: execute', value: n1.executeMs, unit: 'ms' },
      { name: 'state root update per block, 1k accounts', value: n1.rootMs, unit: 'ms', note: '~2,000 changed keys' },
      { name: 'state root update per block, 100k accounts', value: n100.rootMs, unit: 'ms', note: '~2,000 changed keys' },
      { name: 'LevelDB batch write per block (sync), 100k', value: n100.writeMs, unit: 'ms' },
      { name: `end-of-block cron, ${cronMiners.toLocaleString('en')} miners (close index)`, value: cron.cronMs, unit: 'ms/block', note: `only the miners whose window closes in the block's slots (${(cron.scanMs / cron.cronMs).toFixed(0)}x less than the reference)` },
      { name: `reference: read every miner record, ${cronMiners.toLocaleString('en')} miners`, value: cron.scanMs, unit: 'ms/block', note: 'the least the former full-scan cron did per block' },
    ];
    return {
      rows,
      json: {
        native_recover_per_s: Math.round(raw.native),
        noble_recover_per_s: Math.round(raw.noble),
        transfers_per_s_1k: Math.round(n1.perSecond),
        transfers_per_s_100k: Math.round(n100.perSecond),
        transfers_per_s_1k_pipelined: Math.round(results.pipelined_1000!.perSecond),
        transfers_pipelined_vs_native_recover: Number((results.pipelined_1000!.perSecond / raw.native).toFixed(3)),
        transfers_per_s_noble_1k: Math.round(results.noble_1000!.perSecond),
        transfers_vs_native_recover: Number((n1.perSecond / raw.native).toFixed(3)),
        state_root_ms_per_block_1k: Number(n1.rootMs.toFixed(2)),
        state_root_ms_per_block_100k: Number(n100.rootMs.toFixed(2)),
        verify_ms_per_block_1k: Number(n1.verifyMs.toFixed(2)),
        execute_ms_per_block_1k: Number(n1.executeMs.toFixed(2)),
        write_ms_per_block_100k: Number(n100.writeMs.toFixed(2)),
        cron_miners: cronMiners,
        cron_ms_per_block: Number(cron.cronMs.toFixed(3)),
        cron_reference_full_scan_ms_per_block: Number(cron.scanMs.toFixed(3)),
      },
    };
  },
};
