// The genesis a simulation starts from: a network's genesis file, its state built in memory.
// Proofs run at the test profile's sector size (each simulated sector stands for one of the
// network's sectors: power shares, pledges and fees are per sector, so nothing else changes).
import { buildGenesis, parseGenesis, readGenesisJson } from '../../chain/index.js';
import type { SimGenesis } from '../../sim/index.js';
import { MemoryKv } from '../../state/index.js';

export async function simGenesis(network: string): Promise<SimGenesis & { council: { signers: Uint8Array[]; threshold: number; noticeSlots: number } | null }> {
  const genesis = parseGenesis(readGenesisJson(network), 0);
  const params = { ...genesis.params, miners: { ...genesis.params.miners, proofProfile: 'test' as const } };
  const { overlay } = await buildGenesis({ ...genesis, params, miners: [] }, new MemoryKv());
  const kv = new MemoryKv();
  kv.apply(overlay.entries());
  const funder = genesis.allocations.find((a) => a.label === 'tech' && !a.vesting) ?? genesis.allocations.find((a) => !a.vesting && a.label !== 'foundation');
  if (!funder) throw new Error(`${network} has no liquid allocation to sell miners their collateral`);
  return {
    params,
    kv,
    total: genesis.allocations.reduce((sum, a) => sum + a.balance, 0n),
    vested: genesis.allocations.filter((a) => a.vesting).map((a) => a.address),
    funder: funder.address,
    council: genesis.council,
  };
}
