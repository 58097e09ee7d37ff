import type { Command } from 'commander';
import { createToken, isPermission, parseDuration, readSecret } from '../../rpc/auth.js';
import { UsageError } from '../io.js';

export function registerAuth(program: Command): void {
  const auth = program.command('auth').description('JSON-RPC access tokens (JWT) for a node');
  auth
    .command('create-token')
    .description('make a token with a permission level: read, write, sign or admin (each includes the ones before)')
    .requiredOption('--perm <level>', 'permission level')
    .option('--data-dir <dir>', 'the node\'s data dir (holds the signing secret)', './data/devnet')
    .option('--expires <duration>', 'lifetime: seconds, or a number with s, m, h or d', '30d')
    .option('--long-lived', 'a token that never expires (only where you can revoke it by replacing jwt.secret)', false)
    .action(async (opts: { perm: string; dataDir: string; expires: string; longLived: boolean }) => {
      if (!isPermission(opts.perm)) throw new UsageError(`--perm must be read, write, sign or admin, not "${opts.perm}"`);
      const seconds = parseDuration(opts.expires);
      if (seconds === null) throw new UsageError(`--expires must be a positive duration such as 3600, 45m, 12h or 30d, not "${opts.expires}"`);
      console.log(await createToken(readSecret(opts.dataDir), opts.perm, opts.longLived ? { longLived: true } : { expiresInSeconds: seconds }));
    });
}
