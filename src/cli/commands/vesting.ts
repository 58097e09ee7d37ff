// `bcr vesting show ADDR`: a vesting grant (team and tech allocations) as the chain sees it now.
import type { Command } from 'commander';
import { formatBcr, parseAddress, toChecksumAddress } from '../../primitives/index.js';
import { printJson } from '../io.js';
import { DEFAULT_RPC_URL, callRpc } from '../../client/rpc.js';

interface VestingJson {
  address: string;
  slot?: number;
  balance: string;
  spendable: string;
  vesting: { total: string; vested: string; locked: string; startSlot: number; cliffSlot: number; endSlot: number; perSlot: string } | null;
  nextUnlock?: { slot: number; amount: string; time: number } | null;
}

export function registerVesting(program: Command): void {
  program
    .command('vesting')
    .description('vesting grants (the team and tech allocations)')
    .command('show')
    .description("an address's grant: total, vested, locked, spendable, cliff, end and next unlock")
    .argument('<address>')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (address: string, opts: { rpc: string; json?: boolean }) => {
      const info = await callRpc<VestingJson>(opts.rpc, 'bcr_getVesting', [toChecksumAddress(parseAddress(address))]);
      if (opts.json) return printJson(info);
      const bcr = (atto: string) => `${formatBcr(BigInt(atto))} BCR`;
      console.log(`${info.address}: balance ${bcr(info.balance)}, spendable ${bcr(info.spendable)}`);
      const v = info.vesting;
      if (!v) return console.log('no vesting grant');
      console.log(`grant ${bcr(v.total)}: vested ${bcr(v.vested)}, locked ${bcr(v.locked)} (at slot ${info.slot})`);
      console.log(`cliff at slot ${v.cliffSlot}, fully vested at slot ${v.endSlot} (${bcr(v.perSlot)} per slot after the cliff)`);
      const next = info.nextUnlock;
      console.log(next ? `next unlock: ${bcr(next.amount)} at slot ${next.slot} (${new Date(next.time).toISOString()})` : 'fully vested');
    });
}
