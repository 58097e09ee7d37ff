// Contracts on a real node: an OpenZeppelin ERC-20 compiled here with solc-js, deployed and used
// with ethers and with viem unmodified, events through eth_getLogs and a WebSocket subscription,
// reverts with their reason, out-of-gas, and a storage slot proven against a block's state root.
import { ContractFactory, JsonRpcProvider, Wallet, type Contract } from 'ethers';
import { createPublicClient, createWalletClient, defineChain, http, parseAbiItem, webSocket, type Abi, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, hexKey, keccak256, concatBytes, uintToBytesBE } from '../../src/primitives/index.js';
import { stateProofFromJson, type StateProofJson } from '../../src/rpc/format.js';
import { verifyStateProof } from '../../src/state/index.js';
import { tempDir } from '../helpers/chain.js';
import { rpc, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';
import { compileSolidity, TEST_CONTRACTS, type CompiledContract } from '../helpers/solidity.js';

const DEV = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const dir = tempDir('bcr-evm-');
let node: RunningNode;
let contracts: Record<string, CompiledContract>;

beforeAll(async () => {
  contracts = compileSolidity(TEST_CONTRACTS);
  node = await startNodeProcess(['--network', 'test', '--data-dir', dir.path, '--rpc-port', '0']);
}, 120_000);
afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const bcrTest = (url: string) => defineChain({ id: 3012, name: 'bcr-test', nativeCurrency: { name: 'BCR', symbol: 'BCR', decimals: 18 }, rpcUrls: { default: { http: [url] } } });

/** The slot of `balances[holder]` in OpenZeppelin's ERC-20 (mapping at slot 0). */
const balanceSlot = (holder: string) => keccak256(concatBytes(new Uint8Array(12), fromHex(holder), uintToBytesBE(0, 32)));

describe('EVM contracts through the Ethereum RPC', () => {
  it('ethers deploys an ERC-20, transfers it, reads events by eth_getLogs, and proves a balance slot', async () => {
    const provider = new JsonRpcProvider(node.rpcUrl, { chainId: 3012, name: 'bcr-test' }, { staticNetwork: true, pollingInterval: 100 });
    const wallet = new Wallet(DEV, provider);
    const factory = new ContractFactory(contracts.Token!.abi as never, contracts.Token!.bytecode, wallet);
    const token = (await factory.deploy(10n ** 24n)) as Contract;
    await token.waitForDeployment();
    const address = await token.getAddress();
    expect((await provider.getCode(address)).length).toBeGreaterThan(100);
    const deployReceipt = await provider.getTransactionReceipt(token.deploymentTransaction()!.hash);
    expect(deployReceipt?.contractAddress).toBe(address);
    const contract = await rpc<{ creator: string; creationTx: string; code: { size: number } }>(node.rpcUrl, 'bcr_getContract', [address]);
    expect(contract).toMatchObject({ creator: wallet.address, creationTx: token.deploymentTransaction()!.hash });
    expect(contract.code.size).toBe((fromHex(await provider.getCode(address))).length);

    const recipient = Wallet.createRandom().address;
    const sent = await (token.transfer as (to: string, amount: bigint) => Promise<{ wait(): Promise<{ logs: unknown[]; blockNumber: number; status: number }> }>)(recipient, 5000n);
    const receipt = await sent.wait();
    expect(receipt.status).toBe(1);
    expect(receipt.logs).toHaveLength(1);
    expect(await (token.balanceOf as (a: string) => Promise<bigint>)(recipient)).toBe(5000n);

    const events = await token.queryFilter(token.filters.Transfer!(null, recipient), 0, 'latest');
    expect(events).toHaveLength(1);
    expect((events[0] as unknown as { args: unknown[] }).args[2]).toBe(5000n);
    const block = await rpc<{ logsBloom: string }>(node.rpcUrl, 'eth_getBlockByNumber', ['0x' + receipt.blockNumber.toString(16), false]);
    expect(block.logsBloom).not.toBe('0x' + '00'.repeat(256));

    // The balance slot, raw and proven against the state root of the block that holds it.
    const slot = balanceSlot(recipient);
    expect(BigInt(await provider.getStorage(address, '0x' + hexKey(slot)))).toBe(5000n);
    const proof = await rpc<StateProofJson & { stateRoot: string; storageProofs: (StateProofJson & { slot: string })[] }>(node.rpcUrl, 'bcr_getProof', [address, 'latest', ['0x' + hexKey(slot)]]);
    expect(proof.storageProofs).toHaveLength(1);
    const slotProof = stateProofFromJson(proof.storageProofs[0]!);
    expect(BigInt('0x' + hexKey(slotProof.value!))).toBe(5000n);
    expect(verifyStateProof(fromHex(proof.stateRoot), slotProof)).toBe(true);
    expect(verifyStateProof(fromHex(proof.stateRoot), { ...slotProof, value: uintToBytesBE(5001, 2) })).toBe(false);
  }, 120_000);

  it('a revert surfaces its reason to ethers, and a mined revert or out-of-gas pays gas and changes nothing', async () => {
    const provider = new JsonRpcProvider(node.rpcUrl, { chainId: 3012, name: 'bcr-test' }, { staticNetwork: true, pollingInterval: 100 });
    // Not the dev key: it owns the miner, whose fees and rewards would blur the balance.
    const wallet = Wallet.createRandom(provider);
    await (await new Wallet(DEV, provider).sendTransaction({ to: wallet.address, value: 10n ** 19n })).wait();
    const probe = (await new ContractFactory(contracts.Probe!.abi as never, contracts.Probe!.bytecode, wallet).deploy()) as Contract;
    await probe.waitForDeployment();
    await (await (probe.store as (v: bigint) => Promise<{ wait(): Promise<unknown> }>)(7n)).wait();

    await expect((probe.store as (v: bigint) => Promise<unknown>)(13n)).rejects.toMatchObject({ reason: 'unlucky number' });
    const before = await provider.getBalance(wallet.address);
    const reverted = await (probe.store as (v: bigint, o: object) => Promise<{ hash: string }>)(13n, { gasLimit: 200_000n });
    const receipt = await waitFor('the reverted tx mined', () => rpc<{ status: string; gasUsed: string; effectiveGasPrice: string; revertReason?: string } | null>(node.rpcUrl, 'eth_getTransactionReceipt', [reverted.hash]));
    expect(receipt.status).toBe('0x0');
    expect(receipt.revertReason).toBe('unlucky number');
    const fee = BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice);
    expect(BigInt(receipt.gasUsed)).toBeGreaterThan(21_000n);
    expect(BigInt(receipt.gasUsed)).toBeLessThan(200_000n);
    await waitFor('the fee in the balance', async () => (await provider.getBalance(wallet.address)) === before - fee);
    expect(await (probe.stored as () => Promise<bigint>)()).toBe(7n);

    const starved = await (probe.burn as (n: bigint, o: object) => Promise<{ hash: string }>)(100_000n, { gasLimit: 100_000n });
    const oog = await waitFor('the out-of-gas tx mined', () => rpc<{ status: string; gasUsed: string; error?: string } | null>(node.rpcUrl, 'eth_getTransactionReceipt', [starved.hash]));
    expect(oog).toMatchObject({ status: '0x0', gasUsed: '0x186a0', error: 'OUT_OF_GAS' });
    expect(await (probe.stored as () => Promise<bigint>)()).toBe(7n);
  }, 120_000);

  it('viem deploys and transfers unmodified, and a WebSocket logs subscription sees the Transfer', async () => {
    const chain = bcrTest(node.rpcUrl);
    const account = privateKeyToAccount(DEV);
    const walletClient = createWalletClient({ account, chain, transport: http(node.rpcUrl) });
    const publicClient = createPublicClient({ chain, transport: http(node.rpcUrl), pollingInterval: 100 });
    const abi = contracts.Token!.abi as Abi;
    const deployHash = await walletClient.deployContract({ abi, bytecode: contracts.Token!.bytecode as Hex, args: [10n ** 20n] });
    const deployed = await publicClient.waitForTransactionReceipt({ hash: deployHash, pollingInterval: 100 });
    expect(deployed.status).toBe('success');
    const address = deployed.contractAddress!;

    const wsClient = createPublicClient({ chain, transport: webSocket(node.rpcUrl.replace('http://', 'ws://')) });
    const seen: { to: string; value: bigint }[] = [];
    const unwatch = wsClient.watchEvent({ address, event: parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)'), onLogs: (logs) => logs.forEach((l) => seen.push({ to: l.args.to!, value: l.args.value! })) });
    // A subscription is live once the node answered eth_subscribe; a marker transfer proves it.
    const recipient = privateKeyToAccount('0x' + '11'.repeat(32) as Hex).address;
    await waitFor('the subscription to see a transfer', async () => {
      const hash = await walletClient.writeContract({ address, abi, functionName: 'transfer', args: [recipient, 7n] });
      await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      return seen.length > 0;
    }, 60_000, 500);
    unwatch();
    expect(seen[0]).toEqual({ to: recipient, value: 7n });

    const balance = await publicClient.readContract({ address, abi, functionName: 'balanceOf', args: [recipient] });
    expect(balance).toBe(7n * BigInt(seen.length));
    const logs = await publicClient.getLogs({ address, event: parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)'), args: { to: recipient }, fromBlock: deployed.blockNumber });
    expect(logs.length).toBe(seen.length);
    await wsClient.transport.getRpcClient().then((c) => c.close());
  }, 120_000);
});
