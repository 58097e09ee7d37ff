import { Interface } from 'ethers';
import { beforeAll, describe, expect, it } from 'vitest';
import { bcr, fromHex, hexKey, keccak256 } from '../../src/primitives/index.js';
import { Overlay, StateDb, getAccount, getCode, getStorage, putAccount, simulateCall, estimateGas } from '../../src/state/index.js';
import { EvmChain as Chain, env, params, producer, sender } from '../helpers/evmChain.js';
import { compileSolidity, TEST_CONTRACTS, type CompiledContract } from '../helpers/solidity.js';


let contracts: Record<string, CompiledContract>;
beforeAll(() => {
  contracts = compileSolidity(TEST_CONTRACTS);
}, 120_000);

describe('EVM execution on BCR state', () => {
  it('deploys an OpenZeppelin ERC-20, transfers it with logs, and charges used gas only', async () => {
    const chain = new Chain();
    await chain.fund(sender, bcr(1000));
    const token = new Interface(contracts.Token!.abi as never);
    const deployData = contracts.Token!.bytecode + token.encodeDeploy([10n ** 24n]).slice(2);
    const before = (await getAccount(chain.state(), sender)).balance;
    const deployed = await chain.send({ data: deployData });
    expect(deployed.status).toBe(0);
    const address = deployed.evm!.contractAddress!;
    expect(address).toBeInstanceOf(Uint8Array);
    expect((await getCode(chain.state(), address)).code.length).toBeGreaterThan(100);
    // Fee = gas used * price, and only that left the sender.
    const price = params.minGasPrice + 1n;
    expect(deployed.fee).toBe(BigInt(deployed.gasUsed) * price);
    expect(deployed.gasUsed).toBeLessThan(3_000_000);
    expect((await getAccount(chain.state(), sender)).balance).toBe(before - deployed.fee);

    const to = '0x' + '42'.repeat(20);
    const moved = await chain.send({ to: '0x' + hexKey(address), data: token.encodeFunctionData('transfer', [to, 5000n]) });
    expect(moved.status).toBe(0);
    expect(moved.evm!.logs).toHaveLength(1);
    const log = token.parseLog({ topics: moved.evm!.logs[0]!.topics.map((t) => '0x' + hexKey(t)), data: '0x' + hexKey(moved.evm!.logs[0]!.data) })!;
    expect(log.name).toBe('Transfer');
    expect(log.args[2]).toBe(5000n);
    const balance = token.decodeFunctionResult('balanceOf', await chain.call(address, token.encodeFunctionData('balanceOf', [to])));
    expect(balance[0]).toBe(5000n);
    expect(deployed.gasUsed).toBeGreaterThan(moved.gasUsed);
  });

  it('a revert keeps its reason, pays its gas and changes nothing else; out of gas pays the whole limit', async () => {
    const chain = new Chain();
    await chain.fund(sender, bcr(1000));
    const probe = new Interface(contracts.Probe!.abi as never);
    const deployed = await chain.send({ data: contracts.Probe!.bytecode });
    const address = deployed.evm!.contractAddress!;
    expect((await chain.send({ to: '0x' + hexKey(address), data: probe.encodeFunctionData('store', [7n]) })).status).toBe(0);

    const reverted = await chain.send({ to: '0x' + hexKey(address), data: probe.encodeFunctionData('store', [13n]) });
    expect(reverted.status).toBe(1);
    expect(reverted.error).toBe('REVERTED');
    expect(probe.parseError('0x' + hexKey(reverted.evm!.revertData))?.args[0]).toBe('unlucky number');
    expect(reverted.fee).toBe(BigInt(reverted.gasUsed) * (params.minGasPrice + 1n));
    expect(reverted.gasUsed).toBeGreaterThan(21_000);
    expect(probe.decodeFunctionResult('stored', await chain.call(address, probe.encodeFunctionData('stored')))[0]).toBe(7n);

    const starved = await chain.send({ to: '0x' + hexKey(address), data: probe.encodeFunctionData('burn', [10_000n]), gasLimit: 100_000n });
    expect(starved.status).toBe(1);
    expect(starved.error).toBe('OUT_OF_GAS');
    expect(starved.gasUsed).toBe(100_000);
    expect(probe.decodeFunctionResult('stored', await chain.call(address, probe.encodeFunctionData('stored')))[0]).toBe(7n);
    expect(hexKey(await getStorage(chain.state(), address, new Uint8Array(32)))).toBe('07');
  });

  it('sees the block: chain id, height, time, coinbase, base fee and ancestor ids', async () => {
    const chain = new Chain();
    await chain.fund(sender, bcr(1000));
    const probe = new Interface(contracts.Probe!.abi as never);
    const address = (await chain.send({ data: contracts.Probe!.bytecode })).evm!.contractAddress!;
    const [chainId, number, time, miner, baseFee] = probe.decodeFunctionResult('env', await chain.call(address, probe.encodeFunctionData('env')));
    expect(chainId).toBe(BigInt(params.chainId));
    expect(number).toBe(BigInt(chain.height + 1));
    expect(time).toBe(BigInt(Math.floor(env(chain.height + 1).timestampMs / 1000)));
    expect(fromHex(miner as string)).toEqual(producer);
    expect(baseFee).toBe(params.minGasPrice);
    const [hash] = probe.decodeFunctionResult('hashOf', await chain.call(address, probe.encodeFunctionData('hashOf', [1n])));
    expect(hash).toBe('0x' + hexKey(keccak256(new Uint8Array([0xb1, 1]))));
  });

  it('plain value sends skip the interpreter, value to a contract runs its receive(), and estimateGas finds the least limit', async () => {
    const chain = new Chain();
    await chain.fund(sender, bcr(1000));
    const plain = await chain.send({ to: '0x' + '77'.repeat(20), value: 1234n });
    expect(plain.gasUsed).toBe(21_000);
    expect((await getAccount(chain.state(), fromHex('0x' + '77'.repeat(20)))).balance).toBe(1234n);
    const probe = new Interface(contracts.Probe!.abi as never);
    const address = (await chain.send({ data: contracts.Probe!.bytecode })).evm!.contractAddress!;
    const paid = await chain.send({ to: '0x' + hexKey(address), value: 999n });
    expect(paid.status).toBe(0);
    expect(paid.gasUsed).toBeGreaterThan(21_000);
    expect(probe.decodeFunctionResult('stored', await chain.call(address, probe.encodeFunctionData('stored')))[0]).toBe(999n);

    const data = fromHex(probe.encodeFunctionData('burn', [50n]));
    const { gas } = await estimateGas(chain.state(), env(chain.height + 1), { from: sender, to: address, value: 0n, data });
    const exact = await simulateCall(chain.state(), env(chain.height + 1), { from: sender, to: address, value: 0n, data, gasLimit: gas });
    expect(exact.failure).toBeNull();
    const short = await simulateCall(chain.state(), env(chain.height + 1), { from: sender, to: address, value: 0n, data, gasLimit: gas - 1 });
    expect(short.failure).toBe('OUT_OF_GAS');
  });

  it('vesting-locked funds cannot leave through the EVM', async () => {
    const chain = new Chain();
    const overlay = new Overlay(chain.kv);
    const state = new StateDb(overlay);
    await putAccount(state, sender, { balance: bcr(100), nonce: 0, vesting: { total: bcr(90), startSlot: 0, cliffSlots: 1000, durationSlots: 2000 } });
    await state.commit();
    chain.kv.apply(overlay.entries());
    const probe = (await chain.send({ data: contracts.Probe!.bytecode })).evm!.contractAddress!;
    const tooMuch = await chain.send({ to: '0x' + hexKey(probe), value: bcr(20) });
    expect(tooMuch.status).toBe(1);
    const account = await getAccount(chain.state(), sender);
    expect(account.balance).toBeGreaterThan(bcr(90));
    expect(account.vesting?.total).toBe(bcr(90));
  });
});
