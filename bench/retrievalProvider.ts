// A retrieval provider in a process of its own, for the retrieval bench: serves one unsealed piece
// file (argv: file, piece commitment hex, work dir) and prints its libp2p address on stdout.
import '../src/util/polyfills.js';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RetrievalProvider, retrievalProtocols } from '../src/market/index.js';
import { createClientHost } from '../src/p2p/clientHost.js';
import { silentLogger } from '../src/util/logger.js';
import { openBenchChain } from './benchChain.js';

const [file, commitment, dir] = process.argv.slice(2) as [string, string, string];
mkdirSync(join(dir, 'chain'), { recursive: true });
const { chain } = await openBenchChain(join(dir, 'chain'));
const host = await createClientHost(['/ip4/127.0.0.1/tcp/0']);
const provider = new RetrievalProvider({
  libp2p: host,
  protocols: retrievalProtocols(chain.params.network, chain.genesisId),
  chain,
  miner: () => ({ find: () => [{ pieceCommitment: commitment, pieceBytes: statSync(file).size, offset: 0, unsealedPath: file }], payee: new Uint8Array(20), redeem: async () => undefined }),
  currentSlot: () => 0,
  nowMs: () => Date.now(),
  dir: join(dir, 'provider'),
  log: silentLogger,
});
await provider.start();
process.stdout.write(`${host.getMultiaddrs()[0]!.toString()}\n`);
process.on('SIGTERM', () => process.exit(0));
