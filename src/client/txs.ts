// Signing a tx with a key and sending it to a node over JSON-RPC; optionally waiting until it is in a
// block. The library's one way to send a tx (the CLI's commands use it with keystore keys).
import { encode, toHex, type Field } from '../primitives/index.js';
import { signTx, type TxKind } from '../state/index.js';
import { ClientError } from './errors.js';
import { callRpc } from './rpc.js';

export interface Sender {
  address: string;
  key: Uint8Array;
}

export interface Receipt {
  status: 'ok' | 'failed';
  height: number;
  error: string | null;
  fee: string;
  /** EVM txs: the logs, the created contract, and a failed call's revert reason. */
  logs?: { address: string; topics: string[]; data: string }[];
  contractAddress?: string | null;
  revertReason?: string | null;
}

/** Signs a tx of `kind` with `key` at the sender's next pending nonce; the raw bytes, not sent. */
export async function signKindTx<P>(rpc: string, sender: Sender, kind: TxKind, codec: Field<P>, payload: P, gasPrice?: bigint, gasLimit?: number): Promise<{ raw: Uint8Array; nonce: number }> {
  const { chainId } = await callRpc<{ chainId: number }>(rpc, 'bcr_nodeInfo');
  const nonce = await callRpc<number>(rpc, 'bcr_getNonce', [sender.address, 'pending']);
  const price = gasPrice ?? BigInt(await callRpc<string>(rpc, 'bcr_gasPrice'));
  const bytes = encode(codec, payload);
  // A metered kind (an EVM call) needs its estimated gas; other kinds use exactly their fixed gas.
  const limit = gasLimit ?? kind.gas(kind.decodePayload(bytes));
  return { raw: signTx(sender.key, { chainId, nonce, gasLimit: limit, gasPrice: price, kind: kind.id, payload: bytes }), nonce };
}

/** Signs a tx of `kind` with `key`, sends it, and returns its id (and nonce). */
export async function sendKindTx<P>(rpc: string, sender: Sender, kind: TxKind, codec: Field<P>, payload: P, gasPrice?: bigint, gasLimit?: number): Promise<{ id: string; nonce: number }> {
  const { raw, nonce } = await signKindTx(rpc, sender, kind, codec, payload, gasPrice, gasLimit);
  return { id: await callRpc<string>(rpc, 'bcr_sendRawTransaction', [toHex(raw)]), nonce };
}

/** Polls for the tx's receipt; throws after `timeoutMs`. */
export async function waitForReceipt(rpc: string, id: string, timeoutMs = 120_000): Promise<Receipt> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const receipt = await callRpc<Receipt | null>(rpc, 'bcr_getTransactionReceipt', [id]);
    if (receipt) return receipt;
    if (Date.now() > deadline) throw new ClientError(`tx ${id} was not included within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Sends and waits; a tx that landed but failed is a one-line error naming its code. */
export async function sendAndConfirm<P>(rpc: string, sender: Sender, kind: TxKind, codec: Field<P>, payload: P): Promise<{ id: string; receipt: Receipt }> {
  const { id } = await sendKindTx(rpc, sender, kind, codec, payload);
  const receipt = await waitForReceipt(rpc, id);
  if (receipt.status !== 'ok') throw new ClientError(`${kind.name} tx ${id} failed in block ${receipt.height}: ${receipt.error}`);
  return { id, receipt };
}
