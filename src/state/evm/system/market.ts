// The storage market to contracts: fund a client's escrow with msg.value, read escrow and deals.
// A contract can so pay for storage and wait until its deal is active, as FOC's contracts do.
import { debit } from '../../accounts.js';
import { TxFailure } from '../../errors.js';
import { DealState, dealCount, getDeal } from '../../market/deals.js';
import { addEscrow, getEscrow } from '../../market/escrow.js';
import { fromHex, toHex } from '../../../primitives/index.js';
import { MARKET_ABI, SYSTEM_ADDRESSES } from './abis.js';
import { READ_GAS, requireId, type SystemContract } from './precompile.js';

const id = (arg: unknown): number => requireId(arg, 'no deal has that id');

export const marketContract: SystemContract = {
  address: SYSTEM_ADDRESSES.market,
  abi: MARKET_ABI,
  functions: {
    deposit: {
      gas: 30_000,
      payable: true,
      async run(call, [client]) {
        if (call.value === 0n) throw new TxFailure('ZERO_VALUE', 'deposit needs a value');
        // The EVM put msg.value in this contract's balance; it moves on to the client's escrow.
        await debit(call.state, call.self, call.value, call.slot);
        await addEscrow(call.state, fromHex(client as string), call.value);
        return undefined;
      },
    },
    escrow: {
      gas: READ_GAS,
      async run(call, [account]) {
        const escrow = await getEscrow(call.state, fromHex(account as string));
        return [escrow.total, escrow.locked];
      },
    },
    dealExists: { gas: READ_GAS, run: async (call, [deal]) => (await getDeal(call.state, id(deal))) !== null },
    dealActive: { gas: READ_GAS, run: async (call, [deal]) => (await getDeal(call.state, id(deal)))?.state === DealState.active },
    dealCount: { gas: READ_GAS, run: async (call) => BigInt(await dealCount(call.state)) },
    getDeal: {
      gas: READ_GAS,
      async run(call, [deal]) {
        const found = await getDeal(call.state, id(deal));
        if (!found) throw new TxFailure('NOT_FOUND', `no deal ${deal as bigint}`);
        const p = found.proposal;
        return {
          client: toHex(p.client),
          provider: BigInt(p.provider),
          pieceCommitment: toHex(p.pieceCommitment),
          pieceBytes: BigInt(p.pieceBytes),
          startSlot: BigInt(p.startSlot),
          endSlot: BigInt(p.endSlot),
          pricePerSlot: p.pricePerSlot,
          providerCollateral: p.providerCollateral,
          clientCollateral: p.clientCollateral,
          state: found.state,
          sector: BigInt(found.sector),
          lastPaidSlot: BigInt(found.lastPaidSlot),
        };
      },
    },
  },
};
