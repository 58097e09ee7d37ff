// The fuzz suite in CI: a small number of runs per target (the full runs: npm run fuzz -- --runs N).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { txKinds } from '../../src/state/index.js';
import { fuzzHarness, type FuzzHarness } from './harness.js';

const RUNS = 150;
let harness: FuzzHarness;
beforeAll(async () => {
  harness = await fuzzHarness();
}, 60_000);
afterAll(async () => harness?.close());

describe('fuzzing every decoder and entry point', () => {
  it('accepts or refuses with a precise code, never crashes', async () => {
    expect(harness.targets.length).toBeGreaterThanOrEqual(15);
    // Every tx kind's handler is fuzzed with payloads that get past its decoder.
    expect(harness.targets.filter((t) => t.name.startsWith('tx kind ')).length).toBe(txKinds().length);
    for (const target of harness.targets) {
      const outcomes = new Set<string>();
      await fc.assert(fc.asyncProperty(target.arbitrary, async (input) => void outcomes.add(await target.run(input))), { numRuns: RUNS, seed: 20261129 });
      // Every target must actually reach a refusal (or the inputs never got past the front door).
      expect([...outcomes].some((o) => o !== 'accepted'), target.name).toBe(true);
    }
  }, 120_000);
});
