// A node killed at any moment restarts on a consistent head: a child process imports 1,000 blocks of
// transfers and is SIGKILLed at random points, 50+ times; after every kill the store must open with a
// head that belongs to the reference chain and a state whose full recomputed root equals the head's.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockId, encodeBlock, type Block } from '../../src/chain/index.js';
import { addressOf, hexKey, sha256 } from '../../src/primitives/index.js';
import { MemoryKv, Overlay, STATE_VALUE_PREFIX, smtKeyOf, smtUpdate } from '../../src/state/index.js';
import { DEV_KEY, nextBlock, nowForSlot, openChain, tempDir, transferTx } from '../helpers/chain.js';

const BLOCKS = 1000;
const KILLS = 50;
const CHILD = fileURLToPath(new URL('../fixtures/importBlocks.ts', import.meta.url));

let work: ReturnType<typeof tempDir>;
let blocksFile: string;
const referenceIds: string[] = [];
let referenceHead: Block;

/** Deterministic PRNG (mulberry32) so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  work = tempDir('bcr-crash-');
  const { chain, db } = await openChain(join(work.path, 'reference'));
  referenceIds.push(hexKey(chain.genesisId));
  const chunks: Buffer[] = [];
  let nonce = 0;
  for (let slot = 1; slot <= BLOCKS; slot++) {
    const txs = [0, 1, 2].map((i) => transferTx(DEV_KEY, nonce++, addressOf(sha256(new Uint8Array([slot & 0xff, slot >> 8, i]))), BigInt(slot * 10 + i)));
    const block = await nextBlock(chain, slot, txs);
    await chain.importBlock(block, nowForSlot(chain, block.header.slot));
    referenceIds.push(hexKey(blockId(block.header)));
    const bytes = encodeBlock(block);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, Buffer.from(bytes));
    referenceHead = block;
  }
  await db.close();
  blocksFile = join(work.path, 'blocks.bin');
  writeFileSync(blocksFile, Buffer.concat(chunks));
}, 120_000);

afterAll(() => work?.cleanup());

/**
 * Runs the importer; once it has imported `kill.afterBlocks` blocks it is killed `kill.thenMs` later,
 * inside whatever import is running then (null: it finishes). Counting blocks, not milliseconds from
 * start, makes every run progress however slow the machine is.
 */
function runImporter(dataDir: string, kill: { afterBlocks: number; thenMs: number } | null): Promise<{ killed: boolean; lastHeight: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, blocksFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastHeight = -1;
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    let imported = 0;
    let armed = false;
    child.stdout.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        const m = /^height (\d+)$/.exec(line);
        if (m) {
          lastHeight = Number(m[1]);
          imported++;
        }
        if (kill && !armed && (line === 'ready' || m) && imported >= kill.afterBlocks) {
          armed = true;
          setTimeout(() => {
            killed = child.kill('SIGKILL');
          }, kill.thenMs);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve({ killed: signal === 'SIGKILL' && killed, lastHeight });
      else reject(new Error(`importer exited with ${code}: ${stderr}`));
    });
  });
}

/** Opens the store like a restarting node, then recomputes the state root from every flat value. */
async function checkConsistent(dataDir: string): Promise<number> {
  const { chain, db } = await openChain(dataDir); // itself checks head block exists and tree root == head root
  try {
    const height = chain.head.header.height;
    expect(hexKey(chain.head.id)).toBe(referenceIds[height]);
    const changes = [];
    for await (const [key, value] of db.entries(STATE_VALUE_PREFIX)) changes.push({ key: smtKeyOf(key.subarray(1)), valueHash: sha256(value) });
    const overlay = new Overlay(new MemoryKv());
    expect(hexKey(await smtUpdate(overlay, changes))).toBe(hexKey(chain.head.header.stateRoot));
    for (let h = 1; h <= height; h += 97) expect(hexKey((await chain.canonicalId(h))!)).toBe(referenceIds[h]);
    return height;
  } finally {
    await db.close();
  }
}

describe('crash consistency', () => {
  it(`restarts on a consistent head after ${KILLS} SIGKILLs during a ${BLOCKS}-block import`, async () => {
    const dataDir = join(work.path, 'victim');
    const random = prng(20261125);
    let kills = 0;
    let midImportKills = 0;
    let height = 0;
    for (let attempt = 0; attempt < KILLS * 2 && kills < KILLS; attempt++) {
      const before = height;
      const result = await runImporter(dataDir, { afterBlocks: Math.floor(random() * 12), thenMs: Math.floor(random() * 8) });
      if (result.killed) kills++;
      height = await checkConsistent(dataDir);
      expect(height).toBeGreaterThanOrEqual(before);
      if (result.killed && height > before && height < BLOCKS) midImportKills++;
      if (height === BLOCKS) break;
    }
    expect(midImportKills).toBeGreaterThan(10);
    const finish = await runImporter(dataDir, null);
    expect(finish.killed).toBe(false);
    expect(await checkConsistent(dataDir)).toBe(BLOCKS);
    const { chain, db } = await openChain(dataDir);
    expect(chain.head.header.stateRoot).toEqual(referenceHead.header.stateRoot);
    await db.close();
    console.log(`crash test: ${kills} SIGKILLs, ${midImportKills} mid-import, resumed to height ${BLOCKS}`);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    // Fifty process starts: minutes on a loaded two-core machine. The budget only catches a hang.
  }, 900_000);
});
