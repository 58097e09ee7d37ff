// Storage deals and market balances as RPC callers see them: a deal with what it has paid, the deals
// of a client or a provider, an account's market balance.
import { blockId, type ChainStore, type HeadChange } from '../chain/index.js';
import { toChecksumAddress, toHex } from '../primitives/index.js';
import { proposalId, type DealProvider } from '../market/index.js';
import type { DealPiece } from '../miner/sealing.js';
import type { MinerService } from '../miner/miner.js';
import { DealState, dealEventKindName, settledSlots, dealIdOf, getDeal, getEscrow, type Deal, type DealEvent, type DealProposal, type StateDb } from '../state/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor } from './jsonRpc.js';
import { addressParam, uintParam } from './params.js';

const STATES = Object.keys(DealState) as (keyof typeof DealState)[];
/** Most deals one bcr_listDeals call returns (page on with `after`). */
export const MAX_LIST_DEALS = 256;

export function dealJson(id: number, deal: Deal) {
  const p = deal.proposal;
  const paidSlots = settledSlots(deal);
  return {
    deal: id,
    state: STATES[deal.state]!,
    pieceCommitment: toHex(p.pieceCommitment),
    pieceBytes: p.pieceBytes,
    client: toChecksumAddress(p.client),
    provider: p.provider,
    /** Sector number once a pre-commit named the deal, else null. */
    sector: deal.sector === 0 ? null : deal.sector - 1,
    startSlot: p.startSlot,
    endSlot: p.endSlot,
    pricePerSlot: p.pricePerSlot.toString(),
    totalPrice: (p.pricePerSlot * BigInt(p.endSlot - p.startSlot)).toString(),
    providerCollateral: p.providerCollateral.toString(),
    clientCollateral: p.clientCollateral.toString(),
    nonce: p.nonce,
    /** Slots settled so far (paid, or refunded when the sector was faulty) and up to which slot. */
    settledToSlot: deal.lastPaidSlot,
    settledSlots: paidSlots,
  };
}
export type DealJson = ReturnType<typeof dealJson>;

/**
 * The deal events of a head change for the `dealEvents` subscription, as Ethereum's log
 * subscriptions do: a reorg first takes back the events of the blocks it reverted (`removed: true`),
 * then sends those of the new canonical blocks. Keyed by deal, client and provider.
 */
export async function dealEvents(chain: ChainStore, change: HeadChange, listener: (event: { keys: string[]; json: unknown }) => void): Promise<void> {
  const blocks = [...change.reverted.map((block) => ({ block, removed: true })), ...change.applied.map((block) => ({ block, removed: false }))];
  for (const { block, removed } of blocks) {
    const id = blockId(block.header);
    for (const event of await chain.getEvents(id)) {
      const keys = [`deal:${event.deal}`, `client:${toHex(event.client)}`, `provider:${event.provider}`];
      listener({ keys, json: { ...dealEventJson(event, { id, height: block.header.height, slot: block.header.slot }), removed } });
    }
  }
}

export function dealEventJson(event: DealEvent, block: { id: Uint8Array; height: number; slot: number }) {
  return {
    kind: dealEventKindName(event.kind),
    deal: event.deal,
    provider: event.provider,
    client: toChecksumAddress(event.client),
    sector: event.kind === 0 ? null : event.sector,
    amount: event.amount.toString(),
    refund: event.refund.toString(),
    burned: event.burned.toString(),
    blockId: toHex(block.id),
    height: block.height,
    slot: block.slot,
  };
}

async function localDealJson(state: StateDb, local: MinerService, entry: { proposal: DealProposal; transfer: { received: number; dataBytes: number; status: string; error: string | null } | null; piece: DealPiece | undefined }) {
  const { proposal: p, piece } = entry;
  const id = piece?.deal ?? (await dealIdOf(state, p.client, p.nonce));
  const deal = id === null ? null : await getDeal(state, id);
  const job = piece?.sector === undefined ? undefined : local.sealing.jobs.get(piece.sector);
  return {
    proposalId: toHex(proposalId(p)),
    client: toChecksumAddress(p.client),
    pieceCommitment: toHex(p.pieceCommitment),
    pieceBytes: p.pieceBytes,
    startSlot: p.startSlot,
    endSlot: p.endSlot,
    pricePerSlot: p.pricePerSlot.toString(),
    transfer: entry.transfer,
    publishing: piece ? { tx: piece.tx, status: piece.status, error: piece.error ?? null } : null,
    deal: id,
    state: deal ? STATES[deal.state]! : null,
    sector: piece?.sector ?? null,
    offset: piece?.offset ?? null,
    sealing: job ? { status: job.status, error: job.error ?? null } : null,
    unsealedPath: job?.dataPath ?? null,
    /** Where the deal stands, in one word: its state on chain once it is there, else its publication's, else its transfer's. */
    stage: deal ? STATES[deal.state]! : (piece?.status ?? entry.transfer?.status ?? 'unknown'),
  };
}

/** The local miner's deals as a provider: accepted proposals (with their transfers) and imported ones. */
export async function localMinerDeals(state: StateDb, provider: DealProvider | null, local: MinerService): Promise<Awaited<ReturnType<typeof localDealJson>>[]> {
  const pieces = local.sealing.dealPieces;
  const out = [];
  const seen = new Set<string>();
  for (const record of provider?.list() ?? []) {
    const piece = pieces.find((d) => d.tx === record.tx);
    if (piece) seen.add(piece.tx);
    out.push(await localDealJson(state, local, { proposal: record.proposal, transfer: { received: record.received, dataBytes: record.dataBytes, status: record.status, error: record.error ?? null }, piece }));
  }
  for (const piece of pieces) if (!seen.has(piece.tx)) out.push(await localDealJson(state, local, { proposal: piece.proposal, transfer: null, piece }));
  return out;
}

function escrowJson(escrow: { total: bigint; locked: bigint }) {
  return { total: escrow.total.toString(), locked: escrow.locked.toString(), available: (escrow.total - escrow.locked).toString() };
}

export interface DealMethodsContext {
  chain: ChainStore;
  /** The node's side of the deal protocols (null without p2p). */
  provider: DealProvider | null;
  miner: () => MinerService | null;
}

export function dealMethods({ chain, provider, miner }: DealMethodsContext): MethodDescriptor[] {
  return [
    {
      name: 'bcr_minerDeals',
      description: "The local miner's deals as a provider (admin): each accepted proposal with its transfer progress, its deal id, sector and byte offset once packed, the path of the sector's unsealed data, and its state on chain.",
      permission: 'admin',
      params: [],
      handler: async () => {
        const local = miner();
        if (!local) throw new RpcError(RpcErrorCode.notFound, 'this node runs no miner');
        return localMinerDeals(chain.headState(), provider, local);
      },
    },
    {
      name: 'bcr_getEscrow',
      description: "An account's market escrow in atto (decimal strings): total, locked by deals, and available to withdraw or to back new deals.",
      params: [addressParam()],
      handler: async ([address]) => escrowJson(await getEscrow(chain.headState(), address as Uint8Array)),
    },
    {
      name: 'bcr_marketBalance',
      description: "An account's market balance (as bcr_getEscrow) and its wallet balance, in atto: what it can put into deals and what backs them.",
      params: [addressParam()],
      handler: async ([address]) => {
        const escrow = await getEscrow(chain.headState(), address as Uint8Array);
        const account = await chain.getAccount(address as Uint8Array);
        return { address: toChecksumAddress(address as Uint8Array), escrow: escrowJson(escrow), wallet: account.balance.toString() };
      },
    },
    {
      name: 'bcr_getDeal',
      description: 'A storage deal on chain: its proposal (piece, client, provider, slots, price, collateral, nonce), state (published, active, expired, completed, slashed), sector and the slots settled so far.',
      params: [uintParam('deal')],
      handler: async ([id]) => {
        const deal = await getDeal(chain.headState(), id as number);
        return deal ? dealJson(id as number, deal) : null;
      },
    },
    {
      name: 'bcr_listDeals',
      description: `Deals of a client (an address) or a provider (a miner id), ascending by id, after deal id \`after\` (default 0), at most ${MAX_LIST_DEALS} per call.`,
      params: [
        {
          name: 'owner',
          schema: { oneOf: [{ type: 'object', properties: { client: { type: 'string' } }, required: ['client'] }, { type: 'object', properties: { provider: { type: 'integer' } }, required: ['provider'] }] },
          parse(value) {
            if (typeof value !== 'object' || value === null) throw new Error('expected {client: address} or {provider: miner id}');
            const v = value as Record<string, unknown>;
            if ('client' in v && !('provider' in v)) return { client: addressParam().parse(v.client) as Uint8Array };
            if ('provider' in v && !('client' in v)) return { provider: uintParam('provider').parse(v.provider) as number };
            throw new Error('expected exactly one of client or provider');
          },
        },
        uintParam('after', true),
      ],
      cost: () => MAX_LIST_DEALS / 8,
      handler: async ([owner, after]) => {
        const filter = owner as { client: Uint8Array } | { provider: number };
        const state = chain.headState();
        const out: DealJson[] = [];
        let from = (after as number | undefined) ?? 0;
        // The index may name deals a reorg took away: the state decides.
        while (out.length < MAX_LIST_DEALS) {
          const ids = await chain.dealIdsOf(filter, from, MAX_LIST_DEALS - out.length);
          if (ids.length === 0) break;
          for (const id of ids) {
            const deal = await getDeal(state, id);
            if (!deal) continue;
            const p = deal.proposal;
            if ('client' in filter ? toHex(p.client) === toHex(filter.client) : p.provider === filter.provider) out.push(dealJson(id, deal));
          }
          from = ids[ids.length - 1]!;
        }
        return out;
      },
    },
  ];
}
