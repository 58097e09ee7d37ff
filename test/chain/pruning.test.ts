// Pruning in the chain store: bodies, receipts and events of canonical blocks more than N beyond
// finality go in the same batch as the head; headers, the tx index and the canonical index stay;
// readers get PRUNED, and a reopened store keeps pruning from where it stopped.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChainStore, blockId } from '../../src/chain/index.js';
import { Database } from '../../src/db/index.js';
import { verifyTx } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { DEV_KEY, TEAM_ADDRESS, addBlock, tempDir, testGenesis, transferTx } from '../helpers/chain.js';

const dir = tempDir('bcr-prune-unit-');
afterAll(() => dir.cleanup());

describe('chain store pruning', () => {
  it('keeps headers and the tx index, drops old bodies and receipts, and survives a reopen', async () => {
    const path = join(dir.path, 'chain');
    const genesis = testGenesis();
    let db = await Database.open(path);
    let chain = await ChainStore.open({ db, genesis, log: silentLogger, pruneBlocks: 3 });
    const finality = chain.params.finality;
    const first = await addBlock(chain, [transferTx(DEV_KEY, 0, TEAM_ADDRESS, 5n)]);
    const firstId = blockId(first.header);
    const txId = verifyTx(first.txs[0]!, chain.params).id;
    while (chain.head.header.height < finality + 3 + 6) await addBlock(chain);
    const height = chain.head.header.height;
    const expectedPruned = height - finality - 3 - 1;
    expect(chain.oldestBodyHeight).toBe(expectedPruned + 1);

    expect(await chain.getBlock(firstId)).toBeUndefined();
    expect(await chain.getReceipts(firstId)).toBeUndefined();
    expect(await chain.hasBlock(firstId)).toBe(true);
    expect(await chain.isPruned(firstId)).toBe(true);
    expect(await chain.getHeader(firstId)).toEqual(first.header);
    expect(await chain.canonicalId(1)).toEqual(firstId);
    expect(await chain.getTxLocation(txId)).toMatchObject({ height: 1, index: 0 });
    await expect(chain.requireBlock(firstId)).rejects.toMatchObject({ code: 'PRUNED' });
    await expect(chain.requireReceipts(firstId)).rejects.toMatchObject({ code: 'PRUNED' });
    // Everything from the oldest kept height up is whole.
    for (let h = expectedPruned + 1; h <= height; h++) {
      const id = (await chain.canonicalId(h))!;
      expect(await chain.getBlock(id)).toBeDefined();
      expect(await chain.getReceipts(id)).toBeDefined();
    }

    // Reopened as an archive the pruned part stays pruned; reopened pruning, it goes on from there.
    await chain.idle();
    await db.close();
    db = await Database.open(path);
    chain = await ChainStore.open({ db, genesis, log: silentLogger, pruneBlocks: 3 });
    expect(chain.oldestBodyHeight).toBe(expectedPruned + 1);
    await addBlock(chain);
    expect(chain.oldestBodyHeight).toBe(chain.head.header.height - finality - 3);
    await chain.idle();
    await db.close();
  });

  it('prunes an existing archive chain down to its target once pruning is turned on', async () => {
    const path = join(dir.path, 'archive');
    const genesis = testGenesis();
    let db = await Database.open(path);
    let chain = await ChainStore.open({ db, genesis, log: silentLogger });
    while (chain.head.header.height < 20) await addBlock(chain);
    expect(chain.oldestBodyHeight).toBe(1);
    await chain.idle();
    await db.close();
    db = await Database.open(path);
    chain = await ChainStore.open({ db, genesis, log: silentLogger, pruneBlocks: 0 });
    expect(await chain.pruneToTarget()).toBe(20 - chain.params.finality - 1);
    expect(await chain.getBlockByHeight(1)).toBeUndefined();
    expect(await chain.getBlockByHeight(20 - chain.params.finality)).toBeDefined();
    await db.close();
  });
});
