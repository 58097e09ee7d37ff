// --prune-blocks end to end with real processes: a pruning follower drops old bodies and receipts
// (keeping headers and the tx index), still serves its head, syncs a peer that was behind from the
// blocks it kept, says PRUNED for what it dropped, restarts on its pruned store, and `bcr db stats`
// shows the buckets.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/primitives/index.js';
import { DEV_KEY, TEAM_ADDRESS, tempDir, transferTx } from '../helpers/chain.js';
import { p2pAddress, rawPost, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-prune-');
const nodes: RunningNode[] = [];
afterAll(async () => {
  for (const node of nodes) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

type Head = { height: number; id: string };
const KEEP = 5;
const FINALITY = 10; // the test network's

const headOf = async (node: RunningNode) => rpc<Head>(node.rpcUrl, 'bcr_chainHead');

describe('pruning (--prune-blocks)', () => {
  it('prunes bodies past finality, serves its head, syncs a peer from what it kept, and restarts', async () => {
    const minerDir = join(dir.path, 'miner');
    const miner = await startNodeProcess(['--network', 'test', '--data-dir', minerDir, '--rpc-port', '0', '--p2p-port', '0']);
    nodes.push(miner);
    const join_ = (name: string) => {
      const path = join(dir.path, name);
      mkdirSync(path, { recursive: true });
      copyFileSync(join(minerDir, 'genesis.json'), join(path, 'genesis.json'));
      return path;
    };
    const prunedDir = join_('pruned');
    const prunedArgs = ['--network', 'test', '--data-dir', prunedDir, '--rpc-port', '0', '--p2p-port', '0', '--no-mine', '--prune-blocks', String(KEEP), '--bootstrap', p2pAddress(miner)];
    let pruned = await startNodeProcess(prunedArgs);
    nodes.push(pruned);
    const laggardDir = join_('laggard');
    const laggard = await startNodeProcess(['--network', 'test', '--data-dir', laggardDir, '--rpc-port', '0', '--p2p-port', '0', '--no-mine', '--bootstrap', p2pAddress(miner)]);
    nodes.push(laggard);

    // A transfer lands early: its block will be pruned, its index entry kept.
    const txId = await rpc<string>(miner.rpcUrl, 'bcr_sendRawTransaction', [toHex(transferTx(DEV_KEY, 0, TEAM_ADDRESS, 777n, 2n))]);
    const receipt = await waitFor('the transfer in a block', () => rpc<{ height: number } | null>(pruned.rpcUrl, 'bcr_getTransactionReceipt', [txId]), 30_000);

    // The laggard follows for a while, then goes offline.
    const laggardHeight = await waitFor('the laggard to follow', async () => {
      const h = (await headOf(laggard)).height;
      return h >= receipt.height + 2 && h >= 8 ? h : null;
    }, 30_000);
    await stopProcess(laggard);

    // The chain grows until the pruned node has pruned below where the laggard stopped's reach, then
    // the only miner stops, so the chain stands still while the laggard catches up from the pruned node.
    await waitFor('the pruned node to prune the transfer\'s block', async () => (await headOf(pruned)).height >= Math.max(receipt.height, 1) + FINALITY + KEEP + 1, 60_000, 50);
    await stopProcess(miner);
    const head = await headOf(pruned);
    const oldestKept = head.height - FINALITY - KEEP;
    expect(laggardHeight + 1, 'the laggard needs blocks the pruned node kept').toBeGreaterThanOrEqual(oldestKept);

    // Old blocks: header only, marked pruned; the head and recent ones in full.
    expect(await rpc(pruned.rpcUrl, 'bcr_getBlockByHeight', [1, true])).toMatchObject({ height: 1, pruned: true, txs: null });
    expect(await rpc(pruned.rpcUrl, 'bcr_getBlockByHeight', [head.height, true])).toMatchObject({ id: head.id, txs: expect.any(Array) });
    // The tx index is kept, the body is gone: a precise error, not a crash or a null.
    const txAnswer = JSON.parse((await rawPost(pruned.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_getTransaction', params: [txId] }))).text);
    expect(txAnswer.error).toMatchObject({ data: { code: 'PRUNED' } });
    expect(txAnswer.error.message).toMatch(/was pruned: this node keeps block bodies and receipts from height \d+ on \(--prune-blocks 5\)/);
    const ethAnswer = JSON.parse((await rawPost(pruned.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_getTransactionReceipt', params: [txId] }))).text);
    expect(ethAnswer.error).toMatchObject({ data: { code: 'PRUNED' } });

    // The laggard comes back with the pruned node as its only peer and syncs to its head.
    const back = await startNodeProcess(['--network', 'test', '--data-dir', laggardDir, '--rpc-port', '0', '--p2p-port', '0', '--no-mine', '--bootstrap', p2pAddress(pruned)]);
    nodes.push(back);
    await waitFor('the laggard to sync from the pruned node', async () => (await headOf(back)).id === head.id, 30_000);

    // Restart on the pruned store: same head, still pruned, still serving.
    await stopProcess(pruned);
    pruned = await startNodeProcess(prunedArgs.filter((arg, i, all) => arg !== '--bootstrap' && all[i - 1] !== '--bootstrap'));
    nodes.push(pruned);
    expect(await headOf(pruned)).toMatchObject({ height: head.height, id: head.id });
    expect(await rpc(pruned.rpcUrl, 'bcr_getBlockByHeight', [2])).toMatchObject({ pruned: true });
    await stopProcess(pruned);

    const stats = JSON.parse((await runCli(['db', 'stats', '--data-dir', prunedDir, '--json'])).stdout) as { buckets: { bucket: string; keys: number }[] };
    const keys = (bucket: string) => stats.buckets.find((b) => b.bucket === bucket)?.keys ?? 0;
    expect(keys('prunedHeaders')).toBeGreaterThanOrEqual(oldestKept - 1);
    expect(keys('blocks')).toBeLessThanOrEqual(head.height - oldestKept + 2); // kept bodies and genesis
    expect(keys('txIndex')).toBeGreaterThanOrEqual(1);
    const laggardStats = await runCli(['db', 'stats', '--data-dir', laggardDir]);
    expect(laggardStats.code).toBe(1);
    expect(laggardStats.stderr).toMatch(/is a node running on it\? Stop it first/);
  }, 150_000);
});
