import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BcrError, addressOf, fromHex, generatePrivateKey, isValidPrivateKey, parseAddress, toChecksumAddress, toHex } from '../../primitives/index.js';
import { defaultKeystoreDir, findKeystore, listKeystores, saveKeystore, unlockKeystore } from '../../wallet/index.js';
import { printJson, readPassword } from '../io.js';

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
    const entries = listKeystores(opts.keystore);
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
