// `bcr` command line. Commands are thin: parse flags, call into the node or libraries.
import { Command, CommanderError } from 'commander';
import { BcrError, errorMessage } from '../primitives/index.js';
import { NODE_VERSION } from '../version.js';
import { registerAuth } from './commands/auth.js';
import { registerDb } from './commands/db.js';
import { registerGov } from './commands/gov.js';
import { registerVesting } from './commands/vesting.js';
import { registerAttest } from './commands/attest.js';
import { registerChain } from './commands/chain.js';
import { registerClient, registerMarket } from './commands/client.js';
import { registerPaych } from './commands/paych.js';
import { registerDevnet } from './commands/devnet.js';
import { registerGenesis } from './commands/genesis.js';
import { registerIssuance } from './commands/issuance.js';
import { registerMiner } from './commands/miner.js';
import { registerNode } from './commands/node.js';
import { registerPiece } from './commands/piece.js';
import { registerSim } from './commands/sim.js';
import { registerTx } from './commands/tx.js';
import { registerWallet } from './commands/wallet.js';

// Output piped into a reader that stops early (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command().enablePositionalOptions();
program.name('bcr').description('BCR proof-of-storage chain: node, wallet and tools').version(NODE_VERSION).exitOverride();
registerNode(program);
registerWallet(program);
registerTx(program);
registerGenesis(program);
registerIssuance(program);
registerPiece(program);
registerMiner(program);
registerClient(program);
registerMarket(program);
registerPaych(program);
registerAuth(program);
registerChain(program);
registerDb(program);
registerGov(program);
registerVesting(program);
registerAttest(program);
registerDevnet(program);
registerSim(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  // User mistakes get one clear line; anything else is a bug and keeps its stack.
  const systemError = error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code!);
  if (error instanceof BcrError || systemError) console.error(`error: ${errorMessage(error)}`);
  else if (error instanceof Error) console.error(`error: ${errorMessage(error)}\n${error.stack ?? ''}`);
  else console.error(`error: ${String(error)}`);
  process.exit(1);
}
