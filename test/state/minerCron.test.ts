// The cron's close index: a miner is listed at a deadline's close residue exactly while that deadline
// holds sectors, and the miners the cron visits for a block are exactly those with a non-empty
// deadline whose window closes in the slots the block covers (checked slot by slot, by brute force).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryKv, Overlay, StateDb, closeResidue, deadlineSectors, minersClosingAt, minersDue, putDeadlineSectors, windowCycle } from '../../src/state/index.js';

const paramsArb = fc.record({ deadlines: fc.integer({ min: 1, max: 8 }), extra: fc.integer({ min: 0, max: 60 }) }).map(({ deadlines, extra }) => ({ deadlines, provingPeriod: deadlines * (1 + (extra % 12)) + (extra % deadlines) }));
const opArb = fc.record({ miner: fc.integer({ min: 1, max: 6 }), deadline: fc.nat(7), sector: fc.nat(20), add: fc.boolean() });

describe('the cron close index', () => {
  it('lists a miner at a deadline close exactly while the deadline holds sectors, and the cron visits exactly the miners due', async () => {
    await fc.assert(
      fc.asyncProperty(paramsArb, fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 6, maxLength: 6 }), fc.array(opArb, { maxLength: 60 }), fc.array(fc.tuple(fc.nat(1000), fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 5 }), async (params, periodStarts, ops, blocks) => {
        const state = new StateDb(new Overlay(new MemoryKv()));
        for (const op of ops) {
          const deadline = op.deadline % params.deadlines;
          const before = await deadlineSectors(state, op.miner, deadline);
          const after = op.add ? [...new Set([...before, op.sector])].sort((a, b) => a - b) : before.filter((n) => n !== op.sector);
          await putDeadlineSectors(state, params, op.miner, periodStarts[op.miner - 1]!, deadline, before, after);
        }
        // The index against a recount from the deadline lists.
        const { width, cycle } = windowCycle(params);
        const holding: { miner: number; deadline: number }[] = [];
        for (let miner = 1; miner <= 6; miner++) for (let d = 0; d < params.deadlines; d++) if ((await deadlineSectors(state, miner, d)).length) holding.push({ miner, deadline: d });
        for (let r = 0; r < cycle; r++) {
          const expected = holding.filter((h) => closeResidue(params, periodStarts[h.miner - 1]!, h.deadline) === r).map((h) => h.miner);
          expect(await minersClosingAt(state, r)).toEqual(expected);
        }
        // Due miners for blocks at (parent, parent + gap], slot by slot: a slot t is a close of deadline d
        // when t = periodStart + (k * deadlines + d + 1) * width for some whole k. (Slots before the first
        // close, k < 0, are listed too: the cron's per-miner loop skips them, as it always did.)
        for (const [parent, gap] of blocks) {
          const expected = new Set<number>();
          for (const { miner, deadline } of holding) {
            const offset = periodStarts[miner - 1]! + (deadline + 1) * width;
            for (let t = parent + 1; t <= parent + gap; t++) if ((((t - offset) % cycle) + cycle) % cycle === 0) expected.add(miner);
          }
          expect(await minersDue(state, params, parent, parent + gap)).toEqual([...expected].sort((a, b) => a - b));
        }
      }),
      { numRuns: 150, seed: 20261204 },
    );
  });
});
