// Foundation governance (docs/protocol.md §14): the reserve (35M BCR at a keyless system address)
// moves only by a council resolution. A council signer proposes (a spend, or a new council), signers
// approve; once approvals reach the threshold a public notice delay runs, then anyone executes. The
// proposer, or a threshold of signers, can cancel an open proposal. Changing the council goes the
// same way. Approvals are counted against the council at execution time.
//
// The notice rule (docs/protocol.md §14.1): a proposal may execute only once its approvals have
// satisfied the council that executes it, publicly, for that council's full notice delay. The clock
// starts when approvals reach the threshold under the current council; installing a council restarts
// the clock of every open proposal (its approvals are judged afresh from that slot), so no threshold
// or membership change can shorten or skip a notice.
import { amount, bytes, bytesEqual, concatBytes, decode, encode, list, optional, str, struct, systemAddress, uint, uintToBytesBE, type Infer } from '../primitives/index.js';
import { credit, getAccount, putAccount } from './accounts.js';
import { TxFailure } from './errors.js';
import type { StateDb } from './stateDb.js';
import { defineTxKind, type TxContext } from './txKinds/registry.js';

/** The foundation reserve: no key can sign for it; only an executed proposal moves its balance. */
export const FOUNDATION_ADDRESS = systemAddress('foundation');

/** State key prefix of governance records (0x0b). */
export const GOVERNANCE_PREFIX = 0x0b;
export const MAX_SIGNERS = 16;
/** Approvals (and cancel votes) one proposal records, across council changes. */
export const MAX_VOTES = 64;
export const MAX_PURPOSE_BYTES = 256;

const councilCodec = struct({ signers: list(bytes(20), MAX_SIGNERS), threshold: uint(MAX_SIGNERS), noticeSlots: uint() });
export type Council = Infer<typeof councilCodec>;

export const ProposalAction = { spend: 0, council: 1 } as const;
export const ProposalState = { open: 0, executed: 1, cancelled: 2 } as const;

/** What a proposal asks for: the propose tx's payload, kept in the proposal record as sent. */
const proposalTerms = {
  action: uint(1),
  /** spend: who receives, how much. */
  recipient: bytes(20),
  amount: amount(),
  /** council: the council the proposal installs. */
  council: optional(councilCodec),
  purpose: str(MAX_PURPOSE_BYTES),
  /** Hash of a document the resolution refers to (minutes, an invoice), if any. */
  docHash: optional(bytes(32)),
};

const proposalCodec = struct({
  seq: uint(),
  proposer: bytes(20),
  ...proposalTerms,
  approvals: list(bytes(20), MAX_VOTES),
  cancelVotes: list(bytes(20), MAX_VOTES),
  createdSlot: uint(),
  createdHeight: uint(),
  /**
   * Slot at which approvals last reached the threshold (0: never). The notice clock runs from the
   * later of this and the slot the current council was installed (see `noticeStart`).
   */
  approvedSlot: uint(),
  state: uint(2),
  closedSlot: uint(),
});
export type Proposal = Infer<typeof proposalCodec>;

const COUNCIL_KEY = new Uint8Array([GOVERNANCE_PREFIX, 0x00]);
const COUNT_KEY = new Uint8Array([GOVERNANCE_PREFIX, 0x02]);
/** Slot at which the current council was installed (absent: genesis, slot 0). */
const COUNCIL_SINCE_KEY = new Uint8Array([GOVERNANCE_PREFIX, 0x04]);
export const proposalKey = (id: Uint8Array) => concatBytes(new Uint8Array([GOVERNANCE_PREFIX, 0x01]), id);
const proposalBySeqKey = (seq: number) => concatBytes(new Uint8Array([GOVERNANCE_PREFIX, 0x03]), uintToBytesBE(seq, 8));
export const councilKey = () => COUNCIL_KEY;
export const councilSinceKey = () => COUNCIL_SINCE_KEY;

export async function getCouncil(state: StateDb): Promise<Council | null> {
  const raw = await state.get(COUNCIL_KEY);
  return raw ? decode(councilCodec, raw, 'council') : null;
}

/** Installs a council from `sinceSlot` (genesis: 0): every open proposal's notice clock restarts there. */
export async function putCouncil(state: StateDb, council: Council, sinceSlot = 0): Promise<void> {
  await state.set(COUNCIL_KEY, encode(councilCodec, council));
  if (sinceSlot > 0) await state.set(COUNCIL_SINCE_KEY, encode(uint(), sinceSlot));
}

/** Slot from which the current council judges proposals (0: the genesis council). */
export async function getCouncilSince(state: StateDb): Promise<number> {
  const raw = await state.get(COUNCIL_SINCE_KEY);
  return raw ? decode(uint(), raw, 'council since') : 0;
}

/** The council and the slot it was installed: what `executableFrom` judges a proposal by. */
export interface CouncilView {
  council: Council;
  sinceSlot: number;
}

export async function getCouncilView(state: StateDb): Promise<CouncilView | null> {
  const council = await getCouncil(state);
  return council ? { council, sinceSlot: await getCouncilSince(state) } : null;
}

export function decodeProposal(raw: Uint8Array): Proposal {
  return decode(proposalCodec, raw, 'proposal');
}

export function decodeCouncil(raw: Uint8Array): Council {
  return decode(councilCodec, raw, 'council');
}

export async function getProposal(state: StateDb, id: Uint8Array): Promise<Proposal | null> {
  const raw = await state.get(proposalKey(id));
  return raw ? decodeProposal(raw) : null;
}

export async function proposalCount(state: StateDb): Promise<number> {
  const raw = await state.get(COUNT_KEY);
  return raw ? decode(uint(), raw, 'proposal count') : 0;
}

/** Id of the proposal with sequence number `seq` (0-based, in order of proposal). */
export async function proposalIdAt(state: StateDb, seq: number): Promise<Uint8Array | null> {
  return (await state.get(proposalBySeqKey(seq))) ?? null;
}

/** A council is valid with 1..16 distinct signers, a threshold within their count, and a notice delay. */
export function councilProblem(council: Council): string | null {
  if (council.signers.length === 0) return 'a council needs at least one signer';
  for (let i = 0; i < council.signers.length; i++) {
    for (let j = i + 1; j < council.signers.length; j++) if (bytesEqual(council.signers[i]!, council.signers[j]!)) return 'a signer is listed twice';
    if (bytesEqual(council.signers[i]!, FOUNDATION_ADDRESS)) return 'the reserve cannot sign';
  }
  if (council.threshold < 1 || council.threshold > council.signers.length) return `threshold ${council.threshold} must be 1..${council.signers.length}`;
  if (council.noticeSlots < 1) return 'the notice delay must be at least one slot';
  return null;
}

const isSigner = (council: Council, address: Uint8Array) => council.signers.some((s) => bytesEqual(s, address));
/** How many of `addresses` sit on `council` (approvals and votes count only from current signers). */
export const countSigners = (council: Council, addresses: Uint8Array[]) => addresses.filter((a) => isSigner(council, a)).length;

async function loadCouncil(ctx: TxContext): Promise<Council> {
  const council = await getCouncil(ctx.state);
  if (!council) throw new TxFailure('NO_COUNCIL', 'this chain has no foundation council');
  return council;
}

async function loadOpen(ctx: TxContext, id: Uint8Array): Promise<Proposal> {
  const proposal = await getProposal(ctx.state, id);
  if (!proposal) throw new TxFailure('NO_SUCH_PROPOSAL', 'no proposal with this id');
  if (proposal.state !== ProposalState.open) throw new TxFailure('PROPOSAL_CLOSED', `the proposal was ${proposal.state === ProposalState.executed ? 'executed' : 'cancelled'} at slot ${proposal.closedSlot}`);
  return proposal;
}

async function requireSigner(ctx: TxContext): Promise<Council> {
  const council = await loadCouncil(ctx);
  if (!isSigner(council, ctx.sender)) throw new TxFailure('NOT_SIGNER', 'the sender is not a council signer');
  return council;
}

export const proposePayload = struct(proposalTerms);
export type ProposePayload = Infer<typeof proposePayload>;
export const proposalRefPayload = struct({ proposal: bytes(32) });

/** The proposal's id is its propose tx's id. */
export const govProposeKind = defineTxKind({
  id: 21,
  name: 'govPropose',
  payload: proposePayload,
  maxPayloadBytes: 1024,
  gas: () => 60_000,
  touches: () => [COUNCIL_KEY, COUNCIL_SINCE_KEY, COUNT_KEY],
  async apply(ctx, p) {
    const council = await requireSigner(ctx);
    if (p.action === ProposalAction.spend) {
      if (p.amount === 0n) throw new TxFailure('ZERO_VALUE', 'a spend moves a positive amount');
      if (bytesEqual(p.recipient, FOUNDATION_ADDRESS)) throw new TxFailure('BAD_RECIPIENT', 'the reserve cannot pay itself');
      if (p.council) throw new TxFailure('BAD_PROPOSAL', 'a spend proposal names no council');
    } else if (p.action === ProposalAction.council) {
      if (!p.council) throw new TxFailure('BAD_PROPOSAL', 'a council proposal names the new council');
      const problem = councilProblem(p.council);
      if (problem) throw new TxFailure('BAD_COUNCIL', problem);
      if (p.amount !== 0n) throw new TxFailure('BAD_PROPOSAL', 'a council proposal moves no funds');
    } else throw new TxFailure('BAD_PROPOSAL', `unknown action ${p.action}`);
    const seq = await proposalCount(ctx.state);
    const proposal: Proposal = {
      seq,
      proposer: ctx.sender,
      ...p,
      approvals: [ctx.sender],
      cancelVotes: [],
      createdSlot: ctx.slot,
      createdHeight: ctx.height,
      approvedSlot: council.threshold <= 1 ? ctx.slot : 0,
      state: ProposalState.open,
      closedSlot: 0,
    };
    await ctx.state.set(proposalKey(ctx.txId), encode(proposalCodec, proposal));
    await ctx.state.set(proposalBySeqKey(seq), ctx.txId);
    await ctx.state.set(COUNT_KEY, encode(uint(), seq + 1));
  },
});

export const govApproveKind = defineTxKind({
  id: 22,
  name: 'govApprove',
  payload: proposalRefPayload,
  maxPayloadBytes: 48,
  gas: () => 40_000,
  touches: (p) => [COUNCIL_KEY, COUNCIL_SINCE_KEY, proposalKey(p.proposal)],
  async apply(ctx, p) {
    const council = await requireSigner(ctx);
    const proposal = await loadOpen(ctx, p.proposal);
    if (proposal.approvals.some((a) => bytesEqual(a, ctx.sender))) throw new TxFailure('ALREADY_APPROVED', 'this signer already approved');
    if (proposal.approvals.length >= MAX_VOTES) throw new TxFailure('TOO_MANY_VOTES', `a proposal records at most ${MAX_VOTES} approvals`);
    const satisfiedBefore = countSigners(council, proposal.approvals) >= council.threshold;
    proposal.approvals.push(ctx.sender);
    // The clock starts when this council's threshold is first met (an extra approval does not restart it).
    if (!satisfiedBefore && countSigners(council, proposal.approvals) >= council.threshold) proposal.approvedSlot = ctx.slot;
    await ctx.state.set(proposalKey(p.proposal), encode(proposalCodec, proposal));
  },
});

export const govCancelKind = defineTxKind({
  id: 23,
  name: 'govCancel',
  payload: proposalRefPayload,
  maxPayloadBytes: 48,
  gas: () => 40_000,
  touches: (p) => [COUNCIL_KEY, COUNCIL_SINCE_KEY, proposalKey(p.proposal)],
  async apply(ctx, p) {
    const proposal = await loadOpen(ctx, p.proposal);
    const council = await loadCouncil(ctx);
    if (bytesEqual(proposal.proposer, ctx.sender)) {
      proposal.state = ProposalState.cancelled;
    } else {
      if (!isSigner(council, ctx.sender)) throw new TxFailure('NOT_SIGNER', 'only the proposer or council signers cancel');
      if (proposal.cancelVotes.some((a) => bytesEqual(a, ctx.sender))) throw new TxFailure('ALREADY_VOTED', 'this signer already voted to cancel');
      if (proposal.cancelVotes.length >= MAX_VOTES) throw new TxFailure('TOO_MANY_VOTES', `a proposal records at most ${MAX_VOTES} cancel votes`);
      proposal.cancelVotes.push(ctx.sender);
      if (countSigners(council, proposal.cancelVotes) >= council.threshold) proposal.state = ProposalState.cancelled;
    }
    if (proposal.state === ProposalState.cancelled) proposal.closedSlot = ctx.slot;
    await ctx.state.set(proposalKey(p.proposal), encode(proposalCodec, proposal));
  },
});

/**
 * Slot from which the proposal's approvals have publicly satisfied the current council (null: they
 * do not). Approvals met under an earlier council count only from the slot this one was installed.
 */
export function noticeStart(proposal: Proposal, view: CouncilView): number | null {
  if (countSigners(view.council, proposal.approvals) < view.council.threshold) return null;
  return Math.max(proposal.approvedSlot, view.sinceSlot);
}

/** First slot at which the proposal may execute under the current council (null: not approved by it). */
export function executableFrom(proposal: Proposal, view: CouncilView): number | null {
  const start = noticeStart(proposal, view);
  return start === null ? null : start + view.council.noticeSlots;
}

export const govExecuteKind = defineTxKind({
  id: 24,
  name: 'govExecute',
  payload: proposalRefPayload,
  maxPayloadBytes: 48,
  gas: () => 60_000,
  touches: (p) => [COUNCIL_KEY, COUNCIL_SINCE_KEY, proposalKey(p.proposal)],
  async apply(ctx, p) {
    const proposal = await loadOpen(ctx, p.proposal);
    const council = await loadCouncil(ctx);
    const approvals = countSigners(council, proposal.approvals);
    if (approvals < council.threshold) throw new TxFailure('NOT_APPROVED', `${approvals} of the ${council.threshold} approvals needed`);
    const from = executableFrom(proposal, { council, sinceSlot: await getCouncilSince(ctx.state) })!;
    if (ctx.slot < from) throw new TxFailure('NOTICE_PENDING', `the notice delay runs until slot ${from} (now ${ctx.slot})`);
    if (proposal.action === ProposalAction.spend) {
      const reserve = await getAccount(ctx.state, FOUNDATION_ADDRESS);
      if (reserve.balance < proposal.amount) throw new TxFailure('RESERVE_TOO_LOW', `the reserve holds ${reserve.balance} atto`);
      await putAccount(ctx.state, FOUNDATION_ADDRESS, { ...reserve, balance: reserve.balance - proposal.amount });
      await credit(ctx.state, proposal.recipient, proposal.amount);
    } else await putCouncil(ctx.state, proposal.council!, ctx.slot);
    proposal.state = ProposalState.executed;
    proposal.closedSlot = ctx.slot;
    await ctx.state.set(proposalKey(p.proposal), encode(proposalCodec, proposal));
  },
});
