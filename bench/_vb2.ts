import { hashPairsInto } from '../src/primitives/index.js';
import { createHash } from 'node:crypto';
const depth = 30, P = 4096;
const leaves = new Uint32Array(P * 8), sibs = new Uint32Array(P * depth * 8), idx = new Uint32Array(P), roots = new Uint32Array(P * 8);
const sib8 = new Uint8Array(sibs.buffer), leaf8 = new Uint8Array(leaves.buffer);
for (let p = 0; p < P; p++) {
  leaf8.set(createHash('sha256').update(String(p)).digest(), p * 32);
  for (let i = 0; i < depth * 32; i++) sib8[p * depth * 32 + i] = (i * 31 + p) & 0xff;
  idx[p] = (p * 2654435761) % 2 ** depth;
  let h = leaf8.slice(p * 32, p * 32 + 32); const buf = new Uint8Array(64), out = new Uint8Array(32);
  for (let l = 0; l < depth; l++) { const s = sib8.subarray((p * depth + l) * 32, (p * depth + l) * 32 + 32); if ((idx[p] >> l) & 1) { buf.set(s, 0); buf.set(h, 32); } else { buf.set(h, 0); buf.set(s, 32); } hashPairsInto(buf, out); h = out.slice(); }
  new Uint8Array(roots.buffer).set(h, p * 32);
}
const input = new Uint8Array(P * 64), in32 = new Uint32Array(input.buffer), output = new Uint8Array(P * 32), out32 = new Uint32Array(output.buffer);
function verify(): number {
  for (let l = 0; l < depth; l++) {
    const src = l === 0 ? leaves : out32;
    for (let p = 0; p < P; p++) {
      const odd = ((idx[p]! >>> l) & 1) << 3;
      const d = p * 16, s = p * 8, b = (p * depth + l) * 8;
      const h = d + odd, g = d + 8 - odd;
      in32[h] = src[s]!; in32[h + 1] = src[s + 1]!; in32[h + 2] = src[s + 2]!; in32[h + 3] = src[s + 3]!;
      in32[h + 4] = src[s + 4]!; in32[h + 5] = src[s + 5]!; in32[h + 6] = src[s + 6]!; in32[h + 7] = src[s + 7]!;
      in32[g] = sibs[b]!; in32[g + 1] = sibs[b + 1]!; in32[g + 2] = sibs[b + 2]!; in32[g + 3] = sibs[b + 3]!;
      in32[g + 4] = sibs[b + 4]!; in32[g + 5] = sibs[b + 5]!; in32[g + 6] = sibs[b + 6]!; in32[g + 7] = sibs[b + 7]!;
    }
    hashPairsInto(input, output);
  }
  let good = 0;
  for (let p = 0; p < P; p++) { let eq = true; for (let w = 0; w < 8; w++) if (out32[p * 8 + w] !== roots[p * 8 + w]) eq = false; if (eq) good++; }
  return good;
}
console.log('good', verify());
let t = performance.now(), rounds = 0;
while (performance.now() - t < 2000) { verify(); rounds++; }
const el = (performance.now() - t) / 1000;
console.log('proofs/s', (rounds * P / el).toFixed(0), 'hashes/s', (rounds * P * depth / el / 1e6).toFixed(2), 'M');
