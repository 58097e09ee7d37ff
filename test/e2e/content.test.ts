// Files as CIDs across miners, end to end (3 `bcr node` processes on 127.0.0.1, each serving its
// gateway): a directory put with --replicas 2 is stored as CARs of whole blocks with two miners under
// the CID the reference importer gives it; `bcr client get CID` fetches it from both at once, every
// block checked, bit for bit; the same put again stores and pays nothing; --replicas 3 adds only the
// third copy; a miner whose gateway asks a price is left out by a client that does not pay and paid
// price x verified bytes by one that does; a miner whose stored block went bad and a dead miner do
// not stop a get.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importPath } from '../../src/content/index.js';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { addressOf, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { DEV_KEY, tempDir } from '../helpers/chain.js';
import { p2pAddress, rpc, runCli, runCliKilled, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const MINERS = 3;
const dir = tempDir('bcr-content-e2e-');
const genesis = devnetGenesis({ miners: MINERS, nowMs: Date.now(), startDelayMs: 6000, slotMs: 500, finality: 20, proofProfile: 'devnet', minerParams: { provingPeriod: 40, seedDelay: 2, powerLookback: 2, randomnessLookback: 2 } });
const nodes: RunningNode[] = [];
const ENV = { BCR_PASSWORD: 'pw' };
const keys = ['--keystore', join(dir.path, 'keystore')];
const dataDir = (i: number) => join(dir.path, `node-${i}`);

beforeAll(async () => {
  for (let i = 0; i < MINERS; i++) {
    const bootstrap = nodes.map(p2pAddress);
    nodes[i] = await startNodeProcess([...prepareDevnetNode({ dataDir: dataDir(i), genesisJson: devnetGenesisJson(genesis), index: i, miners: MINERS, rpcPort: 0, p2pPort: 0, bootstrap }), '--gateway-port', '0'], 60_000);
  }
}, 200_000);
afterAll(async () => {
  for (const node of nodes) if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const cli = async (args: string[], rpcUrl = nodes[0]!.rpcUrl) => {
  const result = await runCli(args[0] === 'wallet' && args[1] === 'import' ? args : [...args, '--rpc', rpcUrl], ENV);
  if (result.code !== 0) throw new Error(`bcr ${args.join(' ')} failed:\n${result.stderr.split('\n').slice(-8).join('\n')}`);
  return result;
};

/** Every file under `root`, by relative path, as its sha256. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(root, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(root);
  return out;
}

describe('files as CIDs across miners', () => {
  it('puts a directory with 2 replicas, gets it by CID from both at once, stores it once, adds a replica, pays a priced gateway, finishes a killed put, and survives a bad copy and a dead miner', async () => {
    for (let i = 0; i < MINERS; i++) await cli(['miner', 'ask', 'set', '--price', '1024', '--min-piece', '256B', '--max-piece', '1MiB', '--collateral', '0', '--data-dir', dataDir(i)], nodes[i]!.rpcUrl);
    // Each miner announces its gateway on chain beside its libp2p addresses.
    await waitFor('three gateways on chain', async () => {
      let count = 0;
      for (let m = 1; m <= MINERS; m++) if ((await rpc<{ multiaddrs: string[] }>(nodes[0]!.rpcUrl, 'bcr_getMiner', [m])).multiaddrs.some((a) => a.endsWith('/http'))) count++;
      return count === MINERS;
    }, 90_000, 250);
    await waitFor('three asks at node 0', async () => (await rpc<unknown[]>(nodes[0]!.rpcUrl, 'bcr_listAsks')).length === MINERS, 60_000, 250);
    writeFileSync(join(dir.path, 'client.key'), toHex(new Uint8Array(randomBytes(32))));
    const client = (JSON.parse((await cli(['wallet', 'import', '--key-file', join(dir.path, 'client.key'), ...keys, '--light-kdf', '--json'])).stdout) as { address: string }).address;
    writeFileSync(join(dir.path, 'dev.key'), toHex(DEV_KEY));
    await cli(['wallet', 'import', '--key-file', join(dir.path, 'dev.key'), ...keys, '--light-kdf']);
    await cli(['wallet', 'send', '--from', toChecksumAddress(addressOf(DEV_KEY)), '--to', client, '--amount', '10', ...keys, '--wait']);
    await cli(['client', 'escrow', 'add', '--from', client, '--amount', '1', ...keys]);

    // A site: a photo of 1.5 MiB (six blocks), a page, and a nested file.
    const site = join(dir.path, 'site');
    mkdirSync(join(site, 'img'), { recursive: true });
    writeFileSync(join(site, 'img', 'photo.bin'), randomBytes(1_500_000));
    writeFileSync(join(site, 'index.html'), '<h1>stored once</h1>\n');
    writeFileSync(join(site, 'img', 'note.txt'), 'a note\n');
    const expectedCid = (await importPath(site, { put: async () => {} })).cid.toString();
    const dealCount = async () => (await rpc<unknown[]>(nodes[0]!.rpcUrl, 'bcr_listDeals', [{ client }])).length;

    const putArgs = ['client', 'put', site, '--replicas', '2', '--duration', '4000', '--start-in', '200', '--from', client, ...keys, '--json'];
    const putRun = await cli([...putArgs, '--wait']);
    const put = JSON.parse(putRun.stdout) as { cid: string; replicas: { miner: number; pieces: { deal: number }[] }[]; alreadyStored: boolean };
    expect(put.cid).toBe(expectedCid);
    expect(put.replicas).toHaveLength(2);
    expect(putRun.stderr).toMatch(/retrievable now from miner \d/);
    const pieces = put.replicas[0]!.pieces.length;
    expect(pieces).toBe(2); // ~1.5 MiB of CAR in 1 MiB pieces, cut at block boundaries
    const deals = await dealCount();
    expect(deals).toBe(2 * pieces);

    // From both miners at once, every block checked.
    const got = JSON.parse((await cli(['client', 'get', put.cid, join(dir.path, 'out'), ...keys, '--json'])).stdout) as { directory: boolean; files: number; providers: { miner: number; blocks: number }[]; liars: number[] };
    expect(got.directory).toBe(true);
    expect(got.files).toBe(3);
    expect(tree(join(dir.path, 'out'))).toEqual(tree(site));
    expect(got.providers.filter((p) => p.blocks > 0).map((p) => p.miner).sort()).toEqual(put.replicas.map((r) => r.miner).sort());
    expect(got.liars).toEqual([]);
    const ls = JSON.parse((await cli(['client', 'ls', ...keys, '--json'])).stdout) as { cid: string; replicas: { deals: { state: string }[] }[] }[];
    expect(ls.find((f) => f.cid === put.cid)!.replicas.flatMap((r) => r.deals.map((d) => d.state)).every((s) => s === 'active')).toBe(true);

    // Stored once: the same put again sends and pays nothing.
    const again = await cli(putArgs);
    expect((JSON.parse(again.stdout) as { alreadyStored: boolean }).alreadyStored).toBe(true);
    expect(again.stderr).toContain(`${put.cid} is already stored with 2 miner(s)`);
    expect(await dealCount()).toBe(deals);

    // A third replica: only the miner that lacks it is dealt with.
    const third = JSON.parse((await cli(['client', 'put', site, '--replicas', '3', '--duration', '4000', '--start-in', '200', '--from', client, ...keys, '--json', '--wait'])).stdout) as { added: number[]; replicas: { miner: number }[] };
    const thirdMiner = [1, 2, 3].find((m) => !put.replicas.some((r) => r.miner === m))!;
    expect(third.added).toEqual([thirdMiner]);
    expect(third.replicas).toHaveLength(3);
    expect(await dealCount()).toBe(3 * pieces);

    // The third miner's gateway asks a price: a client that does not pay is served by the free two;
    // one that pays (--from) opens a channel to the miner's worker and pays price x verified bytes.
    const paidNode = nodes[thirdMiner - 1]!.rpcUrl;
    await cli(['miner', 'retrieval-ask', 'set', '--price', '3', '--data-dir', dataDir(thirdMiner - 1)], paidNode);
    const unpaid = await cli(['client', 'get', put.cid, join(dir.path, 'unpaid'), ...keys, '--json']);
    expect(unpaid.stderr).toContain(`miner ${thirdMiner} dropped: asks 3 atto per byte`);
    expect(tree(join(dir.path, 'unpaid'))).toEqual(tree(site));
    const paidGet = await cli(['client', 'get', put.cid, join(dir.path, 'paid'), '--miners', String(thirdMiner), '--from', client, ...keys, '--json']);
    const paid = JSON.parse(paidGet.stdout) as { providers: { miner: number; bytes: number; paid: string }[] };
    expect(tree(join(dir.path, 'paid'))).toEqual(tree(site));
    expect(paidGet.stderr).toMatch(/opened payment channel \d+ to miner/);
    const [paidBy] = paid.providers;
    expect(BigInt(paidBy!.paid)).toBe(3n * BigInt(paidBy!.bytes));
    const worker = (await rpc<{ worker: string }>(nodes[0]!.rpcUrl, 'bcr_getMiner', [thirdMiner])).worker;
    const [channel] = (await rpc<{ channel: number; to: string }[]>(nodes[0]!.rpcUrl, 'bcr_listPaymentChannels', [client, 'from'])).filter((c) => c.to === worker);
    expect(channel).toBeDefined();
    const held = JSON.parse((await cli(['miner', 'retrievals', '--json', '--data-dir', dataDir(thirdMiner - 1)], paidNode)).stdout) as { channels: { channel: number; voucherAmount: string }[] };
    expect(held.channels.find((c) => c.channel === channel!.channel)!.voucherAmount).toBe(paidBy!.paid);
    await cli(['miner', 'retrieval-ask', 'set', '--price', '0', '--data-dir', dataDir(thirdMiner - 1)], paidNode);

    // A replicated put killed once its journal holds what it signed, and once mid-send, is finished by
    // running it again: each piece dealt once with each miner.
    const other = join(dir.path, 'other.bin');
    writeFileSync(other, randomBytes(700_000));
    const otherArgs = ['client', 'put', other, '--replicas', '2', '--miners', '1,2', '--duration', '4000', '--start-in', '300', '--from', client, ...keys, '--json', '--rpc', nodes[0]!.rpcUrl];
    const before = await dealCount();
    const journals = () => (existsSync(join(dir.path, 'puts')) ? readdirSync(join(dir.path, 'puts')).filter((n) => n.endsWith('.json') && !n.startsWith('.') && !n.includes('.retired-')) : []);
    const first = await runCliKilled(otherArgs, ENV, () => journals().length > 0);
    expect(first.killed, 'the put was never cut off').toBe(true);
    const second = await runCliKilled(otherArgs, ENV, (stderr) => stderr.includes('CAR 1/1'), 0, 'SIGINT');
    if (second.killed) expect(second.stderr).toMatch(/interrupted: every deal signed so far is recorded in .*puts/);
    const finished = await runCli(otherArgs, ENV);
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.stderr + second.stderr).toContain('resuming the put of');
    expect((JSON.parse(finished.stdout) as { cid: string }).cid).toMatch(/^bafy/);
    expect(journals()).toEqual([]);
    expect((await dealCount()) - before).toBe(2); // one piece, two miners

    // One miner's stored copy goes bad (a byte of the photo), another miner dies: the third serves it all.
    const [bad, dead] = put.replicas.map((r) => r.miner) as [number, number];
    const local = JSON.parse((await cli(['miner', 'deals', '--json', '--data-dir', dataDir(bad - 1)], nodes[bad - 1]!.rpcUrl)).stdout) as { unsealedPath: string | null; offset: number | null; pieceBytes: number }[];
    const copy = local.find((d) => d.unsealedPath && d.pieceBytes === 1 << 20)!;
    const fd = openSync(copy.unsealedPath!, 'r+');
    const byte = new Uint8Array(1);
    readSync(fd, byte, 0, 1, copy.offset! + 400_000);
    writeSync(fd, new Uint8Array([byte[0]! ^ 0xff]), 0, 1, copy.offset! + 400_000);
    closeSync(fd);
    await stopProcess(nodes[dead - 1]!, 'SIGKILL');
    const rpcUrl = nodes[thirdMiner - 1]!.rpcUrl;
    const after = JSON.parse((await cli(['client', 'get', put.cid, join(dir.path, 'after'), ...keys, '--json'], rpcUrl)).stdout) as { providers: { miner: number; blocks: number }[] };
    expect(tree(join(dir.path, 'after'))).toEqual(tree(site));
    expect(after.providers.find((p) => p.miner === thirdMiner)!.blocks).toBeGreaterThan(0);
  }, 400_000);
});
