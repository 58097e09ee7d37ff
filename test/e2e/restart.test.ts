// A restart keeps a node's place in its network, as a user runs it: two mining devnet nodes started
// without --p2p-port (the second bootstrapped from the first), then each SIGKILLed and started again in
// turn, the second without --bootstrap. Each comes back on its port of the last run, both reconnect
// (peer book, on-chain miner addresses) and agree on the chain within a few slots; the restarted
// miner publishes its storage ask again.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { tempDir } from '../helpers/chain.js';
import { logEntries, p2pAddress, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-restart-');
const genesis = devnetGenesis({ miners: 2, nowMs: Date.now(), startDelayMs: 3000, slotMs: 250, finality: 40, proofProfile: 'test', minerParams: { provingPeriod: 40, powerLookback: 2, randomnessLookback: 2 } });
const dataDirs = [join(dir.path, 'a'), join(dir.path, 'b')];
const nodes: (RunningNode | null)[] = [null, null];

/** `bcr node` flags as a user writes them: no --p2p-port (the data dir remembers it). */
function flags(index: number, bootstrap: string[]): string[] {
  const args = prepareDevnetNode({ dataDir: dataDirs[index]!, genesisJson: devnetGenesisJson(genesis), index, miners: 2, rpcPort: 0, p2pPort: 0, bootstrap });
  const at = args.indexOf('--p2p-port');
  args.splice(at, 2);
  return args;
}

afterAll(async () => {
  for (const node of nodes) if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const portOf = (address: string) => Number(/\/tcp\/(\d+)/.exec(address)![1]);
const status = (node: RunningNode) => rpc<{ peers: number; knownPeers: number; isolatedSeconds: number | null }>(node.rpcUrl, 'bcr_syncStatus');
const head = (node: RunningNode) => rpc<{ height: number; id: string }>(node.rpcUrl, 'bcr_chainHead');
const blockAt = (node: RunningNode, height: number) => rpc<{ id: string } | null>(node.rpcUrl, 'bcr_getBlockByHeight', [height, false]);

/** Both nodes hold the same block at a height at least `above`, a few slots past the restart. */
async function agree(above: number): Promise<void> {
  await waitFor('both nodes to agree on the chain', async () => {
    const [a, b] = await Promise.all(nodes.map((n) => head(n!)));
    const common = Math.min(a!.height, b!.height) - 1;
    if (common < above) return false;
    const [x, y] = await Promise.all(nodes.map((n) => blockAt(n!, common)));
    return x !== null && x?.id === y?.id;
  }, 60_000, 250);
}

describe('restarting the nodes of a devnet', () => {
  it('each comes back on its port, reconnects and agrees; the miner republishes its ask', async () => {
    nodes[0] = await startNodeProcess(flags(0, []), 60_000);
    const addressA = p2pAddress(nodes[0]);
    nodes[1] = await startNodeProcess(flags(1, [addressA]), 60_000);
    const addressB = p2pAddress(nodes[1]);
    await waitFor('the two nodes connected', async () => (await status(nodes[0]!)).peers > 0 && (await status(nodes[1]!)).peers > 0, 30_000, 100);
    await agree((await head(nodes[0])).height);
    const ask = await runCli(['miner', 'ask', 'set', '--price', '1024', '--min-piece', '256B', '--max-piece', '1KiB', '--collateral', '0', '--data-dir', dataDirs[0]!, '--rpc', nodes[0].rpcUrl]);
    expect(ask.code, ask.stderr).toBe(0);

    // A restarts (no bootstrap of its own): same port, and it is back in the network.
    await stopProcess(nodes[0], 'SIGKILL');
    // Meanwhile B, alone but knowing of A, says it is isolated (RPC, metric, explorer, log).
    await waitFor('B to report itself isolated', async () => ((await status(nodes[1]!)).isolatedSeconds ?? -1) >= 1, 30_000, 250);
    nodes[0] = await startNodeProcess(flags(0, []), 60_000);
    expect(portOf(p2pAddress(nodes[0]))).toBe(portOf(addressA));
    await waitFor('A reconnected', async () => (await status(nodes[0]!)).peers > 0 && (await status(nodes[1]!)).peers > 0, 30_000, 100);
    await agree((await head(nodes[0])).height + 3);
    const restartedA = nodes[0];
    await waitFor('the storage ask published again', async () => logEntries(restartedA, 'Published storage ask').length > 0, 30_000, 100);

    // B restarts without --bootstrap: its peer book (and A's on-chain addresses) bring it back.
    await stopProcess(nodes[1], 'SIGKILL');
    nodes[1] = await startNodeProcess(flags(1, []), 60_000);
    expect(portOf(p2pAddress(nodes[1]))).toBe(portOf(addressB));
    await waitFor('B reconnected', async () => (await status(nodes[1]!)).peers > 0, 30_000, 100);
    expect((await status(nodes[1])).knownPeers).toBeGreaterThan(0);
    expect((await status(nodes[1])).isolatedSeconds).toBeNull();
    await agree((await head(nodes[1])).height + 3);
  }, 240_000);
});
