// The README, top to bottom, as a new user runs it: `npm start` in the background, then every ```sh
// block in order, as written, in one bash shell (so `$ME`, `$ID`, ... carry from block to block), with
// `set -euo pipefail` so any command that fails fails the walk-through. ```text blocks are synopses
// (flags in brackets) and are not run.
//
// It runs in a scratch directory that looks like a checkout (package.json, node_modules, bin, src,
// genesis, explorer linked from this one), with its own HOME (so ~/.bcr/keystore and the npm cache
// are fresh): `npx bcr` and `./data/devnet` there are the user's. The README's ports are fixed (RPC on
// 8645 and 8646, the IPFS gateway on 8648), so the test first checks that they are free.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/chain.js';
import { rpc, waitFor } from '../helpers/process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const RPC = 'http://127.0.0.1:8645/';
const dir = tempDir('bcr-readme-');
const groups: number[] = [];

/** The fenced blocks of a Markdown text, in order, with their language tag and first line. */
export function fencedBlocks(markdown: string): { lang: string; code: string; line: number }[] {
  const blocks: { lang: string; code: string; line: number }[] = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(markdown); match; match = fence.exec(markdown)) {
    blocks.push({ lang: match[1]!, code: match[2]!, line: markdown.slice(0, match.index).split('\n').length });
  }
  return blocks;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** Stops a process group (a detached child and everything it started) and waits until it is gone. */
async function stopGroup(pgid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pgid, 'SIGINT');
  await waitFor(`process group ${pgid} to stop`, async () => !alive(), 30_000, 100).catch(() => process.kill(-pgid, 'SIGKILL'));
}

function spawnGroup(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, logFile: string): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.push(child.pid!);
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    writeFileSync(logFile, output);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
}

afterAll(async () => {
  for (const pgid of groups.reverse()) await stopGroup(pgid);
  dir.cleanup();
});

describe('README.md', () => {
  it('has the two commands, and runnable blocks tagged sh', () => {
    const blocks = fencedBlocks(README);
    expect(blocks[0]!.code).toMatch(/^npm ci && npm start\s/m);
    expect(blocks[0]!.code).toMatch(/^npm test\s/m);
    // Every command block is either run here (sh) or a synopsis (text); none is left untagged by mistake.
    for (const block of blocks.slice(1)) if (block.lang === '') expect(block.code, `README line ${block.line}`).not.toMatch(/^(npx|npm|curl) /m);
  });

  it('works top to bottom on the devnet of npm start, every command as written', async () => {
    for (const port of [8645, 8646, 8648]) expect(await portFree(port), `port ${port} (the README's) is in use: stop the node on it to run this test`).toBe(true);
    const work = dir.path;
    const home = join(work, 'home');
    mkdirSync(home);
    for (const name of ['node_modules', 'bin', 'src', 'dist', 'genesis', 'explorer', 'tsconfig.json', 'tsconfig.build.json']) symlinkSync(join(ROOT, name), join(work, name));
    // npx installs a local package into its cache by running its `prepare` (the build): bin/bcr.js
    // already runs this checkout's build, so the scratch copy goes without.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    delete pkg.scripts.prepare;
    writeFileSync(join(work, 'package.json'), JSON.stringify(pkg, null, 2));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', npm_config_update_notifier: 'false', npm_config_fund: 'false' };

    // "npm ci && npm start": installed already; the devnet starts in the background.
    const devnet = spawnGroup('npm', ['start'], work, env, join(work, 'npm-start.log'));
    await waitFor('the devnet of npm start to answer', async () => (await rpc<{ height: number }>(RPC, 'bcr_chainHead')).height >= 1, 120_000, 250).catch((error: Error) => {
      throw new Error(`${error.message}\n${devnet.output().slice(-4000)}`);
    });

    // The files the README asks the user to bring.
    const photo = randomBytes(300_000);
    writeFileSync(join(work, 'photo.jpg'), photo);
    writeFileSync(join(work, 'certificate.pdf'), `certificate ${randomBytes(8).toString('hex')}\n`);
    const grantee = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const granteeBefore = BigInt((await rpc<{ balance: string }>(RPC, 'bcr_getBalance', [grantee])).balance);

    const blocks = fencedBlocks(README).slice(1).filter((b) => b.lang === 'sh');
    const script = ['set -euo pipefail', ...blocks.map((b) => `echo "### README line ${b.line}" >&2\n${b.code}`), 'echo "### README done" >&2'].join('\n');
    writeFileSync(join(work, 'walkthrough.sh'), script);
    const walk = spawnGroup('bash', ['walkthrough.sh'], work, env, join(work, 'walkthrough.log'));
    const code = await new Promise<number | null>((done) => walk.child.once('exit', done));
    const logs = () => {
      const minerLogs = readdirSync(work).filter((n) => /^miner-\d+\.log$/.test(n)).map((n) => `--- ${n} (tail)\n${readFileSync(join(work, n), 'utf8').slice(-3000)}`);
      return `--- walk-through\n${walk.output().slice(-8000)}\n--- npm start (tail)\n${devnet.output().slice(-3000)}\n${minerLogs.join('\n')}`;
    };
    expect(code, logs()).toBe(0);
    expect(walk.output(), logs()).toContain('### README done');

    // What the walk-through did, checked from outside.
    expect(Buffer.compare(readFileSync(join(work, 'photo-back.jpg')), photo), 'the retrieved photo differs').toBe(0);
    expect(walk.output()).toMatch(/VERIFIED against block \d+ .*: 2 attestation\(s\)/);
    // The site went in as a CAR, came back through the IPFS gateway by its CID.
    expect(readFileSync(join(work, 'site-back', 'index.html'), 'utf8')).toBe('<h1>hello from BCR</h1>\n');
    // ... and through bcr client get, from the miners' gateways; the library script stored and fetched the photo.
    expect(readFileSync(join(work, 'site-again', 'index.html'), 'utf8')).toBe('<h1>hello from BCR</h1>\n');
    expect(walk.output()).toMatch(/is already stored with 1 miner\(s\)/);
    expect(Buffer.compare(readFileSync(join(work, 'photo-from-script.jpg')), photo), 'the photo the library script fetched differs').toBe(0);
    expect(walk.output()).toMatch(/bafy\w+: 300000 bytes back from miner 1/);
    // The council's grant of 1,000 BCR and the 1.5 BCR raw transfer, both to the same address.
    // (The raw transfer was only sent: it lands in a block or two.)
    const granted = async () => BigInt((await rpc<{ balance: string }>(RPC, 'bcr_getBalance', [grantee])).balance) - granteeBefore;
    await waitFor('the raw transfer to land', async () => (await granted()) === 1_001_500_000_000_000_000_000n, 60_000, 250).catch(async () => expect(await granted()).toBe(1_001_500_000_000_000_000_000n));
    const miners = readdirSync(join(work, 'data')).filter((n) => n.startsWith('miner-'));
    expect(miners).toHaveLength(1);
    expect(existsSync(join(work, 'home', '.bcr', 'keystore'))).toBe(true);
  }, 900_000);
});
