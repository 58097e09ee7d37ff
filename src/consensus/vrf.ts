// ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite 0x03): the election's verifiable random function.
// Unique per (key, input): a producer cannot choose among several outputs. Proof = Gamma (32) ||
// c (16) || s (32) = 80 bytes; output beta = 64 bytes (the election uses its first 32).
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { LRUCache } from 'lru-cache';
import { bytesEqual, concatBytes, hexKey } from '../primitives/index.js';
import { nativeGroup, type NativeGroup } from './vrfNative.js';

const SUITE = 0x03;
const C_LEN = 16;
const Q = ed25519.Point.CURVE().n;
type Point = InstanceType<typeof ed25519.Point>;
const BASE = ed25519.Point.BASE;

export const VRF_PROOF_BYTES = 80;
export const VRF_PUBLIC_KEY_BYTES = 32;

function leToInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

function intToLe(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function decodePoint(bytes: Uint8Array): Point | null {
  try {
    return ed25519.Point.fromBytes(bytes, false);
  } catch {
    return null;
  }
}

/** The first try-and-increment candidate that decodes to a curve point, salted with the public key. */
function curveCandidate(publicKey: Uint8Array, alpha: Uint8Array): { bytes: Uint8Array; point: Point } {
  for (let ctr = 0; ctr < 256; ctr++) {
    const bytes = sha512(concatBytes(new Uint8Array([SUITE, 0x01]), publicKey, alpha, new Uint8Array([ctr, 0x00]))).subarray(0, 32);
    const point = decodePoint(bytes);
    if (point) return { bytes, point };
  }
  throw new Error('encode_to_curve failed'); // probability 2^-256
}

/** encode_to_curve: the candidate point times the cofactor. */
function encodeToCurve(publicKey: Uint8Array, alpha: Uint8Array): Point {
  return curveCandidate(publicKey, alpha).point.clearCofactor();
}

function challenge(points: Point[]): bigint {
  const hash = sha512(concatBytes(new Uint8Array([SUITE, 0x02]), ...points.map((p) => p.toBytes()), new Uint8Array([0x00])));
  return leToInt(hash.subarray(0, C_LEN));
}

function proofToHash(gamma: Point): Uint8Array {
  return sha512(concatBytes(new Uint8Array([SUITE, 0x03]), gamma.clearCofactor().toBytes(), new Uint8Array([0x00])));
}

/** Decoded miner keys: a block's VRF is checked against one of a few hundred keys, again and again. */
const keyPoints = new LRUCache<string, { point: Point | null }>({ max: 4096 });

/** The public key as a point that can ever verify: on the curve and not of small order. */
function publicKeyPoint(publicKey: Uint8Array): Point | null {
  if (publicKey.length !== VRF_PUBLIC_KEY_BYTES) return null;
  const key = hexKey(publicKey);
  const cached = keyPoints.get(key);
  if (cached) return cached.point;
  const decoded = decodePoint(publicKey);
  const point = decoded && !decoded.isSmallOrder() ? decoded : null;
  keyPoints.set(key, { point });
  return point;
}

/** Whether any proof could ever verify against the key (a miner's key is checked when it registers). */
export function vrfPublicKeyValid(publicKey: Uint8Array): boolean {
  return publicKeyPoint(publicKey) !== null;
}

export function vrfPublicKey(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

export function vrfProve(secretKey: Uint8Array, alpha: Uint8Array): { proof: Uint8Array; output: Uint8Array } {
  const { scalar: x, pointBytes: publicKey } = ed25519.utils.getExtendedPublicKey(secretKey);
  const h = encodeToCurve(publicKey, alpha);
  const gamma = h.multiply(x);
  const truncated = sha512(secretKey).subarray(32, 64);
  const k = leToInt(sha512(concatBytes(truncated, h.toBytes()))) % Q;
  const c = challenge([ed25519.Point.fromBytes(publicKey), h, gamma, BASE.multiply(k), h.multiply(k)]);
  const s = (k + c * x) % Q;
  const proof = concatBytes(gamma.toBytes(), intToLe(c, C_LEN), intToLe(s, 32));
  return { proof, output: proofToHash(gamma) };
}

/** Verifies a proof; returns the 64-byte output, or null when invalid. */
export function vrfVerify(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array): Uint8Array | null {
  if (proof.length !== VRF_PROOF_BYTES) return null;
  const y = publicKeyPoint(publicKey);
  if (!y) return null;
  const gamma = decodePoint(proof.subarray(0, 32));
  if (!gamma) return null;
  const c = leToInt(proof.subarray(32, 48));
  const s = leToInt(proof.subarray(48, 80));
  if (s >= Q) return null;
  const native = nativeGroup();
  if (native) {
    const result = verifyNative(native, publicKey, alpha, proof, c);
    if (result !== undefined) return result;
  }
  const h = encodeToCurve(publicKey, alpha);
  const u = BASE.multiplyUnsafe(s).subtract(y.multiplyUnsafe(c));
  const v = h.multiplyUnsafe(s).subtract(gamma.multiplyUnsafe(c));
  if (challenge([y, h, gamma, u, v]) !== c) return null;
  return proofToHash(gamma);
}

/**
 * The same verification with libsodium's group operations, on inputs already decoded strictly
 * above (so encodings are canonical). Undefined when libsodium refuses an input it does not cover
 * (torsion components, identity results): the caller then verifies with @noble/curves.
 */
function verifyNative(native: NativeGroup, publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array, c: bigint): Uint8Array | null | undefined {
  const gamma = proof.subarray(0, 32);
  const cScalar = new Uint8Array(32);
  cScalar.set(proof.subarray(32, 48));
  const s = proof.subarray(48, 80);
  const h = native.clearCofactor(curveCandidate(publicKey, alpha).bytes);
  if (!h) return undefined;
  const u = native.mulSub(s, null, cScalar, publicKey);
  const v = native.mulSub(s, h, cScalar, gamma);
  if (!u || !v) return undefined;
  const hash = sha512(concatBytes(new Uint8Array([SUITE, 0x02]), publicKey, h, gamma, u, v, new Uint8Array([0x00])));
  if (leToInt(hash.subarray(0, C_LEN)) !== c) return null;
  const cleared = native.clearCofactor(gamma);
  if (!cleared) return undefined;
  return sha512(concatBytes(new Uint8Array([SUITE, 0x03]), cleared, new Uint8Array([0x00])));
}

export function vrfOutputMatches(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array, output: Uint8Array): boolean {
  const beta = vrfVerify(publicKey, alpha, proof);
  return beta !== null && bytesEqual(beta.subarray(0, output.length), output);
}
