// The live market order book: submit a signed order (validated, added, gossiped) and list orders.
import { MAX_ORDER_LIFETIME_SLOTS, type AskPublisher, type OrderBook, type OrderKind, type SignedOrder } from '../market/index.js';
import type { MarketTopic, Network } from '../p2p/network.js';
import type { ChainStore } from '../chain/index.js';
import { toChecksumAddress, toHex } from '../primitives/index.js';
import { getMiner } from '../state/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor } from './jsonRpc.js';
import { attoParam, enumParam, hexDataParam, uintParam } from './params.js';

const KINDS = ['storageAsk', 'storageOrder', 'retrievalOrder'] as const satisfies readonly OrderKind[];
const TOPIC: Record<OrderKind, MarketTopic> = { storageAsk: 'storageAsks', storageOrder: 'storageOrders', retrievalOrder: 'retrievalOrders' };

function orderJson(signed: SignedOrder) {
  const fields = Object.fromEntries(
    Object.entries(signed.order).map(([key, value]) => [key, typeof value === 'bigint' ? value.toString() : value instanceof Uint8Array ? toHex(value) : value]),
  );
  return { id: toHex(signed.id), kind: signed.kind, signer: toChecksumAddress(signed.signer), ...fields, raw: toHex(signed.bytes) };
}

/** Default life of a signed ask (renewed before it runs out). */
const DEFAULT_ASK_EXPIRY_SLOTS = 3600;

export function marketMethods({ orders, network, asks, chain }: { orders: OrderBook; network: Network | null; asks: AskPublisher; chain: ChainStore }): MethodDescriptor[] {
  return [
    {
      name: 'bcr_listAsks',
      description: "Live storage asks, cheapest first, each with its miner's proven power (bytes), sector size, peer id and addresses from the chain (asks of unknown miners are left out).",
      params: [],
      handler: async () => {
        const state = chain.headState();
        const live = orders.list('storageAsk').sort((a, b) => (a.order.pricePerGiBSlot < b.order.pricePerGiBSlot ? -1 : a.order.pricePerGiBSlot > b.order.pricePerGiBSlot ? 1 : a.order.miner - b.order.miner));
        const out = [];
        for (const signed of live) {
          const miner = await getMiner(state, signed.order.miner);
          if (!miner) continue;
          out.push({ ...orderJson(signed), power: miner.power.toString(), sectorSize: miner.sectorSize, peerId: miner.peerId, multiaddrs: miner.multiaddrs });
        }
        return out;
      },
    },
    {
      name: 'bcr_minerSetAsk',
      description: `Sets the local miner's storage ask (price in atto per GiB per slot, piece sizes in bytes (powers of two), collateral in atto per GiB, life in slots, default ${DEFAULT_ASK_EXPIRY_SLOTS}): signed with its worker key, gossiped, renewed before it expires (admin).`,
      permission: 'admin',
      params: [attoParam('pricePerGiBSlot'), uintParam('minPieceBytes'), uintParam('maxPieceBytes'), attoParam('collateralPerGiB'), uintParam('expirySlots', true, MAX_ORDER_LIFETIME_SLOTS)],
      handler: async ([price, minPiece, maxPiece, collateral, expiry]) => {
        const signed = await asks.set({ pricePerGiBSlot: price as bigint, minPieceBytes: minPiece as number, maxPieceBytes: maxPiece as number, collateralPerGiB: collateral as bigint, expirySlots: (expiry as number | undefined) ?? DEFAULT_ASK_EXPIRY_SLOTS }).catch((error: unknown) => {
          if (error instanceof Error && error.message === 'this node runs no miner') throw new RpcError(RpcErrorCode.notFound, error.message);
          throw error;
        });
        return orderJson(signed);
      },
    },
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
