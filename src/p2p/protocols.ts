// Wire formats of the gossip topics and the request/response protocols, namespaced by network and
// genesis so nodes of different chains never mix.
import { bytes, list, struct, uint, varBytes, type Infer } from '../primitives/index.js';

/** Most blocks one blocks-by-range or blocks-by-id request may ask for. */
export const MAX_REQUEST_BLOCKS = 64;
/** Most txs, and most bytes, one push-txs request may carry. */
export const MAX_PUSH_TXS = 64;
export const MAX_PUSH_BYTES = 1 << 20;

/** The namespace of every topic and protocol of one chain: network name and genesis id prefix. */
export function protocolPrefix(network: string, genesisId: Uint8Array): string {
  return `/bcr/${network}/${Buffer.from(genesisId.subarray(0, 4)).toString('hex')}`;
}

export function topicNames(network: string, genesisId: Uint8Array) {
  const prefix = protocolPrefix(network, genesisId);
  return {
    blocks: `${prefix}/blocks/1`,
    txs: `${prefix}/txs/1`,
    storageAsks: `${prefix}/storage-asks/1`,
    storageOrders: `${prefix}/storage-orders/1`,
    retrievalOrders: `${prefix}/retrieval-orders/1`,
    status: `${prefix}/status/1`,
    blocksByRange: `${prefix}/blocks-by-range/1`,
    blocksById: `${prefix}/blocks-by-id/1`,
    pushTxs: `${prefix}/push-txs/1`,
  };
}
export type TopicNames = ReturnType<typeof topicNames>;

export const statusCodec = struct({ genesisId: bytes(32), headHeight: uint(), headId: bytes(32), finalizedHeight: uint() });
export type Status = Infer<typeof statusCodec>;

export const rangeRequestCodec = struct({ start: uint(), count: uint(MAX_REQUEST_BLOCKS) });
export type RangeRequest = Infer<typeof rangeRequestCodec>;

export const idsRequestCodec = struct({ ids: list(bytes(32), MAX_REQUEST_BLOCKS) });

/**
 * Txs pushed straight to a peer: those a reorg returned to our pool. Gossip cannot carry them
 * again (gossipsub refuses to re-publish a message id it saw in the last 2 minutes), yet peers
 * on the other side of a healed partition never saw them.
 */
export const pushTxsCodec = (maxTxBytes: number) => struct({ txs: list(varBytes(maxTxBytes), MAX_PUSH_TXS) });
export const pushTxsResultCodec = struct({ accepted: uint(), ignored: uint(), rejected: uint() });
export type PushTxsResult = Infer<typeof pushTxsResultCodec>;

/**
 * Every response chunk starts with one result byte (as in Ethereum's consensus req/resp):
 * success chunks carry a payload, error chunks a UTF-8 reason and end the response.
 */
export const ResponseCode = { success: 0, invalidRequest: 1, serverError: 2, rateLimited: 3 } as const;
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];
