/**
 * What the miner loop reports to subscribers: won slots, WindowPoSts, faults, recoveries, and the
 * deadline watchdog's warnings (a proof not landed close to its window's end, a slow proof, a
 * replica failing its self-check) and missed deadlines.
 */
export interface MinerEvent {
  miner: number;
  kind: 'wonSlot' | 'windowPost' | 'fault' | 'recovery' | 'deadlineAtRisk' | 'slowProof' | 'replicaCheckFailed' | 'deadlineMissed';
  [field: string]: unknown;
}
