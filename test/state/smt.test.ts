import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { compareBytes, hashPair, hexKey, sha256 } from '../../src/primitives/index.js';
import { MemoryKv, Overlay, ZERO_HASH, leafHash, smtProve, smtRoot, smtUpdate, smtVerify, type SmtChange } from '../../src/state/index.js';

/** Reference: the root straight from the definition, over the final key set. */
function referenceRoot(entries: Map<string, Uint8Array>, depth = 0, keys?: Uint8Array[]): Uint8Array {
  const all = keys ?? [...entries.keys()].map((k) => Buffer.from(k, 'hex')).map((b) => new Uint8Array(b));
  if (all.length === 0) return ZERO_HASH;
  if (all.length === 1) return leafHash(all[0]!, entries.get(hexKey(all[0]!))!);
  const bit = (k: Uint8Array) => ((k[depth >> 3]! >> (7 - (depth & 7))) & 1) === 1;
  return hashPair(referenceRoot(entries, depth + 1, all.filter((k) => !bit(k))), referenceRoot(entries, depth + 1, all.filter(bit)));
}

async function applyBatches(kv: MemoryKv, batches: SmtChange[][]): Promise<Uint8Array> {
  let root = await smtRoot(kv);
  for (const batch of batches) {
    const overlay = new Overlay(kv);
    root = await smtUpdate(overlay, batch);
    kv.apply(overlay.entries());
  }
  return root;
}

const key = (n: number) => sha256(new Uint8Array([n >> 8, n & 0xff]));
const value = (n: number) => sha256(new Uint8Array([0xaa, n]));
// Few distinct keys so that updates, deletes and re-inserts of the same keys are common.
const arbChange = fc.record({ k: fc.nat({ max: 40 }), v: fc.option(fc.nat({ max: 255 }), { nil: null }) });
const arbBatches = fc.array(fc.array(arbChange, { maxLength: 12 }), { minLength: 1, maxLength: 8 });

function toChanges(batch: { k: number; v: number | null }[]): SmtChange[] {
  return batch.map(({ k, v }) => ({ key: key(k), valueHash: v === null ? null : value(v) }));
}

function finalSet(batches: { k: number; v: number | null }[][]): Map<string, Uint8Array> {
  const set = new Map<string, Uint8Array>();
  for (const batch of batches) for (const { k, v } of batch) v === null ? set.delete(hexKey(key(k))) : set.set(hexKey(key(k)), value(v));
  return set;
}

describe('sparse Merkle tree', () => {
  test.prop([arbBatches])('root matches the reference definition after any batches of writes and deletes', async (batches) => {
    const kv = new MemoryKv();
    const root = await applyBatches(kv, batches.map(toChanges));
    expect(hexKey(root)).toBe(hexKey(referenceRoot(finalSet(batches))));
  });

  test.prop([arbBatches])('stored nodes depend only on the final key set (history independence, no stale nodes)', async (batches) => {
    const incremental = new MemoryKv();
    await applyBatches(incremental, batches.map(toChanges));
    const fresh = new MemoryKv();
    const set = finalSet(batches);
    await applyBatches(fresh, [[...set].map(([k, v]) => ({ key: new Uint8Array(Buffer.from(k, 'hex')), valueHash: v }))]);
    expect([...incremental.map.keys()].sort()).toEqual([...fresh.map.keys()].sort());
    for (const [id, stored] of fresh.map) expect(hexKey(incremental.map.get(id)!)).toBe(hexKey(stored));
  });

  // Keys that share long prefixes put pages deep down the tree and make collapses cross page
  // boundaries (a page holds 4 binary levels) in both directions.
  const arbCloseKeys = fc.uniqueArray(
    fc.record({ prefixBits: fc.integer({ min: 0, max: 255 }), tail: fc.uint8Array({ minLength: 32, maxLength: 32 }) }).map(({ prefixBits, tail }) => {
      const out = new Uint8Array(32).fill(0x5a);
      for (let bit = prefixBits; bit < 256; bit++) if ((tail[bit >> 3]! >> (7 - (bit & 7))) & 1) out[bit >> 3]! ^= 1 << (7 - (bit & 7));
      return out;
    }),
    { minLength: 1, maxLength: 24, selector: (k) => hexKey(k) },
  );

  test.prop([arbCloseKeys, fc.array(fc.nat(), { maxLength: 24 })])('deep paths: root, proofs and deletes agree with the definition', async (keys, deletes) => {
    const kv = new MemoryKv();
    const entries = new Map(keys.map((k, i) => [hexKey(k), value(i & 0xff)]));
    let root = await applyBatches(kv, [keys.map((k, i) => ({ key: k, valueHash: value(i & 0xff) }))]);
    expect(hexKey(root)).toBe(hexKey(referenceRoot(entries)));
    const gone = [...new Set(deletes.map((d) => d % keys.length))].map((i) => keys[i]!);
    root = await applyBatches(kv, [gone.map((k) => ({ key: k, valueHash: null }))]);
    for (const k of gone) entries.delete(hexKey(k));
    expect(hexKey(root)).toBe(hexKey(referenceRoot(entries)));
    for (const k of keys) {
      const proof = await smtProve(kv, k);
      const present = entries.get(hexKey(k));
      expect(smtVerify(root, k, present ?? null, proof)).toBe(true);
    }
    if (entries.size === 0) expect(kv.map.size).toBe(0);
  });

  test.prop([fc.uniqueArray(fc.nat({ max: 500 }), { minLength: 1, maxLength: 60 }), fc.nat()])('the same set in any order gives the same root', async (ks, seed) => {
    const changes = ks.map((k) => ({ key: key(k), valueHash: value(k & 0xff) }));
    const shuffled = [...changes].sort((a, b) => ((hexKey(a.key).charCodeAt(seed % 64) ^ seed) - (hexKey(b.key).charCodeAt(seed % 64) ^ seed)));
    const one = await applyBatches(new MemoryKv(), [changes]);
    const two = await applyBatches(new MemoryKv(), shuffled.map((c) => [c]));
    expect(one).toEqual(two);
  });

  test.prop([fc.uniqueArray(fc.nat({ max: 300 }), { minLength: 1, maxLength: 40 }), fc.nat({ max: 300 })])(
    'proofs verify for present keys and absent keys, and fail when altered',
    async (present, probe) => {
      const kv = new MemoryKv();
      const root = await applyBatches(kv, [present.map((k) => ({ key: key(k), valueHash: value(k & 0xff) }))]);
      for (const k of present.slice(0, 5)) {
        const proof = await smtProve(kv, key(k));
        expect(smtVerify(root, key(k), value(k & 0xff), proof)).toBe(true);
        expect(smtVerify(root, key(k), value((k + 1) & 0xff), proof)).toBe(false);
        expect(smtVerify(root, key(k), null, proof)).toBe(false);
        if (proof.siblings.length) {
          const tampered = { ...proof, siblings: proof.siblings.map((s, i) => (i === 0 ? hashPair(s, s) : s)) };
          expect(smtVerify(root, key(k), value(k & 0xff), tampered)).toBe(false);
        }
        const otherRoot = hashPair(root, root);
        expect(smtVerify(otherRoot, key(k), value(k & 0xff), proof)).toBe(false);
      }
      if (!present.includes(probe)) {
        const proof = await smtProve(kv, key(probe));
        expect(smtVerify(root, key(probe), null, proof)).toBe(true);
        expect(smtVerify(root, key(probe), value(0), proof)).toBe(false);
      }
    },
  );

  it('an absence proof cannot be forged from a leaf off the path', async () => {
    const kv = new MemoryKv();
    const keys = [1, 2, 3, 4, 5, 6, 7, 8].map(key).sort(compareBytes);
    const root = await applyBatches(kv, [keys.map((k) => ({ key: k, valueHash: value(1) }))]);
    const proofOfFirst = await smtProve(kv, keys[0]!);
    // Use key[0]'s leaf to claim that the last key (on another path) is absent.
    expect(smtVerify(root, keys[7]!, null, proofOfFirst)).toBe(false);
  });

  it('deleting every key empties the store and the root', async () => {
    const kv = new MemoryKv();
    await applyBatches(kv, [[1, 2, 3, 4, 5].map((k) => ({ key: key(k), valueHash: value(k) }))]);
    const root = await applyBatches(kv, [[1, 2, 3, 4, 5].map((k) => ({ key: key(k), valueHash: null }))]);
    expect(root).toEqual(ZERO_HASH);
    expect(kv.map.size).toBe(0);
  });

  it('updates only the paths of changed keys', async () => {
    const kv = new MemoryKv();
    await applyBatches(kv, [Array.from({ length: 2000 }, (_, i) => ({ key: key(i), valueHash: value(i & 0xff) }))]);
    const overlay = new Overlay(kv);
    await smtUpdate(overlay, [{ key: key(7), valueHash: value(9) }]);
    expect(overlay.size).toBeLessThan(30); // ~log2(2000) + a few, not the whole tree
  });
});
