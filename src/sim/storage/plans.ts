// The storage and economics scenarios' default populations, and the council's spending schedule
// for the economics scenario (real govPropose / govApprove / govExecute txs against the reserve).
import { bcr } from '../../primitives/index.js';
import { ProposalAction, govApproveKind, govExecuteKind, govProposeKind, transferKind, type StateDb, type VerifiedTx } from '../../state/index.js';
import type { SimChain } from '../simChain.js';
import type { MinerPlan } from './agent.js';

/**
 * `count` miners, half at genesis and the rest joining over the first year; miner r keeps about
 * `largest / (r + 1)^0.7` sectors (at least 4): a few large miners and a tail of small ones.
 */
export function storagePopulation(count: number, largest: number, days: number): MinerPlan[] {
  const joinSpan = Math.min(365, Math.max(1, Math.floor(days / 2)));
  return Array.from({ length: count }, (_, r) => ({
    joinDay: r % 2 === 0 ? 0 : Math.floor(((r + 1) / count) * joinSpan),
    sectors: Math.max(4, Math.round(largest / (r + 1) ** 0.7)),
    sealPerDay: 8,
    exitDay: null,
  }));
}

export interface Cohort {
  name: string;
  plan: MinerPlan;
}

/**
 * Economics: equal miners in three cohorts (genesis, half a year in, a year and a half in), and
 * two genesis miners that exit after the first year, when issuance has fallen to a few percent.
 */
export function economicsCohorts(perCohort: number, sectors: number, days: number): Cohort[] {
  const at = (fraction: number) => Math.floor(days * fraction);
  const cohorts: Cohort[] = [];
  const add = (name: string, joinDay: number, exitDay: number | null, n: number) => {
    for (let i = 0; i < n; i++) cohorts.push({ name, plan: { joinDay, sectors, sealPerDay: 8, exitDay } });
  };
  add('genesis', 0, null, perCohort);
  add('genesis, exits', 0, Math.max(1, at(1 / 3)), Math.max(1, Math.floor(perCohort / 2)));
  add('joins at 1/6', at(1 / 6), null, perCohort);
  add('joins at 1/2', at(1 / 2), null, perCohort);
  return cohorts;
}

export interface Council {
  signers: Uint8Array[];
  threshold: number;
  noticeSlots: number;
}

/**
 * The council pays `amount` from the reserve to `recipient` at the start of every quarter:
 * proposal, approvals up to the threshold, execution once the notice has run. Signers get their
 * gas money from `funder` first. Returns the step hook and the spends executed so far.
 */
export function councilSpending(council: Council, funder: Uint8Array, recipient: Uint8Array, amount: bigint, slotsPerQuarter: number): { txs: (chain: SimChain, view: StateDb, slot: number) => Promise<VerifiedTx[]>; executed: () => number } {
  let funded = false;
  let open: { id: Uint8Array; executableAt: number } | null = null;
  let nextQuarter = 0;
  let executed = 0;
  const txs = async (chain: SimChain, _view: StateDb, slot: number): Promise<VerifiedTx[]> => {
    const out: VerifiedTx[] = [];
    if (!funded) {
      funded = true;
      for (const signer of council.signers) out.push(await chain.tx(funder, transferKind, { to: signer, value: bcr(100) }));
      return out;
    }
    if (open && slot >= open.executableAt) {
      out.push(await chain.tx(council.signers[0]!, govExecuteKind, { proposal: open.id }));
      open = null;
      executed++;
    }
    if (!open && slot >= nextQuarter * slotsPerQuarter) {
      nextQuarter++;
      const propose = await chain.tx(council.signers[0]!, govProposeKind, { action: ProposalAction.spend, recipient, amount, council: null, purpose: `grants, quarter ${nextQuarter}`, docHash: null });
      out.push(propose);
      for (const signer of council.signers.slice(1, council.threshold)) out.push(await chain.tx(signer, govApproveKind, { proposal: propose.id }));
      open = { id: propose.id, executableAt: slot + council.noticeSlots + 1 };
    }
    return out;
  };
  return { txs, executed: () => executed };
}
