// Ethereum-compatible addresses: last 20 bytes of keccak256(uncompressed public key without 0x04).
import { bytesEqual, fromHex, hexKey } from './bytes.js';
import { BcrError } from './errors.js';
import { keccak256 } from './hash.js';
import { utf8 } from './bytes.js';

export const ADDRESS_LENGTH = 20;

export function addressFromPublicKey(uncompressed: Uint8Array): Uint8Array {
  if (uncompressed.length !== 65 || uncompressed[0] !== 4) throw new RangeError('expected 65-byte uncompressed public key');
  return keccak256(uncompressed.subarray(1)).slice(12);
}

/** EIP-55 mixed-case checksum form. */
export function toChecksumAddress(address: Uint8Array): string {
  if (address.length !== ADDRESS_LENGTH) throw new RangeError('address must be 20 bytes');
  const lower = hexKey(address);
  const hash = hexKey(keccak256(utf8(lower)));
  let out = '0x';
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i] as string;
    out += parseInt(hash[i] as string, 16) >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

/** Parses 0x-hex; a mixed-case address must carry a valid EIP-55 checksum. */
export function parseAddress(text: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) {
    throw new BcrError('BAD_ADDRESS', `not a 20-byte 0x-hex address: ${text}`);
  }
  const bytes = fromHex(text);
  const body = text.slice(2);
  const mixed = body !== body.toLowerCase() && body !== body.toUpperCase();
  if (mixed && toChecksumAddress(bytes) !== text) {
    throw new BcrError('BAD_ADDRESS', `address checksum (EIP-55) mismatch: ${text}`);
  }
  return bytes;
}

export function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}

/** An address no key controls, derived from a label (e.g. the foundation's governance account). */
export function systemAddress(label: string): Uint8Array {
  return keccak256(utf8(`bcr/system/${label}`)).slice(12);
}
