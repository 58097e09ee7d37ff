// JSON-RPC over WebSocket with subscriptions, against a real node process.
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { toHex } from '../../src/primitives/index.js';
import { DEV_KEY, TEAM_ADDRESS, tempDir, transferTx } from '../helpers/chain.js';
import { rawPost, rawRequest, rpc, runCli, startNodeProcess, stopProcess, type RunningNode } from '../helpers/process.js';
import { createToken, readSecret } from '../../src/rpc/auth.js';
import { writeFileSync } from 'node:fs';

const DEV = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

const dir = tempDir('bcr-ws-');
let node: RunningNode | null = null;
afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

interface Message {
  id?: number;
  result?: unknown;
  error?: { code: number };
  method?: string;
  params?: { subscription: string; result: unknown };
}

function client(url: string): Promise<{ ws: WebSocket; call(method: string, params?: unknown[]): Promise<Message>; next(sub: string, match?: (r: unknown) => boolean): Promise<unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let id = 1;
    const waiting = new Map<number, (m: Message) => void>();
    const notes: Message[] = [];
    const watchers: { sub: string; match: (r: unknown) => boolean; resolve: (r: unknown) => void }[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Message;
      if (m.id !== undefined && waiting.has(m.id)) {
        waiting.get(m.id)!(m);
        waiting.delete(m.id);
        return;
      }
      notes.push(m);
      for (const w of [...watchers]) {
        if (m.params?.subscription === w.sub && w.match(m.params.result)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(m.params.result);
        }
      }
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        call: (method, params = []) =>
          new Promise((r) => {
            const n = id++;
            waiting.set(n, r);
            ws.send(JSON.stringify({ jsonrpc: '2.0', id: n, method, params }));
          }),
        next: (sub, match = () => true) =>
          new Promise((r, fail) => {
            const seen = notes.find((m) => m.params?.subscription === sub && match(m.params.result));
            if (seen) return r(seen.params!.result);
            watchers.push({ sub, match, resolve: r });
            setTimeout(() => fail(new Error(`no ${sub} notification in time`)), 20_000);
          }),
      }),
    );
  });
}

describe('WebSocket JSON-RPC', () => {
  it('serves calls and delivers heads, pending txs, inclusions and miner events', async () => {
    node = await startNodeProcess(['--network', 'test', '--data-dir', dir.path, '--rpc-port', '0']);
    const c = await client(node.rpcUrl.replace('http://', 'ws://'));
    expect((await c.call('bcr_chainHead')).result).toMatchObject({ height: expect.any(Number) });
    expect((await c.call('bcr_subscribe', ['nope'])).error?.code).toBe(-32602);
    const heads = (await c.call('bcr_subscribe', ['newHeads'])).result as string;
    const pending = (await c.call('bcr_subscribe', ['pendingTransactions'])).result as string;
    const mined = (await c.call('bcr_subscribe', ['minerEvents', 1])).result as string;
    expect(await c.next(heads)).toMatchObject({ height: expect.any(Number), id: expect.stringMatching(/^0x/) });
    expect(await c.next(mined, (r) => (r as { kind: string }).kind === 'wonSlot')).toMatchObject({ miner: 1, kind: 'wonSlot' });

    const raw = transferTx(DEV_KEY, await rpc<number>(node.rpcUrl, 'bcr_getNonce', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'pending']), TEAM_ADDRESS, 5n);
    const { sha256 } = await import('../../src/primitives/index.js');
    const txId = toHex(sha256(raw));
    const included = (await c.call('bcr_subscribe', ['txInclusion', txId])).result as string;
    expect((await c.call('bcr_sendRawTransaction', [toHex(raw)])).result).toBe(txId);
    expect(await c.next(pending, (r) => r === txId)).toBe(txId);
    expect(await c.next(included)).toMatchObject({ txId, height: expect.any(Number) });
    expect((await c.call('bcr_unsubscribe', [heads])).result).toBe(true);
    expect((await c.call('bcr_unsubscribe', [heads])).result).toBe(false);
    expect((await c.call('bcr_minerSeal', [1])).error?.code).toBe(-32002);
    c.ws.close();
  }, 60_000);
});

describe('node-side signing, CORS and notification batches', () => {
  it('signs only with a `sign` token, answers CORS for configured origins, and owes nothing to notifications', async () => {
    const keys = `${dir.path}-keys`;
    const keyFile = `${dir.path}-dev.key`;
    writeFileSync(keyFile, toHex(DEV_KEY));
    await runCli(['wallet', 'import', '--key-file', keyFile, '--keystore', keys, '--light-kdf'], { BCR_PASSWORD: 'pw' });
    const dataDir = `${dir.path}-signer`;
    const signer = await startNodeProcess(['--network', 'test', '--data-dir', dataDir, '--rpc-port', '0', '--no-mine', '--unlock', DEV, '--keystore', keys, '--rpc-cors', 'http://wallet.example'], 20_000, { BCR_PASSWORD: 'pw' });
    try {
      const url = signer.rpcUrl;
      expect(await rpc(url, 'bcr_accounts')).toEqual([DEV]);
      const send = (token?: string) =>
        rawPost(url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_sendTransaction', params: [DEV, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '1000'] }), token ? { authorization: `Bearer ${token}` } : {});
      expect(JSON.parse((await send()).text).error).toMatchObject({ code: -32002, data: { needed: 'sign' } });
      const secret = readSecret(dataDir);
      expect(JSON.parse((await send(await createToken(secret, 'write'))).text).error.code).toBe(-32002);
      const ok = JSON.parse((await send(await createToken(secret, 'sign'))).text);
      expect(ok.result).toMatch(/^0x[0-9a-f]{64}$/);
      expect(await rpc(url, 'bcr_mempoolStatus')).toEqual({ size: 1, pending: 1, queued: 0, local: 0, evicted: 0 });

      const preflight = await rawRequest(url, 'OPTIONS', { origin: 'http://wallet.example', 'access-control-request-method': 'POST' });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('http://wallet.example');
      const foreign = await rawRequest(url, 'OPTIONS', { origin: 'http://evil.example' });
      expect(foreign.status).toBe(403);
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined();

      const notes = await rawPost(url, JSON.stringify([{ jsonrpc: '2.0', method: 'bcr_chainHead' }, { jsonrpc: '2.0', method: 'bcr_chainHead' }]));
      expect(notes.status).toBe(204);
      expect(notes.text).toBe('');
    } finally {
      await stopProcess(signer, 'SIGKILL');
    }
  }, 60_000);
});
