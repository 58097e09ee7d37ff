// The app registry (the whitepaper's app market): a developer publishes an app (name, version,
// content hash and CID, price, payees and their shares); a user buys it once or subscribes for a
// period, and the price is split to the payees in the same tx. Records live in the state, so
// licenses are provable and a reorg undoes a purchase with everything else.
import { amount, bytes, concatBytes, decode, encode, list, str, struct, uint, uintToBytesBE, utf8, type Infer } from '../primitives/index.js';
import { credit } from './accounts.js';
import { TxFailure } from './errors.js';
import type { StateDb } from './stateDb.js';

export const APPS_PREFIX = 0x0e;
export const MAX_APP_NAME = 64;
export const MAX_APP_VERSION = 32;
export const MAX_APP_URI = 128;
export const MAX_PAYEES = 16;
export const TOTAL_SHARE_BPS = 10_000;
/** A bought (not subscribed) license never ends. */
export const FOREVER = Number.MAX_SAFE_INTEGER;

const payeeCodec = struct({ account: bytes(20), shareBps: uint(TOTAL_SHARE_BPS) });
export type Payee = Infer<typeof payeeCodec>;

const appCodec = struct({
  developer: bytes(20),
  name: str(MAX_APP_NAME),
  version: str(MAX_APP_VERSION),
  contentHash: bytes(32),
  uri: str(MAX_APP_URI),
  price: amount(),
  /** 0: bought once, licensed forever; otherwise each purchase licenses this many slots more. */
  periodSlots: uint(),
  payees: list(payeeCodec, MAX_PAYEES),
  sales: uint(),
  publishedHeight: uint(),
  updatedHeight: uint(),
});
export type App = Infer<typeof appCodec>;

const key = (kind: number, ...parts: Uint8Array[]) => concatBytes(new Uint8Array([APPS_PREFIX, kind]), ...parts);
const countKey = key(0x00);
export const appKey = (id: number) => key(0x01, uintToBytesBE(id, 8));
export const licenseKey = (id: number, user: Uint8Array) => key(0x02, uintToBytesBE(id, 8), user);

export async function appCount(state: StateDb): Promise<number> {
  const raw = await state.get(countKey);
  return raw ? decode(uint(), raw, 'app count') : 0;
}

export async function getApp(state: StateDb, id: number): Promise<App | null> {
  const raw = await state.get(appKey(id));
  return raw ? decode(appCodec, raw, 'app') : null;
}

/** The slot a user's license of an app runs to (exclusive); 0 if none. */
export async function licensedUntil(state: StateDb, id: number, user: Uint8Array): Promise<number> {
  const raw = await state.get(licenseKey(id, user));
  return raw ? decode(uint(), raw, 'license') : 0;
}

function checkText(value: string, max: number, what: string, required: boolean): void {
  if (required && value.length === 0) throw new TxFailure('BAD_APP', `${what} is empty`);
  if (utf8(value).length > max) throw new TxFailure('BAD_APP', `${what} is above ${max} bytes`);
}

function checkPayees(payees: Payee[]): void {
  if (payees.length === 0 || payees.length > MAX_PAYEES) throw new TxFailure('BAD_PAYEES', `an app has 1 to ${MAX_PAYEES} payees`);
  let total = 0;
  for (const payee of payees) {
    if (payee.shareBps === 0) throw new TxFailure('BAD_PAYEES', 'a payee share is zero');
    total += payee.shareBps;
  }
  if (total !== TOTAL_SHARE_BPS) throw new TxFailure('BAD_PAYEES', `payee shares add up to ${total} basis points, not ${TOTAL_SHARE_BPS}`);
}

export interface AppListing {
  name: string;
  version: string;
  contentHash: Uint8Array;
  uri: string;
  price: bigint;
  periodSlots: number;
  payees: Payee[];
}

export async function publishApp(state: StateDb, developer: Uint8Array, listing: AppListing, height: number): Promise<number> {
  checkText(listing.name, MAX_APP_NAME, 'name', true);
  checkText(listing.version, MAX_APP_VERSION, 'version', true);
  checkText(listing.uri, MAX_APP_URI, 'uri', false);
  checkPayees(listing.payees);
  const id = await appCount(state);
  await state.set(appKey(id), encode(appCodec, { ...listing, developer, sales: 0, publishedHeight: height, updatedHeight: height }));
  await state.set(countKey, encode(uint(), id + 1));
  return id;
}

/** A new version, content and price; only the developer. Payees and the period stay. */
export async function updateApp(state: StateDb, caller: Uint8Array, id: number, change: Pick<AppListing, 'version' | 'contentHash' | 'uri' | 'price'>, height: number): Promise<void> {
  const app = await getApp(state, id);
  if (!app) throw new TxFailure('NOT_FOUND', `no app ${id}`);
  if (Buffer.compare(app.developer, caller) !== 0) throw new TxFailure('NOT_DEVELOPER', 'only the developer updates an app');
  checkText(change.version, MAX_APP_VERSION, 'version', true);
  checkText(change.uri, MAX_APP_URI, 'uri', false);
  await state.set(appKey(id), encode(appCodec, { ...app, ...change, updatedHeight: height }));
}

/**
 * `paid` must be the app's current price exactly (a buyer signs for the price it saw: a raised price
 * fails rather than taking more). Splits it to the payees (rounding dust to the first) and extends
 * the user's license. The caller has already taken `paid` from the buyer.
 */
export async function buyApp(state: StateDb, id: number, user: Uint8Array, paid: bigint, slot: number): Promise<{ until: number; shares: { account: Uint8Array; amount: bigint }[] }> {
  const app = await getApp(state, id);
  if (!app) throw new TxFailure('NOT_FOUND', `no app ${id}`);
  if (paid !== app.price) throw new TxFailure('WRONG_PRICE', `app ${id} costs ${app.price} atto, ${paid} was paid`);
  const current = await licensedUntil(state, id, user);
  let until: number;
  if (app.periodSlots === 0) {
    if (current === FOREVER) throw new TxFailure('ALREADY_LICENSED', `the user owns app ${id} already`);
    until = FOREVER;
  } else {
    until = Math.min(FOREVER - 1, Math.max(current, slot) + app.periodSlots);
  }
  const shares = app.payees.map((p) => ({ account: p.account, amount: (app.price * BigInt(p.shareBps)) / BigInt(TOTAL_SHARE_BPS) }));
  shares[0]!.amount += app.price - shares.reduce((sum, s) => sum + s.amount, 0n);
  for (const share of shares) await credit(state, share.account, share.amount);
  await state.set(licenseKey(id, user), encode(uint(), until));
  await state.set(appKey(id), encode(appCodec, { ...app, sales: app.sales + 1 }));
  return { until, shares };
}
