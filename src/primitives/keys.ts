// secp256k1 keys and recoverable, low-s ECDSA signatures bound to a chain id and a domain tag.
// Recovery (the hot path: every tx and block) runs through libsecp256k1 bindings when they load,
// with @noble/curves as the portable fallback; both give identical results and share the tests.
import { createRequire } from 'node:module';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { addressFromPublicKey } from './address.js';
import { bytesToBigint, concatBytes, uintToBytesBE, utf8 } from './bytes.js';
import { BcrError } from './errors.js';
import { sha256Parts } from './hash.js';

export const SIGNATURE_LENGTH = 65;

/** One tag per signed object kind, so no signature can be replayed as another kind. */
export const Domain = {
  tx: 'bcr/tx/v1',
  blockHeader: 'bcr/block-header/v1',
  storageAsk: 'bcr/storage-ask/v1',
  storageOrder: 'bcr/storage-order/v1',
  retrievalOrder: 'bcr/retrieval-order/v1',
  dealProposal: 'bcr/deal-proposal/v1',
  voucher: 'bcr/voucher/v1',
} as const;
export type DomainTag = (typeof Domain)[keyof typeof Domain];

const CURVE_N = secp256k1.Point.CURVE().n;
const HALF_N = CURVE_N >> 1n;

/** The 32-byte digest a signature covers: sha256(tag || 0x00 || chainId (8 bytes BE) || body). */
export function signingDigest(domain: DomainTag, chainId: number, body: Uint8Array): Uint8Array {
  return sha256Parts(utf8(domain), new Uint8Array([0]), uintToBytesBE(chainId, 8), body);
}

interface NativeSecp256k1 {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number };
}

export type SignatureBackend = 'native' | 'noble';

function loadNative(): NativeSecp256k1 | null {
  if (process.env.BCR_SECP_BACKEND === 'noble') return null;
  try {
    const require = createRequire(import.meta.url);
    return require('secp256k1/bindings') as NativeSecp256k1;
  } catch {
    return null;
  }
}

const native = loadNative();
let backend: SignatureBackend = native ? 'native' : 'noble';

export function signatureBackend(): SignatureBackend {
  return backend;
}

/** For tests and benchmarks: force one implementation. */
export function setSignatureBackend(next: SignatureBackend): void {
  if (next === 'native' && !native) throw new Error('native secp256k1 bindings are not available');
  backend = next;
}

export function nativeSignatureAvailable(): boolean {
  return native !== null;
}

export function generatePrivateKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}

export function isValidPrivateKey(key: Uint8Array): boolean {
  return key.length === 32 && secp256k1.utils.isValidSecretKey(key);
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return secp256k1.getPublicKey(privateKey, false);
}

export function addressOf(privateKey: Uint8Array): Uint8Array {
  return addressFromPublicKey(publicKeyOf(privateKey));
}

/** Signs a 32-byte digest; returns r || s || v (v = recovery id 0/1), s always in the low half. */
export function signDigest(privateKey: Uint8Array, digest: Uint8Array): Uint8Array {
  if (backend === 'native' && native) {
    const { signature, recid } = native.ecdsaSign(digest, privateKey);
    return concatBytes(signature, new Uint8Array([recid]));
  }
  const recovered = secp256k1.sign(digest, privateKey, { prehash: false, lowS: true, format: 'recovered' });
  return concatBytes(recovered.subarray(1, 65), recovered.subarray(0, 1));
}

export function sign(privateKey: Uint8Array, domain: DomainTag, chainId: number, body: Uint8Array): Uint8Array {
  return signDigest(privateKey, signingDigest(domain, chainId, body));
}

/** Recovers the signer's uncompressed public key; rejects malformed, high-s or unrecoverable signatures. */
export function recoverPublicKey(digest: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_LENGTH) throw new BcrError('BAD_SIGNATURE', `signature must be ${SIGNATURE_LENGTH} bytes`);
  const recid = signature[64] as number;
  if (recid > 1) throw new BcrError('BAD_SIGNATURE', `recovery id must be 0 or 1, got ${recid}`);
  const r = bytesToBigint(signature.subarray(0, 32));
  const s = bytesToBigint(signature.subarray(32, 64));
  if (r === 0n || r >= CURVE_N || s === 0n || s >= CURVE_N) throw new BcrError('BAD_SIGNATURE', 'signature scalar out of range');
  if (s > HALF_N) throw new BcrError('BAD_SIGNATURE', 'signature s is not low (malleable form)');
  try {
    if (backend === 'native' && native) return native.ecdsaRecover(signature.subarray(0, 64), recid, digest, false);
    const nobleSig = concatBytes(new Uint8Array([recid]), signature.subarray(0, 64));
    return secp256k1.recoverPublicKey(nobleSig, digest, { prehash: false });
  } catch {
    throw new BcrError('BAD_SIGNATURE', 'public key cannot be recovered from signature');
  }
}

export function recoverAddress(digest: Uint8Array, signature: Uint8Array): Uint8Array {
  const publicKey = recoverPublicKey(digest, signature);
  return addressFromPublicKey(publicKey.length === 65 ? publicKey : secp256k1.Point.fromBytes(publicKey).toBytes(false));
}

export function recoverSigner(domain: DomainTag, chainId: number, body: Uint8Array, signature: Uint8Array): Uint8Array {
  return recoverAddress(signingDigest(domain, chainId, body), signature);
}
