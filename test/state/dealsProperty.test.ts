// Property tests of deals: the proposal codec round-trips and its signature names the client (and no
// one else for a changed proposal or another chain); escrow arithmetic conserves every atto through
// any run of publication, activation, payments (proven or faulty) and slashing or completion.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Domain, addressOf, bytesEqual, decode, encode, recoverSigner, sha256 } from '../../src/primitives/index.js';
import {
  BURN_ADDRESS,
  DealEventKind,
  DealState,
  MemoryKv,
  Overlay,
  StateDb,
  activateDeals,
  dealPayment,
  dealProposalCodec,
  getAccount,
  getDeal,
  getEscrow,
  payDeals,
  publishDealKind,
  putEscrow,
  putMiner,
  signDealProposal,
  slashDeals,
  type DealProposal,
} from '../../src/state/index.js';
import { WORKER_KEY, testGenesis, txContext } from '../helpers/chain.js';

const U64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const AMOUNT = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const proposalArb: fc.Arbitrary<DealProposal> = fc.record({
  pieceCommitment: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  pieceBytes: U64,
  client: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  provider: U64,
  startSlot: U64,
  endSlot: U64,
  pricePerSlot: AMOUNT,
  providerCollateral: AMOUNT,
  clientCollateral: AMOUNT,
  nonce: U64,
});

describe('deal proposal codec', () => {
  it('round-trips every proposal, and its encoding is canonical', () => {
    fc.assert(
      fc.property(proposalArb, (p) => {
        const bytes = encode(dealProposalCodec, p);
        const back = decode(dealProposalCodec, bytes, 'proposal');
        expect(back).toEqual(p);
        expect(bytesEqual(encode(dealProposalCodec, back), bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a signature recovers its client, and nobody for another proposal or chain', () => {
    const key = sha256(new Uint8Array([7]));
    fc.assert(
      fc.property(proposalArb, fc.nat({ max: 1000 }), (p, delta) => {
        const proposal = { ...p, client: addressOf(key) };
        const signature = signDealProposal(key, 3012, proposal);
        expect(recoverSigner(Domain.dealProposal, 3012, encode(dealProposalCodec, proposal), signature)).toEqual(addressOf(key));
        const changed = { ...proposal, nonce: (proposal.nonce + delta + 1) % Number.MAX_SAFE_INTEGER };
        const recover = (chainId: number, q: DealProposal) => {
          try {
            return recoverSigner(Domain.dealProposal, chainId, encode(dealProposalCodec, q), signature);
          } catch {
            return null;
          }
        };
        expect(recover(3012, changed)).not.toEqual(addressOf(key));
        expect(recover(3013 + delta, proposal)).not.toEqual(addressOf(key));
      }),
      { numRuns: 50 },
    );
  });
});

type Step = { kind: 'pay'; slot: number; faulty: boolean } | { kind: 'slash' };

describe('escrow arithmetic through a deal\'s life', () => {
  it('conserves every atto, never locks below zero, and frees everything at the end', async () => {
    const params = testGenesis().params;
    const clientKey = sha256(new Uint8Array([0xc7]));
    const client = addressOf(clientKey);
    const worker = addressOf(WORKER_KEY);
    const owner = addressOf(sha256(new Uint8Array([0x0f])));
    await fc.assert(
      fc.asyncProperty(
        fc.record({ duration: fc.integer({ min: 1, max: 500 }), price: fc.bigInt({ min: 0n, max: 10n ** 20n }), providerCollateral: fc.bigInt({ min: 0n, max: 10n ** 20n }), clientCollateral: fc.bigInt({ min: 0n, max: 10n ** 20n }), spare: fc.bigInt({ min: 0n, max: 10n ** 18n }) }),
        fc.array(fc.oneof(fc.record({ kind: fc.constant('pay' as const), slot: fc.integer({ min: 0, max: 700 }), faulty: fc.boolean() }), fc.constant({ kind: 'slash' as const })), { maxLength: 12 }),
        async (terms, steps: Step[]) => {
          const state = new StateDb(new Overlay(new MemoryKv()));
          await putMiner(state, 1, { owner, worker, vrfKey: new Uint8Array(32), peerId: '', multiaddrs: [], sectorSize: 2048, collateral: 0n, pledge: 0n, deposits: 0n, power: 0n, powerLog: [], periodStart: 1, nextSector: 0, ineligibleUntil: 0 });
          const proposal: DealProposal = { pieceCommitment: new Uint8Array(32), pieceBytes: 2048, client, provider: 1, startSlot: 100, endSlot: 100 + terms.duration, pricePerSlot: terms.price, providerCollateral: terms.providerCollateral, clientCollateral: terms.clientCollateral, nonce: 1 };
          const clientFunds = dealPayment(proposal) + terms.clientCollateral + terms.spare;
          await putEscrow(state, client, { total: clientFunds, locked: 0n });
          await putEscrow(state, owner, { total: terms.providerCollateral, locked: 0n });
          const held = async () => (await getEscrow(state, client)).total + (await getEscrow(state, owner)).total + (await getAccount(state, owner)).balance + (await getAccount(state, BURN_ADDRESS)).balance;
          const before = await held();
          await publishDealKind.apply(txContext({ state, params, sender: worker, txId: new Uint8Array(32), height: 1, slot: 1 }), { proposal, clientSignature: signDealProposal(clientKey, params.chainId, proposal) });
          await activateDeals(state, [1]);
          let slot = 100;
          for (const step of steps) {
            if (step.kind === 'slash') await slashDeals(state, [1]);
            else {
              slot = Math.max(slot, step.slot);
              await payDeals(state, [1], slot, step.faulty);
            }
            expect(await held()).toBe(before);
            for (const who of [client, owner]) {
              const e = await getEscrow(state, who);
              expect(e.locked >= 0n && e.locked <= e.total).toBe(true);
            }
          }
          const deal = (await getDeal(state, 1))!;
          if (deal.state === DealState.active) await payDeals(state, [1], proposal.endSlot);
          // Ended (completed or slashed): nothing stays locked, and the events account for every atto paid.
          expect(await getEscrow(state, client)).toMatchObject({ locked: 0n });
          expect(await getEscrow(state, owner)).toMatchObject({ locked: 0n });
          const events = state.takeEvents();
          const paid = events.filter((e) => e.kind === DealEventKind.payment).reduce((sum, e) => sum + e.amount, 0n);
          expect((await getAccount(state, owner)).balance).toBe(paid);
          const slashed = events.find((e) => e.kind === DealEventKind.slashed);
          const compensation = slashed?.amount ?? 0n;
          expect((await getEscrow(state, client)).total).toBe(clientFunds - paid + compensation);
          expect((await getAccount(state, BURN_ADDRESS)).balance).toBe(slashed?.burned ?? 0n);
          expect(compensation + (slashed?.burned ?? 0n)).toBe(slashed ? terms.providerCollateral : 0n);
        },
      ),
      { numRuns: 150 },
    );
  });
});
