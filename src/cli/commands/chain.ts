import type { Command } from 'commander';
import { formatBcr } from '../../primitives/units.js';
import { BcrError } from '../../primitives/errors.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { DEFAULT_RPC_URL, callRpc } from '../../client/rpc.js';

interface HeadJson {
  id: string;
  height: number;
  slot: number;
  timestamp: number;
  miner: number;
  stateRoot: string;
  finalizedHeight?: number;
  txCount?: number;
  txs?: { id: string; from: string; kind: string; nonce: number }[];
}

interface SyncStatusJson {
  syncing: boolean;
  head: number;
  peers: number;
  highestSeen: number;
}

export function registerChain(program: Command): void {
  const chain = program.command('chain').description('read the chain of a running node (over its JSON-RPC)');
  const common = (cmd: Command) => cmd.option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL).option('--json', 'machine-readable output');
  const show = (b: HeadJson) => {
    console.log(`block ${b.height}  ${b.id}`);
    console.log(`  slot ${b.slot}  ${new Date(b.timestamp).toISOString()}  miner ${b.miner}${b.finalizedHeight !== undefined ? `  finalized up to ${b.finalizedHeight}` : ''}`);
    console.log(`  state root ${b.stateRoot}${b.txCount !== undefined ? `  ${b.txCount} txs` : ''}`);
    for (const tx of b.txs ?? []) console.log(`    ${tx.id}  ${tx.kind} from ${tx.from} nonce ${tx.nonce}`);
  };
  common(chain.command('head').description('the canonical head')).action(async (opts: { rpc: string; json?: boolean }) => {
    const head = await callRpc<HeadJson>(opts.rpc, 'bcr_chainHead');
    if (opts.json) printJson(head);
    else show(head);
  });
  chain
    .command('wait')
    .description('wait until a node answers (scripts: after starting a node in the background); with --synced, until it has a peer and has caught up with it')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--synced', 'also wait until it has caught up with its peers')
    .option('--timeout <seconds>', 'give up after this long', '120')
    .action(async (opts: { rpc: string; synced?: boolean; timeout: string }) => {
      const deadline = Date.now() + parseIntOption(opts.timeout, '--timeout') * 1000;
      let last = 'it does not answer';
      for (;;) {
        try {
          const status = await callRpc<SyncStatusJson>(opts.rpc, 'bcr_syncStatus');
          last = `head ${status.head}, ${status.peers} peer(s), highest seen ${status.highestSeen}${status.syncing ? ', syncing' : ''}`;
          // Caught up: not syncing, and no peer has shown a head more than a block above ours.
          if (!opts.synced || (status.peers > 0 && !status.syncing && status.head + 1 >= status.highestSeen)) break;
        } catch (error) {
          if (!(error instanceof BcrError && error.code === 'RPC_UNREACHABLE')) throw error;
        }
        if (Date.now() > deadline) throw new UsageError(`the node at ${opts.rpc} was not ${opts.synced ? 'synced' : 'up'} within ${opts.timeout} s (${last})`);
        await new Promise((r) => setTimeout(r, 250));
      }
    });
  common(chain.command('block').description('a block by height or 0x id, with its txs').argument('<heightOrId>')).action(async (ref: string, opts: { rpc: string; json?: boolean }) => {
    let block: HeadJson | null;
    if (/^0x[0-9a-fA-F]{64}$/.test(ref)) block = await callRpc<HeadJson | null>(opts.rpc, 'bcr_getBlockById', [ref, true]);
    else if (/^\d+$/.test(ref)) block = await callRpc<HeadJson | null>(opts.rpc, 'bcr_getBlockByHeight', [Number(ref), true]);
    else throw new UsageError(`not a height or a 0x block id: ${ref}`);
    if (!block) throw new UsageError(`no block ${ref}`);
    if (opts.json) printJson(block);
    else show(block);
  });
  common(chain.command('tx').description('a tx and its receipt').argument('<id>')).action(async (id: string, opts: { rpc: string; json?: boolean }) => {
    if (!/^0x[0-9a-fA-F]{64}$/.test(id)) throw new UsageError(`not a 0x tx id: ${id}`);
    const tx = await callRpc<Record<string, unknown> | null>(opts.rpc, 'bcr_getTransaction', [id]);
    if (!tx) throw new UsageError(`no tx ${id}`);
    const receipt = await callRpc<Record<string, unknown> | null>(opts.rpc, 'bcr_getTransactionReceipt', [id]);
    if (opts.json) return printJson({ ...tx, receipt });
    console.log(`tx ${tx.id}  ${tx.kind} from ${tx.from} nonce ${tx.nonce}  (${tx.status})`);
    if (receipt) console.log(`  in block ${receipt.height}  status ${receipt.status}${receipt.error ? ` (${receipt.error})` : ''}  gas ${receipt.gasUsed}  fee ${formatBcr(BigInt(String(receipt.fee)))} BCR`);
  });
}
