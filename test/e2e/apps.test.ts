// The app registry as its users meet it: a developer publishes with `bcr app publish` (two payees),
// a buyer lists, buys with `bcr app buy`, the payees receive their exact shares in the same tx, and
// the explorer (in a real browser) shows the app and the registry's decoded logs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOf, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { DEV_KEY, tempDir } from '../helpers/chain.js';
import { balanceOf, runCli, startNodeProcess, stopProcess, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-apps-');
const keystore = join(dir.path, 'keystore');
const ENV = { BCR_PASSWORD: 'pw' };
const DEV = toChecksumAddress(addressOf(DEV_KEY));
const buyerKey = new Uint8Array(32).fill(0x42);
const BUYER = toChecksumAddress(addressOf(buyerKey));
const MAKER = '0x' + 'a1'.repeat(20);
const DESIGNER = '0x' + 'a2'.repeat(20);
let node: RunningNode;

beforeAll(async () => {
  node = await startNodeProcess(['--network', 'test', '--data-dir', join(dir.path, 'node'), '--rpc-port', '0']);
  for (const [name, key] of [['dev', DEV_KEY], ['buyer', buyerKey]] as const) {
    writeFileSync(join(dir.path, `${name}.key`), toHex(key));
    expect((await runCli(['wallet', 'import', '--key-file', join(dir.path, `${name}.key`), '--keystore', keystore, '--light-kdf'], ENV)).code).toBe(0);
  }
  const provider = new JsonRpcProvider(node.rpcUrl, { chainId: 3012, name: 'bcr-test' }, { staticNetwork: true, pollingInterval: 100 });
  await (await new Wallet(toHex(DEV_KEY), provider).sendTransaction({ to: BUYER, value: 10n ** 19n })).wait();
}, 60_000);

afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

describe('bcr app', () => {
  it('publishes, lists, sells with exact payee shares, and shows the license', async () => {
    const release = join(dir.path, 'release.tar');
    writeFileSync(release, 'the app itself');
    const cli = (args: string[]) => runCli([...args, '--rpc', node.rpcUrl, ...(args[1] === 'publish' || args[1] === 'buy' ? ['--keystore', keystore] : [])], ENV);
    const published = await cli(['app', 'publish', '--from', DEV, '--name', 'Photo Vault', '--app-version', '1.0.0', '--file', release, '--uri', 'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', '--price', '2.5', '--payee', `${MAKER}:7000`, '--payee', `${DESIGNER}:3000`, '--json']);
    expect(published.stderr).toBe('');
    expect(JSON.parse(published.stdout)).toMatchObject({ id: 0 });

    const listed = JSON.parse((await cli(['app', 'list', '--json'])).stdout) as { id: number; name: string; price: string; payees: unknown[] }[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: 0, name: 'Photo Vault', price: (25n * 10n ** 17n).toString() });

    const bought = await cli(['app', 'buy', '0', '--from', BUYER, '--json']);
    expect(bought.stderr).toBe('');
    expect(JSON.parse(bought.stdout)).toMatchObject({ until: 'forever', price: (25n * 10n ** 17n).toString() });
    expect(await balanceOf(node, MAKER)).toBe(175n * 10n ** 16n);
    expect(await balanceOf(node, DESIGNER)).toBe(75n * 10n ** 16n);

    const shown = JSON.parse((await cli(['app', 'show', '0', '--user', BUYER, '--json'])).stdout) as { license: string; sales: number };
    expect(shown).toMatchObject({ license: 'forever', sales: 1 });
    const again = await cli(['app', 'buy', '0', '--from', BUYER]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/owns app 0 already/);

    // The explorer, in a real browser: the apps page, and the registry's contract page with its decoded logs.
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${node.rpcUrl}explorer/#/apps`);
      await page.getByTestId('app-0').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('app-0').innerText()).toMatch(/Photo Vault 1\.0\.0[\s\S]*once[\s\S]*70\.00%[\s\S]*30\.00%/);
      await page.goto(`${node.rpcUrl}explorer/#/account/0x000000000000000000000000000000000000bc10`);
      await page.getByTestId('contract-logs').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('contract-log-event').allInnerTexts()).toEqual(['Purchased', 'Published']);
      expect(await page.getByTestId('contract-code').innerText()).toMatch(/built in/);
      // The purchase's tx page lists its log.
      await page.goto(`${node.rpcUrl}explorer/#/tx/${(JSON.parse(bought.stdout) as { txId: string }).txId}`);
      await page.getByTestId('tx-log').first().waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('tx-log').count()).toBe(1);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
