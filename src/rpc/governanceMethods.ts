// Foundation governance, vesting, attestations and state proofs at a block: the read side of
// docs/protocol.md §14, each answer from the state of the head or of a named block.
import { blockId, encodeHeader, type ChainStore, type HeadChange, type StateBlock } from '../chain/index.js';
import { slotStart } from '../consensus/index.js';
import { toChecksumAddress, toHex } from '../primitives/index.js';
import {
  FOUNDATION_ADDRESS,
  ProposalAction,
  ProposalState,
  attestationIdsOfAttester,
  attestationPageOfHash,
  attestationProofKeys,
  countSigners,
  executableFrom,
  getAccount,
  getAttestation,
  getCouncil,
  getCouncilView,
  councilSinceKey,
  noticeStart,
  getProposal,
  vestingSchedule,
  proposalCount,
  proposalIdAt,
  proposalKey,
  councilKey,
  spendable,
  verifyTx,
  type Attestation,
  type Council,
  type CouncilView,
  type Proposal,
  type StateDb,
} from '../state/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor } from './jsonRpc.js';
import { stateProofJson } from './format.js';
import { addressParam, boolParam, enumParam, hexDataParam, stateBlockParam, uintParam } from './params.js';

const PROPOSAL_STATES = ['open', 'executed', 'cancelled'] as const;
const MAX_LIST = 100;

export function councilJson(council: Council) {
  return { signers: council.signers.map(toChecksumAddress), threshold: council.threshold, noticeSlots: council.noticeSlots };
}

export function proposalJson(id: Uint8Array, p: Proposal, view: CouncilView | null) {
  const council = view?.council ?? null;
  const approvals = council ? countSigners(council, p.approvals) : 0;
  const from = view ? executableFrom(p, view) : null;
  const start = view ? noticeStart(p, view) : null;
  return {
    id: toHex(id),
    seq: p.seq,
    state: PROPOSAL_STATES[p.state]!,
    action: p.action === ProposalAction.spend ? 'spend' : 'council',
    proposer: toChecksumAddress(p.proposer),
    recipient: p.action === ProposalAction.spend ? toChecksumAddress(p.recipient) : null,
    amount: p.amount.toString(),
    council: p.council ? councilJson(p.council) : null,
    purpose: p.purpose,
    docHash: p.docHash ? toHex(p.docHash) : null,
    approvals: p.approvals.map(toChecksumAddress),
    /** Approvals by signers of the current council, and how many it needs. */
    approvalsCounted: approvals,
    threshold: council?.threshold ?? null,
    cancelVotes: p.cancelVotes.map(toChecksumAddress),
    createdSlot: p.createdSlot,
    createdHeight: p.createdHeight,
    approvedSlot: p.approvedSlot === 0 ? null : p.approvedSlot,
    /** Slot from which its approvals have satisfied the current council: the notice runs from here. */
    noticeFromSlot: p.state === ProposalState.open ? start : null,
    /** First slot at which anyone may execute it (open and approved proposals). */
    executableFromSlot: p.state === ProposalState.open ? from : null,
    closedSlot: p.state === ProposalState.open ? null : p.closedSlot,
  };
}

export function attestationJson(id: Uint8Array, a: Attestation, genesisTime: number, slotMs: number) {
  let metaText: string | null = null;
  try {
    metaText = a.meta.length ? new TextDecoder('utf-8', { fatal: true }).decode(a.meta) : null;
  } catch {
    metaText = null; // binary metadata: the hex is all there is
  }
  return {
    id: toHex(id),
    hash: toHex(a.hash),
    tag: a.tag,
    ref: a.ref ? toHex(a.ref) : null,
    meta: toHex(a.meta),
    metaText,
    attester: toChecksumAddress(a.attester),
    height: a.height,
    slot: a.slot,
    time: slotStart({ genesisTime, slotMs }, a.slot),
  };
}

export function governanceMethods({ chain }: { chain: ChainStore }): MethodDescriptor[] {
  /** Runs `read` on the state at the block a caller named (the head by default). */
  const atBlock = <T>(block: unknown, read: (state: StateDb, height: number) => Promise<T>): Promise<T> => {
    if (block === undefined || block === 'latest') return read(chain.headState(), chain.head.header.height);
    return chain.readStateAt(block as StateBlock, read);
  };
  const proveAt = async (block: unknown, keys: Uint8Array[] | ((state: StateDb) => Promise<Uint8Array[]>)) => {
    const { height, id, header, proofs } = await chain.proveAt((block ?? 'latest') as StateBlock, keys);
    return { height, blockId: toHex(id), stateRoot: toHex(header.stateRoot), header: toHex(encodeHeader(header)), proofs: proofs.map(stateProofJson) };
  };
  /** Work units of a read at a block: one, plus one per block the state is rolled back. */
  const depthCost = (block: unknown) => 1 + chain.depthOf((block ?? 'latest') as StateBlock);
  const timeOf = (a: Attestation, id: Uint8Array) => attestationJson(id, a, chain.params.genesisTime, chain.params.slotMs);
  return [
    {
      name: 'bcr_getCouncil',
      description: 'The foundation council (signers, threshold, notice delay in slots) and the reserve balance, at the head or a block.',
      params: [stateBlockParam()],
      cost: ([block]) => depthCost(block),
      handler: async ([block]) =>
        atBlock(block, async (state, height) => {
          const council = await getCouncil(state);
          return { height, council: council ? councilJson(council) : null, reserve: toChecksumAddress(FOUNDATION_ADDRESS), reserveBalance: (await getAccount(state, FOUNDATION_ADDRESS)).balance.toString(), proposals: await proposalCount(state) };
        }),
    },
    {
      name: 'bcr_getProposal',
      description: 'A foundation proposal by id (its propose tx id): action, purpose, approvals, state, and from which slot it may execute.',
      params: [hexDataParam('id', 32), stateBlockParam(), boolParam('proof')],
      cost: ([, block]) => depthCost(block),
      handler: async ([id, block, withProof]) => {
        const read = async (state: StateDb) => {
          const proposal = await getProposal(state, id as Uint8Array);
          if (!proposal) throw new RpcError(RpcErrorCode.notFound, 'no proposal with this id');
          return proposalJson(id as Uint8Array, proposal, await getCouncilView(state));
        };
        if (withProof !== true) return atBlock(block, read);
        // The record and the council it is judged by, with their proofs, from one state.
        let json: ReturnType<typeof proposalJson> | null = null;
        const proof = await proveAt(block, async (state) => {
          json = await read(state);
          return [proposalKey(id as Uint8Array), councilKey(), councilSinceKey()];
        });
        return { ...json!, ...proof };
      },
    },
    {
      name: 'bcr_listProposals',
      description: `Foundation proposals, newest first, optionally of one state; at most ${MAX_LIST} per call, before sequence number \`before\`.`,
      params: [enumParam('state', PROPOSAL_STATES), uintParam('before', true), uintParam('limit', true, MAX_LIST)],
      handler: async ([wanted, before, limit]) => {
        const state = chain.headState();
        const council = await getCouncilView(state);
        const total = await proposalCount(state);
        const out = [];
        for (let seq = Math.min(total, (before as number | undefined) ?? total) - 1; seq >= 0 && out.length < ((limit as number | undefined) ?? 20); seq--) {
          const id = (await proposalIdAt(state, seq))!;
          const proposal = (await getProposal(state, id))!;
          if (wanted !== undefined && PROPOSAL_STATES[proposal.state] !== wanted) continue;
          out.push(proposalJson(id, proposal, council));
        }
        return { total, proposals: out };
      },
    },
    {
      name: 'bcr_getVesting',
      description: "An address's vesting grant at the head slot: total, vested, locked, spendable balance, cliff and end slots, and the next unlock.",
      params: [addressParam()],
      handler: async ([address]) => {
        const account = await getAccount(chain.headState(), address as Uint8Array);
        const slot = chain.head.header.slot;
        const v = account.vesting;
        if (!v) return { address: toChecksumAddress(address as Uint8Array), vesting: null, balance: account.balance.toString(), spendable: account.balance.toString() };
        const { cliffSlot, endSlot, locked, vested, perSlot, nextUnlock: next } = vestingSchedule(v, slot);
        return {
          address: toChecksumAddress(address as Uint8Array),
          slot,
          balance: account.balance.toString(),
          spendable: spendable(account, slot).toString(),
          vesting: { total: v.total.toString(), vested: vested.toString(), locked: locked.toString(), startSlot: v.startSlot, cliffSlot, endSlot, perSlot: perSlot.toString() },
          nextUnlock: next ? { slot: next.slot, amount: next.amount.toString(), time: slotStart(chain.params, next.slot) } : null,
        };
      },
    },
    {
      name: 'bcr_getAttestation',
      description: 'One attestation by id (its tx id): content hash, tag, reference, metadata, attester, block and time.',
      params: [hexDataParam('id', 32), stateBlockParam()],
      cost: ([, block]) => depthCost(block),
      handler: async ([id, block]) =>
        atBlock(block, async (state) => {
          const record = await getAttestation(state, id as Uint8Array);
          if (!record) throw new RpcError(RpcErrorCode.notFound, 'no attestation with this id');
          return timeOf(record, id as Uint8Array);
        }),
    },
    {
      name: 'bcr_getAttestations',
      description: `Attestations of a content hash, in the order recorded, from index \`from\` (default 0), at most \`limit\` (default and most ${MAX_LIST}), with \`total\`; at the head or a block. With \`proof\` true, also the header of that block and Merkle proofs of the count, each index entry of the page and each record against its state root.`,
      params: [hexDataParam('hash', 32), stateBlockParam(), boolParam('proof'), uintParam('from', true), uintParam('limit', true, MAX_LIST)],
      cost: ([, block, , , limit]) => depthCost(block) + Math.ceil(((limit as number | undefined) ?? MAX_LIST) / 10),
      handler: async ([hash, block, withProof, fromArg, limitArg]) => {
        const from = (fromArg as number | undefined) ?? 0;
        const limit = (limitArg as number | undefined) ?? MAX_LIST;
        const pageAt = async (state: StateDb) => {
          const { ids, total } = await attestationPageOfHash(state, hash as Uint8Array, from, limit);
          const out = [];
          for (const id of ids) out.push(timeOf((await getAttestation(state, id))!, id));
          return { ids, total, records: out };
        };
        if (withProof !== true) {
          return atBlock(block, async (state, height) => {
            const page = await pageAt(state);
            return { hash: toHex(hash as Uint8Array), height, total: page.total, from, attestations: page.records };
          });
        }
        // The page and its proofs come from one state, read in one step between imports.
        let page: Awaited<ReturnType<typeof pageAt>> | null = null;
        const proof = await proveAt(block, async (state) => {
          page = await pageAt(state);
          return attestationProofKeys(hash as Uint8Array, page.ids, from);
        });
        const done = page as Awaited<ReturnType<typeof pageAt>> | null;
        return { hash: toHex(hash as Uint8Array), total: done?.total ?? 0, from, attestations: done?.records ?? [], ...proof };
      },
    },
    {
      name: 'bcr_getAttestationsBy',
      description: `Attestations made by an address, oldest first, from index \`from\`, at most ${MAX_LIST} per call.`,
      params: [addressParam('attester'), uintParam('from', true), uintParam('limit', true, MAX_LIST)],
      handler: async ([attester, from, limit]) => {
        const state = chain.headState();
        const { ids, total } = await attestationIdsOfAttester(state, attester as Uint8Array, (from as number | undefined) ?? 0, (limit as number | undefined) ?? 20);
        const out = [];
        for (const id of ids) out.push(timeOf((await getAttestation(state, id))!, id));
        return { total, attestations: out };
      },
    },
    {
      name: 'bcr_getStateProofs',
      description: 'Merkle proofs of raw state keys (hex) against the state root of the head, the finalized block, or a height between; with the block header so a client can check the root against a header it trusts.',
      params: [{ name: 'keys', schema: { type: 'array', items: { type: 'string', pattern: '^0x([0-9a-fA-F]{2})+$' }, maxItems: 64 }, parse: (value) => {
        if (!Array.isArray(value) || value.length === 0 || value.length > 64) throw new Error('expected 1 to 64 state keys');
        return value.map((v) => hexDataParam('key').parse(v) as Uint8Array);
      } }, stateBlockParam()],
      cost: ([keys, block]) => (keys as Uint8Array[]).length + depthCost(block),
      handler: async ([keys, block]) => proveAt(block, keys as Uint8Array[]),
    },
  ];
}

const GOVERNANCE_STEPS: Record<string, string> = { govPropose: 'propose', govApprove: 'approve', govCancel: 'cancel', govExecute: 'execute' };

/**
 * The governance steps of a head change, for the `governance` subscription: each propose, approve,
 * cancel or execute tx with its outcome and the proposal's state after the block, keyed by proposal
 * id; a reorg first takes back the steps of reverted blocks (`removed: true`).
 */
export async function governanceEvents(chain: ChainStore, change: HeadChange, listener: (event: { keys: string[]; json: unknown }) => void): Promise<void> {
  const blocks = [...change.reverted.map((block) => ({ block, removed: true })), ...change.applied.map((block) => ({ block, removed: false }))];
  const council = await getCouncilView(chain.headState());
  for (const { block, removed } of blocks) {
    const txs = block.txs.map((raw) => verifyTx(raw, chain.params)).map((tx, index) => ({ tx, index })).filter(({ tx }) => tx.kind.name in GOVERNANCE_STEPS);
    if (txs.length === 0) continue;
    const id = blockId(block.header);
    const receipts = removed ? null : await chain.getReceipts(id);
    for (const { tx, index } of txs) {
      const proposal = tx.kind.name === 'govPropose' ? tx.id : (tx.payload as { proposal: Uint8Array }).proposal;
      const receipt = receipts?.[index];
      const after = removed ? null : await getProposal(chain.headState(), proposal);
      listener({
        keys: [toHex(proposal)],
        json: {
          step: GOVERNANCE_STEPS[tx.kind.name],
          proposal: toHex(proposal),
          by: toChecksumAddress(tx.sender),
          tx: toHex(tx.id),
          height: block.header.height,
          status: receipt ? (receipt.status === 0 ? 'ok' : 'failed') : null,
          error: receipt?.error || null,
          proposalNow: after ? proposalJson(proposal, after, council) : null,
          removed,
        },
      });
    }
  }
}
