// The simulations' randomness: sfc32 (Chris Doty-Humphrey's small fast counter generator), seeded
// from SHA-256 of the seed text. 32-bit integer arithmetic only, so a run is the same bit for bit on
// every machine; draws below 2^53 combine two outputs. Never used by consensus code.
import { sha256, utf8 } from '../primitives/index.js';

export class SimRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string | Uint8Array) {
    const digest = sha256(typeof seed === 'string' ? utf8(seed) : seed);
    const view = new DataView(digest.buffer, digest.byteOffset, 32);
    this.a = view.getUint32(0);
    this.b = view.getUint32(4);
    this.c = view.getUint32(8);
    this.d = view.getUint32(12) | 1;
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform integer in [0, 2^53). */
  u53(): number {
    return (this.u32() >>> 5) * 67_108_864 + (this.u32() >>> 6);
  }

  /** A uniform integer in [0, n) for a positive safe integer n, without modulo bias. */
  below(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`below() needs a positive safe integer, got ${n}`);
    const limit = 2 ** 53 - (2 ** 53 % n);
    for (;;) {
      const x = this.u53();
      if (x < limit) return x % n;
    }
  }

  /** True with probability numerator / denominator (integers, 0 <= numerator <= denominator < 2^53). */
  chance(numerator: number, denominator: number): boolean {
    return this.below(denominator) < numerator;
  }

  /** An independent generator for a named part of a run (adding a part never shifts another's draws). */
  fork(label: string): SimRng {
    const state = new Uint8Array(16 + label.length * 3);
    const view = new DataView(state.buffer);
    view.setUint32(0, this.a);
    view.setUint32(4, this.b);
    view.setUint32(8, this.c);
    view.setUint32(12, this.d);
    state.set(utf8(label), 16);
    return new SimRng(state);
  }
}
