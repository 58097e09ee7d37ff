// End to end: a real `bcr node` process on a temp data dir, driven over JSON-RPC on 127.0.0.1.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/primitives/index.js';
import { DEV_KEY, TEAM_ADDRESS, tempDir, transferTx } from '../helpers/chain.js';
import { createToken, readSecret, requestPermissions } from '../../src/rpc/auth.js';
import { rawPost, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-e2e-');
const nodes: RunningNode[] = [];
afterAll(async () => {
  for (const node of nodes) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

type Head = { height: number; id: string; slot: number; stateRoot: string };
const DEV = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const TEAM = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

describe('bcr node (process)', () => {
  it('mines, accepts a transfer, survives SIGKILL and resumes', async () => {
    const args = ['--network', 'test', '--data-dir', dir.path, '--rpc-port', '0', '--log-level', 'info'];
    const first = await startNodeProcess(args);
    nodes.push(first);
    const url = first.rpcUrl;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await waitFor('two blocks', async () => (await rpc<Head>(url, 'bcr_chainHead')).height >= 2);
    const block1 = await rpc<{ id: string; height: number }>(url, 'bcr_getBlockByHeight', [1]);
    expect(block1.height).toBe(1);
    expect(block1.id).toMatch(/^0x[0-9a-f]{64}$/);

    const teamBefore = BigInt((await rpc<{ balance: string }>(url, 'bcr_getBalance', [TEAM])).balance);
    const nonce = await rpc<number>(url, 'bcr_getNonce', [DEV, 'pending']);
    const raw = transferTx(DEV_KEY, nonce, TEAM_ADDRESS, 12_345n, 2n);
    const txId = await rpc<string>(url, 'bcr_sendRawTransaction', [toHex(raw)]);
    const receipt = await waitFor('receipt', () => rpc<{ status: string; height: number; fee: string } | null>(url, 'bcr_getTransactionReceipt', [txId]));
    expect(receipt).toMatchObject({ status: 'ok', fee: '42000' });
    const teamAfter = BigInt((await rpc<{ balance: string }>(url, 'bcr_getBalance', [TEAM])).balance);
    expect(teamAfter - teamBefore).toBe(12_345n);
    await expect(rpc(url, 'bcr_sendRawTransaction', [toHex(raw)])).rejects.toThrow(/NONCE_TOO_LOW|already/i);

    // The CLI on top of RPC, as a user would run it.
    const balance = await runCli(['wallet', 'balance', TEAM, '--rpc', url, '--json']);
    expect(JSON.parse(balance.stdout)).toMatchObject({ address: TEAM, balance: teamAfter.toString() });
    expect(JSON.parse((await runCli(['chain', 'tx', txId, '--rpc', url, '--json'])).stdout)).toMatchObject({ id: txId, receipt: { status: 'ok' } });
    expect(JSON.parse((await runCli(['chain', 'head', '--rpc', url, '--json'])).stdout).height).toBeGreaterThan(0);
    const history = JSON.parse((await runCli(['wallet', 'history', TEAM, '--blocks', '500', '--rpc', url, '--json'])).stdout);
    expect(history).toContainEqual(expect.objectContaining({ id: txId, direction: 'in', value: '12345', status: 'ok', fee: '42000' }));
    const keys = `${dir.path}-keys`;
    const keyFile = `${dir.path}-dev.key`;
    writeFileSync(keyFile, toHex(DEV_KEY));
    await runCli(['wallet', 'import', '--key-file', keyFile, '--keystore', keys, '--light-kdf'], { BCR_PASSWORD: 'pw' });
    const sent = await runCli(['wallet', 'send', '--from', DEV, '--to', TEAM, '--amount', '0.5', '--rpc', url, '--keystore', keys, '--wait', '--json'], { BCR_PASSWORD: 'pw' });
    expect(JSON.parse(sent.stdout)).toMatchObject({ status: 'ok', receipt: { status: 'ok' } });
    // More than the balance: refused at the door with the reason, no fee and no nonce spent.
    const nonceBefore = await rpc<number>(url, 'bcr_getNonce', [DEV, 'pending']);
    const tooMuch = await runCli(['wallet', 'send', '--from', DEV, '--to', TEAM, '--amount', '100000000', '--rpc', url, '--keystore', keys, '--wait'], { BCR_PASSWORD: 'pw' });
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(/^error: bcr_sendRawTransaction: spendable [\d.]+ BCR cannot cover this tx/);
    expect(await rpc<number>(url, 'bcr_getNonce', [DEV, 'pending'])).toBe(nonceBefore);
    expect((await runCli(['chain', 'block', 'nope', '--rpc', url])).stderr).toMatch(/^error: not a height/);

    const table = await rpc<{ total: string; miners: { miner: number; power: string }[] }>(url, 'bcr_getPowerTable');
    expect(table.miners).toEqual([expect.objectContaining({ miner: 1, power: String(4 * 2048) })]);
    expect(table.total).toBe(String(4 * 2048));
    expect(await rpc(url, 'bcr_getMiner', [1])).toMatchObject({ miner: 1, sectorSize: 2048, sectors: { active: 4 } });
    await expect(rpc(url, 'bcr_getMiner', [99])).rejects.toThrow(/does not exist/);
    const supply = await rpc<{ total: string; minted: string; circulating: string; foundation: string }>(url, 'bcr_supply');
    expect(BigInt(supply.total)).toBe(55_000_000n * 10n ** 18n + BigInt(supply.minted));
    expect(supply.foundation).toBe((35_000_000n * 10n ** 18n).toString());
    expect(await rpc(url, 'bcr_nodeInfo')).toMatchObject({ network: 'test', chainId: 3012 });
    expect(BigInt(await rpc<string>(url, 'bcr_gasPrice'))).toBeGreaterThanOrEqual(1n);
    expect(await rpc(url, 'bcr_finalizedHead')).toMatchObject({ height: expect.any(Number) });
    const issuance = await rpc<{ minted: string; slot: number }>(url, 'bcr_issuance');
    expect(BigInt(issuance.minted)).toBeGreaterThan(0n);
    const teamNow = BigInt((await rpc<{ balance: string }>(url, 'bcr_getBalance', [TEAM])).balance);
    expect(teamNow).toBe(teamAfter + 5n * 10n ** 17n);

    const headBeforeKill = await rpc<Head>(url, 'bcr_chainHead');
    await stopProcess(first, 'SIGKILL');

    const second = await startNodeProcess(args);
    nodes.push(second);
    const restarted = await rpc<Head>(second.rpcUrl, 'bcr_chainHead');
    expect(restarted.height).toBeGreaterThanOrEqual(headBeforeKill.height);
    const kept = await rpc<{ id: string }>(second.rpcUrl, 'bcr_getBlockByHeight', [headBeforeKill.height]);
    expect(kept.id).toBe(headBeforeKill.id);
    expect(BigInt((await rpc<{ balance: string }>(second.rpcUrl, 'bcr_getBalance', [TEAM])).balance)).toBe(teamAfter + 5n * 10n ** 17n);
    expect(await rpc(second.rpcUrl, 'bcr_getTransactionReceipt', [txId])).toMatchObject({ status: 'ok', height: receipt.height });
    await waitFor('mining to resume', async () => (await rpc<Head>(second.rpcUrl, 'bcr_chainHead')).height > restarted.height + 1);
    expect(await stopProcess(second, 'SIGTERM')).toBe(0);
    // A dozen CLI and node starts: slow on a loaded machine.
  }, 240_000);

  it('answers bad JSON-RPC input with exact error codes', async () => {
    const node = await startNodeProcess(['--network', 'test', '--data-dir', `${dir.path}-rpc`, '--rpc-port', '0', '--no-mine']);
    nodes.push(node);
    const post = (body: string, headers: Record<string, string> = {}) => rawPost(node.rpcUrl, body, headers);
    expect(JSON.parse((await post('{not json')).text).error.code).toBe(-32700);
    expect(JSON.parse((await post('[]')).text).error.code).toBe(-32600);
    expect(JSON.parse((await post('{"jsonrpc":"2.0","id":1,"method":"nope"}')).text).error.code).toBe(-32601);
    const badParam = JSON.parse((await post('{"jsonrpc":"2.0","id":"x","method":"bcr_getBalance","params":["0x12"]}')).text);
    expect(badParam).toMatchObject({ id: 'x', error: { code: -32602 } });
    expect(badParam.error.message).toMatch(/address/);
    const rejected = JSON.parse((await post('{"jsonrpc":"2.0","id":2,"method":"bcr_sendRawTransaction","params":["0x0102"]}')).text);
    expect(rejected.error).toMatchObject({ code: -32000, data: { code: 'MALFORMED' } });
    const batch = JSON.parse((await post('[{"jsonrpc":"2.0","id":1,"method":"bcr_chainHead"},{"jsonrpc":"2.0","method":"bcr_chainHead"}]')).text);
    expect(batch).toHaveLength(1);
    expect((await post('{"jsonrpc":"2.0","method":"bcr_chainHead"}')).status).toBe(204);
    expect((await post('{}', { host: 'evil.example' })).status).toBe(403);
    // Refused before it is read: a 413, or (when the server's close beats the client's last write) a
    // connection the server ended mid-upload; never an answer to the body.
    const oversize = await post('x'.repeat(6 * 1024 * 1024)).then((r) => r.status, (error: NodeJS.ErrnoException) => error.code);
    expect([413, 'EPIPE', 'ECONNRESET']).toContain(oversize);
    expect((await rpc<Head>(node.rpcUrl, 'bcr_chainHead')).height).toBe(0);
  });

  it('enforces permissions: read and signed sends open on loopback, admin needs a token', async () => {
    const node = nodes[nodes.length - 1]!;
    const call = (method: string, token?: string) =>
      rawPost(node.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [1] }), token ? { authorization: `Bearer ${token}` } : {});
    const denied = JSON.parse((await call('bcr_minerSeal')).text);
    expect(denied.error).toMatchObject({ code: -32002, data: { needed: 'admin' } });
    expect(denied.error.message).toMatch(/needs a token with 'admin'/);
    const secret = readSecret(`${dir.path}-rpc`);
    const write = JSON.parse((await call('bcr_minerSeal', await createToken(secret, 'write'))).text);
    expect(write.error.code).toBe(-32002);
    const admin = JSON.parse((await call('bcr_minerSeal', await createToken(secret, 'admin'))).text);
    expect(admin.error).toMatchObject({ code: -32001, message: 'this node runs no miner' });
    expect((await call('bcr_minerSeal', 'not-a-jwt')).status).toBe(401);
    const foreign = await call('bcr_minerSeal', await createToken(new Uint8Array(32), 'admin'));
    expect(foreign.status).toBe(401);
    // Made from another node's data dir: the refusal names both nodes.
    expect(JSON.parse(foreign.text).error.message).toMatch(/^invalid token: it was made for node [0-9a-f]{16}, this node is [0-9a-f]{16} \(create it with bcr auth create-token --data-dir/);
    const cli = await runCli(['auth', 'create-token', '--perm', 'sign', '--data-dir', `${dir.path}-rpc`]);
    expect(cli.stdout.trim().split('.')).toHaveLength(3);
    expect(await requestPermissions(secret, undefined, false)).toEqual(new Set(['read']));
    expect(await requestPermissions(secret, undefined, true)).toEqual(new Set(['read', 'write']));
  });

  it('validates every method\'s params and answers a 100-call batch', async () => {
    const node = nodes[nodes.length - 1]!;
    const doc = await rpc<{ methods: { name: string; params: { name: string; required: boolean; schema: { type?: string | string[]; oneOf?: unknown; pattern?: string } }[] }[] }>(node.rpcUrl, 'rpc.discover');
    const batch: object[] = [];
    let id = 0;
    const expectations: { id: number; what: string }[] = [];
    for (const m of doc.methods) {
      const required = m.params.filter((p) => p.required);
      if (required.length > 0) {
        batch.push({ jsonrpc: '2.0', id: ++id, method: m.name, params: [] });
        expectations.push({ id, what: `${m.name} without params` });
      }
      m.params.forEach((p, index) => {
        const typed = p.schema.oneOf || p.schema.pattern || p.schema.type === 'boolean' || p.schema.type === 'string';
        if (!typed) return;
        const params = m.params.map(() => null) as unknown[];
        params[index] = { wrong: 'type' };
        batch.push({ jsonrpc: '2.0', id: ++id, method: m.name, params });
        expectations.push({ id, what: `${m.name} with a bad ${p.name}` });
      });
    }
    const admin = { authorization: `Bearer ${await createToken(readSecret(`${dir.path}-rpc`), 'admin')}` };
    const answers = JSON.parse((await rawPost(node.rpcUrl, JSON.stringify(batch), admin)).text) as { id: number; error?: { code: number; message: string } }[];
    for (const e of expectations) {
      const answer = answers.find((a) => a.id === e.id);
      expect(answer?.error?.code, e.what).toBe(-32602);
      expect(answer?.error?.message, e.what).toMatch(/param \d+ \(/);
    }
    expect(expectations.length).toBeGreaterThan(30);
    const hundred = Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'bcr_chainHead' }));
    const replies = JSON.parse((await rawPost(node.rpcUrl, JSON.stringify(hundred))).text) as { id: number; result: unknown }[];
    expect(replies.map((r) => r.id).sort((a, b) => a - b)).toEqual(hundred.map((c) => c.id));
    const tooMany = JSON.parse((await rawPost(node.rpcUrl, JSON.stringify(Array.from({ length: 1001 }, () => hundred[0])))).text);
    expect(tooMany.error.code).toBe(-32600);
  });

  it('documents every method in OpenRPC, and docs/rpc.json is that document', async () => {
    const node = nodes[nodes.length - 1]!;
    const doc = await rpc<{ methods: { name: string; params: { name: string; schema: object }[] }[] }>(node.rpcUrl, 'rpc.discover');
    const names = doc.methods.map((m) => m.name);
    for (const name of ['bcr_chainHead', 'bcr_getPowerTable', 'eth_sendRawTransaction', 'rpc.discover']) expect(names).toContain(name);
    for (const m of doc.methods) for (const p of m.params) expect(Object.keys(p.schema).length).toBeGreaterThan(0);
    const committed = JSON.parse(readFileSync(fileURLToPath(new URL('../../docs/rpc.json', import.meta.url)), 'utf8'));
    expect(committed).toEqual(doc);
  });
});

describe('bcr_shutdown', () => {
  it('needs admin, answers, then stops the node cleanly (exit 0)', async () => {
    const dataDir = `${dir.path}-shutdown`;
    const node = await startNodeProcess(['--network', 'test', '--data-dir', dataDir, '--rpc-port', '0', '--no-mine']);
    nodes.push(node);
    node.process.removeAllListeners('exit'); // the start-up watcher
    const exited = new Promise<number | null>((resolve) => node.process.once('exit', (code) => resolve(code)));
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_shutdown', params: [] });
    expect(JSON.parse((await rawPost(node.rpcUrl, body)).text).error).toMatchObject({ code: -32002, data: { needed: 'admin' } });
    expect((await rpc<{ height: number }>(node.rpcUrl, 'bcr_chainHead')).height).toBe(0); // still up
    const reply = JSON.parse((await rawPost(node.rpcUrl, body, { authorization: `Bearer ${await createToken(readSecret(dataDir), 'admin')}` })).text);
    expect(reply.result).toBe(true);
    expect(await exited).toBe(0);
    expect(node.logs.join('\n')).toMatch(/"signal":"bcr_shutdown".*Shutting down[\s\S]*Node stopped/);
  }, 30_000);
});
