// Storage deals end to end on a 3-node devnet (real processes on 127.0.0.1, 1 MiB sectors): a client
// stores a 3 MiB random file with one miner through `bcr client deal` (three 1 MiB pieces over the
// libp2p deal protocols), its escrow funded by a contract (msg.value through the market system
// contract), which also reads the deals on chain; the deals go published -> active (watched as dealEvents on another node);
// each sector's CommD commits to its piece; the provider's owner is paid exactly price x slots proven
// and the client's escrow falls by the same; the file reads back bit for bit from the provider's
// unsealed copies. Then the provider loses the data: its sectors fault, are terminated, the deals are
// slashed, and the client's escrow gets back exactly the unpaid rest plus half the provider collateral.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContractFactory, JsonRpcProvider, Wallet, type Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import parsePrometheus from 'parse-prometheus-text-format';
import WebSocket from 'ws';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { addressOf, bcr, fromHex, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { unsealedCommD } from '../../src/proofs/index.js';
import { DEV_KEY, tempDir } from '../helpers/chain.js';
import { compileSolidity, SYSTEM_CALLERS } from '../helpers/solidity.js';

const payerContract = compileSolidity(SYSTEM_CALLERS).StoragePayer!;
import { balanceAt, logEntries, ownerFlows, p2pAddress, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const MINERS = 2;
const SECTOR = 1 << 20;
const dir = tempDir('bcr-deals-');
const ownerKey = new Uint8Array(randomBytes(32));
const OWNER = toChecksumAddress(addressOf(ownerKey));
const genesis = devnetGenesis({
  miners: MINERS,
  nowMs: Date.now(),
  startDelayMs: 5000,
  slotMs: 250,
  finality: 20,
  proofProfile: 'devnet',
  owners: [OWNER],
  minerParams: { provingPeriod: 40, deadlines: 4, seedDelay: 2, faultMaxPeriods: 1, powerLookback: 2, randomnessLookback: 2, maxProveCommitDelay: 100, maxSealRandAge: 50 },
});
const nodes: RunningNode[] = [];
const ENV = { BCR_PASSWORD: 'client-password' };
const keys = ['--keystore', join(dir.path, 'keystore')];
const DEV = toChecksumAddress(addressOf(DEV_KEY));
/** 1000 atto per slot and 5000 atto of provider collateral for a 1 MiB piece. */
const PRICE_PER_GIB_SLOT = 1024n * 1000n;
const COLLATERAL_PER_GIB = 1024n * 5000n;

const dataDir = (i: number) => join(dir.path, `node-${i}`);
afterAll(async () => {
  for (const node of nodes) if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

beforeAll(async () => {
  for (let i = 0; i <= MINERS; i++) {
    const bootstrap = nodes.map(p2pAddress);
    const args = prepareDevnetNode({ dataDir: dataDir(i), genesisJson: devnetGenesisJson(genesis), index: i, miners: MINERS, rpcPort: 0, p2pPort: 0, bootstrap });
    // The provider serves metrics: its deal counts must agree with `bcr miner deals`.
    nodes[i] = await startNodeProcess(i === 0 ? [...args, '--metrics-port', '0'] : args, 60_000);
  }
}, 180_000);

const cli = async (args: string[]) => {
  const result = await runCli(args, ENV);
  if (result.code !== 0) throw new Error(`bcr ${args.join(' ')} failed:\n${result.stderr}`);
  return result;
};

interface DealEventJson {
  kind: string;
  deal: number;
  amount: string;
  refund: string;
  burned: string;
  height: number;
  blockId: string;
  removed: boolean;
}
interface DealJson {
  deal: number;
  state: string;
  sector: number | null;
  pricePerSlot: string;
  settledSlots: number;
  endSlot: number;
  settledToSlot: number;
  providerCollateral: string;
  clientCollateral: string;
}
interface Escrow {
  total: string;
  locked: string;
  available: string;
}

/**
 * dealEvents of one client from a node, from the moment of subscribing: the canonical ones (an event
 * a reorg took back arrives again with removed: true and cancels the first).
 */
async function watchDealEvents(url: string, client: string): Promise<{ readonly events: DealEventJson[]; close(): void }> {
  const ws = new WebSocket(url.replace('http', 'ws'));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let events: DealEventJson[] = [];
  const same = (a: DealEventJson, b: DealEventJson) => a.blockId === b.blockId && a.deal === b.deal && a.kind === b.kind;
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { method?: string; params?: { result: DealEventJson } };
    if (message.method !== 'bcr_subscription') return;
    const event = message.params!.result;
    if (event.removed) events = events.filter((e) => !same(e, event));
    else events.push(event);
  });
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_subscribe', params: ['dealEvents', { client }] }));
  return {
    get events() {
      return events;
    },
    close: () => ws.close(),
  };
}

describe('storage deals across a devnet', () => {
  let client = '';
  let manifest: { pieces: { index: number; offset: number; length: number; pieceCommitment: string; pieceBytes: number; deal: number; sector: number }[] };
  let file: Uint8Array;
  let watch: Awaited<ReturnType<typeof watchDealEvents>>;
  let escrowAtStart: bigint;

  it('stores a 3 MiB file with one miner, pays it as proofs land, and reads the file back from the unsealed copy', async () => {
    const [provider, , observer] = nodes as [RunningNode, RunningNode, RunningNode];
    await cli(['miner', 'ask', 'set', '--price', String(PRICE_PER_GIB_SLOT), '--min-piece', '256B', '--max-piece', '1MiB', '--collateral', String(COLLATERAL_PER_GIB), '--data-dir', dataDir(0), '--rpc', provider.rpcUrl]);
    // The miner's node put its addresses on chain; its ask reaches the client's node by gossip.
    await waitFor('miner 1\'s addresses on chain', async () => (await rpc<{ multiaddrs: string[] }>(observer.rpcUrl, 'bcr_getMiner', [1])).multiaddrs.length > 0, 60_000, 250);
    await waitFor('the ask at the client\'s node', async () => (await rpc<{ miner: number }[]>(observer.rpcUrl, 'bcr_listAsks')).find((a) => a.miner === 1), 60_000, 250).catch((error: unknown) => {
      throw new Error(`${String(error)}; provider: ${provider.logs.filter((l) => /ask|gossip/i.test(l)).slice(-5).join('\n')}; observer: ${observer.logs.filter((l) => /ask|gossip|order/i.test(l)).slice(-5).join('\n')}`);
    });

    const clientKeyFile = join(dir.path, 'client.key');
    writeFileSync(clientKeyFile, toHex(new Uint8Array(randomBytes(32))));
    client = (JSON.parse((await cli(['wallet', 'import', '--key-file', clientKeyFile, ...keys, '--light-kdf', '--json'])).stdout) as { address: string }).address;
    const devKeyFile = join(dir.path, 'dev.key');
    writeFileSync(devKeyFile, toHex(DEV_KEY));
    await cli(['wallet', 'import', '--key-file', devKeyFile, ...keys, '--light-kdf']);
    await cli(['wallet', 'send', '--from', DEV, '--to', client, '--amount', '1', ...keys, '--wait', '--rpc', observer.rpcUrl]);
    // A contract funds the client's escrow (msg.value through the market system contract).
    const provider1 = new JsonRpcProvider(observer.rpcUrl, undefined, { pollingInterval: 100 });
    const payer = (await new ContractFactory(payerContract.abi as never, payerContract.bytecode, new Wallet(toHex(DEV_KEY), provider1)).deploy()) as Contract;
    await payer.waitForDeployment();
    await (await (payer.fund as (client: string, o: object) => Promise<{ wait(): Promise<unknown> }>)(client, { value: bcr(1) / 100n })).wait();
    escrowAtStart = bcr(1) / 100n;
    expect(await rpc<Escrow>(observer.rpcUrl, 'bcr_getEscrow', [client])).toMatchObject({ total: String(escrowAtStart), locked: '0' });
    watch = await watchDealEvents(observer.rpcUrl, client);

    file = new Uint8Array(randomBytes(3 * SECTOR));
    const path = join(dir.path, 'file.bin');
    writeFileSync(path, file);
    const deal = await cli(['client', 'deal', path, '--miner', '1', '--duration', '2000', '--start-in', '48', '--from', client, ...keys, '--wait', '--json', '--rpc', observer.rpcUrl]);
    manifest = JSON.parse(deal.stdout) as typeof manifest;
    expect(manifest.pieces.map((p) => [p.offset, p.length, p.pieceBytes])).toEqual([0, 1, 2].map((i) => [i * SECTOR, SECTOR, SECTOR]));
    expect(deal.stderr).toMatch(/piece 3\/3: 1\.0 MiB of 1\.0 MiB \(100%\)/);
    expect(deal.stderr).toMatch(/deal \d+ active/);

    const sectors = await rpc<{ sector: number; state: string; commD: string }[]>(observer.rpcUrl, 'bcr_getSectors', [1]);
    for (const piece of manifest.pieces) {
      const sector = sectors.find((s) => s.sector === piece.sector)!;
      expect(sector.state).toBe('active');
      expect(sector.commD).toBe(toHex(unsealedCommD([{ commitment: fromHex(piece.pieceCommitment), bytes: piece.pieceBytes }], SECTOR)!));
    }
    const ids = manifest.pieces.map((p) => p.deal);
    await waitFor('published and activated events', async () => ids.every((id) => watch.events.some((e) => e.deal === id && e.kind === 'activated')), 30_000, 100);
    for (const id of ids) expect(watch.events.filter((e) => e.deal === id).map((e) => e.kind).slice(0, 2)).toEqual(['published', 'activated']);
    // The contract reads the client's deals on chain through the market system contract.
    for (const id of ids) {
      await waitFor(`deal ${id} active as a contract sees it`, () => (payer.dealActive as (id: bigint) => Promise<boolean>)(BigInt(id)), 30_000, 200);
      expect(await (payer.dealClient as (id: bigint) => Promise<string>)(BigInt(id))).toBe(client);
    }

    // Payment: between two heads, the owner (who signs nothing) gains exactly its blocks' rewards
    // plus the deal payments, which are the price times the slots settled, and the client's escrow
    // falls by the same.
    const snapshot = async () => {
      for (;;) {
        const head = await rpc<{ id: string }>(observer.rpcUrl, 'bcr_chainHead');
        const owner = await balanceAt(observer, OWNER);
        const escrow = await rpc<Escrow>(observer.rpcUrl, 'bcr_getEscrow', [client]);
        const deals = await Promise.all(ids.map((id) => rpc<DealJson>(observer.rpcUrl, 'bcr_getDeal', [id])));
        if ((await rpc<{ id: string }>(observer.rpcUrl, 'bcr_chainHead')).id === head.id) return { ...owner, escrow, deals };
      }
    };
    const first = await snapshot();
    await waitFor('a later payment of every deal', async () => ids.every((id) => watch.events.some((e) => e.deal === id && e.kind === 'payment' && e.height > first.height)), 90_000, 250);
    const second = await snapshot();
    const owed = second.deals.reduce((sum, d, i) => sum + BigInt(d.pricePerSlot) * BigInt(d.settledSlots - first.deals[i]!.settledSlots), 0n);
    expect(owed).toBeGreaterThan(0n);
    const paidEvents = watch.events.filter((e) => e.kind === 'payment' && e.height > first.height && e.height <= second.height).reduce((sum, e) => sum + BigInt(e.amount), 0n);
    expect(paidEvents).toBe(owed);
    expect(second.balance - first.balance - (await ownerFlows(observer, 1, OWNER, first.height, second.height))).toBe(owed);
    expect(BigInt(first.escrow.total) - BigInt(second.escrow.total)).toBe(owed);

    // The provider's unsealed copies hold the file, bit for bit.
    const minerDeals = async () => JSON.parse((await cli(['miner', 'deals', '--json', '--data-dir', dataDir(0), '--rpc', provider.rpcUrl])).stdout) as { deal: number; stage: string; unsealedPath: string; offset: number }[];
    const local = await minerDeals();
    for (const piece of manifest.pieces) {
      const copy = local.find((d) => d.deal === piece.deal)!;
      const unsealed = readFileSync(copy.unsealedPath);
      expect(Buffer.compare(unsealed.subarray(copy.offset, copy.offset + piece.length), Buffer.from(file.subarray(piece.offset, piece.offset + piece.length)))).toBe(0);
    }
    // bcr_market_deals{state} counts the very rows `bcr miner deals` lists, by the stage it shows.
    const metricsUrl = logEntries<{ url: string }>(provider, 'Metrics listening')[0]!.url;
    const byStage = (rows: { stage: string }[]) => Object.fromEntries([...new Set(rows.map((r) => r.stage))].sort().map((stage) => [stage, rows.filter((r) => r.stage === stage).length]));
    const scraped = async () => Object.fromEntries(parsePrometheus(await (await fetch(metricsUrl)).text()).find((f) => f.name === 'bcr_market_deals')!.metrics.map((m) => [m.labels!.state!, Number(m.value)]).sort());
    await waitFor('bcr_market_deals to agree with bcr miner deals', async () => JSON.stringify(await scraped()) === JSON.stringify(byStage(await minerDeals())), 20_000, 500).catch(async () => expect(await scraped()).toEqual(byStage(await minerDeals())));
    expect((await scraped()).active).toBe(local.filter((d) => d.stage === 'active').length);

    // From the manifest alone the client gets the original file back: every piece fetched from its
    // miner over the retrieval protocol, chunks verified, written at its offset.
    const manifestPath = join(dir.path, 'file.manifest.json');
    writeFileSync(manifestPath, deal.stdout);
    const restored = join(dir.path, 'file.restored');
    const retrieved = JSON.parse((await cli(['client', 'retrieve', '--manifest', manifestPath, '--out', restored, '--json', '--rpc', observer.rpcUrl])).stdout) as { bytes: number; pieces: number };
    expect(retrieved).toMatchObject({ bytes: file.length, pieces: 3 });
    expect(Buffer.compare(readFileSync(restored), Buffer.from(file))).toBe(0);
  }, 300_000);

  it('slashes the deals when the provider loses the data: the client gets the unpaid rest and half the collateral back', async () => {
    const [provider, , observer] = nodes as [RunningNode, RunningNode, RunningNode];
    const ids = manifest.pieces.map((p) => p.deal);
    const local = JSON.parse((await cli(['miner', 'deals', '--json', '--data-dir', dataDir(0), '--rpc', provider.rpcUrl])).stdout) as { deal: number; sector: number; unsealedPath: string }[];
    for (const piece of manifest.pieces) {
      const copy = local.find((d) => d.deal === piece.deal)!;
      rmSync(join(dataDir(0), 'miner', 'sectors', String(copy.sector)), { recursive: true, force: true });
      rmSync(copy.unsealedPath, { force: true });
    }
    await waitFor('every deal slashed', async () => ids.every((id) => watch.events.some((e) => e.deal === id && e.kind === 'slashed')), 120_000, 250);
    watch.close();
    const deals = await Promise.all(ids.map((id) => rpc<DealJson>(observer.rpcUrl, 'bcr_getDeal', [id])));
    expect(deals.map((d) => d.state)).toEqual(['slashed', 'slashed', 'slashed']);
    const sectors = await rpc<{ sector: number; state: string }[]>(observer.rpcUrl, 'bcr_getSectors', [1]);
    for (const piece of manifest.pieces) expect(sectors.find((s) => s.sector === piece.sector)?.state).toBe('terminated');
    for (const d of deals) {
      const slashed = watch.events.find((e) => e.deal === d.deal && e.kind === 'slashed')!;
      expect(BigInt(slashed.refund)).toBe(BigInt(d.pricePerSlot) * BigInt(d.endSlot - d.settledToSlot) + BigInt(d.clientCollateral));
      expect(BigInt(slashed.amount)).toBe(BigInt(d.providerCollateral) / 2n);
      expect(BigInt(slashed.burned)).toBe(BigInt(d.providerCollateral) - BigInt(d.providerCollateral) / 2n);
    }
    // Everything the client put in is free again, less what proofs paid, plus its share of the collateral.
    const paid = watch.events.filter((e) => e.kind === 'payment').reduce((sum, e) => sum + BigInt(e.amount), 0n);
    const compensation = deals.reduce((sum, d) => sum + BigInt(d.providerCollateral) / 2n, 0n);
    expect(compensation).toBe(3n * 2500n);
    expect(await rpc<Escrow>(observer.rpcUrl, 'bcr_getEscrow', [client])).toEqual({ total: String(escrowAtStart - paid + compensation), locked: '0', available: String(escrowAtStart - paid + compensation) });
  }, 200_000);
});
