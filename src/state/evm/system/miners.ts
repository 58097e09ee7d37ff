// Miners to contracts: a miner's owner, worker, proven power and collateral; a sector's state.
import { toHex } from '../../../primitives/index.js';
import { getMiner, getSector } from '../../miners/records.js';
import { MINERS_ABI, SYSTEM_ADDRESSES } from './abis.js';
import { READ_GAS, ZERO_ADDRESS, ZERO_HASH, smallId, type SystemContract } from './precompile.js';


export const minersContract: SystemContract = {
  address: SYSTEM_ADDRESSES.miners,
  abi: MINERS_ABI,
  functions: {
    getMiner: {
      gas: READ_GAS,
      async run(call, [id]) {
        const n = smallId(id);
        const miner = n === null ? null : await getMiner(call.state, n);
        if (!miner) return { exists: false, owner: ZERO_ADDRESS, worker: ZERO_ADDRESS, sectorSize: 0n, power: 0n, collateral: 0n, pledge: 0n, nextSector: 0n };
        return { exists: true, owner: toHex(miner.owner), worker: toHex(miner.worker), sectorSize: BigInt(miner.sectorSize), power: miner.power, collateral: miner.collateral, pledge: miner.pledge, nextSector: BigInt(miner.nextSector) };
      },
    },
    getSector: {
      gas: READ_GAS,
      async run(call, [miner, number]) {
        const m = smallId(miner);
        const s = smallId(number);
        const sector = m === null || s === null ? null : await getSector(call.state, m, s);
        if (!sector) return { exists: false, state: 0, commD: ZERO_HASH, commR: ZERO_HASH, activation: 0n, expiration: 0n, dealIds: [] };
        return { exists: true, state: sector.state, commD: toHex(sector.commD), commR: toHex(sector.commR), activation: BigInt(sector.activation), expiration: BigInt(sector.expiration), dealIds: sector.dealIds.map(BigInt) };
      },
    },
  },
};
