// Reads of an older state (proofs and reads at the finalized block) run beside block imports: the
// store is snapshotted between imports and rolled back in memory outside the import queue. A proof
// held open at the finalized block does not stop imports (the chain moves on, finality too), and
// still verifies against the header it names once it finishes.
import { afterAll, describe, expect, it } from 'vitest';
import { accountKey, verifyStateProof } from '../../src/state/index.js';
import { DEV_ADDRESS, addBlock, openChain, tempDir } from '../helpers/chain.js';

const dir = tempDir('bcr-state-reads-');
afterAll(() => dir.cleanup());

describe('reads at an older block', () => {
  it('let imports go on while a proof at the finalized block is being read, and stay consistent', async () => {
    const { chain, db } = await openChain(dir.path);
    while (chain.finalizedHeight < 3) await addBlock(chain);
    const finalizedAtStart = chain.finalizedHeight;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const proof = chain.proveAt('finalized', async () => {
      entered();
      await gate;
      return [accountKey(DEV_ADDRESS)];
    });
    await inside;
    // With the proof still open, blocks import, past the finality depth (the undo data the proof
    // rolled back with is deleted from the store meanwhile).
    const before = chain.head.header.height;
    const imports = (async () => {
      for (let i = 0; i < chain.params.finality + 2; i++) await addBlock(chain);
    })();
    const done = await Promise.race([imports.then(() => 'imported'), new Promise((resolve) => setTimeout(() => resolve('blocked behind the proof'), 20_000))]);
    expect(done).toBe('imported');
    expect(chain.head.header.height).toBe(before + chain.params.finality + 2);
    expect(chain.finalizedHeight).toBeGreaterThan(finalizedAtStart);
    release();
    const { header, proofs } = await proof;
    expect(header.height).toBe(finalizedAtStart);
    expect(verifyStateProof(header.stateRoot, proofs[0]!)).toBe(true);
    // The finalized block moved on: reads below it are refused with a reason.
    await expect(chain.proveAt(finalizedAtStart, [accountKey(DEV_ADDRESS)])).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await db.close();
  }, 60_000);
});
