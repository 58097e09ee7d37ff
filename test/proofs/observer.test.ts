// The proof observer is per caller, not per process: two nodes' imports interleaving (awaits between
// verifications) each report only their own proofs.
import { describe, expect, it } from 'vitest';
import { observed, withProofObserver, type VerifiedProofKind } from '../../src/proofs/index.js';

describe('proof observers', () => {
  it('report each verification to the observer of the work it ran in, across awaits', async () => {
    const seen: Record<string, string[]> = { a: [], b: [] };
    const work = async (kinds: VerifiedProofKind[]) => {
      for (const kind of kinds) {
        await new Promise((resolve) => setImmediate(resolve));
        observed(kind, () => (kind === 'porep' ? 'bad' : null));
      }
    };
    await Promise.all([
      withProofObserver((kind, valid) => seen.a!.push(`${kind}:${valid}`), () => work(['winning', 'window', 'porep'])),
      withProofObserver((kind, valid) => seen.b!.push(`${kind}:${valid}`), () => work(['window', 'window'])),
      // Outside any observer: verified, reported to nobody.
      work(['winning']),
    ]);
    expect(seen.a).toEqual(['winning:true', 'window:true', 'porep:false']);
    expect(seen.b).toEqual(['window:true', 'window:true']);
    expect(observed('winning', () => null)).toBeNull();
  });
});
