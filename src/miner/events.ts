/** What the miner loop reports to subscribers (won slots, WindowPoSts, faults, recoveries). */
export interface MinerEvent {
  miner: number;
  kind: 'wonSlot' | 'windowPost' | 'fault' | 'recovery';
  [field: string]: unknown;
}
