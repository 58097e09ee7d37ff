import type { Command } from 'commander';
import { formatBcr } from '../../primitives/index.js';
import { parseIntOption, printJson } from '../io.js';
import { createToken, readSecret } from '../../rpc/auth.js';
import { DEFAULT_RPC_URL, callRpc } from '../rpcClient.js';

interface MinerInfo {
  miner: number;
  owner: string;
  worker: string;
  power: string;
  sectorSize: number;
  collateral: string;
  pledge: string;
  sealing: { sector: number; status: string; error?: string }[];
}

export function registerMiner(program: Command): void {
  const miner = program.command('miner').description('the local miner of a running node (over its JSON-RPC)');
  miner
    .command('info')
    .description('power, collateral, sectors and sealing jobs of the node\'s miner')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (opts: { rpc: string; json?: boolean }) => {
      const info = await callRpc<MinerInfo>(opts.rpc, 'bcr_minerInfo');
      const sectors = await callRpc<{ sector: number; state: string }[]>(opts.rpc, 'bcr_getSectors', [info.miner]);
      const table = await callRpc<{ total: string }>(opts.rpc, 'bcr_getPowerTable');
      if (opts.json) return printJson({ ...info, sectors, networkPower: table.total });
      const share = BigInt(table.total) > 0n ? Number((BigInt(info.power) * 10000n) / BigInt(table.total)) / 100 : 0;
      console.log(`miner ${info.miner}: owner ${info.owner}, worker ${info.worker}`);
      console.log(`power ${info.power} bytes (${share}% of the network), sector size ${info.sectorSize} bytes`);
      console.log(`collateral ${formatBcr(BigInt(info.collateral))} BCR free, ${formatBcr(BigInt(info.pledge))} BCR pledged`);
      const byState = new Map<string, number>();
      for (const s of sectors) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
      console.log(`sectors: ${[...byState].map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`);
      for (const job of info.sealing) console.log(`  sealing sector ${job.sector}: ${job.status}${job.error ? ` (${job.error})` : ''}`);
    });
  miner
    .command('seal')
    .description('seal, pre-commit and prove-commit new committed-capacity sectors')
    .requiredOption('--count <n>', 'how many sectors')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--data-dir <dir>', 'the node\'s data dir (an admin token is made from its secret)', './data/devnet')
    .option('--token <jwt>', 'an admin token instead (env BCR_TOKEN)')
    .action(async (opts: { count: string; rpc: string; dataDir: string; token?: string }) => {
      const token = opts.token ?? process.env.BCR_TOKEN ?? (await createToken(readSecret(opts.dataDir), 'admin', { expiresInSeconds: 300 }));
      const { sectors } = await callRpc<{ sectors: number[] }>(opts.rpc, 'bcr_minerSeal', [parseIntOption(opts.count, '--count')], token);
      console.log(`sealing sectors ${sectors.join(', ')}; follow with: bcr miner info`);
    });
}
