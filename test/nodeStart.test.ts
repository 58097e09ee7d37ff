// The composition root closes what it started, in reverse: a start that fails half way (here the
// RPC port is taken, after the database, chain, p2p host and miner are up) leaves nothing open, so
// the same data dir opens again at once; and stop() after a good start releases everything too.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from '../src/db/index.js';
import { startNode } from '../src/node.js';
import { silentLogger } from '../src/util/logger.js';
import { tempDir } from './helpers/chain.js';

const dir = tempDir('bcr-node-start-');
let blocker: Server | null = null;
afterAll(async () => {
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  dir.cleanup();
});

describe('starting and stopping a node', () => {
  it('closes every part it started when a later part fails to start, then starts and stops cleanly', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const takenPort = (blocker.address() as { port: number }).port;
    const options = { network: 'test', dataDir: join(dir.path, 'node'), rpcHost: '127.0.0.1', mine: true, p2p: { host: '127.0.0.1', port: 0, bootstrap: [] }, log: silentLogger };
    await expect(startNode({ ...options, rpcPort: takenPort })).rejects.toThrow(/EADDRINUSE/);
    // The database is closed (LevelDB holds a lock while open): it opens again in this process.
    const db = await Database.open(join(options.dataDir, 'chain'));
    await db.close();
    // And a node starts on the same data dir, then stops, releasing it again.
    const node = await startNode({ ...options, rpcPort: 0 });
    await node.stop();
    const again = await Database.open(join(options.dataDir, 'chain'));
    await again.close();
  }, 60_000);
});
