// Attestations on a real chain store: records and indexes in the state, proofs of them against the
// state root of any block from the finalized one to the head (the state rolled back in memory), checked
// the way a light client does; and (property) after any reorg between two branches of attestations,
// the index of every hash lists exactly the records the canonical branch made, in order.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { blockId, encodeHeader, type Block, type ChainStore } from '../../src/chain/index.js';
import { sha256, utf8 } from '../../src/primitives/index.js';
import { attestKind, attestPayload, attestationIdsOfHash, attestationPageOfHash, attestationProofKeys, getAttestation, txId, verifyAttestationPage, verifyAttestationProofs, type AttestPayload } from '../../src/state/index.js';
import { DEV_KEY, addBlock, kindTx, nextBlock, nowForSlot, chainStores } from '../helpers/chain.js';

const stores = chainStores('bcr-attest-');
afterAll(() => stores.closeAll());
const freshChain = () => stores.fresh();

const fileHash = (n: number) => sha256(utf8(`file ${n}`));
const attest = (nonce: number, payload: Partial<AttestPayload> & { hash: Uint8Array }) => kindTx(DEV_KEY, nonce, attestKind, attestPayload, { tag: 'provenance/v1', ref: null, meta: new Uint8Array(0), ...payload });

describe('attestations in the chain', () => {
  it('records a provenance chain, and proves it at the finalized block as a light client checks it', async () => {
    const chain = await freshChain();
    const first = attest(0, { hash: fileHash(1), meta: utf8('batch 7') });
    await addBlock(chain, [first]);
    const second = attest(1, { hash: fileHash(1), tag: 'shipment/v1', ref: txId(first) });
    await addBlock(chain, [second, attest(2, { hash: fileHash(2) })]);
    const heightWithTwo = chain.head.header.height;
    // A ref to nothing is refused with a code, not recorded.
    const bad = attest(3, { hash: fileHash(1), ref: sha256(utf8('nothing')) });
    const badBlock = await addBlock(chain, [bad]);
    expect((await chain.getReceipts(blockId(badBlock.header)))![0]).toMatchObject({ status: 1, error: 'REF_NOT_FOUND' });

    const ids = await attestationIdsOfHash(chain.headState(), fileHash(1));
    expect(ids).toEqual([txId(first), txId(second)]);
    expect(await getAttestation(chain.headState(), txId(second))).toMatchObject({ tag: 'shipment/v1', ref: txId(first), height: heightWithTwo });

    // Grow past finality with a third record of the hash, then prove the state at an older block.
    const third = attest(4, { hash: fileHash(1), ref: txId(second) });
    await addBlock(chain, [third]);
    while (chain.finalizedHeight < heightWithTwo) await addBlock(chain);
    const keys = attestationProofKeys(fileHash(1), ids);
    const { id, header, proofs } = await chain.proveAt(heightWithTwo, keys);
    expect(sha256(encodeHeader(header))).toEqual(id);
    const records = verifyAttestationProofs(header.stateRoot, fileHash(1), proofs);
    expect(records.map((r) => r.id)).toEqual([txId(first), txId(second)]);
    expect(records[0]!.record.meta).toEqual(utf8('batch 7'));
    // At the head there are three; the old proofs do not verify against the head's root.
    const headIds = await attestationIdsOfHash(chain.headState(), fileHash(1));
    expect(headIds).toHaveLength(3);
    expect(() => verifyAttestationProofs(chain.head.header.stateRoot, fileHash(1), proofs)).toThrow(/does not verify/);
    // A proof that leaves a record out, or a forged value, is caught.
    expect(() => verifyAttestationProofs(header.stateRoot, fileHash(1), proofs.slice(0, -1))).toThrow(/no proof for state key/);
    const forged = proofs.map((p, i) => (i === proofs.length - 1 ? { ...p, value: utf8('forged') } : p));
    expect(() => verifyAttestationProofs(header.stateRoot, fileHash(1), forged)).toThrow(/does not verify/);
    // A page of the head's three: the second record alone, proven with the total.
    const page = await attestationPageOfHash(chain.headState(), fileHash(1), 1, 1);
    expect(page).toEqual({ ids: [txId(second)], total: 3 });
    const paged = await chain.proveAt(chain.head.header.height, attestationProofKeys(fileHash(1), page.ids, 1));
    const verified = verifyAttestationPage(paged.header.stateRoot, fileHash(1), paged.proofs, { from: 1, limit: 1 });
    expect(verified.total).toBe(3);
    expect(verified.records.map((r) => r.id)).toEqual([txId(second)]);
    // The proofs of another page do not pass for this one.
    expect(() => verifyAttestationPage(paged.header.stateRoot, fileHash(1), paged.proofs, { from: 2, limit: 1 })).toThrow(/no proof for state key/);
    // Below the finalized block the undo data is gone: a clear refusal.
    await expect(chain.proveAt(1, keys)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
  });

  it('keeps every hash index equal to the canonical records after a reorg between two branches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(2), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(2), { minLength: 1, maxLength: 4 }),
        async (branchA, branchB) => {
          const a = await freshChain();
          const b = await freshChain();
          // A common first block, then each branch attests its own hashes (B's branch is longer).
          const common = await nextBlock(a, 1, []);
          for (const chain of [a, b]) await chain.importBlock(common, nowForSlot(chain, common.header.slot));
          const build = async (chain: ChainStore, picks: number[], from: number, extra: number): Promise<Block[]> => {
            const blocks: Block[] = [];
            for (const [i, n] of picks.entries()) {
              const block = await nextBlock(chain, from, [attest(i, { hash: fileHash(n), meta: utf8(`${from}-${i}`) })]);
              await chain.importBlock(block, nowForSlot(chain, block.header.slot));
              blocks.push(block);
            }
            for (let i = 0; i < extra; i++) {
              const block = await nextBlock(chain, from, []);
              await chain.importBlock(block, nowForSlot(chain, block.header.slot));
              blocks.push(block);
            }
            return blocks;
          };
          await build(a, branchA, 2, 0);
          const longer = await build(b, branchB, 60, branchA.length + 1 - branchB.length > 0 ? branchA.length + 1 - branchB.length : 1);
          for (const block of longer) await a.importBlock(block, nowForSlot(a, 100_000));
          expect(a.head.id).toEqual(b.head.id);
          for (const n of [0, 1, 2]) {
            const ids = await attestationIdsOfHash(a.headState(), fileHash(n));
            const expected = branchB.flatMap((pick, i) => (pick === n ? [txId(attest(i, { hash: fileHash(n), meta: utf8(`60-${i}`) }))] : []));
            expect(ids).toEqual(expected);
            for (const id of ids) expect((await getAttestation(a.headState(), id))!.hash).toEqual(fileHash(n));
          }
        },
      ),
      { numRuns: 6 },
    );
  }, 120_000);
});
