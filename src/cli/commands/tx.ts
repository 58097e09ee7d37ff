import type { Command } from 'commander';
import { parseGenesis, readGenesisJson } from '../../chain/index.js';
import { encode, parseAddress, parseBcr, toHex } from '../../primitives/index.js';
import { TRANSFER_GAS, signTx, transferPayload, txId } from '../../state/index.js';
import { defaultKeystoreDir, findKeystore, unlockKeystore } from '../../wallet/index.js';
import { parseIntOption, printJson, readPassword } from '../io.js';

export function registerTx(program: Command): void {
  const tx = program.command('tx').description('build and sign transactions offline');
  tx.command('transfer')
    .description('sign a BCR transfer offline and print the raw tx (send it with bcr_sendRawTransaction)')
    .requiredOption('--from <address>', 'sender (its key must be in the keystore)')
    .requiredOption('--to <address>', 'recipient')
    .requiredOption('--amount <bcr>', 'amount in BCR (up to 18 decimals)')
    .requiredOption('--nonce <n>', 'sender nonce (bcr_getNonce)')
    .option('--gas-price <atto>', 'gas price in atto per gas unit', '1000000000')
    .option('--gas-limit <n>', 'gas limit', String(TRANSFER_GAS))
    .option('--network <name>', 'network (its chain id is signed)', 'devnet')
    .option('--keystore <dir>', 'keystore directory', defaultKeystoreDir())
    .option('--password-file <file>', 'read the password from a file (else env BCR_PASSWORD, else a prompt)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { from: string; to: string; amount: string; nonce: string; gasPrice: string; gasLimit: string; network: string; keystore: string; passwordFile?: string; json?: boolean }) => {
      const { chainId } = parseGenesis(readGenesisJson(opts.network), 0).params;
      const to = parseAddress(opts.to);
      const value = parseBcr(opts.amount);
      const nonce = parseIntOption(opts.nonce, '--nonce');
      const gasLimit = parseIntOption(opts.gasLimit, '--gas-limit');
      const gasPrice = BigInt(parseIntOption(opts.gasPrice, '--gas-price'));
      const entry = findKeystore(opts.keystore, opts.from);
      const key = unlockKeystore(entry.file, await readPassword(opts.passwordFile, `Password for ${entry.address}: `));
      const raw = signTx(key, { chainId, nonce, gasLimit, gasPrice, kind: 0, payload: encode(transferPayload, { to, value }) });
      if (opts.json) printJson({ id: toHex(txId(raw)), raw: toHex(raw), chainId, nonce });
      else console.log(toHex(raw));
    });
}
