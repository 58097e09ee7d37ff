import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEVNET_SECTORS, DEVNET_WORKER_KEYS, devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../devnet.js';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreatePeerKey } from '../../p2p/identity.js';
import { PROOF_PROFILES, type ProofProfileName } from '../../proofs/index.js';
import { parseIntOption, UsageError } from '../io.js';

const CLI = fileURLToPath(new URL('../main.ts', import.meta.url));

export function registerDevnet(program: Command): void {
  program
    .command('devnet')
    .description('start N node processes on 127.0.0.1 sharing a fresh devnet genesis with several miners of different power (Ctrl-C stops them all)')
    .requiredOption('--nodes <n>', 'how many nodes (the first min(n, 5) mine, with powers 1:2:5:3:4)')
    .requiredOption('--base-dir <dir>', 'a directory for the nodes\' data dirs')
    .option('--rpc-base-port <port>', 'node i serves JSON-RPC on port + i', '8700')
    .option('--p2p-base-port <port>', 'node i listens for peers on port + i', '9700')
    .option('--slot-ms <ms>', 'slot length (default: the devnet genesis, 1000)')
    .option('--proof-profile <name>', 'sector size and proof parameters: test (2 KiB), devnet (1 MiB)', 'devnet')
    .action(async (opts: { nodes: string; baseDir: string; rpcBasePort: string; p2pBasePort: string; slotMs?: string; proofProfile: string }) => {
      const nodes = parseIntOption(opts.nodes, '--nodes');
      if (nodes < 1 || nodes > 16) throw new UsageError('--nodes must be 1..16');
      const rpcBase = parseIntOption(opts.rpcBasePort, '--rpc-base-port');
      const p2pBase = parseIntOption(opts.p2pBasePort, '--p2p-base-port');
      const miners = Math.min(nodes, DEVNET_WORKER_KEYS.length);
      if (!(opts.proofProfile in PROOF_PROFILES) || opts.proofProfile === 'mainnet') throw new UsageError('--proof-profile must be test or devnet');
      const slotMs = opts.slotMs === undefined ? undefined : parseIntOption(opts.slotMs, '--slot-ms');
      if (slotMs !== undefined && slotMs < 50) throw new UsageError('--slot-ms must be at least 50');
      // One genesis for all: start time now, miners pre-sealed from seeds.
      const genesis = devnetGenesis({ miners, nowMs: Date.now(), proofProfile: opts.proofProfile as ProofProfileName, ...(slotMs ? { slotMs } : {}) });
      for (let i = 0; i < miners; i++) console.log(`pre-sealed miner ${i + 1}: ${DEVNET_SECTORS[i]} sectors`);
      const genesisJson = devnetGenesisJson(genesis);

      const children: ChildProcess[] = [];
      const bootstrap: string[] = [];
      for (let i = 0; i < nodes; i++) {
        const dataDir = join(opts.baseDir, `node-${i}`);
        const nodeArgs = prepareDevnetNode({ dataDir, genesisJson, index: i, miners, rpcPort: rpcBase + i, p2pPort: p2pBase + i, bootstrap });
        const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(dataDir)).toString();
        const p2p = `/ip4/127.0.0.1/tcp/${p2pBase + i}/p2p/${peerId}`;
        const args = ['--import', 'tsx', CLI, 'node', ...nodeArgs];
        const logFd = openSync(join(dataDir, 'node.log'), 'a');
        const child = spawn(process.execPath, args, { stdio: ['ignore', logFd, 'inherit'] });
        closeSync(logFd);
        children.push(child);
        bootstrap.push(p2p);
        console.log(`node ${i}: rpc http://127.0.0.1:${rpcBase + i}/  p2p ${p2p}  ${i < miners ? `miner ${i + 1} (${DEVNET_SECTORS[i]} sectors)` : 'follower'}  data ${dataDir}  log ${join(dataDir, 'node.log')}`);
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
