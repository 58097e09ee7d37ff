// The live market order book: submit a signed order (validated, added, gossiped) and list orders.
import type { OrderBook, OrderKind, SignedOrder } from '../market/index.js';
import type { MarketTopic, Network } from '../p2p/network.js';
import { toChecksumAddress, toHex } from '../primitives/index.js';
import type { MethodDescriptor } from './jsonRpc.js';
import { enumParam, hexDataParam } from './params.js';

const KINDS = ['storageAsk', 'storageOrder', 'retrievalOrder'] as const satisfies readonly OrderKind[];
const TOPIC: Record<OrderKind, MarketTopic> = { storageAsk: 'storageAsks', storageOrder: 'storageOrders', retrievalOrder: 'retrievalOrders' };

function orderJson(signed: SignedOrder) {
  const fields = Object.fromEntries(
    Object.entries(signed.order).map(([key, value]) => [key, typeof value === 'bigint' ? value.toString() : value instanceof Uint8Array ? toHex(value) : value]),
  );
  return { id: toHex(signed.id), kind: signed.kind, signer: toChecksumAddress(signed.signer), ...fields, raw: toHex(signed.bytes) };
}

export function marketMethods({ orders, network }: { orders: OrderBook; network: Network | null }): MethodDescriptor[] {
  return [
    {
      name: 'bcr_submitOrder',
      description: 'Adds a signed market order (storage ask, storage order or retrieval order; 0x-hex of its envelope) to the live book and gossips it; returns its id.',
      permission: 'write',
      params: [enumParam('kind', KINDS, false), hexDataParam('order')],
      handler: async ([kind, bytes]) => {
        const signed = await orders.admit(kind as OrderKind, bytes as Uint8Array);
        network?.publishMarket(TOPIC[kind as OrderKind], signed.bytes);
        return toHex(signed.id);
      },
    },
    {
      name: 'bcr_getOrders',
      description: 'Live (unexpired) orders of one kind from the book this node keeps from gossip.',
      params: [enumParam('kind', KINDS, false)],
      handler: async ([kind]) => orders.list(kind as OrderKind).map(orderJson),
    },
  ];
}
