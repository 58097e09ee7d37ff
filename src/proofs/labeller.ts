// The sealing hot loop: label v2 (graph.ts) for K replicas in lockstep. Within one replica every
// step waits for the one before, so the only batch a native SHA-256 call can take is across
// replicas: each step of node i hashes the K replicas' 64-byte blocks in one hashtree call (the
// multi-buffer SHA-NI path), which is how a miner sealing several sectors at once reaches native
// speed. K = 1 is the same code with one lane.
import { hashPairsInto } from '../primitives/index.js';
import { PARENT_SLOTS } from './graph.js';
import type { ProofParams } from './params.js';

/** One replica being labelled. Word arrays are views of label bytes (8 words per label). */
export interface LabelLane {
  replicaId: Uint8Array;
  /** This layer's labels, nodes × 8 words; filled in node order (DRG parents are read from it). */
  current: Uint32Array;
  /** Parent slots of the chunk's nodes: count × 8 words (graph.ts nodeParents). */
  parents: Uint32Array;
  /** Expander parent labels of the chunk's nodes (count × E × 8 words); layer 2 on. */
  expanders: Uint32Array | null;
}

function copyLabel(src: Uint32Array, at: number, dst: Uint32Array, to: number): void {
  for (let w = 0; w < 8; w++) dst[to + w] = src[at + w]!;
}

const bswap = (x: number) => (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class LockstepLabeller {
  private readonly pairs: Uint8Array;
  private readonly pairs32: Uint32Array;
  private readonly outs: Uint8Array;
  private readonly outs32: Uint32Array;
  private readonly seeds: Uint32Array;

  constructor(
    private readonly params: Pick<ProofParams, 'drgParents' | 'expanderParents'>,
    readonly lanes: number,
  ) {
    if (!littleEndian) throw new Error('the lockstep labeller assumes a little-endian host');
    this.pairs = new Uint8Array(lanes * 64);
    this.pairs32 = new Uint32Array(this.pairs.buffer);
    this.outs = new Uint8Array(lanes * 32);
    this.outs32 = new Uint32Array(this.outs.buffer);
    this.seeds = new Uint32Array(lanes * 8);
  }

  /** One step for every lane: c = H64(c || parent), the new c written back as the left half. */
  private step(K: number): void {
    const { pairs32, outs32 } = this;
    hashPairsInto(this.pairs, this.outs);
    for (let k = 0; k < K; k++) {
      const p = k * 16;
      const o = k * 8;
      for (let w = 0; w < 8; w++) pairs32[p + w] = outs32[o + w]!;
    }
  }

  /** Labels nodes [start, start + count) of `layer` in every lane. */
  labelChunk(layer: number, start: number, count: number, lanes: LabelLane[]): void {
    const K = lanes.length;
    if (K !== this.lanes) throw new RangeError(`labeller has ${this.lanes} lanes, got ${K}`);
    const { drgParents: D, expanderParents: E } = this.params;
    const { pairs32, outs32, seeds } = this;
    if (layer > 1 && E > 0 && lanes.some((lane) => !lane.expanders)) throw new RangeError('layers after the first need expander labels');
    for (let k = 0; k < K; k++) seeds.set(new Uint32Array(lanes[k]!.replicaId.slice(0, 32).buffer), k * 8);
    const layerWord = bswap(layer);
    for (let node = start; node < start + count; node++) {
      const local = node - start;
      const hiWord = bswap(Math.floor(node / 2 ** 32));
      const loWord = bswap(node >>> 0);
      for (let k = 0; k < K; k++) {
        const p = k * 16;
        const s = k * 8;
        for (let w = 0; w < 5; w++) pairs32[p + w] = seeds[s + w]!;
        pairs32[p + 5] = seeds[s + 5]! ^ layerWord;
        pairs32[p + 6] = seeds[s + 6]! ^ hiWord;
        pairs32[p + 7] = seeds[s + 7]! ^ loWord;
      }
      // Steps in label order: previous node, DRG parents (this layer), expander parents (layer 2 on).
      if (node > 0) {
        for (let k = 0; k < K; k++) copyLabel(lanes[k]!.current, (node - 1) * 8, pairs32, k * 16 + 8);
        this.step(K);
        for (let j = 0; j < D; j++) {
          for (let k = 0; k < K; k++) {
            const lane = lanes[k]!;
            copyLabel(lane.current, lane.parents[local * PARENT_SLOTS + j]! * 8, pairs32, k * 16 + 8);
          }
          this.step(K);
        }
      }
      if (layer > 1 && E > 0) {
        for (let j = 0; j < E; j++) {
          for (let k = 0; k < K; k++) copyLabel(lanes[k]!.expanders!, (local * E + j) * 8, pairs32, k * 16 + 8);
          this.step(K);
        }
      } else if (node === 0) {
        for (let k = 0; k < K; k++) pairs32.fill(0, k * 16 + 8, k * 16 + 16);
        this.step(K);
      }
      for (let k = 0; k < K; k++) {
        const current = lanes[k]!.current;
        const d = node * 8;
        for (let w = 0; w < 8; w++) current[d + w] = outs32[k * 8 + w]!;
      }
    }
  }
}

/** Gathers the expander parent labels of nodes [start, start+count) from the previous layer. */
export function gatherExpanders(previous: Uint32Array, parents: Uint32Array, count: number, params: Pick<ProofParams, 'drgParents' | 'expanderParents'>, out: Uint32Array): Uint32Array {
  const E = params.expanderParents;
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < E; j++) {
      const s = parents[i * PARENT_SLOTS + params.drgParents + j]! * 8;
      const d = (i * E + j) * 8;
      for (let w = 0; w < 8; w++) out[d + w] = previous[s + w]!;
    }
  }
  return out;
}

/** Folds a layer into the column leaves, c = H64(c || label), for `count` nodes in one call. */
export function foldColumns(columns32: Uint32Array, labels32: Uint32Array, count: number, scratch: Uint8Array): void {
  const scratch32 = new Uint32Array(scratch.buffer, scratch.byteOffset, count * 16);
  for (let i = 0; i < count; i++) {
    for (let w = 0; w < 8; w++) {
      scratch32[i * 16 + w] = columns32[i * 8 + w]!;
      scratch32[i * 16 + 8 + w] = labels32[i * 8 + w]!;
    }
  }
  hashPairsInto(scratch.subarray(0, count * 64), new Uint8Array(columns32.buffer, columns32.byteOffset, count * 32));
}
