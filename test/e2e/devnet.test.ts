// `bcr devnet`: several node processes on 127.0.0.1 with miners of powers 1:2:5 agree on one chain.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/chain.js';
import { CLI, rpc, runCli, waitFor } from '../helpers/process.js';

const dir = tempDir('bcr-devnet-');
afterAll(() => dir.cleanup());

describe('bcr devnet', () => {
  it('starts 3 miners of powers 1:2:5 that agree on the head, and stops them all on SIGINT', async () => {
    const rpcBase = 21000 + Math.floor(Math.random() * 2000) * 4;
    const p2pBase = rpcBase + 10;
    const devnet = spawn(process.execPath, ['--import', 'tsx', CLI, 'devnet', '--nodes', '3', '--base-dir', dir.path, '--rpc-base-port', String(rpcBase), '--p2p-base-port', String(p2pBase)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    devnet.stdout.on('data', (d: Buffer) => (output += d.toString()));
    devnet.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => devnet.on('exit', (code) => resolve(code)));
    try {
      const urls = [0, 1, 2].map((i) => `http://127.0.0.1:${rpcBase + i}/`);
      await waitFor('all nodes past height 6', async () => {
        const heights = await Promise.all(urls.map((u) => rpc<{ height: number }>(u, 'bcr_chainHead').then((h) => h.height)));
        return heights.every((h) => h >= 6);
      }, 60_000, 250);
      await waitFor('agreement on block 4', async () => {
        const ids = await Promise.all(urls.map((u) => rpc<{ id: string }>(u, 'bcr_getBlockByHeight', [4]).then((b) => b.id)));
        return new Set(ids).size === 1;
      }, 20_000, 250);
      const table = await rpc<{ miners: { miner: number; power: string }[] }>(urls[0]!, 'bcr_getPowerTable');
      expect(table.miners.map((m) => Number(BigInt(m.power) / 1048576n))).toEqual([1, 2, 5]);
      expect(output).toMatch(/node 2: rpc http:\/\/127\.0\.0\.1:\d+\/\s+p2p \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);
      // A second `bcr devnet` on the live base dir is refused at once, starting nothing.
      const second = await runCli(['devnet', '--nodes', '3', '--base-dir', dir.path, '--rpc-base-port', String(rpcBase), '--p2p-base-port', String(p2pBase)]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`^error: a devnet is already running in ${dir.path} \\(pid ${devnet.pid}\\)`));
      expect(second.stdout).toBe('');
    } finally {
      devnet.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(output).toMatch(/all nodes stopped/);

    // Run again on the same base dir: the devnet is reused (same genesis, same chain), not broken.
    const again = spawn(process.execPath, ['--import', 'tsx', CLI, 'devnet', '--nodes', '3', '--base-dir', dir.path, '--rpc-base-port', String(rpcBase), '--p2p-base-port', String(p2pBase)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let againOutput = '';
    again.stdout.on('data', (d: Buffer) => (againOutput += d.toString()));
    again.stderr.on('data', (d: Buffer) => (againOutput += d.toString()));
    const againExited = new Promise<number | null>((resolve) => again.on('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${rpcBase}/`;
      const first = await waitFor('node 0 serving again', () => rpc<{ height: number }>(url, 'bcr_chainHead').catch(() => null), 60_000, 250);
      expect(first.height).toBeGreaterThanOrEqual(6);
      await waitFor('the reused devnet mines on', async () => (await rpc<{ height: number }>(url, 'bcr_chainHead')).height > first.height, 60_000, 250);
      expect(againOutput).toMatch(/reusing the devnet in .* \(3 genesis miners\)/);
      expect(againOutput).not.toMatch(/data dir holds another chain|pre-sealed/);
    } finally {
      again.kill('SIGINT');
    }
    expect(await againExited).toBe(0);
  }, 180_000);
});
