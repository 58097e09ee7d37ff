// JSON-RPC over WebSocket on the RPC port, with subscriptions: new heads, pending txs, a tx's
// inclusion, a miner's events, deal and governance steps, and EVM logs. The same dispatcher (and permissions) serves ordinary calls.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { errorMessage, hexKey, toHex } from '../primitives/index.js';
import type { CallContext, RpcDispatcher } from './jsonRpc.js';
import { RpcErrorCode } from './jsonRpc.js';
import type { MinerEvent } from '../miner/events.js';
import { logMatches, type LogFilter } from '../chain/logIndex.js';
import type { EvmLog } from '../state/index.js';
import { parseLogCriteria } from './ethParams.js';

type LogCriteria = Pick<LogFilter, 'addresses' | 'topics'>;

export type Topic = 'newHeads' | 'pendingTransactions' | 'txInclusion' | 'minerEvents' | 'dealEvents' | 'governance' | 'logs';

export interface HeadEvent {
  id: Uint8Array;
  height: number;
  slot: number;
  json: unknown;
  /** Ids of the txs the new canonical blocks carry. */
  includedTxs: { txId: Uint8Array; blockId: Uint8Array; height: number }[];
}

export type { MinerEvent };

/** Where events come from (wired by node.ts). */
export interface EventSources {
  onHead(listener: (event: HeadEvent) => void): void;
  onPendingTx(listener: (txId: Uint8Array) => void): void;
  onMinerEvent(listener: (event: MinerEvent) => void): void;
  /** Deal changes in newly canonical blocks, with the keys they match (`deal:ID`, `client:0xaddr`, `provider:ID`). */
  onDealEvent(listener: (event: { keys: string[]; json: unknown }) => void): void;
  /** Governance steps (propose, approve, cancel, execute) as blocks carry them, keyed by proposal id. */
  onGovernanceEvent(listener: (event: { keys: string[]; json: unknown }) => void): void;
  /** EVM logs of blocks that joined the canonical chain, and (removed) of blocks that left it. */
  onLogs(listener: (logs: { log: EvmLog; json: unknown }[]) => void): void;
}

interface Subscription {
  socket: WebSocket;
  limits: SocketLimits;
  topic: Topic;
  method: string;
  arg: string | number | null;
  /** For "logs": the addresses and topics wanted. */
  logFilter?: LogCriteria;
}

/** What one WebSocket may hold: its largest message, the bytes queued to it, its subscriptions. */
export interface SocketLimits {
  maxMessageBytes: number;
  /** A client that lets this much pile up unread is dropped (a slow consumer, as geth drops them). */
  maxBufferedBytes: number;
  maxSubscriptions: number;
}

export const DEFAULT_SOCKET_LIMITS: Omit<SocketLimits, 'maxMessageBytes'> = { maxBufferedBytes: 4 * 1024 * 1024, maxSubscriptions: 128 };

/** Sends unless the peer stopped reading; a socket over its buffer budget is terminated. */
function sendTo(socket: WebSocket, text: string, limits: SocketLimits): void {
  if (socket.readyState !== socket.OPEN) return;
  if (socket.bufferedAmount + text.length > limits.maxBufferedBytes) {
    socket.terminate();
    return;
  }
  socket.send(text);
}

/** The key a dealEvents filter matches: one deal, a client's deals or a provider's. */
function dealEventFilter(arg: unknown): string | null {
  if (typeof arg !== 'object' || arg === null) return null;
  const entries = Object.entries(arg as Record<string, unknown>);
  if (entries.length !== 1) return null;
  const [name, value] = entries[0]!;
  if ((name === 'deal' || name === 'provider') && typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return `${name}:${value}`;
  if (name === 'client' && typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value)) return `client:${value.toLowerCase()}`;
  return null;
}

export class SubscriptionHub {
  private readonly subs = new Map<string, Subscription>();
  private next = 1;

  /** Whether any socket subscribes to `topic` (sources skip work nobody would receive). */
  hasSubscribers(topic: Topic): boolean {
    for (const sub of this.subs.values()) if (sub.topic === topic) return true;
    return false;
  }

  /** Live subscriptions per topic (metrics). */
  countByTopic(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const sub of this.subs.values()) counts.set(sub.topic, (counts.get(sub.topic) ?? 0) + 1);
    return counts;
  }

  constructor(sources: EventSources) {
    sources.onHead((event) => {
      this.publish('newHeads', null, event.json);
      for (const tx of event.includedTxs) this.publish('txInclusion', hexKey(tx.txId), { txId: toHex(tx.txId), blockId: toHex(tx.blockId), height: tx.height });
    });
    sources.onPendingTx((txId) => this.publish('pendingTransactions', null, toHex(txId)));
    sources.onMinerEvent((event) => this.publish('minerEvents', event.miner, event));
    sources.onDealEvent((event) => this.publish('dealEvents', event.keys, event.json));
    sources.onGovernanceEvent((event) => this.publish('governance', event.keys, event.json));
    sources.onLogs((logs) => this.publishLogs(logs));
  }

  private publishLogs(logs: { log: EvmLog; json: unknown }[]): void {
    for (const [id, sub] of this.subs) {
      if (sub.topic !== 'logs' || !sub.logFilter) continue;
      if (sub.socket.readyState !== sub.socket.OPEN) {
        this.subs.delete(id);
        continue;
      }
      for (const { log, json } of logs) {
        if (logMatches(log, sub.logFilter)) sendTo(sub.socket, JSON.stringify({ jsonrpc: '2.0', method: sub.method, params: { subscription: id, result: json } }), sub.limits);
      }
    }
  }

  /** Sends to the topic's subscribers whose argument is one of the event's keys (or who gave none). */
  private publish(topic: Topic, keys: string | number | (string | number)[] | null, result: unknown): void {
    const matches = keys === null ? null : Array.isArray(keys) ? keys : [keys];
    for (const [id, sub] of this.subs) {
      if (sub.topic !== topic || (matches !== null && sub.arg !== null && !matches.includes(sub.arg))) continue;
      if (sub.socket.readyState !== sub.socket.OPEN) {
        this.subs.delete(id);
        continue;
      }
      sendTo(sub.socket, JSON.stringify({ jsonrpc: '2.0', method: sub.method, params: { subscription: id, result } }), sub.limits);
    }
  }

  /**
   * Serves one socket: calls go to the dispatcher, *_subscribe / *_unsubscribe are handled here.
   * Messages are answered one at a time (a client cannot run unbounded work in parallel), and a
   * malformed frame or a socket error ends only this connection.
   */
  attach(socket: WebSocket, context: CallContext, dispatcher: RpcDispatcher, partial: Partial<SocketLimits> & { maxMessageBytes: number }): void {
    const limits: SocketLimits = { ...DEFAULT_SOCKET_LIMITS, ...partial };
    let queue: Promise<void> = Promise.resolve();
    socket.on('error', () => socket.terminate());
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        socket.close(1003, 'text frames only');
        return;
      }
      const text = data.toString();
      queue = queue
        .then(() => this.onMessage(socket, context, dispatcher, text, limits))
        .catch((error: unknown) => sendTo(socket, JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.internal, message: errorMessage(error) } }), limits));
    });
    socket.on('close', () => {
      for (const [id, sub] of this.subs) if (sub.socket === socket) this.subs.delete(id);
    });
  }

  private async onMessage(socket: WebSocket, context: CallContext, dispatcher: RpcDispatcher, text: string, limits: SocketLimits): Promise<void> {
    let call: { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    try {
      call = JSON.parse(text);
    } catch {
      sendTo(socket, JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.parseError, message: 'parse error' } }), limits);
      return;
    }
    const method = typeof call?.method === 'string' ? call.method : '';
    const id = typeof call?.id === 'string' || typeof call?.id === 'number' ? call.id : null;
    const reply = (result: unknown) => sendTo(socket, JSON.stringify({ jsonrpc: '2.0', id, result }), limits);
    const fail = (code: number, message: string) => sendTo(socket, JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }), limits);
    if (method === 'bcr_subscribe' || method === 'eth_subscribe') {
      const [topic, arg] = Array.isArray(call.params) ? (call.params as unknown[]) : [];
      const known: Topic[] = ['newHeads', 'pendingTransactions', 'txInclusion', 'minerEvents', 'dealEvents', 'governance', 'logs'];
      if (typeof topic !== 'string' || !known.includes(topic as Topic)) return fail(RpcErrorCode.invalidParams, `invalid param 0 (topic): one of ${known.join(', ')}`);
      let key: string | number | null = null;
      if (topic === 'txInclusion') {
        if (typeof arg !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(arg)) return fail(RpcErrorCode.invalidParams, 'invalid param 1 (txId): a 32-byte 0x-hex tx id');
        key = arg.slice(2).toLowerCase();
      }
      if (topic === 'minerEvents') {
        if (typeof arg !== 'number' || !Number.isSafeInteger(arg)) return fail(RpcErrorCode.invalidParams, 'invalid param 1 (miner): a miner id');
        key = arg;
      }
      if (topic === 'dealEvents' && arg !== undefined && arg !== null) {
        const filter = dealEventFilter(arg);
        if (filter === null) return fail(RpcErrorCode.invalidParams, 'invalid param 1 (filter): {deal: id}, {client: address} or {provider: miner id}');
        key = filter;
      }
      if (topic === 'governance' && arg !== undefined && arg !== null) {
        if (typeof arg !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(arg)) return fail(RpcErrorCode.invalidParams, 'invalid param 1 (proposal): a 32-byte 0x-hex proposal id');
        key = arg.toLowerCase();
      }
      let logFilter: LogCriteria | undefined;
      if (topic === 'logs') {
        try {
          logFilter = parseLogCriteria(arg ?? {});
        } catch (error) {
          return fail(RpcErrorCode.invalidParams, errorMessage(error).replace('param 0', 'param 1'));
        }
      }
      if ([...this.subs.values()].filter((s) => s.socket === socket).length >= limits.maxSubscriptions) return fail(RpcErrorCode.limitExceeded, `at most ${limits.maxSubscriptions} subscriptions per connection`);
      const subId = `0x${(this.next++).toString(16)}`;
      this.subs.set(subId, { socket, limits, topic: topic as Topic, method: method === 'eth_subscribe' ? 'eth_subscription' : 'bcr_subscription', arg: key, ...(logFilter ? { logFilter } : {}) });
      return reply(subId);
    }
    if (method === 'bcr_unsubscribe' || method === 'eth_unsubscribe') {
      const [subId] = Array.isArray(call.params) ? (call.params as unknown[]) : [];
      const sub = typeof subId === 'string' ? this.subs.get(subId) : undefined;
      if (sub && sub.socket === socket) this.subs.delete(subId as string);
      return reply(Boolean(sub && sub.socket === socket));
    }
    const response = await dispatcher.handleBody(text, context);
    if (response !== null) sendTo(socket, response, limits);
  }

  /** Upgrade requests carry their token as a header or as ?token=... (browsers cannot set headers). */
  static tokenOf(req: IncomingMessage): string | undefined {
    if (req.headers.authorization) return req.headers.authorization;
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
    return token ? `Bearer ${token}` : undefined;
  }
}
