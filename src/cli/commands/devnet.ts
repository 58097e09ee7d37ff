import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { genesisSealRandomness, genesisToJson, parseGenesis, readGenesisJson, zeroCommD } from '../../chain/index.js';
import { vrfPublicKey } from '../../consensus/index.js';
import { DEV_PRIVATE_KEY, devVrfSecret } from '../../node.js';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreatePeerKey } from '../../p2p/identity.js';
import { addressOf, bcr, fromHex, toHex } from '../../primitives/index.js';
import { PROOF_PROFILES, replicaIdOf, sealInMemory } from '../../proofs/index.js';
import { parseIntOption, UsageError } from '../io.js';

/** Worker keys of the devnet's genesis miners (Hardhat/Anvil accounts #3-#7). DEVNET ONLY. */
const WORKER_KEYS = [
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
];
/** Sectors per genesis miner: powers 1:2:5 (then 3 and 4). */
const SECTORS = [1, 2, 5, 3, 4];

const CLI = fileURLToPath(new URL('../main.ts', import.meta.url));

export function registerDevnet(program: Command): void {
  program
    .command('devnet')
    .description('start N node processes on 127.0.0.1 sharing a fresh devnet genesis with several miners of different power (Ctrl-C stops them all)')
    .requiredOption('--nodes <n>', 'how many nodes (the first min(n, 5) mine, with powers 1:2:5:3:4)')
    .requiredOption('--base-dir <dir>', 'a directory for the nodes\' data dirs')
    .option('--rpc-base-port <port>', 'node i serves JSON-RPC on port + i', '8700')
    .option('--p2p-base-port <port>', 'node i listens for peers on port + i', '9700')
    .action(async (opts: { nodes: string; baseDir: string; rpcBasePort: string; p2pBasePort: string }) => {
      const nodes = parseIntOption(opts.nodes, '--nodes');
      if (nodes < 1 || nodes > 16) throw new UsageError('--nodes must be 1..16');
      const rpcBase = parseIntOption(opts.rpcBasePort, '--rpc-base-port');
      const p2pBase = parseIntOption(opts.p2pBasePort, '--p2p-base-port');
      const miners = Math.min(nodes, WORKER_KEYS.length);

      // One genesis for all: the devnet profile, the start time now, miners pre-sealed from seeds.
      const template = readGenesisJson('devnet') as { genesisTime: unknown; allocations: { label: string; address: string; balance: string }[]; miners: unknown[] };
      const tech = template.allocations.find((a) => a.label === 'tech' && a.address.toLowerCase() === toHex(addressOf(fromHex(DEV_PRIVATE_KEY))))!;
      const perWorker = bcr(1_000);
      tech.balance = (BigInt(tech.balance) - perWorker * BigInt(miners)).toString();
      const params = PROOF_PROFILES.devnet;
      const commD = zeroCommD(params.sectorSize);
      template.miners = [];
      for (let i = 0; i < miners; i++) {
        const worker = toHex(addressOf(fromHex(WORKER_KEYS[i]!)));
        template.allocations.push({ label: 'tech', address: worker, balance: perWorker.toString() });
        const seed = `bcr-devnet-${Date.now()}-miner-${i + 1}`;
        const sectors = [];
        for (let n = 0; n < SECTORS[i]!; n++) {
          const replicaId = replicaIdOf(i + 1, n, genesisSealRandomness(seed, n), commD);
          sectors.push({ commR: toHex(sealInMemory(params, replicaId, new Uint8Array(params.sectorSize)).commR) });
        }
        template.miners.push({ owner: worker, worker, vrfKey: toHex(vrfPublicKey(devVrfSecret(seed))), seed, sectors });
        console.log(`pre-sealed miner ${i + 1}: ${SECTORS[i]} sectors`);
      }
      template.genesisTime = Date.now() + 2000;
      const genesis = parseGenesis(template);
      const genesisJson = JSON.stringify(genesisToJson(genesis), null, 2);

      const children: ChildProcess[] = [];
      const bootstrap: string[] = [];
      for (let i = 0; i < nodes; i++) {
        const dataDir = join(opts.baseDir, `node-${i}`);
        mkdirSync(dataDir, { recursive: true });
        writeFileSync(join(dataDir, 'genesis.json'), genesisJson + '\n');
        const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(dataDir)).toString();
        const p2p = `/ip4/127.0.0.1/tcp/${p2pBase + i}/p2p/${peerId}`;
        const args = ['--import', 'tsx', CLI, 'node', '--network', 'devnet', '--data-dir', dataDir, '--rpc-port', String(rpcBase + i), '--p2p-port', String(p2pBase + i)];
        if (bootstrap.length) args.push('--bootstrap', bootstrap.join(','));
        if (i < miners) {
          const keyFile = join(dataDir, 'worker.key');
          writeFileSync(keyFile, WORKER_KEYS[i]!, { mode: 0o600 });
          args.push('--worker-key-file', keyFile);
        } else args.push('--no-mine');
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
        children.push(child);
        bootstrap.push(p2p);
        console.log(`node ${i}: rpc http://127.0.0.1:${rpcBase + i}/  p2p ${p2p}  ${i < miners ? `miner ${i + 1} (${SECTORS[i]} sectors)` : 'follower'}  data ${dataDir}`);
      }
      let stopping = false;
      const stopAll = () => {
        if (stopping) return;
        stopping = true;
        console.log('stopping all nodes');
        for (const child of children) child.kill('SIGTERM');
      };
      process.on('SIGINT', stopAll);
      process.on('SIGTERM', stopAll);
      await Promise.all(children.map((c) => new Promise((resolve) => c.on('exit', resolve))));
      console.log('all nodes stopped');
    });
}
