// CIDs from outside: parsed with a precise reason when they are not one, and blocks checked against
// them. Only the hashes a block can be checked with are accepted: sha2-256 (every CID BCR makes) and
// identity (inline data, checked by equality); anything else is refused rather than trusted.
import { CID } from 'multiformats/cid';
import { identity } from 'multiformats/hashes/identity';
import { sha256 } from 'multiformats/hashes/sha2';
import { BcrError } from '../primitives/errors.js';
import { bytesEqual } from '../primitives/index.js';

/** Codecs of the blocks BCR stores and serves: raw leaves and dag-pb (UnixFS) nodes. */
export const RAW_CODE = 0x55;
export const DAG_PB_CODE = 0x70;
const SUPPORTED_CODECS = new Set([RAW_CODE, DAG_PB_CODE]);
/** A CID's text form is short; anything longer is not one (and is not parsed). */
const MAX_CID_TEXT = 128;

export type ContentErrorCode = 'BAD_CID' | 'BAD_CAR' | 'UNSUPPORTED_CID' | 'BLOCK_MISMATCH';

export class ContentError extends BcrError<ContentErrorCode> {}

/** Parses a CID (v0 base58 "Qm..." or v1 multibase text), refusing what BCR cannot verify or decode. */
export function parseCid(text: string): CID {
  if (text.length === 0 || text.length > MAX_CID_TEXT) throw new ContentError('BAD_CID', `not a CID: ${text.length === 0 ? 'empty' : `${text.length} characters`}`);
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch (error) {
    throw new ContentError('BAD_CID', `not a CID: ${error instanceof Error ? error.message : String(error)}`);
  }
  checkSupported(cid);
  return cid;
}

export function checkSupported(cid: CID): void {
  if (cid.multihash.code !== sha256.code && cid.multihash.code !== identity.code) throw new ContentError('UNSUPPORTED_CID', `CID ${cid} uses hash 0x${cid.multihash.code.toString(16)}: only sha2-256 and identity can be verified`);
  if (!SUPPORTED_CODECS.has(cid.code)) throw new ContentError('UNSUPPORTED_CID', `CID ${cid} has codec 0x${cid.code.toString(16)}: only raw (0x55) and dag-pb (0x70) blocks are stored`);
}

/** Throws unless `bytes` is the block `cid` names. */
export async function verifyBlock(cid: CID, bytes: Uint8Array): Promise<void> {
  checkSupported(cid);
  const digest = cid.multihash.code === identity.code ? identity.digest(bytes) : await sha256.digest(bytes);
  if (!bytesEqual(digest.digest, cid.multihash.digest)) throw new ContentError('BLOCK_MISMATCH', `the block does not hash to ${cid}`);
}


export { CID };
