import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGenesis, readGenesisJson } from '../../src/chain/index.js';
import { fromHex, parseBcr, toChecksumAddress } from '../../src/primitives/index.js';
import { transferPayload, verifyTx } from '../../src/state/index.js';
import { decode } from '../../src/primitives/index.js';
import { tempDir } from '../helpers/chain.js';
import { runCli } from '../helpers/process.js';

const dir = tempDir('bcr-cli-');
afterAll(() => dir.cleanup());

describe('bcr CLI', () => {
  it('prints the mainnet issuance schedule with an exact cumulative total', async () => {
    const { code, stdout } = await runCli(['issuance', '--network', 'mainnet', '--json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.quarters).toHaveLength(12);
    expect(out.cumulative).toBe('45000000000000000000000000');
    expect(out.quarters.reduce((s: bigint, q: { issued: string }) => s + BigInt(q.issued), 0n)).toBe(45_000_000n * 10n ** 18n);
    const human = await runCli(['issuance', '--network', 'mainnet', '--at-slot', '7889400']);
    expect(human.stdout).toMatch(/minted by slot 7889400: 22505494\.5/);
  });

  it('inspects genesis allocations', async () => {
    const { code, stdout } = await runCli(['genesis', 'inspect', '--network', 'devnet', '--json']);
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info.allocations.map((a: { label: string }) => a.label)).toEqual(['foundation', 'team', 'tech', 'tech']);
    expect(info.miners).toEqual([expect.objectContaining({ id: 1, sectors: 4 })]);
    expect(info.allocations[0].governed).toBe(true);
  });

  it('creates, lists and exports keystore keys, and signs a transfer offline', async () => {
    const keystore = join(dir.path, 'keys');
    const env = { BCR_PASSWORD: 'correct horse' };
    const created = await runCli(['wallet', 'new', '--keystore', keystore, '--light-kdf', '--json'], env);
    expect(created.code).toBe(0);
    const { address, file } = JSON.parse(created.stdout);
    expect(toChecksumAddress(fromHex(address))).toBe(address);
    const listed = await runCli(['wallet', 'list', '--keystore', keystore, '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([{ address, file }]);
    const out = join(dir.path, 'key.txt');
    expect((await runCli(['wallet', 'export', address, '--keystore', keystore, '--out', out], env)).code).toBe(0);
    const printed = await runCli(['wallet', 'address', '--key-file', out]);
    expect(printed.stdout.trim()).toBe(address);
    const wrong = await runCli(['wallet', 'export', address, '--keystore', keystore, '--out', out], { BCR_PASSWORD: 'nope' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr.trim()).toBe(`error: wrong password for ${file} (the keystore's MAC does not match)`);

    const to = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const signed = await runCli(['tx', 'transfer', '--from', address, '--to', to, '--amount', '1.5', '--nonce', '3', '--network', 'devnet', '--keystore', keystore, '--json'], env);
    expect(signed.code).toBe(0);
    const { raw } = JSON.parse(signed.stdout);
    const tx = verifyTx(fromHex(raw), parseGenesis(readGenesisJson('devnet'), 1).params);
    expect(toChecksumAddress(tx.sender)).toBe(address);
    expect(tx.body.nonce).toBe(3);
    expect(decode(transferPayload, tx.body.payload).value).toBe(parseBcr('1.5'));
  });

  it('imports a raw key and round-trips it', async () => {
    const keystore = join(dir.path, 'keys2');
    const keyFile = join(dir.path, 'raw.txt');
    writeFileSync(keyFile, '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n');
    const imported = await runCli(['wallet', 'import', '--key-file', keyFile, '--keystore', keystore, '--light-kdf', '--json'], { BCR_PASSWORD: 'pw' });
    expect(JSON.parse(imported.stdout).address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    const ks = JSON.parse(readFileSync(JSON.parse(imported.stdout).file, 'utf8'));
    expect(ks.crypto.kdf).toBe('scrypt');
  });

  it('prints the piece commitment of a file, matching an independent computation', async () => {
    const file = join(dir.path, 'piece.bin');
    const data = Buffer.alloc(100, 7);
    writeFileSync(file, data);
    const { code, stdout } = await runCli(['piece', 'commit', file, '--json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ size: 100, paddedSize: 128, depth: 2 });
    const sha = (b: Buffer) => createHash('sha256').update(b).digest();
    const padded = Buffer.concat([data, Buffer.alloc(28)]);
    const leaf = (i: number) => padded.subarray(i * 32, i * 32 + 32);
    const root = sha(Buffer.concat([sha(Buffer.concat([leaf(0), leaf(1)])), sha(Buffer.concat([leaf(2), leaf(3)]))]));
    expect(out.commD).toBe('0x' + root.toString('hex'));
  });

  it('simulates the election with a delay sweep, on the network\'s active slot coefficient', async () => {
    const { code, stdout } = await runCli(['sim', 'election', '--network', 'mainnet', '--powers', '1,3', '--slots', '4000', '--delay', '1,3', '--json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.f).toBe('1/20');
    expect(out.runs.map((r: { delaySlots: number }) => r.delaySlots)).toEqual([1, 3]);
    for (const run of out.runs) {
      expect(run.chainLength).toBeLessThanOrEqual(run.blocks);
      expect(run.shares).toHaveLength(2);
      expect(run.emptyRate).toBeGreaterThan(0.9);
    }
    const human = await runCli(['sim', 'election', '--miners', '30', '--slots', '2000', '--network', 'devnet', '--selfish', '0']);
    expect(human.stdout).toMatch(/30 miners \(miner 0 selfish\), 2000 slots, f = 1\/2/);
    expect(human.stdout).toMatch(/^ +0 .* selfish$/m);
    expect(human.stdout).toMatch(/\.\.\. 10 more miners/);
  });

  it('projects the mainnet supply from genesis: 65M BCR circulating once minting and vesting are done', async () => {
    const { code, stdout } = await runCli(['sim', 'supply', '--network', 'mainnet', '--step-days', '365', '--json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.rows.map((r: { day: number }) => r.day)).toEqual([0, 365, 730, 1095, 1460]);
    expect(out.rows[0].circulating).toBe('8000000000000000000000000');
    expect(out.rows.at(-1).circulating).toBe('65000000000000000000000000');
    expect(out.rows.at(-1).minted).toBe('45000000000000000000000000');
  });

  it('runs the storage, economics, attacks and market scenarios as a researcher would, with reports', async () => {
    const storage = await runCli(['sim', 'storage', '--days', '1', '--miners', '3', '--largest', '4', '--json']);
    expect(storage.code).toBe(0);
    const s = JSON.parse(storage.stdout);
    expect(s.params).toMatchObject({ network: 'mainnet', days: 1, stepSlots: 300, miners: 3 });
    expect(s.summary).toMatchObject({ supplyConserved: true, rejectedTxs: 0, steps: 288 });
    expect(s.miners).toHaveLength(3);
    const economics = await runCli(['sim', 'economics', '--days', '2', '--per-cohort', '1', '--sectors', '2', '--out', `${dir.path}/economics`]);
    expect(economics.code).toBe(0);
    expect(economics.stdout).toMatch(/joins at 1\/2/);
    expect(readFileSync(`${dir.path}/economics/economics.html`, 'utf8')).toMatch(/<svg/);
    const attacks = await runCli(['sim', 'attacks', '--trials', '50', '--slots', '2000', '--json']);
    expect(attacks.code).toBe(0);
    const a = JSON.parse(attacks.stdout);
    expect(a.longRange.filter((r: { refused: boolean }) => r.refused).every((r: { depth: number }) => r.depth > 900)).toBe(true);
    const market = await runCli(['sim', 'market', '--files', '100', '--providers', '20', '--years', '1', '--schemes', '1+0,4+2', '--failure', '50', '--chain-days', '3', '--json']);
    expect(market.code).toBe(0);
    const m = JSON.parse(market.stdout);
    expect(m.rows.map((r: { scheme: string }) => r.scheme)).toEqual(['1+0', '4+2']);
    expect(m.onChain).toMatchObject({ files: 10, supplyConserved: true, failedTxs: {} });
  }, 240_000);

  it('reports user mistakes as one line with a non-zero exit and no stack trace', async () => {
    const cases = [
      ['tx', 'transfer', '--from', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '--to', '0x1234', '--amount', '1', '--nonce', '0', '--keystore', dir.path],
      ['tx', 'transfer', '--from', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '--to', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '--amount', '1.0000000000000000001', '--nonce', '0', '--keystore', dir.path],
      ['issuance', '--network', 'nosuchnet'],
      ['issuance', '--at-slot', '-3'],
      ['piece', 'commit', '/nonexistent/file'],
      ['sim', 'election', '--delay', '0'],
      ['sim', 'election', '--f', '3/4'],
      ['sim', 'election', '--powers', '1,2', '--selfish', '2'],
      ['sim', 'supply', '--step-days', '0'],
      ['sim', 'supply', '--step-days', '1', '--years', '1000'],
      ['sim', 'storage', '--days', '1', '--step', '7'],
      ['sim', 'market', '--schemes', '4-2'],
    ];
    for (const args of cases) {
      const { code, stderr } = await runCli(args);
      expect(code).not.toBe(0);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^error: /);
    }
    // Ten CLI starts one after another: a minute or more on a loaded two-core machine.
  }, 240_000);
  it('names each node flag mistake in one line and leaves no data dir behind', async () => {
    const { createServer } = await import('node:net');
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = String((busy.address() as { port: number }).port);
    const dataDir = join(dir.path, 'never-made');
    const cases: [string[], RegExp][] = [
      [['--network', 'nosuch'], /unknown network "nosuch"; valid networks: devnet, mainnet, test/],
      [['--rpc-port', '99999'], /--rpc-port must be a TCP port 0\.\.65535/],
      [['--log-level', 'nosuch'], /--log-level must be one of trace, debug/],
      [['--bootstrap', 'garbage'], /--bootstrap: "garbage" is not a multiaddr/],
      [['--bootstrap', '/ip4/127.0.0.1/tcp/1/p2p/QmNotAPeer'], /"QmNotAPeer" in .* is not a peer id/],
      // (With --rpc-port 0: the default 8645 may be held by the README test's devnet running beside this one.)
      [['--p2p-port', busyPort, '--rpc-port', '0'], new RegExp(`--p2p-port: 127\\.0\\.0\\.1:${busyPort} is already in use`)],
      [['--rpc-port', busyPort], new RegExp(`--rpc-port: 127\\.0\\.0\\.1:${busyPort} is already in use`)],
    ];
    try {
      for (const [flags, reason] of cases) {
        const run = await runCli(['node', '--network', 'devnet', '--data-dir', dataDir, ...flags]);
        expect(run.code, flags.join(' ')).toBe(1);
        expect(run.stderr.trim().split('\n'), flags.join(' ')).toHaveLength(1);
        expect(run.stderr).toMatch(reason);
        expect(existsSync(dataDir), flags.join(' ')).toBe(false);
      }
    } finally {
      busy.close();
    }
    // Seven CLI starts from source one after another: over a minute on a loaded two-core machine.
  }, 240_000);
});
