import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { sha256, uintToBytesBE } from '../../src/primitives/index.js';
import { PARENT_SLOTS, PROOF_PROFILES, computeLabel, generateLabels, generateLabelsMany, labelScratch, merkleRoot, parentTable, sealFile, sealInMemory, type ProofParams } from '../../src/proofs/index.js';

const seedOf = (n: number) => sha256(uintToBytesBE(n, 8));
const small: ProofParams = { ...PROOF_PROFILES.test, sectorSize: 4096, layers: 3 };

describe('label v2', () => {
  test.prop([fc.nat({ max: 10_000 }), fc.integer({ min: 1, max: 5 })], { numRuns: 6 })('K lanes in lockstep give each replica the labels computed node by node', (seed, lanes) => {
    const ids = Array.from({ length: lanes }, (_, k) => seedOf(seed * 10 + k));
    const layers: Uint8Array[][] = ids.map(() => []);
    generateLabelsMany(small, ids, (k, _l, labels) => layers[k]!.push(labels.slice()));
    const nodes = small.sectorSize / 32;
    for (const [k, id] of ids.entries()) {
      const table = parentTable(id, nodes, small);
      const get = (layer: number, node: number, into: Uint32Array, at: number) => into.set(new Uint32Array(layers[k]![layer - 1]!.slice(node * 32, node * 32 + 32).buffer), at);
      const scratch = labelScratch();
      for (const node of [0, 1, 2, 77, nodes - 1]) {
        for (let layer = 1; layer <= small.layers; layer++) {
          const label = computeLabel(id, layer, node, table.subarray(node * PARENT_SLOTS, (node + 1) * PARENT_SLOTS), small, get, scratch);
          expect(label).toEqual(layers[k]![layer - 1]!.subarray(node * 32, node * 32 + 32));
        }
      }
    }
  });

  it('every label depends on the replica, the layer and the node', () => {
    const a = generateLabels(small, seedOf(1)).lastLayer;
    const b = generateLabels(small, seedOf(2)).lastLayer;
    expect(a).not.toEqual(b);
    const labels = new Set<string>();
    for (let i = 0; i < a.length; i += 32) labels.add(Buffer.from(a.subarray(i, i + 32)).toString('hex'));
    expect(labels.size).toBe(a.length / 32);
  });

  it('a sealing interrupted in a layer resumes at that layer and seals the same replica', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bcr-label-resume-'));
    try {
      const params: ProofParams = { ...small, sectorSize: 1 << 21, layers: 4 }; // two chunks of nodes per layer
      const data = new Uint8Array(params.sectorSize).map((_, i) => i * 7);
      writeFileSync(join(dir, 'piece'), data);
      const replicaId = seedOf(42);
      const sectorDir = join(dir, 's');
      const layersStarted: number[] = [];
      const interrupt = new Error('power cut');
      await expect(
        sealFile({
          params, replicaId, dataPath: join(dir, 'piece'), dir: sectorDir,
          onProgress: (p) => {
            if (p.phase !== 'labels' || p.layer === undefined) return;
            if (!layersStarted.includes(p.layer)) layersStarted.push(p.layer);
            if (p.layer === 3 && p.done > 0.4) throw interrupt;
          },
        }),
      ).rejects.toBe(interrupt);
      expect(readdirSync(sectorDir)).toContain('labelling.json');
      const resumed: number[] = [];
      const sealed = await sealFile({ params, replicaId, dataPath: join(dir, 'piece'), dir: sectorDir, onProgress: (p) => p.phase === 'labels' && p.layer !== undefined && p.done < 1 && !resumed.includes(p.layer) && resumed.push(p.layer) });
      expect(resumed).toEqual([3, 4]); // layers 1 and 2 were durable and not labelled again
      const inMemory = sealInMemory(params, replicaId, data);
      expect(sealed.commR).toEqual(inMemory.commR);
      expect(sealed.commD).toEqual(merkleRoot(data.slice()));
      expect(readdirSync(sectorDir).sort()).toEqual(['columns.bin', 'labels-1.bin', 'labels-2.bin', 'labels-3.bin', 'labels-4.bin', 'replica.bin', 'sector.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
