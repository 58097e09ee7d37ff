// Subscribers that stop reading must not take the node's memory with them: each socket has a
// budget of queued bytes and is dropped past it.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { RpcDispatcher } from '../../src/rpc/jsonRpc.js';
import { SubscriptionHub, type HeadEvent } from '../../src/rpc/subscriptions.js';

/** A socket whose peer never reads: every send stays buffered. */
class StalledSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent = 0;
  terminated = false;
  send(text: string): void {
    this.bufferedAmount += text.length;
    this.sent++;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
    this.emit('close');
  }
  close(): void {
    this.terminate();
  }
}

function hub() {
  let emitHead: (event: HeadEvent) => void = () => undefined;
  const subscriptions = new SubscriptionHub({ onHead: (l) => (emitHead = l), onPendingTx: () => undefined, onMinerEvent: () => undefined, onDealEvent: () => undefined, onGovernanceEvent: () => undefined, onLogs: () => undefined });
  return { subscriptions, head: (n: number) => emitHead({ id: new Uint8Array(32), height: n, slot: n, json: { height: n, pad: 'x'.repeat(1000) }, includedTxs: [] }) };
}

async function subscribe(socket: StalledSocket, count: number): Promise<void> {
  for (let i = 0; i < count; i++) socket.emit('message', Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'bcr_subscribe', params: ['newHeads'] })), false);
  await new Promise((r) => setTimeout(r, 20));
}

describe('SubscriptionHub', () => {
  it('drops a subscriber that lets its buffered bytes grow past the limit, and keeps serving readers', async () => {
    const { subscriptions, head } = hub();
    const stalled = new StalledSocket();
    const reader = new StalledSocket();
    subscriptions.attach(stalled as unknown as WebSocket, { permissions: new Set(['read']) }, new RpcDispatcher(), { maxMessageBytes: 1 << 20, maxBufferedBytes: 64 * 1024 });
    subscriptions.attach(reader as unknown as WebSocket, { permissions: new Set(['read']) }, new RpcDispatcher(), { maxMessageBytes: 1 << 20, maxBufferedBytes: 64 * 1024 });
    await subscribe(stalled, 128);
    await subscribe(reader, 1);
    for (let n = 1; n <= 100 && !stalled.terminated; n++) {
      head(n);
      reader.bufferedAmount = 0; // this one reads
    }
    expect(stalled.terminated).toBe(true);
    expect(stalled.bufferedAmount).toBeLessThanOrEqual(64 * 1024);
    const sentBefore = reader.sent;
    head(101);
    expect(reader.sent).toBe(sentBefore + 1);
    expect(reader.terminated).toBe(false);
  });

  it('caps subscriptions per socket with a precise error', async () => {
    const { subscriptions } = hub();
    const socket = new StalledSocket();
    const replies: string[] = [];
    socket.send = (text: string) => void replies.push(text);
    subscriptions.attach(socket as unknown as WebSocket, { permissions: new Set(['read']) }, new RpcDispatcher(), { maxMessageBytes: 1 << 20, maxSubscriptions: 3 });
    await subscribe(socket, 4);
    expect(JSON.parse(replies[3]!).error).toMatchObject({ code: -32005 });
  });
});
