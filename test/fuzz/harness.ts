// Sets up what the fuzz targets run against: a chain on a temp LevelDB (a few real blocks made by
// the test miner) and an in-process node serving JSON-RPC on 127.0.0.1 with an admin token.
import { startNode } from '../../src/node.js';
import { createToken, readSecret } from '../../src/rpc/auth.js';
import { silentLogger } from '../../src/util/logger.js';
import { nextBlock, nowForSlot, openChain, tempDir } from '../helpers/chain.js';
import { chainTargets, rpcTarget, type FuzzTarget } from './targets.js';

export interface FuzzHarness {
  targets: FuzzTarget[];
  close(): Promise<void>;
}

export async function fuzzHarness(): Promise<FuzzHarness> {
  const chainDir = tempDir('bcr-fuzz-chain-');
  const nodeDir = tempDir('bcr-fuzz-node-');
  const { chain, db } = await openChain(chainDir.path);
  for (let i = 0; i < 3; i++) {
    const block = await nextBlock(chain, chain.head.header.slot + 1);
    await chain.importBlock(block, nowForSlot(chain, block.header.slot));
  }
  const node = await startNode({ network: 'test', dataDir: nodeDir.path, rpcHost: '127.0.0.1', rpcPort: 0, mine: false, log: silentLogger });
  const token = await createToken(readSecret(nodeDir.path), 'admin');
  const doc = (await (await fetch(node.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}' })).json()) as { result: { methods: { name: string; params: { name: string; schema: Record<string, unknown> }[] }[] } };
  const targets = [...(await chainTargets(chain)), rpcTarget(node.rpcUrl, token, doc.result.methods)];
  return {
    targets,
    async close() {
      await node.stop();
      await chain.idle();
      await db.close();
      chainDir.cleanup();
      nodeDir.cleanup();
    },
  };
}
