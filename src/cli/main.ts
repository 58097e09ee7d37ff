// `bcr` command line. Commands are thin: parse flags, call into the node or libraries.
import { Command, CommanderError } from 'commander';
import { BcrError, errorMessage } from '../primitives/errors.js';
import { NODE_VERSION } from '../version.js';

type Register = (program: Command) => void;

/**
 * Each top-level command's module, loaded only when that command runs: `bcr chain head` does not
 * pay for libp2p, LevelDB or the proof code (`--help` and unknown commands load them all).
 */
const COMMANDS: [name: string, load: () => Promise<Register>][] = [
  ['node', async () => (await import('./commands/node.js')).registerNode],
  ['wallet', async () => (await import('./commands/wallet.js')).registerWallet],
  ['tx', async () => (await import('./commands/tx.js')).registerTx],
  ['genesis', async () => (await import('./commands/genesis.js')).registerGenesis],
  ['issuance', async () => (await import('./commands/issuance.js')).registerIssuance],
  ['piece', async () => (await import('./commands/piece.js')).registerPiece],
  ['car', async () => (await import('./commands/car.js')).registerCar],
  ['miner', async () => (await import('./commands/miner.js')).registerMiner],
  ['client', async () => (await import('./commands/client.js')).registerClient],
  ['market', async () => (await import('./commands/client.js')).registerMarket],
  ['paych', async () => (await import('./commands/paych.js')).registerPaych],
  ['gateway', async () => (await import('./commands/gateway.js')).registerGateway],
  ['auth', async () => (await import('./commands/auth.js')).registerAuth],
  ['chain', async () => (await import('./commands/chain.js')).registerChain],
  ['db', async () => (await import('./commands/db.js')).registerDb],
  ['gov', async () => (await import('./commands/gov.js')).registerGov],
  ['vesting', async () => (await import('./commands/vesting.js')).registerVesting],
  ['attest', async () => (await import('./commands/attest.js')).registerAttest],
  ['app', async () => (await import('./commands/app.js')).registerApp],
  ['worker', async () => (await import('./commands/cluster.js')).registerWorker],
  ['cluster', async () => (await import('./commands/cluster.js')).registerCluster],
  ['devnet', async () => (await import('./commands/devnet.js')).registerDevnet],
  ['sim', async () => (await import('./commands/sim.js')).registerSim],
];

// Output piped into a reader that stops early (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command().enablePositionalOptions();
program.name('bcr').description('BCR proof-of-storage chain: node, wallet and tools').version(NODE_VERSION).exitOverride();
const first = process.argv[2];
const versionOnly = first === '--version' || first === '-V';
const named = COMMANDS.filter(([name]) => name === first);
for (const [, load] of versionOnly ? [] : named.length > 0 ? named : COMMANDS) (await load())(program);

/** A file-system error as one plain line: what went wrong with which path, without the errno name. */
function systemErrorLine(error: NodeJS.ErrnoException): string {
  const plain: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory, not a file', ENOTDIR: 'not a directory', EEXIST: 'already exists', ENOSPC: 'no space left on the device' };
  const what = error.code ? plain[error.code] : undefined;
  return what && error.path ? `${what}: ${error.path}` : errorMessage(error);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  // User mistakes get one clear line; anything else is a bug and keeps its stack.
  const systemError = error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code!);
  if (systemError) console.error(`error: ${systemErrorLine(error as NodeJS.ErrnoException)}`);
  else if (error instanceof BcrError) console.error(`error: ${errorMessage(error)}`);
  else if (error instanceof Error) console.error(`error: ${errorMessage(error)}\n${error.stack ?? ''}`);
  else console.error(`error: ${String(error)}`);
  process.exit(1);
}
