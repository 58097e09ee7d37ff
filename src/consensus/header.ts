// Block header codec (docs/protocol.md §5) and the producer's signature over it.
import { Domain, bytes, decode, encode, recoverSigner, sha256, sign, struct, uint, varBytes, type Infer } from '../primitives/index.js';

const unsignedHeaderShape = {
  parentId: bytes(32),
  height: uint(),
  slot: uint(),
  /** Unix ms when the producer made the block; inside the block's slot. */
  timestamp: uint(),
  /** Producing miner (0 = genesis); its worker key signs, its owner is paid. */
  miner: uint(),
  /** ECVRF proof of the election (80 bytes; empty in genesis). */
  vrfProof: varBytes(128),
  vrfOutput: bytes(32),
  /** WinningPoSt over the sectors the block's randomness picked. */
  winningPost: varBytes(256 * 1024),
  txRoot: bytes(32),
  receiptsRoot: bytes(32),
  stateRoot: bytes(32),
};
export const unsignedHeaderCodec = struct(unsignedHeaderShape);
export const headerCodec = struct({ ...unsignedHeaderShape, signature: bytes(65) });

export type UnsignedHeader = Infer<typeof unsignedHeaderCodec>;
export type BlockHeader = Infer<typeof headerCodec>;

export function encodeHeader(header: BlockHeader): Uint8Array {
  return encode(headerCodec, header);
}

export function decodeHeader(data: Uint8Array): BlockHeader {
  return decode(headerCodec, data, 'header');
}

export function headerId(header: BlockHeader): Uint8Array {
  return sha256(encodeHeader(header));
}

export function signHeader(privateKey: Uint8Array, chainId: number, header: UnsignedHeader): BlockHeader {
  const signature = sign(privateKey, Domain.blockHeader, chainId, encode(unsignedHeaderCodec, header));
  return { ...header, signature };
}

export function headerSigner(chainId: number, header: BlockHeader): Uint8Array {
  const { signature, ...unsigned } = header;
  return recoverSigner(Domain.blockHeader, chainId, encode(unsignedHeaderCodec, unsigned), signature);
}
