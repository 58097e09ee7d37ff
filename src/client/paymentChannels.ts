// A payer's side of payment channels: its voucher ledger (beside its keystore), opening a channel to
// a payee, and what a paid retrieval on a channel needs. Shared by libp2p retrieval and paid gateways.
import { dirname, join } from 'node:path';
import { FileVoucherLedger } from '../market/voucherLedger.js';
import { parseAddress } from '../primitives/index.js';
import { paychFundKind, paychFundPayload, paychOpenKind, paychOpenPayload } from '../state/index.js';
import { defaultKeystoreDir } from '../wallet/index.js';
import { ClientError } from './errors.js';
import { callRpc } from './rpc.js';
import { sendAndConfirm, type Sender } from './txs.js';

export interface ChannelJson {
  channel: number;
  from: string;
  to: string;
  deposit: string;
  redeemed: string;
  remaining: string;
  nonce: number;
  settleDelay: number;
  state: string;
  settleAt: number | null;
}

/** Where a payer's voucher ledgers live: beside its keystore directory (BCR_VOUCHERS overrides). */
export function voucherDir(keystore: string = defaultKeystoreDir()): string {
  return process.env.BCR_VOUCHERS ?? join(dirname(keystore), 'vouchers');
}

const ledgers = new Map<string, Promise<FileVoucherLedger>>();

/** The payer's ledger for this chain (one per process, so parallel retrievals take consecutive nonces). */
export function voucherLedger(dir: string, chainId: number, payer: string): Promise<FileVoucherLedger> {
  const key = `${dir}/${chainId}-${payer.toLowerCase()}`;
  let ledger = ledgers.get(key);
  if (!ledger) {
    ledger = FileVoucherLedger.open(dir, chainId, payer);
    ledgers.set(key, ledger);
  }
  return ledger;
}

/** Settle delay of a channel opened to pay a provider: 100 slots, or more if it needs more. */
export function settleDelayFor(ask: { minSettleDelay: number }): number {
  return Math.max(100, ask.minSettleDelay);
}

/** What a paid retrieval on `channel` needs: the payer's key and ledger, and the channel's state on chain. */
export async function channelPayment(rpc: string, sender: Sender, chainId: number, channel: number, keystore: string) {
  const onChain = await callRpc<ChannelJson | null>(rpc, 'bcr_getPaymentChannel', [channel]);
  if (!onChain) throw new ClientError(`payment channel ${channel} does not exist`);
  return { channel, payerKey: sender.key, chainId, ledger: await voucherLedger(voucherDir(keystore), chainId, sender.address), floor: { redeemed: BigInt(onChain.redeemed), nonce: onChain.nonce } };
}

/** Opens a channel from `sender` to `to` and returns its id (the newest of the sender's channels to `to`). */
export async function openChannel(rpc: string, sender: Sender, to: string, deposit: bigint, settleDelay: number): Promise<number> {
  await sendAndConfirm(rpc, sender, paychOpenKind, paychOpenPayload, { to: parseAddress(to), deposit, settleDelay });
  const mine = await callRpc<ChannelJson[]>(rpc, 'bcr_listPaymentChannels', [sender.address, 'from']);
  const opened = mine.find((c) => c.to.toLowerCase() === to.toLowerCase() && c.state === 'open');
  if (!opened) throw new ClientError('the channel was opened but is not listed');
  return opened.channel;
}

/** An open channel from `payer` to `payee` with funds left and a settle delay of at least `minSettleDelay`, if there is one. */
export async function usableChannel(rpc: string, payer: string, payee: string, minSettleDelay: number): Promise<ChannelJson | null> {
  const mine = await callRpc<ChannelJson[]>(rpc, 'bcr_listPaymentChannels', [payer, 'from']);
  return mine.find((c) => c.to.toLowerCase() === payee.toLowerCase() && c.state === 'open' && BigInt(c.remaining) > 0n && c.settleDelay >= minSettleDelay) ?? null;
}

/**
 * A payer's channel txs, one at a time (parallel sends from one account would take the same nonce):
 * a channel to a payee (an open one with funds and a long enough settle delay reused, else a new
 * one) and top-ups. Shared by every client path that pays providers.
 */
export class ChannelFunder {
  private txs: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly rpc: string,
    private readonly sender: Sender,
  ) {}

  /** A channel to `payee`; `opened` is true when it was opened now with `deposit`. */
  channelTo(payee: string, minSettleDelay: number, deposit: bigint): Promise<{ channel: number; opened: boolean }> {
    return this.serially(async () => {
      const open = await usableChannel(this.rpc, this.sender.address, payee, minSettleDelay);
      if (open) return { channel: open.channel, opened: false };
      return { channel: await openChannel(this.rpc, this.sender, payee, deposit, settleDelayFor({ minSettleDelay })), opened: true };
    });
  }

  /** Adds `value` to the channel's deposit. */
  async topUp(channel: number, value: bigint): Promise<void> {
    await this.serially(() => sendAndConfirm(this.rpc, this.sender, paychFundKind, paychFundPayload, { channel, value }));
  }

  private serially<T>(run: () => Promise<T>): Promise<T> {
    const next = this.txs.then(run);
    this.txs = next.catch(() => undefined);
    return next;
  }
}
