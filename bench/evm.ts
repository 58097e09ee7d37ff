// EVM throughput: OpenZeppelin ERC-20 transfers mined into a test-network chain by the real miner
// loop, then imported by a second node's chain store (full block import: signatures, election,
// WinningPoSt, execution, state root, one LevelDB batch per block). In the same run, references:
// the same signed transfers in @ethereumjs/vm alone on an in-memory state (its Merkle trie, state root
// once at the end; and a plain map without a trie), senders recovered before the clock starts; and
// as many native BCR transfers through the same block import.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mainnet, createCustomCommon, Hardfork } from '@ethereumjs/common';
import { createTxFromRLP } from '@ethereumjs/tx';
import { Account, Address } from '@ethereumjs/util';
import { SimpleStateManager } from '@ethereumjs/statemanager';
import { createVM, runTx } from '@ethereumjs/vm';
import { Interface, Wallet } from 'ethers';
import type { Block, ChainStore } from '../src/chain/index.js';
import { slotStart } from '../src/consensus/index.js';
import { DEV_PRIVATE_KEY } from '../src/node.js';
import { encode, fromHex, sha256, uintToBytesBE } from '../src/primitives/index.js';
import { signTx, transferPayload } from '../src/state/index.js';
import { compileSolidity, TEST_CONTRACTS } from '../test/helpers/solidity.js';
import { openBenchChain, startBenchMiner } from './benchChain.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

const GAS_PRICE = 10n;
const TRANSFER_GAS_LIMIT = 80_000n;

/** Mines blocks carrying `txs` (in order, `perBlock` at a time) and returns the blocks. */
async function mine(dataDir: string, txs: Uint8Array[], perBlock: number): Promise<Block[]> {
  mkdirSync(dataDir, { recursive: true });
  const { chain, db, mempool, miner, clock } = await startBenchMiner(dataDir, 100_000);
  let next = 0;
  for (let slot = 1; next < txs.length || mempool.size > 0; slot++) {
    clock.t = slotStart(chain.params, slot);
    while (mempool.size < perBlock && next < txs.length) await mempool.add(txs[next++]!);
    await miner.onSlot(slot);
  }
  const blocks: Block[] = [];
  for (let h = 1; h <= chain.head.header.height; h++) blocks.push((await chain.getBlockByHeight(h))!);
  await miner.stop();
  await db.close();
  return blocks;
}

/** Imports `blocks` into a fresh chain store; the time of the blocks after `skip`, and their gas. */
async function importTimed(dataDir: string, blocks: Block[], skip: number): Promise<{ ms: number; gas: number; chain: ChainStore; close(): Promise<void> }> {
  mkdirSync(dataDir, { recursive: true });
  const { chain, db } = await openBenchChain(dataDir);
  for (const block of blocks.slice(0, skip)) await chain.importBlock(block, slotStart(chain.params, block.header.slot) + 1);
  let gas = 0;
  const start = process.hrtime.bigint();
  for (const block of blocks.slice(skip)) {
    const outcome = await chain.importBlock(block, slotStart(chain.params, block.header.slot) + 1);
    if (outcome.status !== 'head') throw new Error(`block ${block.header.height} not imported: ${outcome.status}`);
  }
  const ms = msSince(start);
  for (const block of blocks.slice(skip)) for (const r of (await chain.getReceipts((await chain.canonicalId(block.header.height))!)) ?? []) gas += r.gasUsed;
  return { ms, gas, chain, close: () => db.close() };
}

export const evmBench: BenchArea = {
  name: 'evm',
  async run(args) {
    const transfers = args.includes('--quick') ? 1_000 : 4_000;
    const perBlock = 250;
    const dir = mkdtempSync(join(tmpdir(), 'bcr-bench-evm-'));
    try {
      const token = compileSolidity(TEST_CONTRACTS).Token!;
      const abi = new Interface(token.abi as never);
      const wallet = new Wallet(DEV_PRIVATE_KEY);
      const chainId = 3012n;
      const deploy = fromHex(await wallet.signTransaction({ type: 0, chainId, nonce: 0, gasPrice: GAS_PRICE, gasLimit: 3_000_000n, to: null, data: token.bytecode + abi.encodeDeploy([10n ** 30n]).slice(2) }));
      // The created address: the EVM's rule (sender, nonce 0), the same on both paths.
      const { getCreateAddress } = await import('ethers');
      const tokenAddress = getCreateAddress({ from: wallet.address, nonce: 0 });
      const signed: Uint8Array[] = [];
      for (let i = 0; i < transfers; i++) {
        const to = '0x' + Buffer.from(sha256(uintToBytesBE(i, 8)).subarray(0, 20)).toString('hex');
        signed.push(fromHex(await wallet.signTransaction({ type: 0, chainId, nonce: i + 1, gasPrice: GAS_PRICE, gasLimit: TRANSFER_GAS_LIMIT, to: tokenAddress, data: abi.encodeFunctionData('transfer', [to, 1000n]) })));
      }

      // Chain path: mined by one store, imported by another.
      const evmBlocks = await mine(join(dir, 'evm-a'), [deploy, ...signed], perBlock);
      const deployHeight = evmBlocks.findIndex((b) => b.txs.some((t) => t.length === deploy.length && Buffer.compare(t, deploy) === 0)) + 1;
      const evmImport = await importTimed(join(dir, 'evm-b'), evmBlocks, deployHeight);
      const imported = evmBlocks.slice(deployHeight).reduce((n, b) => n + b.txs.length, 0);
      await evmImport.close();

      // Native transfers through the same import.
      const dev = fromHex(DEV_PRIVATE_KEY);
      const native = Array.from({ length: transfers }, (_, i) => signTx(dev, { chainId: 3012, nonce: i, gasLimit: 21_000, gasPrice: GAS_PRICE, kind: 0, payload: encode(transferPayload, { to: sha256(uintToBytesBE(i, 8)).subarray(0, 20), value: 1n }) }));
      const nativeBlocks = await mine(join(dir, 'native-a'), native, perBlock);
      const nativeImport = await importTimed(join(dir, 'native-b'), nativeBlocks, 0);
      const nativeCount = nativeBlocks.reduce((n, b) => n + b.txs.length, 0);
      await nativeImport.close();

      // Bare EVM: @ethereumjs/vm on its in-memory Merkle trie (state root at the end), and on a plain
      // map without any trie (the interpreter's own ceiling).
      const common = createCustomCommon({ chainId: 3012 }, Mainnet, { hardfork: Hardfork.Prague });
      const bare = async (stateManager?: SimpleStateManager) => {
        const vm = await createVM({ common, ...(stateManager ? { stateManager } : {}) });
        await vm.stateManager.putAccount(new Address(fromHex(wallet.address)), new Account(0n, 10n ** 30n));
        const deployed = await runTx(vm, { tx: createTxFromRLP(deploy, { common }), skipBlockGasLimitValidation: true });
        if (deployed.execResult.exceptionError) throw new Error(`bare VM deploy failed: ${deployed.execResult.exceptionError.error}`);
        const vmTxs = signed.map((raw) => createTxFromRLP(raw, { common }));
        for (const tx of vmTxs) tx.getSenderAddress();
        let gas = 0n;
        const start = process.hrtime.bigint();
        for (const tx of vmTxs) {
          const result = await runTx(vm, { tx, skipBlockGasLimitValidation: true });
          if (result.execResult.exceptionError) throw new Error(`bare VM transfer failed: ${result.execResult.exceptionError.error}`);
          gas += result.totalGasSpent;
        }
        if (!stateManager) await vm.stateManager.getStateRoot();
        return { ms: msSince(start), gas: Number(gas) };
      };
      const trie = await bare();
      const map = await bare(new SimpleStateManager());
      const vmMs = trie.ms;
      const vmGas = trie.gas;

      const chainTps = (imported * 1000) / evmImport.ms;
      const vmTps = (transfers * 1000) / vmMs;
      const nativeTps = (nativeCount * 1000) / nativeImport.ms;
      const rows: BenchRow[] = [
        { name: 'ERC-20 transfers, full block import', value: chainTps, unit: 'tx/s', note: `${imported} transfers in ${evmBlocks.length - deployHeight} blocks, ${(evmImport.ms / 1000).toFixed(2)} s` },
        { name: 'ERC-20 transfers, @ethereumjs/vm alone (reference)', value: vmTps, unit: 'tx/s', note: `${transfers} runTx on an in-memory trie, state root at the end` },
        { name: 'chain path / bare EVM', value: chainTps / vmTps, unit: 'ratio', note: 'goal >= 0.5' },
        { name: 'ERC-20 transfers, @ethereumjs/vm on a plain map (no trie)', value: (transfers * 1000) / map.ms, unit: 'tx/s', note: 'the interpreter alone, no state root' },
        { name: 'native BCR transfers, full block import', value: nativeTps, unit: 'tx/s', note: `${nativeCount} transfers in ${nativeBlocks.length} blocks` },
        { name: 'EVM gas through import', value: (evmImport.gas * 1000) / evmImport.ms / 1e6, unit: 'Mgas/s' },
        { name: 'EVM gas, bare VM', value: (vmGas * 1000) / vmMs / 1e6, unit: 'Mgas/s' },
      ];
      return { rows, json: { transfers, chainTps, vmTps, ratio: chainTps / vmTps, nativeTps, chainMgasPerS: (evmImport.gas * 1000) / evmImport.ms / 1e6, vmMgasPerS: (vmGas * 1000) / vmMs / 1e6, vmMapTps: (transfers * 1000) / map.ms } };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
