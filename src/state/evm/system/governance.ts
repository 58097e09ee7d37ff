// Governance to contracts: a reserve proposal's proposer, state, approvals and clock.
import { fromHex, toHex } from '../../../primitives/index.js';
import { getProposal } from '../../governance.js';
import { GOVERNANCE_ABI, SYSTEM_ADDRESSES } from './abis.js';
import { READ_GAS, ZERO_ADDRESS, type SystemContract } from './precompile.js';

export const governanceContract: SystemContract = {
  address: SYSTEM_ADDRESSES.governance,
  abi: GOVERNANCE_ABI,
  functions: {
    getProposal: {
      gas: READ_GAS,
      async run(call, [id]) {
        const proposal = await getProposal(call.state, fromHex(id as string));
        if (!proposal) return { exists: false, proposer: ZERO_ADDRESS, state: 0, approvals: 0n, createdSlot: 0n, approvedSlot: 0n, closedSlot: 0n };
        return { exists: true, proposer: toHex(proposal.proposer), state: proposal.state, approvals: BigInt(proposal.approvals.length), createdSlot: BigInt(proposal.createdSlot), approvedSlot: BigInt(proposal.approvedSlot), closedSlot: BigInt(proposal.closedSlot) };
      },
    },
  },
};
