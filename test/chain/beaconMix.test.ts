// The beacon mix: every block's VRF output folded into one running hash, from which WinningPoSt,
// WindowPoSt and PoRep-seed challenges are drawn, so a producer cannot know them before the last
// block another producer made (the election keeps its far-back anchor).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { genesisBeacon, slotContext, type ChainStore } from '../../src/chain/index.js';
import { slotRandomness } from '../../src/consensus/index.js';
import { bytesEqual } from '../../src/primitives/index.js';
import { getBeacon, getMiner, nextMix } from '../../src/state/index.js';
import { nextBlock, nowForSlot, openChain, tempDir } from '../helpers/chain.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function chainOf(blocks: number): Promise<ChainStore> {
  const dir = tempDir();
  const { chain, db } = await openChain(dir.path);
  cleanups.push(dir.cleanup, () => db.close());
  for (let i = 0; i < blocks; i++) {
    const block = await nextBlock(chain, chain.head.header.slot + 1);
    await chain.importBlock(block, nowForSlot(chain, block.header.slot));
  }
  return chain;
}

describe('beacon mix', () => {
  it('is a chain of hashes over every VRF output, checked height by height against the headers', async () => {
    const chain = await chainOf(6);
    const state = chain.headState();
    let mix = nextMix(new Uint8Array(32), genesisBeacon(chain.params));
    expect((await getBeacon(state, 0))!.mix).toEqual(mix);
    for (let h = 1; h <= chain.head.header.height; h++) {
      const header = (await chain.getBlockByHeight(h))!.header;
      mix = nextMix(mix, header.vrfOutput);
      expect((await getBeacon(state, h))!).toEqual({ slot: header.slot, vrfOutput: header.vrfOutput, mix });
    }
  }, 60_000);

  it("draws WinningPoSt challenges from the parent's mix, not from the election anchor", async () => {
    const chain = await chainOf(4);
    const state = chain.headState();
    const parent = chain.head.header;
    const slot = parent.slot + 1;
    const ctx = await slotContext(state, chain.params, 1, (await getMiner(state, 1))!, parent.height, slot);
    expect(ctx.postRandomness).toEqual(slotRandomness((await getBeacon(state, parent.height))!.mix, slot, 'winning-post'));
    const anchor = (await getBeacon(state, parent.height - chain.params.miners.randomnessLookback))!;
    expect(bytesEqual(ctx.postRandomness, slotRandomness(anchor.vrfOutput, slot, 'winning-post'))).toBe(false);
  }, 60_000);

  it('changes with any VRF output folded in, at any position', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 8 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (outputs, at, flip) => {
        const fold = (xs: Uint8Array[]) => xs.reduce((mix, x) => nextMix(mix, x), new Uint8Array(32));
        const changed = outputs.map((x) => x.slice());
        changed[at % outputs.length]![0]! ^= flip;
        expect(bytesEqual(fold(outputs), fold(changed))).toBe(false);
      }),
    );
  });
});
