// The block explorer in a real browser (Debian's Chromium driven by playwright-core) against a
// mining node process: the head advances live over the WebSocket, a searched tx id leads to the tx,
// a click to its block, another to the sender's account, and every amount shown matches the chain;
// a searched content hash lists its attestations in order. A screenshot of each page is kept in
// test-results/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOf, fromHex, sha256, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { attestKind, attestPayload } from '../../src/state/index.js';
import { DEV_KEY, TEAM_ADDRESS, kindTx, tempDir, transferTx } from '../helpers/chain.js';
import { rpc, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';
import { bcrExact, bcrRounded } from '../../explorer/format.js';
import { signOrder } from '../../src/market/index.js';
import { DEV_WORKER_KEY } from '../../src/node.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-results');
const dir = tempDir('bcr-explorer-');
let node: RunningNode;
let browser: Browser;

beforeAll(async () => {
  node = await startNodeProcess(['--network', 'test', '--data-dir', dir.path, '--rpc-port', '0']);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

/** Atto as the explorer shows it: rounded for reading (its tooltip has the exact figure). */
const shown = (atto: bigint) => bcrRounded(atto);

const text = (page: Page, testid: string) => page.getByTestId(testid).first().innerText();
/** The exact atto behind an amount the page shows (its data-atto), and its tooltip. */
async function amountAt(page: Page, testid: string): Promise<{ atto: bigint; title: string | null }> {
  const el = page.getByTestId(testid).first().locator('.amount');
  return { atto: BigInt((await el.getAttribute('data-atto'))!), title: await el.getAttribute('title') };
}

describe('block explorer (Chromium)', () => {
  it('follows the head live, finds a tx by id, and clicks through to its block and its sender', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    await page.goto(`${node.rpcUrl}explorer/`);
    await expect.poll(() => page.title()).toBe('BCR explorer');

    // The head advances while the page is open, with no reload: counted from what the page first showed.
    await page.getByTestId('home-height').waitFor();
    await expect.poll(async () => Number(await text(page, 'home-height')), { timeout: 30_000 }).toBeGreaterThan(0);
    const firstShown = Number(await text(page, 'home-height'));
    await expect.poll(async () => Number(await text(page, 'head-height')), { timeout: 30_000 }).toBeGreaterThanOrEqual(firstShown + 2);
    const newest = Number(await text(page, 'home-height'));
    await expect(page.getByTestId(`block-row-${newest}`)).toBeDefined();
    await page.getByTestId(`block-row-${newest}`).waitFor({ timeout: 10_000 });
    // No block is skipped as heads arrive while the page loads: the rows are consecutive heights.
    const shownHeights = await Promise.all((await page.locator('[data-testid^="block-row-"]').all()).map(async (r) => Number((await r.getAttribute('data-testid'))!.slice('block-row-'.length))));
    expect(shownHeights).toEqual(shownHeights.map((_, i) => shownHeights[0]! - i));
    // Times read as "N s ago" (the UTC time as a tooltip); the charts come from the recent headers.
    expect(await page.getByTestId(`block-row-${newest}`).innerText()).toMatch(/(\d+ s ago|just now|in \d+ s)/);
    await page.getByTestId('chart-blocks-per-minute').waitFor();
    expect(await page.getByTestId('chart-power-blocks').locator('rect.bar').count()).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-home.png'), fullPage: true });

    // A fresh account: funded by the dev key, then it sends 0.25 BCR on (so its balance is stable).
    const key = new Uint8Array(randomBytes(32));
    const sender = toChecksumAddress(addressOf(key));
    const fund = await rpc<string>(node.rpcUrl, 'bcr_sendRawTransaction', [toHex(transferTx(DEV_KEY, await rpc<number>(node.rpcUrl, 'bcr_getNonce', [toChecksumAddress(addressOf(DEV_KEY)), 'pending']), addressOf(key), 15n * 10n ** 17n, 2n))]);
    await waitFor('the funding tx', () => rpc(node.rpcUrl, 'bcr_getTransactionReceipt', [fund]), 30_000);
    const value = 25n * 10n ** 16n;
    const txId = await rpc<string>(node.rpcUrl, 'bcr_sendRawTransaction', [toHex(transferTx(key, 0, TEAM_ADDRESS, value, 3n))]);
    const receipt = await waitFor('the tx in a block', () => rpc<{ height: number; fee: string; status: string } | null>(node.rpcUrl, 'bcr_getTransactionReceipt', [txId]), 30_000);
    expect(receipt.status).toBe('ok');

    // Search by tx id.
    await page.fill('#search', txId);
    await page.click('#search-form button');
    await page.getByTestId('tx-id').waitFor();
    expect(await text(page, 'tx-id')).toBe(txId);
    expect(await text(page, 'tx-kind')).toBe('transfer');
    expect(await text(page, 'tx-value')).toBe(shown(value));
    expect(await text(page, 'tx-fee')).toBe(shown(BigInt(receipt.fee)));
    expect(await amountAt(page, 'tx-fee')).toEqual({ atto: BigInt(receipt.fee), title: bcrExact(BigInt(receipt.fee)) });
    expect(await text(page, 'status')).toBe('ok');
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-tx.png'), fullPage: true });

    // Through to its block: the height matches the receipt, the tx is listed with its amount.
    await page.getByTestId('tx-block').locator('a').click();
    await page.getByTestId('block-height').waitFor();
    expect(Number(await text(page, 'block-height'))).toBe(receipt.height);
    const row = page.getByTestId('block-txs').locator('tr', { hasText: txId.slice(0, 10) });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.innerText()).toContain(shown(value));
    expect(await text(page, 'block-proofs')).toMatch(/VRF proof 80 bytes, WinningPoSt \d+ bytes/);

    // Through to the sender's account: balance = 1.5 - 0.25 - fee, and both txs in its history.
    await row.locator(`a[href="#/account/${sender}"]`).first().click();
    await page.getByTestId('account-address').waitFor();
    expect(await text(page, 'account-address')).toBe(sender);
    const balance = BigInt((await rpc<{ balance: string }>(node.rpcUrl, 'bcr_getBalance', [sender])).balance);
    expect(balance).toBe(15n * 10n ** 17n - value - BigInt(receipt.fee));
    expect(await text(page, 'account-balance')).toBe(shown(balance));
    expect(await text(page, 'account-balance')).toMatch(/^[\d,]+(\.\d{1,4})? BCR$/);
    expect(await amountAt(page, 'account-balance')).toEqual({ atto: balance, title: bcrExact(balance) });
    expect(await text(page, 'account-nonce')).toBe('1');
    await expect.poll(() => text(page, 'history-note'), { timeout: 20_000 }).toMatch(/^2 transactions and 0 block rewards/);
    expect(await page.getByTestId(`history-${txId}`).innerText()).toContain(`-${shown(value)}`);
    expect(await page.getByTestId(`history-${fund}`).innerText()).toContain(`+${shown(15n * 10n ** 17n)}`);
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-account.png'), fullPage: true });

    // The other pages render from the node's data.
    await page.fill('#search', 'm1');
    await page.click('#search-form button');
    await page.getByTestId('miner-title').waitFor();
    expect(await text(page, 'miner-power')).toMatch(/^8 KiB \(100% of the network\)$/);
    // Genesis sectors never expire: said so, not as the largest integer.
    const sectorsTable = await text(page, 'miner-sectors');
    expect(sectorsTable).toContain('never');
    expect(sectorsTable).not.toContain(String(Number.MAX_SAFE_INTEGER));
    await page.goto(`${node.rpcUrl}explorer/#/supply`);
    await page.getByTestId('issuance-chart').waitFor();
    expect(await text(page, 'supply-minted')).toMatch(/^[\d,]+(\.\d{1,2})? BCR$/); // rounded to at most 2 decimals (trailing zeros dropped)
    expect(await page.getByTestId('issuance-table').locator('tbody tr').count()).toBe(12);
    await page.goto(`${node.rpcUrl}explorer/#/power`);
    await page.getByTestId('power-table').waitFor();
    await page.goto(`${node.rpcUrl}explorer/#/market`);
    await page.getByTestId('market-asks').waitFor();
    // A slow page left for another never overwrites it: the supply page's data is held back until the
    // power page has rendered, then released; the power page stays.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let answered!: () => void;
    const slowAnswered = new Promise<void>((resolve) => (answered = resolve));
    await page.route(`${node.rpcUrl}`, async (request) => {
      if (!(request.request().postData() ?? '').includes('bcr_supply')) return request.continue();
      await held;
      await request.continue();
      answered();
    });
    // (Page-side code as strings: this project's TypeScript has no DOM types.)
    const before = await page.evaluate<number>('Number(document.body.dataset.pagesSettled ?? 0)');
    await page.evaluate("location.hash = '#/supply'");
    await page.evaluate("location.hash = '#/power'");
    await page.getByTestId('power-table').waitFor();
    release();
    await slowAnswered;
    // Both page loads have finished (the supply page's too, after its late answer).
    // Polled from here: the page's CSP (no 'unsafe-eval') refuses waitForFunction's string predicate
    // once it has to poll inside the page.
    await waitFor('both page loads settled', async () => (await page.evaluate<number>('Number(document.body.dataset.pagesSettled ?? 0)')) >= before + 2, 20_000, 50);
    expect(await page.getByTestId('issuance-chart').count()).toBe(0);
    expect(await page.getByTestId('power-table').count()).toBe(1);
    await page.unroute(`${node.rpcUrl}`);
    await page.goto(`${node.rpcUrl}explorer/#/governance`);
    await page.getByTestId('gov-threshold').waitFor();
    expect(await text(page, 'gov-threshold')).toBe('2 of 3');
    expect(await text(page, 'gov-reserve')).toBe(shown(35_000_000n * 10n ** 18n));
    // The genesis miner's owner (the dev key) sees its block rewards in its history, each as the block pays it.
    await page.goto(`${node.rpcUrl}explorer/#/account/${toChecksumAddress(addressOf(DEV_KEY))}`);
    await expect.poll(() => text(page, 'history-note'), { timeout: 30_000 }).toMatch(/^\d+ transactions and [1-9]\d* block rewards/);
    const rewardRow = page.locator('[data-testid^="history-reward-"]').first();
    const rewardHeight = Number((await rewardRow.getAttribute('data-testid'))!.slice('history-reward-'.length));
    const rewardBlock = await rpc<{ reward: string; miner: number }>(node.rpcUrl, 'bcr_getBlockByHeight', [rewardHeight, false]);
    expect(rewardBlock.miner).toBe(1);
    expect(BigInt((await rewardRow.locator('.amount').getAttribute('data-atto'))!)).toBe(BigInt(rewardBlock.reward));
    expect(await rewardRow.innerText()).toContain('block reward');
    await page.goto(`${node.rpcUrl}explorer/#/account/0x70997970C51812dc3A010C7d01b50e0d17dc79C8`);
    await page.getByTestId('account-vesting').waitFor();
    expect(await text(page, 'account-vesting')).toMatch(/^12,000,000 BCR: [\d,.]+ BCR vested; cliff at slot \d+, fully vested at slot \d+/);
    // A content hash attested twice (the second record refers to the first): searched, listed in
    // order; a record's tx page links back to the hash.
    const contentHash = toHex(sha256(new Uint8Array(randomBytes(32))));
    const devNonce = await rpc<number>(node.rpcUrl, 'bcr_getNonce', [toChecksumAddress(addressOf(DEV_KEY)), 'pending']);
    const attest = (nonce: number, ref: Uint8Array | null, tag: string, meta: string) => toHex(kindTx(DEV_KEY, nonce, attestKind, attestPayload, { hash: fromHex(contentHash), tag, ref, meta: new TextEncoder().encode(meta) }));
    const firstRecord = await rpc<string>(node.rpcUrl, 'bcr_sendRawTransaction', [attest(devNonce, null, 'invoice', 'net 30 days')]);
    const secondRecord = await rpc<string>(node.rpcUrl, 'bcr_sendRawTransaction', [attest(devNonce + 1, fromHex(firstRecord), 'payment', '')]);
    await waitFor('both records in blocks', async () => (await rpc(node.rpcUrl, 'bcr_getTransactionReceipt', [firstRecord])) && rpc(node.rpcUrl, 'bcr_getTransactionReceipt', [secondRecord]), 30_000);
    await page.fill('#search', contentHash);
    await page.click('#search-form button');
    await page.getByTestId('attest-records').waitFor();
    expect(await text(page, 'attest-count')).toBe('2');
    const rows = [await text(page, 'attestation-0'), await text(page, 'attestation-1')];
    expect(rows[0]).toContain('invoice');
    expect(rows[0]).toContain('net 30 days');
    expect(rows[1]).toContain('payment');
    expect(rows[1]).toContain(firstRecord.slice(0, 10)); // its reference, shortened
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-attestations.png'), fullPage: true });
    await page.getByTestId('attestation-0').locator(`a[href="#/tx/${firstRecord}"]`).last().click();
    await page.getByTestId('tx-attested-hash').click();
    await page.getByTestId('attest-hash').waitFor();
    expect(await text(page, 'attest-hash')).toBe(contentHash);

    await page.fill('#search', 'no such thing');
    await page.click('#search-form button');
    expect(await text(page, 'search-error')).toMatch(/^Not understood/);
    expect(problems).toEqual([]);
  }, 120_000);

  it('lists the market at once after the node restarts (its order book is kept on disk)', async () => {
    const chainId = Number(await rpc<string>(node.rpcUrl, 'eth_chainId'));
    const { slot } = await rpc<{ slot: number }>(node.rpcUrl, 'bcr_chainHead');
    const ask = signOrder('storageAsk', { miner: 1, pricePerGiBSlot: 777n, minPieceBytes: 256, maxPieceBytes: 1 << 20, collateralPerGiB: 0n, expirySlot: slot + 5000, seq: 1_000_000 }, fromHex(DEV_WORKER_KEY), chainId);
    await rpc(node.rpcUrl, 'bcr_submitOrder', ['storageAsk', toHex(ask)]);
    // Kept with the next head; then the node is killed outright and started again.
    await waitFor('the ask on disk', async () => existsSync(join(dir.path, 'market', 'orders.json')) && readFileSync(join(dir.path, 'market', 'orders.json'), 'utf8').includes(toHex(ask).slice(2)), 30_000, 100);
    await stopProcess(node, 'SIGKILL');
    node = await startNodeProcess(['--network', 'test', '--data-dir', dir.path, '--rpc-port', '0']);
    const page = await browser.newPage();
    await page.goto(`${node.rpcUrl}explorer/#/market`);
    await page.getByTestId('market-asks').waitFor();
    const asks = await text(page, 'market-asks');
    expect(asks).toContain('miner 1');
    expect(asks).toContain('777');
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-market.png'), fullPage: true });
    await page.close();
  }, 60_000);

  it('serves only its own files, read-only, with a strict content security policy', async () => {
    const base = `${node.rpcUrl}explorer/`;
    const index = await fetch(base);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect((await fetch(`${base}app.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${base}../package.json`)).status).not.toBe(200);
    expect((await fetch(`${base}..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(base, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(405);
    expect((await fetch(`${node.rpcUrl}explorer`, { redirect: 'manual' })).status).toBe(301);
  });
});
