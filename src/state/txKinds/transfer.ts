import { amount, bytes, struct, type Infer } from '../../primitives/index.js';
import { accountKey, credit, debit } from '../accounts.js';
import { defineTxKind } from './registry.js';

export const TRANSFER_GAS = 21_000;

export const transferPayload = struct({ to: bytes(20), value: amount() });
export type TransferPayload = Infer<typeof transferPayload>;

export const transferKind = defineTxKind({
  id: 0,
  name: 'transfer',
  payload: transferPayload,
  maxPayloadBytes: 64,
  gas: () => TRANSFER_GAS,
  touches: (payload) => [accountKey(payload.to)],
  spends: (payload) => payload.value,
  async apply(ctx, payload) {
    await debit(ctx.state, ctx.sender, payload.value, ctx.slot);
    await credit(ctx.state, payload.to, payload.value);
  },
});
