// CLI start-up: wall time of `bcr --version` and `bcr chain head` (against a running node) from the
// compiled CLI, through bin/bcr.js (what `bcr` runs once on the PATH: it checks that the build is
// fresh) and through `npx bcr` (npm's own launcher on top), next to the same commands from TypeScript
// source through tsx (how every call ran before 12-05) and to Node's own start (`node -e 0`).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNode } from '../src/node.js';
import { silentLogger } from '../src/util/logger.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const run = promisify(execFile);

/** Median wall milliseconds of `runs` runs of node with `args` (async: the node in this process answers). */
async function medianMs(args: string[], runs: number, command: string = process.execPath): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await run(command, args, { cwd: ROOT });
    times.push(msSince(start));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export const cliBench: BenchArea = {
  name: 'cli',
  async run(args) {
    const runs = args.includes('--quick') ? 3 : 9;
    if (!existsSync(join(ROOT, 'dist', '.built'))) throw new Error('no compiled CLI: run `npm run build` first');
    const dir = mkdtempSync(join(tmpdir(), 'bcr-bench-cli-'));
    const node = await startNode({ network: 'test', dataDir: dir, rpcHost: '127.0.0.1', rpcPort: 0, mine: true, log: silentLogger });
    try {
      const compiled = join(ROOT, 'dist', 'cli', 'main.js');
      const source = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
      const bare = await medianMs(['-e', '0'], runs);
      const version = await medianMs([compiled, '--version'], runs);
      const head = await medianMs([compiled, 'chain', 'head', '--rpc', node.rpcUrl], runs);
      const versionBin = await medianMs([join(ROOT, 'bin', 'bcr.js'), '--version'], runs);
      const versionNpx = await medianMs(['bcr', '--version'], runs, 'npx');
      const versionTsx = await medianMs([...source, '--version'], runs);
      const headTsx = await medianMs([...source, 'chain', 'head', '--rpc', node.rpcUrl], runs);
      const rows: BenchRow[] = [
        { name: 'node -e 0 (Node start, reference)', value: bare, unit: 'ms' },
        { name: 'bcr --version (compiled)', value: version, unit: 'ms', note: `${(version - bare).toFixed(0)} ms above Node's start` },
        { name: 'bcr --version via bin/bcr.js (bcr on the PATH)', value: versionBin, unit: 'ms', note: `${(versionBin - version).toFixed(0)} ms for the freshness check` },
        { name: 'npx bcr --version', value: versionNpx, unit: 'ms', note: `${(versionNpx - versionBin).toFixed(0)} ms of npm's launcher` },
        { name: 'bcr chain head (compiled, a live node)', value: head, unit: 'ms' },
        { name: 'bcr --version from source through tsx', value: versionTsx, unit: 'ms', note: `${(versionTsx / version).toFixed(1)}x the compiled` },
        { name: 'bcr chain head from source through tsx', value: headTsx, unit: 'ms', note: `${(headTsx / head).toFixed(1)}x the compiled` },
      ];
      return {
        rows,
        json: { runs, node_start_ms: Math.round(bare), version_ms: Math.round(version), version_bin_ms: Math.round(versionBin), version_npx_ms: Math.round(versionNpx), chain_head_ms: Math.round(head), version_tsx_ms: Math.round(versionTsx), chain_head_tsx_ms: Math.round(headTsx) },
      };
    } finally {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
