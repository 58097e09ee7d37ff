// Wire formats of the gossip topics and the request/response protocols, namespaced by network and
// genesis so nodes of different chains never mix.
import { bytes, struct, uint, type Infer } from '../primitives/index.js';

/** Most blocks one blocks-by-range request may ask for. */
export const MAX_RANGE_BLOCKS = 64;

export function topicNames(network: string, genesisId: Uint8Array) {
  const prefix = `/bcr/${network}/${Buffer.from(genesisId.subarray(0, 4)).toString('hex')}`;
  return {
    blocks: `${prefix}/blocks/1`,
    txs: `${prefix}/txs/1`,
    status: `${prefix}/status/1`,
    blocksByRange: `${prefix}/blocks-by-range/1`,
  };
}

export const statusCodec = struct({ genesisId: bytes(32), headHeight: uint(), headId: bytes(32), finalizedHeight: uint() });
export type Status = Infer<typeof statusCodec>;

export const rangeRequestCodec = struct({ start: uint(), count: uint(MAX_RANGE_BLOCKS) });
export type RangeRequest = Infer<typeof rangeRequestCodec>;
