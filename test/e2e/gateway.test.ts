// The IPFS trustless gateway of a miner's node, end to end (a real `bcr node` process on 127.0.0.1):
// a directory packed into a CAR with `bcr car pack` is stored with the miner by `bcr client deal`;
// once sealed, the node indexes the piece's blocks and its gateway serves the DAG by root CID: the
// CAR answer parses with @ipld/car, every block hashes to its CID, and the directory comes back bit
// for bit; Helia's trustless-gateway client fetches it too. A restart keeps the index; a lost index is rebuilt from the stored pieces.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CarBlockIterator } from '@ipld/car/iterator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGatewayRouting } from '@helia/routers';
import { trustlessGatewayBlockBroker } from '@helia/trustless-gateway-client';
import { defaultLogger } from '@libp2p/logger';
import { sha256 } from 'multiformats/hashes/sha2';
import { CID, exportTo, verifyBlock } from '../../src/content/index.js';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { addressOf, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { DEV_KEY, tempDir } from '../helpers/chain.js';
import { logEntries, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-gateway-e2e-');
const ownerKey = new Uint8Array(randomBytes(32));
const OWNER = toChecksumAddress(addressOf(ownerKey));
const genesis = devnetGenesis({
  miners: 1,
  nowMs: Date.now(),
  startDelayMs: 3000,
  slotMs: 250,
  finality: 20,
  proofProfile: 'devnet',
  owners: [OWNER],
  minerParams: { provingPeriod: 40, deadlines: 4, seedDelay: 2, faultMaxPeriods: 1, powerLookback: 2, randomnessLookback: 2, maxProveCommitDelay: 100, maxSealRandAge: 50 },
});
const ENV = { BCR_PASSWORD: 'gateway-test' };
const keys = ['--keystore', join(dir.path, 'keystore')];
const dataDir = join(dir.path, 'node');
let node: RunningNode;
let args: string[];

const cli = async (argv: string[]) => {
  const result = await runCli(argv, ENV);
  if (result.code !== 0) throw new Error(`bcr ${argv.join(' ')} failed:\n${result.stderr}`);
  return result;
};
const gatewayUrl = (n: RunningNode) => waitFor('the gateway address', async () => logEntries<{ url: string }>(n, 'IPFS gateway listening')[0]?.url, 30_000, 50);

beforeAll(async () => {
  args = [...prepareDevnetNode({ dataDir, genesisJson: devnetGenesisJson(genesis), index: 0, miners: 1, rpcPort: 0, p2pPort: 0, bootstrap: [] }), '--gateway-port', '0'];
  node = await startNodeProcess(args, 60_000);
}, 90_000);

afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

async function carOf(response: Response): Promise<{ roots: string[]; blocks: Map<string, Uint8Array> }> {
  expect(response.status).toBe(200);
  const iterator = await CarBlockIterator.fromBytes(new Uint8Array(await response.arrayBuffer()));
  const blocks = new Map<string, Uint8Array>();
  for await (const block of iterator) {
    await verifyBlock(block.cid, block.bytes);
    blocks.set(block.cid.toString(), block.bytes);
  }
  return { roots: (await iterator.getRoots()).map(String), blocks };
}

describe('IPFS gateway of a miner', () => {
  it('serves by CID the DAG a client stored in a deal, verifiable block by block, and keeps serving it after restarts', async () => {
    await cli(['miner', 'ask', 'set', '--price', '1024000', '--min-piece', '256B', '--max-piece', '1MiB', '--collateral', '0', '--data-dir', dataDir, '--rpc', node.rpcUrl]);
    await waitFor("miner 1's addresses on chain", async () => (await rpc<{ multiaddrs: string[] }>(node.rpcUrl, 'bcr_getMiner', [1])).multiaddrs.length > 0, 60_000, 250);
    const clientKeyFile = join(dir.path, 'client.key');
    writeFileSync(clientKeyFile, toHex(new Uint8Array(randomBytes(32))));
    const client = (JSON.parse((await cli(['wallet', 'import', '--key-file', clientKeyFile, ...keys, '--light-kdf', '--json'])).stdout) as { address: string }).address;
    writeFileSync(join(dir.path, 'dev.key'), toHex(DEV_KEY));
    await cli(['wallet', 'import', '--key-file', join(dir.path, 'dev.key'), ...keys, '--light-kdf']);
    await cli(['wallet', 'send', '--from', toChecksumAddress(addressOf(DEV_KEY)), '--to', client, '--amount', '1', ...keys, '--wait', '--rpc', node.rpcUrl]);
    await cli(['client', 'escrow', 'add', '--from', client, '--amount', '0.01', ...keys, '--rpc', node.rpcUrl]);

    // A small site: two files and a subdirectory, one file spanning several blocks.
    const site = join(dir.path, 'site');
    mkdirSync(join(site, 'img'), { recursive: true });
    writeFileSync(join(site, 'index.html'), '<h1>stored on BCR</h1>\n');
    const photo = new Uint8Array(randomBytes(700_000));
    writeFileSync(join(site, 'img', 'photo.bin'), photo);
    const packed = JSON.parse((await cli(['car', 'pack', site, '--out', join(dir.path, 'site.car'), '--json'])).stdout) as { root: string; blocks: number };
    await cli(['client', 'deal', join(dir.path, 'site.car'), '--miner', '1', '--duration', '2000', '--start-in', '48', '--from', client, ...keys, '--wait', '--rpc', node.rpcUrl]);

    // Sealed and indexed: the gateway answers for the root.
    const gateway = await gatewayUrl(node);
    await waitFor('the root block at the gateway', async () => (await fetch(`${gateway}ipfs/${packed.root}?format=raw`)).status === 200, 60_000, 250);
    const car = await carOf(await fetch(`${gateway}ipfs/${packed.root}`, { headers: { accept: 'application/vnd.ipld.car' } }));
    expect(car.roots).toEqual([packed.root]);
    expect(car.blocks.size).toBe(packed.blocks);
    const out = join(dir.path, 'site-back');
    await exportTo(CID.parse(packed.root), { get: async (cid) => car.blocks.get(cid.toString())! }, out);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toBe('<h1>stored on BCR</h1>\n');
    expect(Buffer.compare(readFileSync(join(out, 'img', 'photo.bin')), photo)).toBe(0);
    expect((await fetch(`${gateway}ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku?format=raw`)).status).toBe(404);

    // A stock IPFS client: Helia's trustless-gateway block broker, routed to this gateway, each block
    // validated by hash as Helia does, the directory rebuilt by the ecosystem's UnixFS exporter.
    const broker = trustlessGatewayBlockBroker({ allowInsecure: true, allowLocal: true })({ routing: httpGatewayRouting({ gateways: [gateway] }) as never, logger: defaultLogger() });
    let fetched = 0;
    const validateFn = (cid: CID) => async (bytes: Uint8Array) => {
      const digest = await sha256.digest(bytes);
      if (Buffer.compare(Buffer.from(digest.bytes), Buffer.from(cid.multihash.bytes)) !== 0) throw new Error(`block ${cid} does not match`);
    };
    const heliaOut = join(dir.path, 'site-helia');
    await exportTo(CID.parse(packed.root), { get: async (cid) => (fetched++, broker.retrieve!(cid, { validateFn: validateFn(cid) })) }, heliaOut);
    expect(fetched).toBe(packed.blocks);
    expect(Buffer.compare(readFileSync(join(heliaOut, 'img', 'photo.bin')), photo)).toBe(0);
    expect(readFileSync(join(heliaOut, 'index.html'), 'utf8')).toBe('<h1>stored on BCR</h1>\n');

    // Restarted: the index is on disk, served at once. Restarted without it: rebuilt from the pieces.
    for (const lose of [false, true]) {
      await stopProcess(node, 'SIGTERM');
      if (lose) rmSync(join(dataDir, 'miner', 'blocks.json'));
      node = await startNodeProcess(args, 60_000);
      const again = await gatewayUrl(node);
      await waitFor('the root block after the restart', async () => (await fetch(`${again}ipfs/${packed.root}?format=raw`)).status === 200, 60_000, 250);
      expect((await carOf(await fetch(`${again}ipfs/${packed.root}?format=car`))).blocks.size).toBe(packed.blocks);
      if (lose) expect(logEntries(node, 'Piece indexed for the gateway').length).toBeGreaterThan(0);
      else expect(logEntries(node, 'Piece indexed for the gateway')).toEqual([]);
    }
  }, 300_000);
});
