// libsodium's edwards25519 group operations (sodium-native, a prebuilt binary) for the VRF's hot
// path: scalar multiplications are most of an ECVRF verification and run ~10x faster there than in
// BigInt JavaScript. Every input was decoded strictly by @noble/curves first, and any case libsodium
// refuses (a point outside the prime-order subgroup, an identity result) returns null so that the
// caller falls back to @noble/curves: both paths give the same answer on every input.
import { createRequire } from 'node:module';

interface Sodium {
  crypto_scalarmult_ed25519_base_noclamp(out: Uint8Array, scalar: Uint8Array): void;
  crypto_scalarmult_ed25519_noclamp(out: Uint8Array, scalar: Uint8Array, point: Uint8Array): void;
  crypto_core_ed25519_add(out: Uint8Array, p: Uint8Array, q: Uint8Array): void;
  crypto_core_ed25519_sub(out: Uint8Array, p: Uint8Array, q: Uint8Array): void;
}

export type VrfBackend = 'native' | 'noble';

function load(): Sodium | null {
  if (process.env.BCR_VRF_BACKEND === 'noble') return null;
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return null;
  }
}

const sodium = load();
let backend: VrfBackend = sodium ? 'native' : 'noble';

export function vrfBackend(): VrfBackend {
  return backend;
}

/** For tests and benchmarks: force one implementation. */
export function setVrfBackend(next: VrfBackend): void {
  if (next === 'native' && !sodium) throw new Error('sodium-native is not available');
  backend = next;
}

/** The native group when it is selected; null means use @noble/curves. */
export function nativeGroup(): NativeGroup | null {
  return backend === 'native' && sodium ? group : null;
}

function attempt(op: () => void): boolean {
  try {
    op();
    return true;
  } catch {
    return false;
  }
}

/** Encodings in, encodings out; null where libsodium refuses (the caller then uses @noble/curves). */
export interface NativeGroup {
  /** a*A - b*B (A null = the base point); scalars little-endian, 32 bytes, below 2^255. */
  mulSub(a: Uint8Array, pointA: Uint8Array | null, b: Uint8Array, pointB: Uint8Array): Uint8Array | null;
  /** 8*P, by three doublings (P any point on the curve). */
  clearCofactor(point: Uint8Array): Uint8Array | null;
}

const group: NativeGroup = {
  mulSub(a, pointA, b, pointB) {
    const s = sodium!;
    const left = new Uint8Array(32);
    const right = new Uint8Array(32);
    const ok =
      attempt(() => (pointA ? s.crypto_scalarmult_ed25519_noclamp(left, a, pointA) : s.crypto_scalarmult_ed25519_base_noclamp(left, a))) &&
      attempt(() => s.crypto_scalarmult_ed25519_noclamp(right, b, pointB)) &&
      attempt(() => s.crypto_core_ed25519_sub(left, left, right));
    return ok ? left : null;
  },
  clearCofactor(point) {
    const s = sodium!;
    const out = new Uint8Array(32);
    const ok = attempt(() => s.crypto_core_ed25519_add(out, point, point)) && attempt(() => s.crypto_core_ed25519_add(out, out, out)) && attempt(() => s.crypto_core_ed25519_add(out, out, out));
    return ok ? out : null;
  },
};
