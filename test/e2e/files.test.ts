// Files across miners on a 5-node devnet (real processes on 127.0.0.1, 1 MiB sectors): a 10 MiB random
// file is put as 3 data + 2 parity shards over 5 distinct miners; a miner whose copy went bad is
// caught at the bad chunk and dropped, and the file still comes back; with two providers killed,
// `bcr client get` rebuilds the file bit for bit from the other three; every provider redeems exactly
// what the client paid it (price x bytes served) on its payment channel. A put killed midway is
// finished by a rerun; node 0's gateway, given the manifest root id, rebuilds that erasure-coded file
// and serves it by CID.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { vrfPublicKey } from '../../src/consensus/index.js';
import { signOrder } from '../../src/market/index.js';
import { CarBlockIterator } from '@ipld/car/iterator';
import { CID, exportTo, importBytes, verifyBlock } from '../../src/content/index.js';
import { addressOf, sha256, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { createMinerKind, createMinerPayload } from '../../src/state/index.js';
import { DEV_KEY, kindTx, tempDir, transferTx } from '../helpers/chain.js';
import { logEntries, p2pAddress, rpc, runCli, runCliKilled, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const MINERS = 5;
const dir = tempDir('bcr-files-');
const genesis = devnetGenesis({ miners: MINERS, nowMs: Date.now(), startDelayMs: 8000, slotMs: 500, finality: 20, proofProfile: 'devnet', minerParams: { provingPeriod: 40, seedDelay: 2, powerLookback: 2, randomnessLookback: 2 } });
const nodes: RunningNode[] = [];
const ENV = { BCR_PASSWORD: 'pw' };
const keys = ['--keystore', join(dir.path, 'keystore')];
const dataDir = (i: number) => join(dir.path, `node-${i}`);
const sha = (bytes: Uint8Array) => `0x${createHash('sha256').update(bytes).digest('hex')}`;
const cidOf = async (bytes: Uint8Array) => (await importBytes(bytes, { put: async () => {} })).cid.toString();

beforeAll(async () => {
  for (let i = 0; i < MINERS; i++) {
    const bootstrap = nodes.map(p2pAddress);
    // Node 0 runs a gateway: it serves erasure-coded files by CID once added (bcr gateway add).
    nodes[i] = await startNodeProcess([...prepareDevnetNode({ dataDir: dataDir(i), genesisJson: devnetGenesisJson(genesis), index: i, miners: MINERS, rpcPort: 0, p2pPort: 0, bootstrap }), ...(i === 0 ? ['--gateway-port', '0'] : [])], 60_000);
  }
}, 240_000);
afterAll(async () => {
  for (const node of nodes) if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const cli = async (args: string[], rpcUrl = nodes[0]!.rpcUrl) => {
  const result = await runCli(args[0] === 'wallet' && args[1] === 'import' ? args : [...args, '--rpc', rpcUrl], ENV);
  if (result.code !== 0) {
    const miners = nodes.map((n, i) => `node ${i}: ${n.logs.filter((l) => /fail|expired|Sealing failed|refused|Pre-commit|dropped/i.test(l)).slice(-4).join('\n')}`);
    throw new Error(`bcr ${args.join(' ')} failed:\n${result.stderr.split('\n').slice(-6).join('\n')}\n${miners.join('\n')}`);
  }
  return result;
};

async function sendTx(raw: Uint8Array): Promise<void> {
  const id = await rpc<string>(nodes[0]!.rpcUrl, 'bcr_sendRawTransaction', [toHex(raw)]);
  const receipt = await waitFor('the receipt', () => rpc<{ status: string; error: string | null } | null>(nodes[0]!.rpcUrl, 'bcr_getTransactionReceipt', [id]), 60_000, 100);
  expect(receipt).toMatchObject({ status: 'ok' });
}

describe('files across miners', () => {
  it('puts a file as 3+2 shards on 5 miners and gets it back past a bad copy and two dead providers, paying each exactly', async () => {
    for (let i = 0; i < MINERS; i++) {
      await cli(['miner', 'ask', 'set', '--price', '1024', '--min-piece', '256B', '--max-piece', '1MiB', '--collateral', '0', '--data-dir', dataDir(i)], nodes[i]!.rpcUrl);
      await cli(['miner', 'retrieval-ask', 'set', '--price', '1', '--data-dir', dataDir(i)], nodes[i]!.rpcUrl);
    }
    await waitFor('five asks with addresses at node 0', async () => (await rpc<{ multiaddrs: string[] }[]>(nodes[0]!.rpcUrl, 'bcr_listAsks')).filter((a) => a.multiaddrs.length > 0).length === MINERS, 90_000, 250);
    writeFileSync(join(dir.path, 'client.key'), toHex(new Uint8Array(randomBytes(32))));
    const client = (JSON.parse((await cli(['wallet', 'import', '--key-file', join(dir.path, 'client.key'), ...keys, '--light-kdf', '--json'])).stdout) as { address: string }).address;
    writeFileSync(join(dir.path, 'dev.key'), toHex(DEV_KEY));
    await cli(['wallet', 'import', '--key-file', join(dir.path, 'dev.key'), ...keys, '--light-kdf']);
    await cli(['wallet', 'send', '--from', toChecksumAddress(addressOf(DEV_KEY)), '--to', client, '--amount', '10', ...keys, '--wait']);
    await cli(['client', 'escrow', 'add', '--from', client, '--amount', '1', ...keys]);

    const file = new Uint8Array(randomBytes(10 << 20));
    writeFileSync(join(dir.path, 'file.bin'), file);
    // A stranger registers a sixth miner and posts the cheapest ask, with addresses nobody can dial
    // (one is not even a multiaddr): `--miners auto` must skip it, not fail on it.
    const strangerKey = sha256(new Uint8Array(randomBytes(32)));
    const devNonce = await rpc<number>(nodes[0]!.rpcUrl, 'bcr_getNonce', [toChecksumAddress(addressOf(DEV_KEY)), 'pending']);
    await sendTx(transferTx(DEV_KEY, devNonce, addressOf(strangerKey), 10n ** 18n, 1n, genesis.params.chainId));
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    await sendTx(kindTx(strangerKey, 0, createMinerKind, createMinerPayload, { worker: addressOf(strangerKey), vrfKey: vrfPublicKey(strangerKey), peerId, multiaddrs: ['not-a-multiaddr', '/ip4/127.0.0.1/tcp/1'] }, genesis.params.chainId));
    expect((await rpc<{ owner: string }>(nodes[0]!.rpcUrl, 'bcr_getMiner', [MINERS + 1])).owner).toBe(toChecksumAddress(addressOf(strangerKey)));
    const slot = (await rpc<{ slot: number }>(nodes[0]!.rpcUrl, 'bcr_chainHead')).slot;
    const cheapest = signOrder('storageAsk', { miner: MINERS + 1, pricePerGiBSlot: 1n, minPieceBytes: 256, maxPieceBytes: 1 << 20, collateralPerGiB: 0n, expirySlot: slot + 2000, seq: 1 }, strangerKey, genesis.params.chainId);
    await rpc(nodes[0]!.rpcUrl, 'bcr_submitOrder', ['storageAsk', toHex(cheapest)]);
    expect((await rpc<{ miner: number }[]>(nodes[0]!.rpcUrl, 'bcr_listAsks'))[0]!.miner).toBe(MINERS + 1);

    const putRun = await cli(['client', 'put', join(dir.path, 'file.bin'), '--data-shards', '3', '--parity-shards', '2', '--miners', 'auto', '--duration', '4000', '--start-in', '240', '--from', client, ...keys, '--wait', '--json']);
    const put = JSON.parse(putRun.stdout) as { cid: string; root: string; sha256: string; shards: { index: number; miner: number }[] };
    expect(putRun.stderr).toMatch(new RegExp(`skipping miner ${MINERS + 1} cannot be reached`));
    // The root is given as soon as any three shards and a manifest are active, before the last of them.
    const early = putRun.stderr.indexOf(`retrievable now: `);
    expect(early, putRun.stderr).toBeGreaterThan(0);
    expect(putRun.stderr.slice(early)).toMatch(new RegExp(`^retrievable now: [345] of 5 shards active, root ${put.root}`));
    expect(putRun.stderr.indexOf('all 5 shards and manifests active')).toBeGreaterThan(early);
    // The shards encode the file's CAR, under the CID any IPFS importer gives the file.
    expect(put.cid).toBe(await cidOf(file));
    expect(new Set(put.shards.map((s) => s.miner))).toEqual(new Set([1, 2, 3, 4, 5]));
    const ls = JSON.parse((await cli(['client', 'ls', ...keys, '--json'])).stdout) as { root: string; shards: { deals: { state: string }[] }[] }[];
    expect(ls.find((f) => f.root === put.root)!.shards.flatMap((s) => s.deals.map((d) => d.state)).every((state) => state === 'active')).toBe(true);

    // A plain get first (every provider serves its shard).
    const plain = JSON.parse((await cli(['client', 'get', put.root, join(dir.path, 'plain.bin'), '--from', client, ...keys, '--json'])).stdout) as { penalised: number[]; paid: Record<string, string> };
    expect(sha(readFileSync(join(dir.path, 'plain.bin')))).toBe(sha(file));
    expect(plain.penalised).toEqual([]);

    // Miner 1's copy goes bad in one chunk while it serves: caught there, dropped and penalised; the others suffice.
    const local = JSON.parse((await cli(['miner', 'deals', '--json', '--data-dir', dataDir(0)], nodes[0]!.rpcUrl)).stdout) as { unsealedPath: string | null; offset: number | null; pieceBytes: number }[];
    const copy = local.find((d) => d.unsealedPath && d.pieceBytes === 1 << 20)!;
    const fd = openSync(copy.unsealedPath!, 'r+');
    const original = new Uint8Array(1);
    readSync(fd, original, 0, 1, copy.offset! + 300_000);
    writeSync(fd, new Uint8Array([original[0]! ^ 0xff]), 0, 1, copy.offset! + 300_000);
    closeSync(fd);
    const first = await cli(['client', 'get', put.root, join(dir.path, 'first.bin'), '--from', client, ...keys, '--json']);
    expect(sha(readFileSync(join(dir.path, 'first.bin')))).toBe(sha(file));
    const firstResult = JSON.parse(first.stdout) as { penalised: number[]; paid: Record<string, string> };
    expect(first.stderr).toMatch(/from miner 1: served a bad chunk, dropped and penalised \(BAD_CHUNK: chunk 1 does not prove/);
    expect(firstResult.penalised).toEqual([1]);
    // Repair miner 1's copy, then kill two providers (not the client's node).
    const repair = openSync(copy.unsealedPath!, 'r+');
    writeSync(repair, original, 0, 1, copy.offset! + 300_000);
    closeSync(repair);
    for (const i of [3, 4]) await stopProcess(nodes[i]!, 'SIGKILL');
    const got = JSON.parse((await cli(['client', 'get', put.root, join(dir.path, 'out.bin'), '--from', client, ...keys, '--json'])).stdout) as { sha256: string; paid: Record<string, string> };
    expect(Buffer.compare(readFileSync(join(dir.path, 'out.bin')), Buffer.from(file))).toBe(0);

    // Payment: each surviving provider redeems exactly what the client paid it over both gets; a
    // provider that served only good chunks holds vouchers for exactly the bytes it served.
    const channels = await rpc<{ channel: number; to: string; redeemed: string }[]>(nodes[0]!.rpcUrl, 'bcr_listPaymentChannels', [client, 'from']);
    for (const miner of [1, 2, 3]) {
      const paid = [plain, firstResult, got].reduce((sum, r) => sum + BigInt(r.paid[String(miner)] ?? '0'), 0n);
      const worker = (await rpc<{ worker: string }>(nodes[0]!.rpcUrl, 'bcr_getMiner', [miner])).worker;
      const channel = channels.find((c) => c.to === worker);
      expect(channel).toBeDefined();
      expect(paid).toBeGreaterThan(0n);
      await waitFor(`miner ${miner}'s vouchers redeemed`, async () => BigInt((await rpc<{ redeemed: string }>(nodes[0]!.rpcUrl, 'bcr_getPaymentChannel', [channel!.channel])).redeemed) === paid, 30_000, 250);
      const retrievals = JSON.parse((await cli(['miner', 'retrievals', '--json', '--data-dir', dataDir(miner - 1)], nodes[miner - 1]!.rpcUrl)).stdout) as { channels: { channel: number; voucherAmount: string; servedBytes: string }[] };
      const served = retrievals.channels.find((c) => c.channel === channel!.channel)!;
      expect(BigInt(served.voucherAmount)).toBe(paid);
      if (!firstResult.penalised.includes(miner)) expect(BigInt(served.servedBytes)).toBe(paid); // 1 atto per byte
    }
  }, 400_000);

  it('finishes a put killed at any point when it is run again, storing each shard once, and a node gateway serves it by CID', async () => {
    // Miners 1-3 are still up (the test above killed 4 and 5).
    const client = (JSON.parse((await runCli(['wallet', 'list', ...keys, '--json'])).stdout) as { address: string }[]).map((w) => w.address).find((a) => a !== toChecksumAddress(addressOf(DEV_KEY)))!;
    const file = new Uint8Array(randomBytes(600_000));
    const path = join(dir.path, 'crash.bin');
    writeFileSync(path, file);
    const dealCount = async () => (await rpc<unknown[]>(nodes[0]!.rpcUrl, 'bcr_listDeals', [{ client }])).length;
    const before = await dealCount();
    const putArgs = ['client', 'put', path, '--data-shards', '2', '--parity-shards', '1', '--miners', '1,2,3', '--duration', '4000', '--start-in', '400', '--from', client, ...keys, '--json', '--rpc', nodes[0]!.rpcUrl];
    // (A kill during a durable write leaves its hidden temporary file behind: not a journal.)
    const journals = () => (existsSync(join(dir.path, 'puts')) ? readdirSync(join(dir.path, 'puts')).filter((n) => n.endsWith('.json') && !n.startsWith('.') && !n.includes('.retired-')) : []);
    // Killed once its journal is on disk (nothing sent yet), then mid-shards, then while the manifests go out.
    // The middle one is a Ctrl-C: the put says what stands and exits 130.
    const killPoints: [(stderr: string) => boolean, NodeJS.Signals][] = [
      [() => journals().length > 0, 'SIGKILL'],
      [(stderr) => stderr.includes('shard 2/3 '), 'SIGINT'],
      [(stderr) => stderr.includes('manifest 1/3 '), 'SIGKILL'],
    ];
    let finished: { code: number | null; stdout: string; stderr: string } | null = null;
    let kills = 0;
    for (const [trigger, signal] of killPoints) {
      const run = await runCliKilled(putArgs, ENV, trigger, 0, signal);
      if (run.killed && signal === 'SIGINT') {
        expect(run.code, run.stderr).toBe(130);
        expect(run.stderr).toMatch(/interrupted: every deal signed so far is recorded in .*puts.*run the same bcr client put again to finish it without new deals/);
      }
      // The journal is on disk before the first proposal leaves: the first run is always cut off.
      if (kills === 0) expect(run.killed, 'the put was never cut off').toBe(true);
      if (run.killed) kills++;
      if (!run.killed) {
        expect(run.code, run.stderr).toBe(0);
        finished = run;
        break;
      }
      expect(journals()).toHaveLength(1);
    }
    if (!finished) {
      finished = await runCli(putArgs, ENV);
      expect(finished.code, finished.stderr).toBe(0);
      expect(finished.stderr).toContain('resuming the put of crash.bin started earlier');
    }
    expect(journals()).toEqual([]);
    console.log(`put killed ${kills} time(s) before it finished`);
    const put = JSON.parse(finished.stdout) as { cid: string; root: string };
    expect(put.cid).toBe(await cidOf(file));
    // Three shards and three manifests: one deal each, however many runs sent them.
    expect((await dealCount()) - before).toBe(6);
    // By its CID (this client's record names the manifest).
    await cli(['client', 'get', put.cid, join(dir.path, 'crash-out.bin'), '--from', client, ...keys]);
    expect(sha(readFileSync(join(dir.path, 'crash-out.bin')))).toBe(sha(file));
    const ls = JSON.parse((await cli(['client', 'ls', ...keys, '--json'])).stdout) as { root: string | null }[];
    expect(ls.map((f) => f.root)).toContain(put.root);
    // The same put once more: already stored, nothing new signed or paid.
    const again = await runCli(putArgs, ENV);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`crash.bin is already stored as ${put.root}: nothing new is sent`);
    expect((JSON.parse(again.stdout) as { root: string }).root).toBe(put.root);
    expect((await dealCount()) - before).toBe(6);

    // Node 0's gateway serves the erasure-coded file by CID once added: it fetches the shards from the
    // miners (free now), rebuilds the DAG and answers any IPFS client, every block checkable.
    for (const i of [0, 1, 2]) await cli(['miner', 'retrieval-ask', 'set', '--price', '0', '--data-dir', dataDir(i)], nodes[i]!.rpcUrl);
    const gatewayUrl = await waitFor('the gateway address', async () => logEntries<{ url: string }>(nodes[0]!, 'IPFS gateway listening')[0]?.url, 30_000, 50);
    expect((await fetch(`${gatewayUrl}ipfs/${put.cid}?format=raw`)).status).toBe(404);
    const added = JSON.parse((await cli(['gateway', 'add', put.root, '--wait', '--json', '--data-dir', dataDir(0)])).stdout) as { status: string; cid: string };
    expect(added).toMatchObject({ status: 'ready', cid: put.cid });
    const car = await fetch(`${gatewayUrl}ipfs/${put.cid}?format=car`);
    expect(car.status).toBe(200);
    const iterator = await CarBlockIterator.fromBytes(new Uint8Array(await car.arrayBuffer()));
    expect((await iterator.getRoots()).map(String)).toEqual([put.cid]);
    const blocks = new Map<string, Uint8Array>();
    for await (const block of iterator) {
      await verifyBlock(block.cid, block.bytes);
      blocks.set(block.cid.toString(), block.bytes);
    }
    const fromGateway = join(dir.path, 'gateway-out.bin');
    await exportTo(CID.parse(put.cid), { get: async (cid) => blocks.get(cid.toString())! }, fromGateway);
    expect(sha(readFileSync(fromGateway))).toBe(sha(file));
    const served = JSON.parse((await cli(['gateway', 'ls', '--json'])).stdout) as { root: string; status: string }[];
    expect(served).toEqual([expect.objectContaining({ root: put.root, status: 'ready' })]);
  }, 400_000);
});
