import '../../util/polyfills.js';
import type { Command } from 'commander';
import { rememberedP2pPort, startNode } from '../../node.js';
import { createLogger } from '../../util/logger.js';
import { defaultKeystoreDir, findKeystore, unlockKeystore } from '../../wallet/index.js';
import { readFileSync } from 'node:fs';
import { fromHex } from '../../primitives/index.js';
import { UsageError, clusterUrl, parseIntOption, readPassword } from '../io.js';
import { checkLogLevel, checkNetwork, checkPeerAddress, checkPortFree, parsePortOption, parsePruneBlocks } from '../nodeFlags.js';

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
    .option('--p2p-host <host>', 'libp2p listen address', '127.0.0.1')
    .option('--p2p-port <port>', 'libp2p TCP port (0 = any free port; default: the port this data dir listened on last, else any free port)')
    .option('--bootstrap <multiaddrs>', 'comma-separated peer multiaddrs to connect to (/ip4/.../tcp/.../p2p/...)')
    .option('--mdns', 'discover peers on the local network by multicast DNS (off by default)', false)
    .option('--rpc-cors <origins>', 'comma-separated origins allowed to call the RPC from browsers (none by default)')
    .option('--ws-origins <origins>', 'comma-separated browser origins allowed to open a JSON-RPC WebSocket (none by default)')
    .option('--prune-blocks <n>', "keep block bodies and receipts for the last N blocks beyond finality (headers and the tx index are always kept); 'archive' keeps all. Default: archive on devnet and test, 100000 on mainnet")
    .option('--watchdog-margin <slots>', 'warn when a WindowPoSt has not landed this many slots before its window closes (default: a quarter of the window, at least 2)')
    .option('--watchdog-slow-share <percent>', 'warn when computing a WindowPoSt takes more than this percent of its window', '50')
    .option('--retrieval-payment-interval <bytes>', 'paid retrieval: bytes served to a payer beyond what its vouchers pay (at least one 256 KiB chunk)', String(1024 * 1024))
    .option('--retrieval-min-settle-delay <slots>', 'paid retrieval: the shortest settle delay of a channel served on (default: twice the finality)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port at /metrics (off unless given)')
    .option('--metrics-host <host>', 'metrics bind address (loopback unless you expose it)', '127.0.0.1')
    .option('--gateway-port <port>', "serve the IPFS trustless gateway (GET /ipfs/CID as raw blocks or CAR) for the local miner's stored data on this port (off unless given)")
    .option('--gateway-host <host>', 'gateway bind address (0.0.0.0 to serve the internet)', '127.0.0.1')
    .option('--gateway-upload <MB/s>', 'cap what the gateway sends, all answers together, in MB/s (a home uplink: leave room for your own use)')
    .option('--gateway-announce <url>', 'the public URL of the gateway, announced on chain with the miner\'s addresses (default: the address it listens on)')
    .option('--rpc-allowed-hosts <hosts>', "comma-separated Host names accepted besides loopback ('*' for any)")
    .option('--miner <id>', 'run this registered miner: its worker and VRF keys come from --keystore (password from --password-file, BCR_PASSWORD or a prompt)')
    .option('--cluster <url>', 'seal and prove on a cluster of worker machines (bcr worker) coordinated through this PostgreSQL database, postgres://user@host:port/db; sectors stay on this machine without it')
    .option('--worker-key-file <file>', 'the local miner\'s worker key (0x-hex); devnet/test default to the dev worker key')
    .option('--unlock <addresses>', 'comma-separated keystore addresses the node may sign with (bcr_sendTransaction)')
    .option('--keystore <dir>', 'keystore for --unlock', defaultKeystoreDir())
    .option('--password-file <file>', 'password of the --unlock keys (else env BCR_PASSWORD, else a prompt)')
    .action(async (opts: { network: string; dataDir: string; rpcHost: string; rpcPort: string; logLevel: string; mine: boolean; rpcCors?: string; wsOrigins?: string; rpcAllowedHosts?: string; unlock?: string; keystore: string; passwordFile?: string; p2pHost: string; p2pPort?: string; bootstrap?: string; mdns: boolean; metricsPort?: string; metricsHost: string; gatewayPort?: string; gatewayHost: string; gatewayUpload?: string; gatewayAnnounce?: string; pruneBlocks?: string; watchdogMargin?: string; watchdogSlowShare: string; retrievalPaymentInterval: string; retrievalMinSettleDelay?: string; workerKeyFile?: string; miner?: string; cluster?: string }) => {
      const list = (text?: string) => (text ? text.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
      // Every flag is checked and both ports bound once before the data dir is touched.
      checkNetwork(opts.network);
      checkLogLevel(opts.logLevel);
      const rpcPort = parsePortOption(opts.rpcPort, '--rpc-port');
      for (const address of list(opts.bootstrap) ?? []) checkPeerAddress(address, '--bootstrap');
      await checkPortFree(opts.rpcHost, rpcPort, '--rpc-port');
      let p2pPort: number;
      if (opts.p2pPort !== undefined) {
        p2pPort = parsePortOption(opts.p2pPort, '--p2p-port');
        await checkPortFree(opts.p2pHost, p2pPort, '--p2p-port');
      } else {
        // Peers that met this node find it where it was: the port of its last run, if still free.
        const remembered = rememberedP2pPort(opts.dataDir);
        p2pPort = remembered !== null && (await checkPortFree(opts.p2pHost, remembered, '--p2p-port').then(() => true, () => false)) ? remembered : 0;
        if (remembered !== null && p2pPort === 0) process.stderr.write(`warning: p2p port ${remembered} of the last run is taken; listening on another (peers will find this node through the addresses it re-registers and its peer book)\n`);
      }
      const metricsPort = opts.metricsPort === undefined ? undefined : parsePortOption(opts.metricsPort, '--metrics-port');
      if (metricsPort !== undefined) await checkPortFree(opts.metricsHost, metricsPort, '--metrics-port');
      const gatewayPort = opts.gatewayPort === undefined ? undefined : parsePortOption(opts.gatewayPort, '--gateway-port');
      if (gatewayPort !== undefined) await checkPortFree(opts.gatewayHost, gatewayPort, '--gateway-port');
      const gatewayUpload = opts.gatewayUpload === undefined ? null : Number(opts.gatewayUpload);
      if (gatewayUpload !== null && !(gatewayUpload > 0 && Number.isFinite(gatewayUpload))) throw new UsageError('--gateway-upload is a positive number of MB/s');
      if (opts.gatewayAnnounce !== undefined && !/^https?:\/\/[^/]+\/?$/.test(opts.gatewayAnnounce)) throw new UsageError('--gateway-announce is a base URL such as https://gw.example.org/');
      const pruneBlocks = parsePruneBlocks(opts.pruneBlocks, opts.network);
      const slowShare = parseIntOption(opts.watchdogSlowShare, '--watchdog-slow-share');
      if (slowShare < 1 || slowShare > 100) throw new UsageError('--watchdog-slow-share must be a percent, 1..100');
      const watchdog = { slowProofShare: slowShare / 100, ...(opts.watchdogMargin !== undefined ? { marginSlots: parseIntOption(opts.watchdogMargin, '--watchdog-margin') } : {}) };
      const retrievalTerms = {
        intervalBytes: parseIntOption(opts.retrievalPaymentInterval, '--retrieval-payment-interval'),
        ...(opts.retrievalMinSettleDelay !== undefined ? { minSettleDelay: parseIntOption(opts.retrievalMinSettleDelay, '--retrieval-min-settle-delay') } : {}),
      };
      const log = createLogger({ level: opts.logLevel });
      const signingKeys: Uint8Array[] = [];
      for (const address of list(opts.unlock) ?? []) {
        const entry = findKeystore(opts.keystore, address);
        signingKeys.push(unlockKeystore(entry.file, await readPassword(opts.passwordFile, `Password for ${entry.address}: `)));
      }
      const minerId = opts.miner === undefined ? undefined : parseIntOption(opts.miner, '--miner');
      const minerKeys = minerId === undefined ? {} : { minerId, keystore: { dir: opts.keystore, password: await readPassword(opts.passwordFile, `Password for miner ${minerId}'s keys: `) } };
      const node = await startNode({
        ...minerKeys,
        network: opts.network,
        dataDir: opts.dataDir,
        rpcHost: opts.rpcHost,
        rpcPort,
        mine: opts.mine,
        signingKeys,
        ...(opts.cluster !== undefined ? { cluster: clusterUrl(opts.cluster) } : {}),
        ...(opts.workerKeyFile ? { workerKey: fromHex(readFileSync(opts.workerKeyFile, 'utf8').trim()) } : {}),
        pruneBlocks,
        watchdog,
        retrievalTerms,
        ...(metricsPort !== undefined ? { metrics: { host: opts.metricsHost, port: metricsPort } } : {}),
        ...(gatewayPort !== undefined ? { gateway: { host: opts.gatewayHost, port: gatewayPort, uploadBytesPerSecond: gatewayUpload === null ? null : Math.round(gatewayUpload * 1e6), ...(opts.gatewayAnnounce ? { announce: opts.gatewayAnnounce } : {}) } } : {}),
        p2p: { host: opts.p2pHost, port: p2pPort, bootstrap: list(opts.bootstrap) ?? [], mdns: opts.mdns },
        ...(list(opts.rpcCors) ? { corsOrigins: list(opts.rpcCors)! } : {}),
        ...(list(opts.wsOrigins) ? { wsOrigins: list(opts.wsOrigins)! } : {}),
        ...(list(opts.rpcAllowedHosts) ? { allowedHosts: list(opts.rpcAllowedHosts)! } : {}),
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
      node.onShutdownRequest(() => shutdown('bcr_shutdown'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    });
}

