// `bcr gateway add ROOT`: the node's gateway serves an erasure-coded file by CID (it fetches the
// shards and rebuilds the DAG); `bcr gateway ls`: the files it serves or is fetching.
import type { Command } from 'commander';
import { callRpc } from '../../client/rpc.js';
import type { GatewayFileJson } from '../../rpc/gatewayMethods.js';
import { UsageError, printJson } from '../io.js';
import { adminToken, withAdminOptions } from './miner.js';

export function registerGateway(program: Command): void {
  const gateway = program.command('gateway').description("the node's IPFS gateway: erasure-coded files it serves by CID");

  withAdminOptions(gateway.command('add').description('serve an erasure-coded file (its manifest root id) by CID: the node fetches K shards from free miners and rebuilds the DAG'))
    .argument('<root>', 'the manifest root id, 0x<commitment>@<miners>, that bcr client put printed')
    .option('--wait', 'return once the file is served (or the fetch failed)')
    .option('--json', 'machine-readable output')
    .action(async (root: string, opts: { rpc: string; dataDir: string; token?: string; wait?: boolean; json?: boolean }) => {
      let entry = await callRpc<GatewayFileJson>(opts.rpc, 'bcr_gatewayAddFile', [root], await adminToken(opts));
      while (opts.wait && entry.status === 'fetching') {
        await new Promise((resolve) => setTimeout(resolve, 500));
        entry = (await callRpc<GatewayFileJson[]>(opts.rpc, 'bcr_gatewayFiles')).find((f) => f.root === entry.root) ?? entry;
      }
      if (opts.json) return printJson(entry);
      if (entry.status === 'failed') throw new UsageError(`fetching ${root} failed: ${entry.error}`);
      console.log(entry.status === 'ready' ? `served: /ipfs/${entry.cid} (${entry.name}, ${entry.size} bytes)` : `fetching ${root}: bcr gateway ls shows when it is served`);
    });

  gateway
    .command('ls')
    .description('the erasure-coded files the gateway serves or is fetching')
    .option('--rpc <url>', 'node JSON-RPC URL', 'http://127.0.0.1:8645/')
    .option('--json', 'machine-readable output')
    .action(async (opts: { rpc: string; json?: boolean }) => {
      const files = await callRpc<GatewayFileJson[]>(opts.rpc, 'bcr_gatewayFiles');
      if (opts.json) return printJson(files);
      if (files.length === 0) return console.log('no files');
      for (const f of files) console.log(`${f.status.padEnd(8)}  ${f.cid ?? '-'}  ${f.name ?? ''}  ${f.root}${f.error ? `  (${f.error})` : ''}`);
    });
}
