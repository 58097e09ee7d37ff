import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseGenesis } from '../../chain/index.js';
import { errorMessage } from '../../primitives/index.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEVNET_SECTORS, DEVNET_WORKER_KEYS, devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../devnet.js';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreatePeerKey } from '../../p2p/identity.js';
import { PROOF_PROFILES, type ProofProfileName } from '../../proofs/index.js';
import { parseIntOption, UsageError } from '../io.js';

// Nodes run from the same form as this command: compiled JS, or TypeScript source through tsx.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CLI = fileURLToPath(new URL(FROM_SOURCE ? '../main.ts' : '../main.js', import.meta.url));

/** The genesis of a devnet already started in `baseDir` (node-0 holds it), or null for a new base dir. */
function readExistingDevnet(baseDir: string): { genesisJson: string; miners: number } | null {
  const file = join(baseDir, 'node-0', 'genesis.json');
  if (!existsSync(file)) return null;
  const genesisJson = readFileSync(file, 'utf8');
  try {
    const genesis = parseGenesis(JSON.parse(genesisJson));
    if (genesis.params.network !== 'devnet') throw new Error(`it belongs to network "${genesis.params.network}"`);
    return { genesisJson, miners: genesis.miners.length };
  } catch (error) {
    throw new UsageError(`${file} is not a devnet genesis (${errorMessage(error)}): choose another --base-dir or remove ${baseDir}`);
  }
}

const pidFile = (baseDir: string) => join(baseDir, 'devnet.pid');

/** The pid of a `bcr devnet` still running on this base dir, or null (none, or it died without cleaning up). */
function runningDevnetPid(baseDir: string): number | null {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile(baseDir), 'utf8'), 10);
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: alive but another user's; ESRCH: gone.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

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
      if (!(opts.proofProfile in PROOF_PROFILES) || opts.proofProfile === 'mainnet') throw new UsageError('--proof-profile must be test or devnet');
      const slotMs = opts.slotMs === undefined ? undefined : parseIntOption(opts.slotMs, '--slot-ms');
      if (slotMs !== undefined && slotMs < 50) throw new UsageError('--slot-ms must be at least 50');
      const running = runningDevnetPid(opts.baseDir);
      if (running !== null) throw new UsageError(`a devnet is already running in ${opts.baseDir} (pid ${running}): stop it first (Ctrl-C in its terminal, or kill ${running})`);
      // A base dir that already holds a devnet keeps its genesis: a new one would orphan every node's chain.
      const existing = readExistingDevnet(opts.baseDir);
      let genesisJson: string;
      let miners: number;
      if (existing) {
        ({ genesisJson, miners } = existing);
        if (slotMs !== undefined || opts.proofProfile !== 'devnet') console.log('note: --slot-ms and --proof-profile apply to a new devnet only; the existing genesis is kept');
        console.log(`reusing the devnet in ${opts.baseDir} (${miners} genesis miners); remove that directory for a fresh one`);
      } else {
        miners = Math.min(nodes, DEVNET_WORKER_KEYS.length);
        // One genesis for all: start time now, miners pre-sealed from seeds.
        const genesis = devnetGenesis({ miners, nowMs: Date.now(), proofProfile: opts.proofProfile as ProofProfileName, ...(slotMs ? { slotMs } : {}) });
        for (let i = 0; i < miners; i++) console.log(`pre-sealed miner ${i + 1}: ${DEVNET_SECTORS[i]} sectors`);
        genesisJson = devnetGenesisJson(genesis);
      }

      mkdirSync(opts.baseDir, { recursive: true });
      writeFileSync(pidFile(opts.baseDir), `${process.pid}\n`);
      const children: ChildProcess[] = [];
      const bootstrap: string[] = [];
      for (let i = 0; i < nodes; i++) {
        const dataDir = join(opts.baseDir, `node-${i}`);
        const nodeArgs = prepareDevnetNode({ dataDir, genesisJson, index: i, miners, rpcPort: rpcBase + i, p2pPort: p2pBase + i, bootstrap });
        const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(dataDir)).toString();
        const p2p = `/ip4/127.0.0.1/tcp/${p2pBase + i}/p2p/${peerId}`;
        const args = [...(FROM_SOURCE ? ['--import', 'tsx'] : []), CLI, 'node', ...nodeArgs];
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
      const codes = await Promise.all(children.map((c) => new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code)))));
      rmSync(pidFile(opts.baseDir), { force: true });
      const failed = codes.flatMap((code, i) => (code !== 0 && code !== null ? [`node ${i} exited with code ${code} (log: ${join(opts.baseDir, `node-${i}`, 'node.log')})`] : []));
      if (!stopping && failed.length > 0) throw new UsageError(failed.join('; '));
      console.log('all nodes stopped');
    });
}
