// A miner's proving windows as seen from a slot: the open one and whether it is proven, and the
// next ones (the deadline watchdog, `bcr_getDeadlines`, `bcr miner info`).
import type { MinerParams } from '../../consensus/index.js';
import type { StateDb } from '../stateDb.js';
import { currentDeadline, deadlineWindow } from './accounting.js';
import { getSector, type Miner } from './records.js';
import { provableSectors } from './txs.js';

export interface WindowStatus {
  period: number;
  deadline: number;
  open: number;
  close: number;
  sectors: number;
  proven: boolean;
}

/** Whether every one of `sectors` has a WindowPoSt on chain for proving period `period`. */
export async function allProven(state: StateDb, minerId: number, sectors: { number: number }[], period: number): Promise<boolean> {
  for (const s of sectors) if ((await getSector(state, minerId, s.number))!.provenPeriod < period + 1) return false;
  return true;
}

/** The window open at `slot` and whether every provable sector in it is proven for its period. */
export async function windowStatus(state: StateDb, params: MinerParams, minerId: number, miner: Miner, slot: number): Promise<WindowStatus | null> {
  const window = currentDeadline(params, miner, slot);
  if (!window) return null;
  const sectors = await provableSectors(state, minerId, window.deadline);
  return { ...window, sectors: sectors.length, proven: sectors.length > 0 && (await allProven(state, minerId, sectors, window.period)) };
}

/** The next `count` deadline windows from `slot` on (the open one first), for `bcr miner info`. */
export function upcomingWindows(params: MinerParams, miner: Miner, slot: number, count: number): { period: number; deadline: number; open: number; close: number }[] {
  const out: { period: number; deadline: number; open: number; close: number }[] = [];
  const first = currentDeadline(params, miner, Math.max(slot, miner.periodStart));
  let period = first?.period ?? 0;
  let deadline = first?.deadline ?? 0;
  while (out.length < count) {
    const window = deadlineWindow(params, miner, period, deadline);
    if (window.close > slot) out.push({ period, deadline, ...window });
    deadline++;
    if (deadline >= params.deadlines) {
      deadline = 0;
      period++;
    }
  }
  return out;
}
