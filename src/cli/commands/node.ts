import type { Command } from 'commander';
import { startNode } from '../../node.js';
import { createLogger } from '../../util/logger.js';
import { parseIntOption } from '../io.js';

export function registerNode(program: Command): void {
  program
    .command('node')
    .description('run a BCR full node (chain, mempool, JSON-RPC, block production)')
    .option('--network <name>', 'network profile: devnet, test, mainnet, or a genesis file path', 'devnet')
    .option('--data-dir <dir>', 'where the chain database and node files live', './data/devnet')
    .option('--rpc-host <host>', 'JSON-RPC bind address', '127.0.0.1')
    .option('--rpc-port <port>', 'JSON-RPC port (0 = any free port)', '8645')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .option('--no-mine', 'do not produce blocks')
    .action(async (opts: { network: string; dataDir: string; rpcHost: string; rpcPort: string; logLevel: string; mine: boolean }) => {
      const log = createLogger({ level: opts.logLevel });
      const node = await startNode({
        network: opts.network,
        dataDir: opts.dataDir,
        rpcHost: opts.rpcHost,
        rpcPort: parseIntOption(opts.rpcPort, '--rpc-port'),
        mine: opts.mine,
        log,
      });
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'Shutting down');
        node.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    });
}
