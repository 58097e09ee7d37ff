// Accounts (balance + nonce) and vesting locks in the state.
import { amount, concatBytes, decode, encode, struct, uint, type Infer } from '../primitives/index.js';
import { TxFailure } from './errors.js';
import type { StateDb } from './stateDb.js';

export const StateKeyPrefix = {
  account: 0x01,
  vesting: 0x02,
} as const;

const accountCodec = struct({ balance: amount(), nonce: uint() });
export type Account = Infer<typeof accountCodec>;

const vestingCodec = struct({ total: amount(), startSlot: uint(), cliffSlots: uint(), durationSlots: uint() });
export type Vesting = Infer<typeof vestingCodec>;

const EMPTY_ACCOUNT: Account = { balance: 0n, nonce: 0 };

export function accountKey(address: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([StateKeyPrefix.account]), address);
}

export function vestingKey(address: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([StateKeyPrefix.vesting]), address);
}

export function decodeAccount(bytes: Uint8Array | undefined): Account {
  return bytes ? decode(accountCodec, bytes, 'account') : { ...EMPTY_ACCOUNT };
}

export function encodeAccount(account: Account): Uint8Array {
  return encode(accountCodec, account);
}

export async function getAccount(state: StateDb, address: Uint8Array): Promise<Account> {
  return decodeAccount(await state.get(accountKey(address)));
}

/** Empty accounts are deleted, so they cost nothing in the state (like EIP-161). */
export async function putAccount(state: StateDb, address: Uint8Array, account: Account): Promise<void> {
  const empty = account.balance === 0n && account.nonce === 0;
  await state.set(accountKey(address), empty ? null : encodeAccount(account));
}

export function decodeVesting(bytes: Uint8Array): Vesting {
  return decode(vestingCodec, bytes, 'vesting');
}

export function encodeVesting(vesting: Vesting): Uint8Array {
  return encode(vestingCodec, vesting);
}

/** Locked part of a vesting grant at `slot`: all of it before the cliff, then linear to zero. */
export function lockedAmount(vesting: Vesting, slot: number): bigint {
  const elapsed = slot - vesting.startSlot;
  if (elapsed < vesting.cliffSlots) return vesting.total;
  if (elapsed >= vesting.durationSlots) return 0n;
  return vesting.total - (vesting.total * BigInt(elapsed)) / BigInt(vesting.durationSlots);
}

export async function lockedAt(state: StateDb, address: Uint8Array, slot: number): Promise<bigint> {
  const bytes = await state.get(vestingKey(address));
  return bytes ? lockedAmount(decodeVesting(bytes), slot) : 0n;
}

export async function spendableAt(state: StateDb, address: Uint8Array, slot: number): Promise<bigint> {
  const account = await getAccount(state, address);
  const spendable = account.balance - (await lockedAt(state, address, slot));
  return spendable > 0n ? spendable : 0n;
}

export async function credit(state: StateDb, address: Uint8Array, value: bigint): Promise<void> {
  if (value === 0n) return;
  const account = await getAccount(state, address);
  await putAccount(state, address, { ...account, balance: account.balance + value });
}

/** Debits spendable funds; vesting-locked funds cannot move. */
export async function debit(state: StateDb, address: Uint8Array, value: bigint, slot: number): Promise<void> {
  if (value === 0n) return;
  const spendable = await spendableAt(state, address, slot);
  if (spendable < value) {
    throw new TxFailure('INSUFFICIENT_FUNDS', `spendable ${spendable} atto below ${value} atto`, { spendable, needed: value });
  }
  const account = await getAccount(state, address);
  await putAccount(state, address, { ...account, balance: account.balance - value });
}
