// Finality: a branch may replace canonical blocks only if it leaves the canonical chain above the
// finalized height; the simulation's long-range scenario and block import share this rule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { branchAllowed, finalizedHeightOf, isHeavierTip } from '../../src/consensus/index.js';

describe('finality', () => {
  it('allows a reorg of up to `finality` blocks and refuses one deeper, whatever its weight', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 2000 }), (head, finality, depth) => {
        // Reverting `depth` blocks: the branch's first block sits at head - depth + 1.
        const allowed = branchAllowed(head - depth + 1, finalizedHeightOf(head, finality));
        expect(allowed).toBe(depth <= Math.min(finality, head));
      }),
      { seed: 20261206, numRuns: 500 },
    );
  });

  it('prefers the longer chain, then the smaller ticket', () => {
    expect(isHeavierTip({ height: 5, ticket: 9n }, { height: 4, ticket: 1n })).toBe(true);
    expect(isHeavierTip({ height: 5, ticket: 1n }, { height: 5, ticket: 2n })).toBe(true);
    expect(isHeavierTip({ height: 5, ticket: 2n }, { height: 5, ticket: 2n })).toBe(false);
  });
});
