// The compiled CLI (dist/, built by `npm ci` through the prepare script) that `npx bcr` runs: it
// starts without TypeScript, loads only the command it runs, and answers like the source does.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const bcr = (args: string[]) => run(process.execPath, ['bin/bcr.js', ...args], { cwd: ROOT }).then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);

describe('compiled CLI', () => {
  it('was built by npm ci', () => {
    expect(existsSync(`${ROOT}/dist/cli/main.js`)).toBe(true);
    expect(existsSync(`${ROOT}/dist/.built`)).toBe(true);
  });

  it('prints its version, its commands, and a plain error for an unreachable node', async () => {
    const version = (JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string }).version;
    expect((await bcr(['--version'])).stdout.trim()).toBe(version);
    const help = await bcr(['--help']);
    for (const command of ['node', 'wallet', 'miner', 'client', 'market', 'chain', 'gov', 'devnet']) expect(help.stdout).toContain(command);
    const head = await bcr(['chain', 'head', '--rpc', 'http://127.0.0.1:9/']);
    expect(head.code).toBe(1);
    expect(head.stderr).toMatch(/^error: cannot reach the node at http:\/\/127\.0\.0\.1:9\//);
  }, 30_000);
});
