// Market escrow (like Filecoin's market actor balances): per-account funds set aside for storage
// deals. Anyone may fund an account's escrow; only the account withdraws, and never below what its
// deals have locked (client payments and provider collateral, as deals land).
import { amount, bytes, concatBytes, decode, encode, struct, type Infer } from '../../primitives/index.js';
import { credit, debit } from '../accounts.js';
import { TxFailure } from '../errors.js';
import type { StateDb } from '../stateDb.js';
import { defineTxKind } from '../txKinds/registry.js';

/** State key prefix of escrow records (0x01 accounts, 0x03-0x06 miners and sectors). */
export const ESCROW_PREFIX = 0x08;

const escrowCodec = struct({ total: amount(), locked: amount() });
export type Escrow = Infer<typeof escrowCodec>;

export const escrowKey = (address: Uint8Array) => concatBytes(new Uint8Array([ESCROW_PREFIX]), address);

export function decodeEscrow(raw: Uint8Array): Escrow {
  return decode(escrowCodec, raw, 'escrow');
}

export async function getEscrow(state: StateDb, address: Uint8Array): Promise<Escrow> {
  const raw = await state.get(escrowKey(address));
  return raw ? decode(escrowCodec, raw, 'escrow') : { total: 0n, locked: 0n };
}

export async function putEscrow(state: StateDb, address: Uint8Array, escrow: Escrow): Promise<void> {
  await state.set(escrowKey(address), escrow.total === 0n && escrow.locked === 0n ? null : encode(escrowCodec, escrow));
}

/** Adds `value` (already taken from its payer) to `account`'s escrow. */
export async function addEscrow(state: StateDb, account: Uint8Array, value: bigint): Promise<void> {
  const escrow = await getEscrow(state, account);
  await putEscrow(state, account, { ...escrow, total: escrow.total + value });
}

export const escrowAddPayload = struct({ account: bytes(20), value: amount() });
export const escrowWithdrawPayload = struct({ value: amount() });

export const escrowAddKind = defineTxKind({
  id: 13,
  name: 'escrowAdd',
  payload: escrowAddPayload,
  maxPayloadBytes: 64,
  gas: () => 30_000,
  touches: (p) => [escrowKey(p.account)],
  spends: (p) => p.value,
  async apply(ctx, p) {
    if (p.value === 0n) throw new TxFailure('ZERO_VALUE', 'nothing to add');
    await debit(ctx.state, ctx.sender, p.value, ctx.slot);
    await addEscrow(ctx.state, p.account, p.value);
  },
});

export const escrowWithdrawKind = defineTxKind({
  id: 14,
  name: 'escrowWithdraw',
  payload: escrowWithdrawPayload,
  maxPayloadBytes: 48,
  gas: () => 30_000,
  touches: () => [],
  async apply(ctx, p) {
    const escrow = await getEscrow(ctx.state, ctx.sender);
    const available = escrow.total - escrow.locked;
    if (p.value > available) throw new TxFailure('ESCROW_LOCKED', `only ${available} atto of escrow is free (${escrow.locked} atto locked by deals)`);
    await putEscrow(ctx.state, ctx.sender, { ...escrow, total: escrow.total - p.value });
    await credit(ctx.state, ctx.sender, p.value);
  },
});
