// The miner's own txs (sector, proof, registration and report txs): signed at the sender's next free
// nonce (pooled txs counted) at the minimum gas price, and admitted to the mempool's local lane.
import type { ChainStore } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { addressOf, encode, type Field } from '../primitives/index.js';
import { signTx, type TxKind, type VerifiedTx } from '../state/index.js';

export async function submitLocalTx<P>(chain: ChainStore, mempool: Mempool, key: Uint8Array, kind: TxKind, codec: Field<P>, payload: P): Promise<VerifiedTx> {
  const sender = addressOf(key);
  const account = await chain.getAccount(sender);
  const bytes = encode(codec, payload);
  const gasLimit = kind.gas(kind.decodePayload(bytes));
  const tx = signTx(key, { chainId: chain.params.chainId, nonce: mempool.nextPendingNonce(sender, account.nonce), gasLimit, gasPrice: chain.params.minGasPrice, kind: kind.id, payload: bytes });
  return mempool.add(tx, { local: true });
}
