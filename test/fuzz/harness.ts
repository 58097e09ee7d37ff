// Sets up what the fuzz targets run against: a chain on a temp LevelDB (a few real blocks made by
// the test miner) and an in-process node serving JSON-RPC on 127.0.0.1 with an admin token.
import { startNode } from '../../src/node.js';
import { createToken, readSecret } from '../../src/rpc/auth.js';
import { silentLogger } from '../../src/util/logger.js';
import { DEV_ADDRESS, DEV_KEY, kindTx, nextBlock, nowForSlot, openChain, tempDir, transferTx } from '../helpers/chain.js';
import { addressOf, bcr, sha256 } from '../../src/primitives/index.js';
import { attestKind, attestPayload, govProposeKind, paychOpenKind, paychOpenPayload, proposePayload, ProposalAction, verifyTx } from '../../src/state/index.js';
import { chainTargets, rpcTarget, type FuzzTarget } from './targets.js';
import { evmCodeTarget } from './evmTargets.js';
import { contentTargets } from './contentTargets.js';
import { FUZZ_SENDERS, knownValues, txKindTargets } from './txKindTargets.js';

export interface FuzzHarness {
  targets: FuzzTarget[];
  close(): Promise<void>;
}

export async function fuzzHarness(): Promise<FuzzHarness> {
  const chainDir = tempDir('bcr-fuzz-chain-');
  const nodeDir = tempDir('bcr-fuzz-node-');
  const { chain, db } = await openChain(chainDir.path);
  const importNext = async (txs: Uint8Array[] = []) => {
    const block = await nextBlock(chain, chain.head.header.slot + 1, txs);
    await chain.importBlock(block, nowForSlot(chain, block.header.slot));
  };
  await importNext();
  // Standing for the tx-kind targets: every sender funded, an open proposal, an attestation to refer to.
  const [, , council] = FUZZ_SENDERS as [Uint8Array, Uint8Array, Uint8Array];
  let nonce = (await chain.getAccount(DEV_ADDRESS)).nonce;
  await importNext(FUZZ_SENDERS.slice(1).map((key) => transferTx(DEV_KEY, nonce++, addressOf(key), bcr(10_000n), 1n, chain.params.chainId)));
  const propose = kindTx(council, 0, govProposeKind, proposePayload, { action: ProposalAction.spend, recipient: DEV_ADDRESS, amount: bcr(5n), council: null, purpose: 'fuzz', docHash: null }, chain.params.chainId);
  const attest = kindTx(DEV_KEY, nonce++, attestKind, attestPayload, { hash: sha256(new Uint8Array([1])), tag: 'fuzz', ref: null, meta: new Uint8Array(0) }, chain.params.chainId);
  const channel = kindTx(DEV_KEY, nonce++, paychOpenKind, paychOpenPayload, { to: addressOf(council), deposit: bcr(3n), settleDelay: 10 }, chain.params.chainId);
  await importNext([propose, attest, channel]);
  const known = knownValues([verifyTx(propose, chain.params).id, verifyTx(attest, chain.params).id, sha256(new Uint8Array([1]))]);
  const node = await startNode({ network: 'test', dataDir: nodeDir.path, rpcHost: '127.0.0.1', rpcPort: 0, mine: false, log: silentLogger });
  const token = await createToken(readSecret(nodeDir.path), 'admin');
  const doc = (await (await fetch(node.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}' })).json()) as { result: { methods: { name: string; params: { name: string; schema: Record<string, unknown> }[] }[] } };
  const content = await contentTargets();
  const targets = [...(await chainTargets(chain)), ...txKindTargets(chain, known), evmCodeTarget(chain), rpcTarget(node.rpcUrl, token, doc.result.methods), ...content.targets];
  return {
    targets,
    async close() {
      await content.close();
      await node.stop();
      await chain.idle();
      await db.close();
      chainDir.cleanup();
      nodeDir.cleanup();
    },
  };
}
