// Signing a tx with a keystore key and sending it to a running node over JSON-RPC; optionally
// waiting until it is in a block. Shared by the wallet and miner commands.
import { encode, toHex, type Field } from '../primitives/index.js';
import { signTx, type TxKind } from '../state/index.js';
import type { Command } from 'commander';
import { defaultKeystoreDir, findKeystore, unlockKeystore } from '../wallet/index.js';
import { UsageError, readPassword } from './io.js';
import { DEFAULT_RPC_URL, callRpc } from '../client/rpc.js';

/** The options of every command that signs with a keystore key and talks to a node. */
export function withSenderOptions(cmd: Command): Command {
  return cmd
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--keystore <dir>', 'keystore directory (env BCR_KEYSTORE)', defaultKeystoreDir())
    .option('--password-file <file>', 'read the password from a file (else env BCR_PASSWORD, else a prompt)');
}

/** A command that signs with a keystore account (--from) and can answer in JSON. */
export function withSignerOptions(cmd: Command): Command {
  return withSenderOptions(cmd.requiredOption('--from <address>', 'the signing account (its key must be in the keystore)')).option('--json', 'machine-readable output');
}

export interface SenderOptions {
  rpc: string;
  keystore: string;
  passwordFile?: string;
}

export interface Receipt {
  status: 'ok' | 'failed';
  height: number;
  error: string | null;
  fee: string;
}

/** Unlocks `address`'s key from the keystore (password from file, env or prompt). */
export async function unlockSender(opts: SenderOptions, address: string): Promise<{ address: string; key: Uint8Array }> {
  const entry = findKeystore(opts.keystore, address);
  return { address: entry.address, key: unlockKeystore(entry.file, await readPassword(opts.passwordFile, `Password for ${entry.address}: `)) };
}

/** Signs a tx of `kind` with `key` at the sender's next pending nonce; the raw bytes, not sent. */
export async function signKindTx<P>(rpc: string, sender: { address: string; key: Uint8Array }, kind: TxKind, codec: Field<P>, payload: P, gasPrice?: bigint): Promise<{ raw: Uint8Array; nonce: number }> {
  const { chainId } = await callRpc<{ chainId: number }>(rpc, 'bcr_nodeInfo');
  const nonce = await callRpc<number>(rpc, 'bcr_getNonce', [sender.address, 'pending']);
  const price = gasPrice ?? BigInt(await callRpc<string>(rpc, 'bcr_gasPrice'));
  const bytes = encode(codec, payload);
  const gasLimit = kind.gas(kind.decodePayload(bytes));
  return { raw: signTx(sender.key, { chainId, nonce, gasLimit, gasPrice: price, kind: kind.id, payload: bytes }), nonce };
}

/** Signs a tx of `kind` with `key`, sends it, and returns its id (and nonce). */
export async function sendKindTx<P>(rpc: string, sender: { address: string; key: Uint8Array }, kind: TxKind, codec: Field<P>, payload: P, gasPrice?: bigint): Promise<{ id: string; nonce: number }> {
  const { raw, nonce } = await signKindTx(rpc, sender, kind, codec, payload, gasPrice);
  return { id: await callRpc<string>(rpc, 'bcr_sendRawTransaction', [toHex(raw)]), nonce };
}

/** Polls for the tx's receipt; throws after `timeoutMs`. */
export async function waitForReceipt(rpc: string, id: string, timeoutMs = 120_000): Promise<Receipt> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const receipt = await callRpc<Receipt | null>(rpc, 'bcr_getTransactionReceipt', [id]);
    if (receipt) return receipt;
    if (Date.now() > deadline) throw new UsageError(`tx ${id} was not included within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Sends and waits; a tx that landed but failed is a one-line error naming its code. */
export async function sendAndConfirm<P>(rpc: string, sender: { address: string; key: Uint8Array }, kind: TxKind, codec: Field<P>, payload: P): Promise<{ id: string; receipt: Receipt }> {
  const { id } = await sendKindTx(rpc, sender, kind, codec, payload);
  const receipt = await waitForReceipt(rpc, id);
  if (receipt.status !== 'ok') throw new UsageError(`${kind.name} tx ${id} failed in block ${receipt.height}: ${receipt.error}`);
  return { id, receipt };
}
