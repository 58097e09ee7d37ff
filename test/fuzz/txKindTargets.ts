// One fuzz target per tx kind: payloads that fit the kind's codec exactly, at the edges a handler
// must survive, signed by senders with standing (a plain account, miner 1's worker, council
// signers) and applied to the head state as a block producer would. The contract is stricter than
// "a typed error": a handler may only fail the tx (a receipt with a code) or refuse it (TxError);
// anything else it throws would stop block production while the tx sits in the pool.
import fc from 'fast-check';
import type { ChainStore } from '../../src/chain/index.js';
import { blockEnv } from '../../src/chain/blocks/importBlock.js';
import { DEVNET_COUNCIL_KEYS } from '../../src/devnet.js';
import { addressOf, fromHex } from '../../src/primitives/index.js';
import { FOUNDATION_ADDRESS, ReceiptStatus, TxError, applyTx, signTx, txKinds, verifyTx, type TxKind } from '../../src/state/index.js';
import { DEV_KEY, TEAM_ADDRESS, WORKER_KEY } from '../helpers/chain.js';
import { ACCEPTED, Crash, type FuzzTarget } from './targets.js';
import { wellTyped, type KnownValues } from './wellTyped.js';

export const FUZZ_SENDERS = [DEV_KEY, WORKER_KEY, ...DEVNET_COUNCIL_KEYS.map((k) => fromHex(k))];

export function knownValues(ids: Uint8Array[]): KnownValues {
  return { addresses: [...FUZZ_SENDERS.map(addressOf), TEAM_ADDRESS, FOUNDATION_ADDRESS], ids };
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function txKindTarget(chain: ChainStore, kind: TxKind, known: KnownValues): FuzzTarget {
  return {
    name: `tx kind ${kind.name} (well-typed payloads, applied)`,
    arbitrary: fc.record({ sender: fc.nat({ max: FUZZ_SENDERS.length - 1 }), payload: wellTyped(kind.payloadSchema, known) }),
    async run(input) {
      const { sender, payload } = input as { sender: number; payload: unknown };
      const key = FUZZ_SENDERS[sender]!;
      const bytes = kind.encodePayload(payload);
      const head = chain.head.header;
      const { nonce } = await chain.getAccount(addressOf(key));
      // What the mempool asks of a payload before any state: gas, the keys it touches, what it spends.
      let gasLimit: number;
      let decoded: unknown;
      try {
        decoded = kind.decodePayload(bytes);
      } catch (error) {
        // A kind's stateless rules refuse some well-typed payloads (EVM init code too large).
        if (error instanceof TxError) return error.code;
        throw new Crash(`${kind.name}: decoding a well-typed payload threw: ${describeError(error)}`);
      }
      try {
        // A metered kind (the EVM) gets room to execute, not only its intrinsic gas.
        gasLimit = kind.metered ? Math.max(kind.gas(decoded), 2_000_000) : kind.gas(decoded);
        kind.touches(decoded);
        kind.spends(decoded);
      } catch (error) {
        throw new Crash(`${kind.name}: gas/touches/spends threw on a decoded payload: ${describeError(error)}`);
      }
      const raw = signTx(key, { chainId: chain.params.chainId, nonce, gasLimit, gasPrice: 1n, kind: kind.id, payload: bytes });
      try {
        const tx = verifyTx(raw, chain.params);
        const miner = chain.genesis.miners[0]!;
        const env = blockEnv(chain.params, { height: head.height + 1, slot: head.slot + 1, vrfOutput: new Uint8Array(32).fill(9), timestamp: head.timestamp + 1000 }, head, miner.owner, async () => undefined);
        const receipt = await applyTx(chain.headState(), env, tx);
        return receipt.status === ReceiptStatus.ok ? ACCEPTED : receipt.error;
      } catch (error) {
        if (error instanceof TxError) return error.code;
        throw new Crash(`${kind.name}: ${describeError(error)}`);
      }
    },
  };
}

export function txKindTargets(chain: ChainStore, known: KnownValues): FuzzTarget[] {
  return txKinds().map((kind) => txKindTarget(chain, kind, known));
}
