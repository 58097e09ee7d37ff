import type { Command } from 'commander';
import { createToken, isPermission, readSecret } from '../../rpc/auth.js';
import { UsageError } from '../io.js';

export function registerAuth(program: Command): void {
  const auth = program.command('auth').description('JSON-RPC access tokens (JWT) for a node');
  auth
    .command('create-token')
    .description('make a token with a permission level: read, write, sign or admin (each includes the ones before)')
    .requiredOption('--perm <level>', 'permission level')
    .option('--data-dir <dir>', 'the node\'s data dir (holds the signing secret)', './data/devnet')
    .action(async (opts: { perm: string; dataDir: string }) => {
      if (!isPermission(opts.perm)) throw new UsageError(`--perm must be read, write, sign or admin, not "${opts.perm}"`);
      console.log(await createToken(readSecret(opts.dataDir), opts.perm));
    });
}
