// Events a state transition emits besides its writes. They are not part of the state root: the node
// keeps them with each block (like Ethereum's logs) for subscriptions and indexes.
import { amount, bytes, list, struct, uint, type Infer } from '../primitives/index.js';

export const DealEventKind = { published: 0, activated: 1, payment: 2, completed: 3, expired: 4, slashed: 5 } as const;
export type DealEventKindName = keyof typeof DealEventKind;

/**
 * One change of a deal. `amount`: what moved to the provider's owner (payment) or the provider
 * collateral the client received (slashed); `refund`: what went back to the client's free escrow;
 * `burned`: provider collateral burned.
 */
export const dealEventCodec = struct({
  kind: uint(5),
  deal: uint(),
  provider: uint(),
  client: bytes(20),
  sector: uint(),
  amount: amount(),
  refund: amount(),
  burned: amount(),
});
export type DealEvent = Infer<typeof dealEventCodec>;
export type StateEvent = DealEvent;

/** A block's events, as the node stores them. */
export const blockEventsCodec = list(dealEventCodec, 1 << 20);

export function dealEventKindName(kind: number): DealEventKindName {
  const name = (Object.keys(DealEventKind) as DealEventKindName[]).find((k) => DealEventKind[k] === kind);
  if (!name) throw new RangeError(`unknown deal event kind ${kind}`);
  return name;
}
