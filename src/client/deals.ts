// Deals from a client's side, as a library: a session (the node's RPC, a libp2p host, the client's
// key), a miner's checked ask, pieces planned and signed, sent with resumption, and followed on chain
// until published or active. The CLI wraps these; wallets and apps call them directly.
import { peerIdFromString } from '@libp2p/peer-id';
import { randomBytes } from 'node:crypto';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from '@libp2p/interface';
import { DealClientError, askCollateral, askPricePerSlot, dealProtocols, openOrder, planPieces, proposeDealPatiently, queryAsk, queryDealStatus, sendPiece, type DealProtocols, type PiecePlan, type PieceSource, type StorageAsk } from '../market/index.js';
import { createClientHost } from '../p2p/clientHost.js';
import { bytesEqual, formatBcr, fromHex, parseAddress, toHex } from '../primitives/index.js';
import { merkleRoot } from '../proofs/index.js';
import { dealPayment, signDealProposal, type DealProposal } from '../state/index.js';
import { isHttpMultiaddr } from '../util/httpMultiaddr.js';
import { ClientError } from './errors.js';
import { silentProgress, type Progress } from './progress.js';
import { callRpc } from './rpc.js';

export interface DealJson {
  deal: number;
  state: string;
  nonce: number;
  sector: number | null;
  pieceCommitment: string;
}

const mib = (bytes: number) => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

/**
 * A miner's addresses from the chain as dialable multiaddrs (each ending in its peer id). The chain
 * stores whatever the miner wrote: entries that do not parse are dropped, and none left is an error.
 */
export function dialAddresses(minerId: number, miner: { peerId: string; multiaddrs: string[] }): Multiaddr[] {
  const addresses: Multiaddr[] = [];
  for (const written of miner.multiaddrs) {
    // Its gateway (an HTTP address) is for HTTP clients, not libp2p.
    if (isHttpMultiaddr(written)) continue;
    try {
      const address = multiaddr(written.includes('/p2p/') ? written : `${written}/p2p/${miner.peerId}`);
      const components = address.getComponents();
      const peer = components.findLast((c) => c.name === 'p2p')?.value;
      // A bare /p2p/ID names no place to dial (this client has no peer routing).
      if (peer === undefined || components[0]?.name === 'p2p') continue;
      peerIdFromString(peer);
      addresses.push(address);
    } catch {
      // Not a multiaddr, or a peer id that is not one: nothing to dial.
    }
  }
  if (addresses.length === 0) throw new ClientError(`miner ${minerId} has no valid peer addresses on chain (bcr miner set-addresses)`);
  return addresses;
}

interface MinerJson {
  worker: string;
  peerId: string;
  multiaddrs: string[];
  sectorSize: number;
}

/** The miner's live ask, straight from the miner (its terms now), checked against its worker key on chain. */
async function minerAsk(host: Libp2p, protocols: DealProtocols, addresses: Multiaddr[], minerId: number, miner: MinerJson, chainId: number, slot: number): Promise<StorageAsk> {
  const bytes = await queryAsk(host, addresses, protocols).catch((error: unknown) => {
    throw new ClientError(`miner ${minerId} cannot be reached at ${addresses.join(', ')}: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (!bytes) throw new ClientError(`miner ${minerId} has no live storage ask`);
  const signed = openOrder('storageAsk', bytes, chainId);
  if (signed.order.miner !== minerId || !bytesEqual(signed.signer, parseAddress(miner.worker)) || signed.order.expirySlot <= slot) throw new ClientError(`miner ${minerId} answered with an ask that is not its own or has expired`);
  return signed.order;
}

/** A client's connection to the network for a command: its node's RPC, a libp2p host, its key. */
export interface ClientSession {
  rpc: string;
  host: Libp2p;
  chainId: number;
  protocols: DealProtocols;
  /** The slot deals start from (plus their start-in): read when the session opens. */
  headSlot: number;
  sender: { address: string; key: Uint8Array };
  /** Where the session's lines for a person go (the CLI: stderr; a library caller: its own log). */
  log: (line: string) => void;
}

/** A miner a client deals with: where to reach it and its current ask. */
export interface MinerTarget {
  minerId: number;
  addresses: Multiaddr[];
  sectorSize: number;
  ask: StorageAsk;
}

export interface StoreTerms {
  duration: number;
  startIn: number;
  clientCollateral: bigint;
  /** Price per slot per piece; default: the ask's. */
  price?: bigint;
}

export async function openSession(rpc: string, sender: { address: string; key: Uint8Array }, log: (line: string) => void = () => {}): Promise<ClientSession> {
  const { chainId, network, genesis } = await callRpc<{ chainId: number; network: string; genesis: string }>(rpc, 'bcr_nodeInfo');
  const head = await callRpc<{ slot: number }>(rpc, 'bcr_chainHead');
  return { rpc, host: await createClientHost(), chainId, protocols: dealProtocols(network, fromHex(genesis)), headSlot: head.slot, sender, log };
}

export async function minerTarget(session: ClientSession, minerId: number): Promise<MinerTarget> {
  const miner = await callRpc<MinerJson>(session.rpc, 'bcr_getMiner', [minerId]);
  const addresses = dialAddresses(minerId, miner);
  const ask = await minerAsk(session.host, session.protocols, addresses, minerId, miner, session.chainId, session.headSlot);
  return { minerId, addresses, sectorSize: miner.sectorSize, ask };
}

export interface PlannedPiece {
  plan: PiecePlan;
  proposal: DealProposal;
  signature: Uint8Array;
}

/** Cuts `source` into the miner's pieces and signs a proposal for each. */
export async function planDeals(session: ClientSession, target: MinerTarget, source: PieceSource, terms: StoreTerms): Promise<PlannedPiece[]> {
  const { ask } = target;
  const startSlot = session.headSlot + terms.startIn;
  const client = parseAddress(session.sender.address);
  const pieces: PlannedPiece[] = [];
  for (const plan of planPieces(source.size, Math.min(ask.maxPieceBytes, target.sectorSize), ask.minPieceBytes)) {
    const padded = new Uint8Array(plan.pieceBytes);
    padded.set(await source.read(plan.offset, plan.length));
    const proposal: DealProposal = {
      pieceCommitment: merkleRoot(padded),
      pieceBytes: plan.pieceBytes,
      client,
      provider: target.minerId,
      startSlot,
      endSlot: startSlot + terms.duration,
      pricePerSlot: terms.price ?? askPricePerSlot(ask, plan.pieceBytes),
      providerCollateral: askCollateral(ask, plan.pieceBytes),
      clientCollateral: terms.clientCollateral,
      nonce: Number(BigInt(`0x${randomBytes(6).toString('hex')}`)),
    };
    pieces.push({ plan, proposal, signature: signDealProposal(session.sender.key, session.chainId, proposal) });
  }
  return pieces;
}

/** What the planned deals lock in escrow; throws a usage error when the sender's escrow cannot cover it. */
export async function checkEscrow(session: ClientSession, pieces: PlannedPiece[]): Promise<bigint> {
  const total = pieces.reduce((sum, p) => sum + dealPayment(p.proposal) + p.proposal.clientCollateral, 0n);
  const { address } = session.sender;
  const escrow = await callRpc<{ available: string }>(session.rpc, 'bcr_getEscrow', [address]);
  if (BigInt(escrow.available) < total) throw new ClientError(`the deals lock ${formatBcr(total)} BCR but ${address}'s escrow has ${formatBcr(BigInt(escrow.available))} BCR available: bcr client escrow add --from ${address} --amount ...`);
  return total;
}

/** Proposes each planned piece to the miner and streams it, with progress lines labelled `label`. */
export async function sendDeals(session: ClientSession, target: MinerTarget, source: PieceSource, pieces: PlannedPiece[], label: string, progress: Progress = silentProgress()): Promise<void> {
  const { host, protocols, chainId } = session;
  for (const { plan, proposal, signature } of pieces) {
    const name = `${label}piece ${plan.index + 1}/${pieces.length}`;
    const answer = await proposeDealPatiently(host, target.addresses, protocols, { chainId, proposal, clientSignature: signature, dataBytes: plan.length }, {
      onBusy: (busy, waited) => progress.log(`${name}: miner ${target.minerId} is busy (${busy.code}: ${busy.message}); asking again (${Math.round(waited / 1000)} s so far)`),
    });
    // The same signed proposal sent again (a put resumed after a crash): the miner holds it already.
    if (answer.code === 'NONCE_USED') {
      progress.log(`${name}: miner ${target.minerId} already has this proposal (${answer.message})`);
      continue;
    }
    if (answer.code !== 'ACCEPTED') throw new ClientError(`miner ${target.minerId} refused ${name}: ${answer.code}: ${answer.message}`);
    progress.log(`${name}: accepted by miner ${target.minerId}${answer.received ? ` (resuming at ${mib(answer.received)})` : ''}; sending ${mib(plan.length)}`);
    const verdict = await sendPiece(host, target.addresses, protocols, { proposal }, { size: plan.length, read: (offset, length) => source.read(plan.offset + offset, length) }, {
      onProgress: (p) => progress.update(name, p.sent, p.total, (percent) => `${name}: ${mib(p.sent)} of ${mib(p.total)} (${percent}%), ${(p.bytesPerSecond / 1e6).toFixed(1)} MB/s`),
      onRetry: (error, attempt) => progress.log(`${name}: stream lost (${error instanceof Error ? error.message : String(error)}); resuming (attempt ${attempt + 1})`),
    }).catch((error: unknown) => {
      if (error instanceof DealClientError) throw new ClientError(`miner ${target.minerId} refused ${name}: ${error.message}`);
      throw error;
    });
    progress.log(`${name}: the miner verified the piece: ${verdict}`);
  }
}

/** Asks the provider why a deal went wrong: its stage and error in its own words (null: it does not say). */
export type DealExplainer = (proposal: DealProposal) => Promise<string | null>;

/** Explains through the deal-status protocol of the miner each proposal names. */
export function explainer(session: ClientSession, targets: Map<number, MinerTarget>): DealExplainer {
  return async (proposal) => {
    const target = targets.get(proposal.provider);
    if (!target) return null;
    try {
      const status = await queryDealStatus(session.host, target.addresses, session.protocols, proposal);
      if (status.code !== 'OK') return null;
      return status.error ? `the miner reports ${status.stage}: ${status.error}` : `the miner reports ${status.stage}`;
    } catch {
      return null;
    }
  };
}

/** Waits until every proposal is a deal on chain (and, with `active`, until each is active); fails if one expires, with the miner's reason when it gives one. */
export async function followDeals(rpc: string, client: string, proposals: DealProposal[], startSlot: number, active: boolean, explain: DealExplainer = async () => null, log: (line: string) => void = () => {}): Promise<DealJson[]> {
  const found = new Map<number, DealJson>();
  let reported = new Map<number, string>();
  for (;;) {
    const deals = await listAllDeals(rpc, client);
    const next = new Map<number, string>();
    for (const [i, proposal] of proposals.entries()) {
      const deal = deals.find((d) => d.nonce === proposal.nonce && d.pieceCommitment === toHex(proposal.pieceCommitment));
      if (!deal) continue;
      found.set(i, deal);
      next.set(i, deal.state);
      if (reported.get(i) !== deal.state) log(`piece ${i + 1}/${proposals.length}: deal ${deal.deal} ${deal.state}${deal.sector === null ? '' : ` (sector ${deal.sector})`}`);
      if (deal.state === 'expired' || deal.state === 'slashed') {
        const why = await explain(proposal);
        throw new ClientError(`deal ${deal.deal} ${deal.state}: the miner did not prove it in time${why ? ` (${why})` : ''}`);
      }
    }
    reported = next;
    const done = found.size === proposals.length && (!active || [...found.values()].every((d) => d.state === 'active' || d.state === 'completed'));
    if (done) return proposals.map((_, i) => found.get(i)!);
    const head = await callRpc<{ slot: number }>(rpc, 'bcr_chainHead');
    if (found.size < proposals.length && head.slot > startSlot) {
      const missing = proposals.filter((_, i) => !found.has(i));
      const why = (await Promise.all(missing.map(explain))).filter((w) => w !== null);
      throw new ClientError(`slot ${startSlot} passed and ${missing.length} deal(s) were never published${why.length ? ` (${why.join('; ')})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Nonces of this client's proposals that are deals on chain (whatever their state). */
export async function publishedNonces(rpc: string, client: string): Promise<Set<number>> {
  return new Set((await listAllDeals(rpc, client)).map((d) => d.nonce));
}

/** Whether a deal of this client still holds its data: published (sealing) or active on chain; not expired, slashed or completed. */
export async function standingDeals(rpc: string, client: string): Promise<(deal: number) => boolean> {
  const states = new Map((await listAllDeals(rpc, client)).map((d) => [d.deal, d.state]));
  return (deal) => states.get(deal) === 'published' || states.get(deal) === 'active';
}

export async function listAllDeals(rpc: string, client: string): Promise<DealJson[]> {
  const out: DealJson[] = [];
  for (let after = 0; ; ) {
    const page = await callRpc<DealJson[]>(rpc, 'bcr_listDeals', [{ client }, after]);
    out.push(...page);
    if (page.length < 256) return out;
    after = page[page.length - 1]!.deal;
  }
}
