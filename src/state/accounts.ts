// Accounts in the state: balance, nonce and an optional vesting grant, in one record so that a
// transfer reads one key per party.
import { amount, concatBytes, decode, encode, formatBcr, optional, struct, uint, type Infer } from '../primitives/index.js';
import { TxFailure } from './errors.js';
import type { StateDb } from './stateDb.js';

export const StateKeyPrefix = {
  account: 0x01,
} as const;

const vestingCodec = struct({ total: amount(), startSlot: uint(), cliffSlots: uint(), durationSlots: uint() });
export type Vesting = Infer<typeof vestingCodec>;

const accountCodec = struct({ balance: amount(), nonce: uint(), vesting: optional(vestingCodec) });
export type Account = Infer<typeof accountCodec>;

export function emptyAccount(): Account {
  return { balance: 0n, nonce: 0, vesting: null };
}

export function accountKey(address: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([StateKeyPrefix.account]), address);
}

export function decodeAccount(bytes: Uint8Array | undefined): Account {
  return bytes ? decode(accountCodec, bytes, 'account') : emptyAccount();
}

export function encodeAccount(account: Account): Uint8Array {
  return encode(accountCodec, account);
}

/** The account at `address` (read-only: write changes with putAccount). */
export async function getAccount(state: StateDb, address: Uint8Array): Promise<Account> {
  return state.getTyped(accountKey(address), decodeAccount);
}

/** Empty accounts are deleted, so they cost nothing in the state (like EIP-161). */
export async function putAccount(state: StateDb, address: Uint8Array, account: Account): Promise<void> {
  const empty = account.balance === 0n && account.nonce === 0 && account.vesting === null;
  await state.setTyped(accountKey(address), empty ? null : account, encodeAccount, decodeAccount);
}

/** Locked part of a vesting grant at `slot`: all of it before the cliff, then linear to zero. */
export function lockedAmount(vesting: Vesting | null, slot: number): bigint {
  if (!vesting) return 0n;
  const elapsed = slot - vesting.startSlot;
  if (elapsed < vesting.cliffSlots) return vesting.total;
  if (elapsed >= vesting.durationSlots) return 0n;
  return vesting.total - (vesting.total * BigInt(elapsed)) / BigInt(vesting.durationSlots);
}

/** A grant's schedule at `slot`: cliff and end slots, what is locked, and the next unlock (null after the end). */
export function vestingSchedule(vesting: Vesting, slot: number): { cliffSlot: number; endSlot: number; locked: bigint; vested: bigint; perSlot: bigint; nextUnlock: { slot: number; amount: bigint } | null } {
  const locked = lockedAmount(vesting, slot);
  const cliffSlot = vesting.startSlot + vesting.cliffSlots;
  const endSlot = vesting.startSlot + vesting.durationSlots;
  const nextUnlock = slot < cliffSlot ? { slot: cliffSlot, amount: vesting.total - lockedAmount(vesting, cliffSlot) } : slot < endSlot ? { slot: slot + 1, amount: locked - lockedAmount(vesting, slot + 1) } : null;
  return { cliffSlot, endSlot, locked, vested: vesting.total - locked, perSlot: vesting.total / BigInt(vesting.durationSlots), nextUnlock };
}

/** Balance that can move at `slot`: vesting-locked funds cannot. */
export function spendable(account: Account, slot: number): bigint {
  const free = account.balance - lockedAmount(account.vesting, slot);
  return free > 0n ? free : 0n;
}

export async function credit(state: StateDb, address: Uint8Array, value: bigint): Promise<void> {
  if (value === 0n) return;
  const account = await getAccount(state, address);
  await putAccount(state, address, { ...account, balance: account.balance + value });
}

export async function debit(state: StateDb, address: Uint8Array, value: bigint, slot: number): Promise<void> {
  if (value === 0n) return;
  const account = await getAccount(state, address);
  const free = spendable(account, slot);
  if (free < value) throw new TxFailure('INSUFFICIENT_FUNDS', `spendable ${formatBcr(free)} BCR below ${formatBcr(value)} BCR`, { spendable: free, needed: value });
  await putAccount(state, address, { ...account, balance: account.balance - value });
}
