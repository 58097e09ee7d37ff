// Power and collateral bookkeeping shared by miner txs and the deadline cron.
import { systemAddress } from '../../primitives/index.js';
import type { MinerParams } from '../../consensus/index.js';
import { credit } from '../accounts.js';
import type { StateDb } from '../stateDb.js';
import { getTotalPowerLog, logPower, powerAt, putMiner, putTotalPowerLog, type Miner } from './records.js';

/** Fees and slashes go here: out of circulation, still accounted for in the supply. */
export const BURN_ADDRESS = systemAddress('burn');

/** Changes a miner's proven power (and the network total) as of `height`. */
export async function changePower(state: StateDb, id: number, miner: Miner, delta: bigint, height: number, params: MinerParams): Promise<void> {
  if (delta === 0n) return;
  const keepFrom = height - params.powerLookback - 1;
  miner.power += delta;
  miner.powerLog = logPower(miner.powerLog, height, miner.power, keepFrom);
  await putMiner(state, id, miner);
  const totalLog = await getTotalPowerLog(state);
  await putTotalPowerLog(state, logPower(totalLog, height, powerAt(totalLog, height) + delta, keepFrom));
}

/** Takes a penalty from free collateral, then from locked pledge; burns what it took. */
export async function penalize(state: StateDb, miner: Miner, fee: bigint): Promise<bigint> {
  const fromCollateral = fee < miner.collateral ? fee : miner.collateral;
  miner.collateral -= fromCollateral;
  const rest = fee - fromCollateral;
  const fromPledge = rest < miner.pledge ? rest : miner.pledge;
  miner.pledge -= fromPledge;
  await credit(state, BURN_ADDRESS, fromCollateral + fromPledge);
  return fromCollateral + fromPledge;
}

export function periodIndex(params: MinerParams, miner: Miner, slot: number): number {
  return slot < miner.periodStart ? -1 : Math.floor((slot - miner.periodStart) / params.provingPeriod);
}

export function deadlineWindow(params: MinerParams, miner: Miner, period: number, deadline: number): { open: number; close: number } {
  const width = Math.floor(params.provingPeriod / params.deadlines);
  const open = miner.periodStart + period * params.provingPeriod + deadline * width;
  return { open, close: open + width };
}

/** The deadline window containing `slot`, if any. */
export function currentDeadline(params: MinerParams, miner: Miner, slot: number): { period: number; deadline: number; open: number; close: number } | null {
  const period = periodIndex(params, miner, slot);
  if (period < 0) return null;
  const width = Math.floor(params.provingPeriod / params.deadlines);
  const deadline = Math.floor((slot - miner.periodStart - period * params.provingPeriod) / width);
  if (deadline >= params.deadlines) return null;
  return { period, deadline, ...deadlineWindow(params, miner, period, deadline) };
}
