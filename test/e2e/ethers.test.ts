// An ordinary Ethereum library (ethers v6) holds and sends BCR through the eth_* subset of a real node.
import { JsonRpcProvider, Wallet, encryptKeystoreJson, parseEther } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptKeystore, encryptKeystore } from '../../src/wallet/index.js';
import { fromHex, hexKey } from '../../src/primitives/index.js';
import { tempDir } from '../helpers/chain.js';
import { rpc, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const DEV = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const dir = tempDir('bcr-ethers-');
let node: RunningNode | null = null;
afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

describe('ethers v6 against a BCR node', () => {
  it('sends EIP-1559 and legacy transfers and sees balances move', async () => {
    node = await startNodeProcess(['--network', 'test', '--data-dir', dir.path, '--rpc-port', '0']);
    const provider = new JsonRpcProvider(node.rpcUrl, { chainId: 3012, name: 'bcr-test' }, { staticNetwork: true, pollingInterval: 100 });
    const wallet = new Wallet(DEV, provider);
    const recipient = Wallet.createRandom().address;
    expect(await provider.getBalance(recipient)).toBe(0n);
    expect((await provider.getNetwork()).chainId).toBe(3012n);

    const tx1 = await wallet.sendTransaction({ to: recipient, value: parseEther('1.5') });
    expect(tx1.type).toBe(2);
    const r1 = await tx1.wait(1, 30_000);
    expect(r1?.status).toBe(1);
    // ethers keeps an answer for 250 ms on a timer; on a busy machine that timer fires late and the
    // earlier 0 comes back from its cache: ask until the balance reflects the receipt.
    await waitFor('the EIP-1559 transfer in the balance', async () => (await provider.getBalance(recipient)) === parseEther('1.5'), 10_000);

    const tx2 = await wallet.sendTransaction({ to: recipient, value: parseEther('0.25'), type: 0, gasPrice: 2n });
    const r2 = await tx2.wait(1, 30_000);
    expect(r2?.status).toBe(1);
    expect(tx2.type).toBe(0);
    // ethers may answer getBalance from its short-lived cache: ask until it reflects the receipt.
    await waitFor('the legacy transfer in the balance', async () => (await provider.getBalance(recipient)) === parseEther('1.75'), 10_000);

    const byHash = await provider.getTransaction(tx1.hash);
    expect(byHash?.from).toBe(wallet.address);
    const block = await provider.getBlock(r1!.blockNumber);
    expect(block?.transactions).toContain(tx1.hash);
    expect(await provider.getCode(recipient)).toBe('0x');
    // The native view agrees.
    expect((await rpc<{ balance: string }>(node.rpcUrl, 'bcr_getBalance', [recipient])).balance).toBe(parseEther('1.75').toString());
  }, 90_000);

  it('keystores written by bcr decrypt in ethers, and the other way round', async () => {
    const key = fromHex(DEV);
    const ours = JSON.stringify(encryptKeystore(key, 'pw', { scryptN: 1024 }));
    const theirs = await Wallet.fromEncryptedJson(ours, 'pw');
    expect(theirs.privateKey).toBe(DEV);
    const fromEthers = await encryptKeystoreJson({ address: new Wallet(DEV).address, privateKey: DEV }, 'pw2', { scrypt: { N: 1024 } });
    expect(hexKey(decryptKeystore(JSON.parse(fromEthers), 'pw2'))).toBe(DEV.slice(2));
  });
});
