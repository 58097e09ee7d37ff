import { waitForReceipt } from '../txSender.js';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BcrError, addressOf, bytesEqual, decode, encode, formatBcr, fromHex, generatePrivateKey, isValidPrivateKey, parseAddress, parseBcr, toChecksumAddress, toHex } from '../../primitives/index.js';
import { TRANSFER_GAS, signTx, transferPayload } from '../../state/index.js';
import { DEFAULT_RPC_URL, callRpc } from '../../client/rpc.js';
import { defaultKeystoreDir, findKeystore, saveKeystore, scanKeystores, unlockKeystore } from '../../wallet/index.js';
import { parseIntOption, printJson, readPassword } from '../io.js';

interface KeystoreOpts {
  keystore: string;
  passwordFile?: string;
  lightKdf?: boolean;
  json?: boolean;
}

/** geth's --lightkdf scrypt cost: fast, for test wallets only. */
const LIGHT_SCRYPT_N = 4096;

export function registerWallet(program: Command): void {
  const wallet = program.command('wallet').description('keys in Web3 Secret Storage (keystore v3) files, compatible with Ethereum wallets');
  const withKeystore = (cmd: Command) =>
    cmd
      .option('--keystore <dir>', 'keystore directory (env BCR_KEYSTORE)', defaultKeystoreDir())
      .option('--password-file <file>', 'read the password from a file (else env BCR_PASSWORD, else a prompt)')
      .option('--json', 'machine-readable output');

  withKeystore(wallet.command('new').description('create a new key and store it encrypted'))
    .option('--light-kdf', 'cheap scrypt parameters (test wallets only)')
    .action(async (opts: KeystoreOpts) => {
      const password = await readPassword(opts.passwordFile, 'Password for the new key: ');
      const entry = saveKeystore(opts.keystore, generatePrivateKey(), password, opts.lightKdf ? LIGHT_SCRYPT_N : undefined);
      if (opts.json) printJson(entry);
      else console.log(`${entry.address}\nsaved to ${entry.file}`);
    });

  withKeystore(wallet.command('list').description('list the addresses in the keystore')).action((opts: KeystoreOpts) => {
    const { entries, unreadable } = scanKeystores(opts.keystore);
    for (const u of unreadable) process.stderr.write(`warning: ${u.file} cannot be read as a key file (${u.reason}): restore it from a backup\n`);
    if (opts.json) printJson(entries);
    else if (entries.length === 0) console.log(`no keys in ${opts.keystore}`);
    else for (const e of entries) console.log(`${e.address}  ${e.file}`);
  });

  withKeystore(wallet.command('import').description('import a raw private key (0x-hex, read from a file) into the keystore'))
    .requiredOption('--key-file <file>', 'file holding the 0x-hex private key')
    .option('--light-kdf', 'cheap scrypt parameters (test wallets only)')
    .action(async (opts: KeystoreOpts & { keyFile: string }) => {
      const { readFileSync } = await import('node:fs');
      let key: Uint8Array;
      try {
        key = fromHex(readFileSync(opts.keyFile, 'utf8').trim());
      } catch {
        throw new BcrError('BAD_KEY', `${opts.keyFile} does not hold a 0x-hex private key`);
      }
      if (!isValidPrivateKey(key)) throw new BcrError('BAD_KEY', 'not a valid secp256k1 private key');
      const password = await readPassword(opts.passwordFile, 'Password to encrypt the key: ');
      const entry = saveKeystore(opts.keystore, key, password, opts.lightKdf ? LIGHT_SCRYPT_N : undefined);
      if (opts.json) printJson(entry);
      else console.log(`${entry.address}\nsaved to ${entry.file}`);
    });

  withKeystore(wallet.command('export').description('decrypt a key and write its raw 0x-hex private key to a file'))
    .argument('<address>', 'address of the key')
    .requiredOption('--out <file>', 'where to write the private key (created with mode 600)')
    .action(async (address: string, opts: KeystoreOpts & { out: string }) => {
      parseAddress(address);
      const entry = findKeystore(opts.keystore, address);
      const key = unlockKeystore(entry.file, await readPassword(opts.passwordFile, `Password for ${entry.address}: `));
      writeFileSync(opts.out, toHex(key) + '\n', { mode: 0o600 });
      if (opts.json) printJson({ address: entry.address, out: opts.out });
      else console.log(`private key of ${entry.address} written to ${opts.out}`);
    });

  wallet
    .command('balance')
    .description('balance of an address at the head of a running node')
    .argument('<address>')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (address: string, opts: { rpc: string; json?: boolean }) => {
      const checksummed = toChecksumAddress(parseAddress(address));
      const [b, nonce] = await Promise.all([
        callRpc<{ balance: string; locked: string; spendable: string }>(opts.rpc, 'bcr_getBalance', [checksummed]),
        // The next nonce to sign with (pending txs counted): what `bcr tx transfer --nonce` wants.
        callRpc<number>(opts.rpc, 'bcr_getNonce', [checksummed, 'pending']),
      ]);
      if (opts.json) return printJson({ address: checksummed, ...b, nonce });
      console.log(`${checksummed}: ${formatBcr(BigInt(b.balance))} BCR${b.locked !== '0' ? ` (${formatBcr(BigInt(b.locked))} locked by vesting)` : ''}; next nonce ${nonce}`);
    });

  withKeystore(wallet.command('send').description('sign a transfer with a keystore key and send it to a running node'))
    .requiredOption('--from <address>', 'sender (its key must be in the keystore)')
    .requiredOption('--to <address>', 'recipient')
    .requiredOption('--amount <bcr>', 'amount in BCR (up to 18 decimals)')
    .option('--gas-price <atto>', 'gas price in atto per gas (default: the node\'s suggestion)')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--wait', 'wait until the tx is in a block and print its receipt')
    .action(async (opts: KeystoreOpts & { from: string; to: string; amount: string; gasPrice?: string; rpc: string; wait?: boolean }) => {
      const to = parseAddress(opts.to);
      const value = parseBcr(opts.amount);
      const entry = findKeystore(opts.keystore, opts.from);
      const key = unlockKeystore(entry.file, await readPassword(opts.passwordFile, `Password for ${entry.address}: `));
      const { chainId } = await callRpc<{ chainId: number }>(opts.rpc, 'bcr_nodeInfo');
      const nonce = await callRpc<number>(opts.rpc, 'bcr_getNonce', [entry.address, 'pending']);
      const gasPrice = BigInt(opts.gasPrice ?? (await callRpc<string>(opts.rpc, 'bcr_gasPrice')));
      const raw = signTx(key, { chainId, nonce, gasLimit: TRANSFER_GAS, gasPrice, kind: 0, payload: encode(transferPayload, { to, value }) });
      const id = await callRpc<string>(opts.rpc, 'bcr_sendRawTransaction', [toHex(raw)]);
      const receipt = opts.wait ? await waitForReceipt(opts.rpc, id) : null;
      if (opts.json) printJson({ id, nonce, status: receipt?.status ?? 'pending', receipt });
      else {
        console.log(id);
        if (receipt) console.log(`included at height ${receipt.height}: ${receipt.status === 'ok' ? 'ok' : `FAILED (${receipt.error})`}, fee ${formatBcr(BigInt(receipt.fee))} BCR`);
      }
      // A tx that failed on chain is a failed send, whatever it cost.
      if (receipt && receipt.status !== 'ok') process.exitCode = 1;
    });

  wallet
    .command('history')
    .description('transfers from or to an address in the last blocks of a running node')
    .argument('<address>')
    .option('--blocks <n>', 'how many recent blocks to scan', '1000')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (address: string, opts: { blocks: string; rpc: string; json?: boolean }) => {
      const me = parseAddress(address);
      const head = await callRpc<{ height: number }>(opts.rpc, 'bcr_chainHead');
      const out: { height: number; id: string; from: string; to: string; value: string; direction: 'in' | 'out'; status: 'ok' | 'failed'; fee: string; error: string | null }[] = [];
      for (let h = head.height; h > Math.max(0, head.height - parseIntOption(opts.blocks, '--blocks')); h--) {
        const block = await callRpc<{ txs: { id: string; from: string; kind: string; payload: string }[] | null }>(opts.rpc, 'bcr_getBlockByHeight', [h, true]);
        if (!block.txs) {
          // A pruning node keeps recent bodies only: older history needs an archive node.
          if (!opts.json) console.error(`note: blocks at height ${h} and below are pruned on this node; history stops there`);
          break;
        }
        for (const tx of block.txs) {
          if (tx.kind !== 'transfer') continue;
          const { to, value } = decode(transferPayload, fromHex(tx.payload));
          const out_ = bytesEqual(parseAddress(tx.from), me);
          if (!out_ && !bytesEqual(to, me)) continue;
          // A failed transfer moved nothing but still cost its sender the fee: say so.
          const receipt = await callRpc<{ status: 'ok' | 'failed'; fee: string; error: string | null }>(opts.rpc, 'bcr_getTransactionReceipt', [tx.id]);
          out.push({ height: h, id: tx.id, from: tx.from, to: toChecksumAddress(to), value: value.toString(), direction: out_ ? 'out' : 'in', status: receipt.status, fee: receipt.fee, error: receipt.error });
        }
      }
      if (opts.json) return printJson(out);
      if (out.length === 0) console.log('no transfers in the scanned blocks');
      for (const t of out) {
        const status = t.status === 'ok' ? 'ok    ' : `FAILED (${t.error ?? 'reverted'}; fee ${formatBcr(BigInt(t.fee))} BCR paid, nothing moved)`;
        console.log(`${String(t.height).padStart(8)}  ${t.direction === 'out' ? '->' : '<-'} ${t.direction === 'out' ? t.to : t.from}  ${formatBcr(BigInt(t.value))} BCR  ${status}  ${t.id}`);
      }
    });

  wallet
    .command('address')
    .description('print the EIP-55 address of a raw private key file or normalise an address')
    .option('--key-file <file>', 'file holding a 0x-hex private key')
    .argument('[address]', 'an address to check and print in checksum form')
    .action(async (address: string | undefined, opts: { keyFile?: string }) => {
      if (opts.keyFile) {
        const { readFileSync } = await import('node:fs');
        const key = fromHex(readFileSync(opts.keyFile, 'utf8').trim());
        if (!isValidPrivateKey(key)) throw new BcrError('BAD_KEY', 'not a valid secp256k1 private key');
        console.log(toChecksumAddress(addressOf(key)));
      } else if (address) console.log(toChecksumAddress(parseAddress(address)));
      else throw new BcrError('USAGE', 'give an address or --key-file');
    });
}
