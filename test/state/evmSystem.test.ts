// System contracts seen from Solidity: escrow funded with msg.value, refusals of DELEGATECALL and
// static writes, attestations whose attester is a contract, miners and deals read on chain.
import { Interface } from 'ethers';
import { beforeAll, describe, expect, it } from 'vitest';
import { bcr, fromHex, hexKey, keccak256, toHex } from '../../src/primitives/index.js';
import { APPS_ABI, ATTESTATIONS_ABI, MARKET_ABI, MINERS_ABI, GOVERNANCE_ABI, SYSTEM_ADDRESSES, getAccount, getAttestation, getEscrow } from '../../src/state/index.js';
import { compileSolidity, SYSTEM_CALLERS, type CompiledContract } from '../helpers/solidity.js';
import { EvmChain, sender } from '../helpers/evmChain.js';

let contracts: Record<string, CompiledContract>;
let interfaces: Record<string, CompiledContract>;
beforeAll(() => {
  contracts = compileSolidity(SYSTEM_CALLERS);
  interfaces = compileSolidity({ 'All.sol': 'import "contracts/interfaces/IBcrMarket.sol"; import "contracts/interfaces/IBcrMiners.sol"; import "contracts/interfaces/IBcrGovernance.sol"; import "contracts/interfaces/IBcrAttestations.sol"; import "contracts/interfaces/IBcrApps.sol";' });
}, 120_000);

const payer = () => new Interface(contracts.StoragePayer!.abi as never);

async function deployPayer(chain: EvmChain): Promise<Uint8Array> {
  const receipt = await chain.send({ data: contracts.StoragePayer!.bytecode });
  expect(receipt.status).toBe(0);
  return receipt.evm!.contractAddress!;
}

describe('system contracts', () => {
  it('the Solidity interfaces shipped in contracts/ have exactly the ABIs the node serves', () => {
    const norm = (abi: unknown[]) => JSON.stringify([...new Interface(abi as never).format(true)].sort());
    expect(norm(interfaces.IBcrMarket!.abi)).toBe(norm(MARKET_ABI as unknown as unknown[]));
    expect(norm(interfaces.IBcrMiners!.abi)).toBe(norm(MINERS_ABI as unknown as unknown[]));
    expect(norm(interfaces.IBcrGovernance!.abi)).toBe(norm(GOVERNANCE_ABI as unknown as unknown[]));
    expect(norm(interfaces.IBcrAttestations!.abi)).toBe(norm(ATTESTATIONS_ABI as unknown as unknown[]));
    expect(norm(interfaces.IBcrApps!.abi)).toBe(norm(APPS_ABI as unknown as unknown[]));
  });

  it('a contract funds a client escrow with msg.value; the value moves exactly once', async () => {
    const chain = new EvmChain();
    await chain.fund(sender, bcr(1000));
    const address = await deployPayer(chain);
    const client = fromHex('0x' + 'c1'.repeat(20));
    const funded = await chain.send({ to: toHex(address), data: payer().encodeFunctionData('fund', [toHex(client)]), value: bcr(3) });
    expect([funded.error, new TextDecoder().decode(funded.evm?.revertData)]).toEqual(['', '']);
    expect(await getEscrow(chain.state(), client)).toEqual({ total: bcr(3), locked: 0n });
    expect((await getAccount(chain.state(), SYSTEM_ADDRESSES.market)).balance).toBe(0n);
    expect((await getAccount(chain.state(), address)).balance).toBe(0n);
    const [total] = payer().decodeFunctionResult('escrowOf', await chain.call(address, payer().encodeFunctionData('escrowOf', [toHex(client)])));
    expect(total).toBe(bcr(3));
  });

  it('refuses a deposit by DELEGATECALL (no value would arrive) and a write in a static call', async () => {
    const chain = new EvmChain();
    await chain.fund(sender, bcr(1000));
    const address = await deployPayer(chain);
    const client = fromHex('0x' + 'c2'.repeat(20));
    const sneaky = await chain.send({ to: toHex(address), data: payer().encodeFunctionData('fundByDelegatecall', [toHex(client)]), value: bcr(1) });
    expect(sneaky.status).toBe(1);
    expect(new TextDecoder().decode(sneaky.evm!.revertData)).toContain('DELEGATECALL');
    expect(await getEscrow(chain.state(), client)).toEqual({ total: 0n, locked: 0n });
    const [ok] = payer().decodeFunctionResult('notarizeInStaticCall', await chain.call(address, payer().encodeFunctionData('notarizeInStaticCall', [toHex(keccak256(new Uint8Array([1])))])));
    expect(ok).toBe(false);
  });

  it('records an attestation whose attester is the calling contract', async () => {
    const chain = new EvmChain();
    await chain.fund(sender, bcr(1000));
    const address = await deployPayer(chain);
    const hash = keccak256(new Uint8Array([7]));
    const receipt = await chain.send({ to: toHex(address), data: payer().encodeFunctionData('notarize', [toHex(hash)]) });
    expect(receipt.status).toBe(0);
    const att = new Interface(ATTESTATIONS_ABI as never);
    const [count] = att.decodeFunctionResult('countOf', await chain.call(SYSTEM_ADDRESSES.attestations, att.encodeFunctionData('countOf', [toHex(hash)])));
    expect(count).toBe(1n);
    const second = await chain.send({ to: toHex(address), data: payer().encodeFunctionData('notarize', [toHex(hash)]) });
    expect(second.status).toBe(0);
    // The id is the n-th attestation of the hash; the record names the contract.
    const { sha256, concatBytes, utf8, uintToBytesBE } = await import('../../src/primitives/index.js');
    const id = sha256(concatBytes(utf8('bcr/evm-attestation'), hash, uintToBytesBE(1, 8)));
    const record = await getAttestation(chain.state(), id);
    expect(hexKey(record!.attester)).toBe(hexKey(address));
    expect(record!.tag).toBe('notary/v1');
    const [attester] = payer().decodeFunctionResult('attesterOf', await chain.call(address, payer().encodeFunctionData('attesterOf', [toHex(id)])));
    expect((attester as string).toLowerCase()).toBe(toHex(address));
  });

  it('reads an unknown deal as absent and reverts getDeal with a reason; unknown selectors revert', async () => {
    const chain = new EvmChain();
    await chain.fund(sender, bcr(1000));
    const address = await deployPayer(chain);
    const [active] = payer().decodeFunctionResult('dealActive', await chain.call(address, payer().encodeFunctionData('dealActive', [99n])));
    expect(active).toBe(false);
    const failed = await chain.simulate(address, payer().encodeFunctionData('dealClient', [99n]));
    expect(failed.failure).toBe('REVERTED');
    expect(new TextDecoder().decode(failed.returnData)).toContain('no deal 99');
    const garbage = await chain.simulate(SYSTEM_ADDRESSES.market, '0xdeadbeef');
    expect(garbage.failure).toBe('REVERTED');
    const [owner] = payer().decodeFunctionResult('minerOwner', await chain.call(address, payer().encodeFunctionData('minerOwner', [12345n])));
    expect(owner).toBe('0x' + '00'.repeat(20));
  });
});

describe('the app registry', () => {
  const apps = new Interface(APPS_ABI as never);
  const to = toHex(SYSTEM_ADDRESSES.apps);
  const dev = fromHex('0x' + 'd1'.repeat(20));
  const designer = fromHex('0x' + 'd2'.repeat(20));
  const publish = (price: bigint, periodSlots: bigint, payees: [Uint8Array, number][]) =>
    apps.encodeFunctionData('publish', ['Photo Vault', '1.0.0', toHex(keccak256(new Uint8Array([9]))), 'ipfs://bafy-photo-vault', price, periodSlots, payees.map(([account, shareBps]) => ({ account: toHex(account), shareBps }))]);

  it('publishes, sells with payments split exactly to the payees, and refuses a wrong price or a second purchase', async () => {
    const chain = new EvmChain();
    await chain.fund(sender, bcr(1000));
    const published = await chain.send({ to, data: publish(1_000_003n, 0n, [[dev, 7000], [designer, 3000]]) });
    expect(published.status).toBe(0);
    expect(published.evm!.logs).toHaveLength(1);
    expect(apps.parseLog({ topics: published.evm!.logs[0]!.topics.map(toHex), data: toHex(published.evm!.logs[0]!.data) })?.name).toBe('Published');

    const wrong = await chain.send({ to, data: apps.encodeFunctionData('buy', [0n]), value: 1_000_000n });
    expect(wrong.status).toBe(1);
    expect(new TextDecoder().decode(wrong.evm!.revertData)).toContain('costs 1000003 atto');
    expect((await getAccount(chain.state(), dev)).balance).toBe(0n);

    const bought = await chain.send({ to, data: apps.encodeFunctionData('buy', [0n]), value: 1_000_003n });
    expect(bought.status).toBe(0);
    // 70% and 30% rounded down; the dust goes to the first payee.
    expect((await getAccount(chain.state(), designer)).balance).toBe(300_000n);
    expect((await getAccount(chain.state(), dev)).balance).toBe(700_003n);
    expect((await getAccount(chain.state(), SYSTEM_ADDRESSES.apps)).balance).toBe(0n);
    const [licensed] = apps.decodeFunctionResult('hasLicense', await chain.call(SYSTEM_ADDRESSES.apps, apps.encodeFunctionData('hasLicense', [0n, toHex(sender)])));
    expect(licensed).toBe(true);
    const again = await chain.send({ to, data: apps.encodeFunctionData('buy', [0n]), value: 1_000_003n });
    expect(again.status).toBe(1);
    const [app] = apps.decodeFunctionResult('getApp', await chain.call(SYSTEM_ADDRESSES.apps, apps.encodeFunctionData('getApp', [0n])));
    expect(app.sales).toBe(1n);
    expect(app.name).toBe('Photo Vault');
  });

  it('subscriptions extend from the later of now and the current end; only the developer updates; bad payees are refused', async () => {
    const chain = new EvmChain();
    await chain.fund(sender, bcr(1000));
    expect((await chain.send({ to, data: publish(10n, 100n, [[dev, 10_000]]) })).status).toBe(0);
    await chain.send({ to, data: apps.encodeFunctionData('buy', [0n]), value: 10n });
    const first = chain.height;
    await chain.send({ to, data: apps.encodeFunctionData('buy', [0n]), value: 10n });
    const [until] = apps.decodeFunctionResult('licenseOf', await chain.call(SYSTEM_ADDRESSES.apps, apps.encodeFunctionData('licenseOf', [0n, toHex(sender)])));
    expect(until).toBe(BigInt(first + 200));
    const update = await chain.send({ to, data: apps.encodeFunctionData('update', [0n, '1.1.0', toHex(keccak256(new Uint8Array([10]))), 'ipfs://v2', 20n]) });
    expect(update.status).toBe(0);
    expect((await chain.send({ to, data: apps.encodeFunctionData('buy', [0n]), value: 10n })).status).toBe(1);
    const bad = await chain.send({ to, data: publish(1n, 0n, [[dev, 5000], [designer, 4000]]) });
    expect(bad.status).toBe(1);
    expect(new TextDecoder().decode(bad.evm!.revertData)).toContain('9000 basis points');
  });
});
