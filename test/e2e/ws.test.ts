// JSON-RPC over WebSocket with subscriptions, against a real node process.
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { toHex } from '../../src/primitives/index.js';
import { DEV_KEY, TEAM_ADDRESS, tempDir, transferTx } from '../helpers/chain.js';
import { rpc, startNodeProcess, stopProcess, type RunningNode } from '../helpers/process.js';

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
