// The app registry from the client library: publish, buy, list and show apps through the system
// contract at 0x…bc10 (reads by eth_call, writes as BCR-signed EVM txs).
import { fromHex, toChecksumAddress, toHex } from '../primitives/index.js';
import { APPS_ABI, SYSTEM_ADDRESSES, type AppListing as StateAppListing } from '../state/index.js';
import { readContract, writeContract } from './contracts.js';
import { ClientError } from './errors.js';
import type { Sender } from './txs.js';

const UINT64_MAX = (1n << 64n) - 1n;

export interface AppInfo {
  id: number;
  developer: string;
  name: string;
  version: string;
  contentHash: string;
  uri: string;
  /** atto, decimal */
  price: string;
  /** 0: bought once, licensed forever. */
  periodSlots: number;
  payees: { account: string; shareBps: number }[];
  sales: number;
  publishedHeight: number;
  updatedHeight: number;
}

interface AppWord {
  exists: boolean;
  developer: string;
  name: string;
  version: string;
  contentHash: string;
  uri: string;
  price: bigint;
  periodSlots: bigint;
  payees: readonly { account: string; shareBps: number }[];
  sales: bigint;
  publishedHeight: bigint;
  updatedHeight: bigint;
}

const registry = { address: SYSTEM_ADDRESSES.apps, abi: APPS_ABI };

export async function appCount(rpc: string): Promise<number> {
  return Number(await readContract<bigint>(rpc, { ...registry, functionName: 'appCount' }));
}

export async function getApp(rpc: string, id: number): Promise<AppInfo | null> {
  const app = await readContract<AppWord>(rpc, { ...registry, functionName: 'getApp', args: [BigInt(id)] });
  if (!app.exists) return null;
  return {
    id,
    developer: toChecksumAddress(fromHex(app.developer)),
    name: app.name,
    version: app.version,
    contentHash: app.contentHash,
    uri: app.uri,
    price: app.price.toString(),
    periodSlots: Number(app.periodSlots),
    payees: app.payees.map((p) => ({ account: toChecksumAddress(fromHex(p.account)), shareBps: p.shareBps })),
    sales: Number(app.sales),
    publishedHeight: Number(app.publishedHeight),
    updatedHeight: Number(app.updatedHeight),
  };
}

/** The slot a user's license runs to: null for none, 'forever' for a bought app. */
export async function licenseOf(rpc: string, id: number, user: string): Promise<number | 'forever' | null> {
  const until = await readContract<bigint>(rpc, { ...registry, functionName: 'licenseOf', args: [BigInt(id), user] });
  return until === 0n ? null : until === UINT64_MAX ? 'forever' : Number(until);
}

/** A listing as the registry keeps it, with payees as 0x-hex addresses. */
export type AppListing = Omit<StateAppListing, 'payees'> & { payees: { account: string; shareBps: number }[] };

export async function publishApp(rpc: string, sender: Sender, listing: AppListing): Promise<{ id: number; txId: string; height: number }> {
  const { id: txId, receipt } = await writeContract(rpc, sender, {
    ...registry,
    functionName: 'publish',
    args: [listing.name, listing.version, toHex(listing.contentHash), listing.uri, listing.price, BigInt(listing.periodSlots), listing.payees],
  });
  // The Published log's first indexed topic is the new id.
  const log = receipt.logs?.find((l) => fromHex(l.address).every((b, i) => b === SYSTEM_ADDRESSES.apps[i]));
  if (!log || !log.topics[1]) throw new ClientError(`publish tx ${txId} has no Published log`);
  return { id: Number(BigInt(log.topics[1])), txId, height: receipt.height };
}

/** Buys (or extends a subscription to) an app for `user` (default: the sender) at its current price. */
export async function buyApp(rpc: string, sender: Sender, id: number, user?: string): Promise<{ txId: string; height: number; price: bigint; until: number | 'forever' | null }> {
  const app = await getApp(rpc, id);
  if (!app) throw new ClientError(`no app ${id}`);
  const price = BigInt(app.price);
  const call = user ? { ...registry, functionName: 'buyFor', args: [BigInt(id), user] } : { ...registry, functionName: 'buy', args: [BigInt(id)] };
  const { id: txId, receipt } = await writeContract(rpc, sender, call, price);
  return { txId, height: receipt.height, price, until: await licenseOf(rpc, id, user ?? sender.address) };
}
