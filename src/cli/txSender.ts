// The options of commands that sign with a keystore key, and unlocking that key; signing and
// sending the tx itself is the client library's (re-exported here for the commands).
import type { Command } from 'commander';
import { defaultKeystoreDir, findKeystore, unlockKeystore } from '../wallet/index.js';
import { readPassword } from './io.js';
import { DEFAULT_RPC_URL } from '../client/rpc.js';

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

/** Unlocks `address`'s key from the keystore (password from file, env or prompt). */
export async function unlockSender(opts: SenderOptions, address: string): Promise<{ address: string; key: Uint8Array }> {
  const entry = findKeystore(opts.keystore, address);
  return { address: entry.address, key: unlockKeystore(entry.file, await readPassword(opts.passwordFile, `Password for ${entry.address}: `)) };
}

export { sendAndConfirm, sendKindTx, signKindTx, waitForReceipt, type Receipt } from '../client/txs.js';
