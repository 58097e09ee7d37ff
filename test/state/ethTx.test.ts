import { Wallet, Transaction } from 'ethers';
import { describe, expect, it } from 'vitest';
import { fromHex, hexKey, keccak256, toChecksumAddress } from '../../src/primitives/index.js';
import { verifyTx } from '../../src/state/index.js';
import { testGenesis } from '../helpers/chain.js';

const params = testGenesis().params;
const wallet = new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const to = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const base = { to, value: 12345n, nonce: 7, gasLimit: 21000n, chainId: 3012n };

async function signed(fields: Record<string, unknown>): Promise<Uint8Array> {
  return fromHex(await wallet.signTransaction(fields));
}

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'thrown';
  }
}

describe('Ethereum-signed txs', () => {
  it.each([
    ['legacy EIP-155', { type: 0, gasPrice: 5n }],
    ['EIP-2930', { type: 1, gasPrice: 5n, accessList: [] }],
    ['EIP-1559', { type: 2, maxFeePerGas: 9n, maxPriorityFeePerGas: 2n }],
  ])('%s verifies as an EVM tx with its keccak hash', async (_name, extra) => {
    const raw = await signed({ ...base, ...extra });
    const tx = verifyTx(raw, params);
    expect(toChecksumAddress(tx.sender)).toBe(wallet.address);
    expect(tx.kind.name).toBe('evm call');
    expect(tx.payload).toEqual({ to: fromHex(to), value: 12345n, data: new Uint8Array(0), accessList: [] });
    expect(tx.gas).toBe(21_000);
    expect(tx.body.nonce).toBe(7);
    expect(hexKey(tx.id)).toBe(hexKey(keccak256(raw)));
    expect(hexKey(tx.id)).toBe(Transaction.from('0x' + hexKey(raw)).hash!.slice(2));
    if ((extra as { type: number }).type === 2) expect(tx.body.gasPrice).toBe(params.minGasPrice + 2n);
  });

  it('refuses other chains, replayable legacy txs, gas below the intrinsic cost, oversized init code, and garbage', async () => {
    expect(code(() => verifyTx(fromHex('0x' + 'f8' + '00'), params))).toBe('MALFORMED');
    expect(code(() => verifyTx(new Uint8Array([0x02, 0xc0]), params))).toBe('MALFORMED');
    const other = await signed({ ...base, chainId: 1n, type: 2, maxFeePerGas: 9n, maxPriorityFeePerGas: 2n });
    expect(code(() => verifyTx(other, params))).toBe('WRONG_CHAIN');
    const call = await signed({ ...base, type: 2, maxFeePerGas: 9n, maxPriorityFeePerGas: 2n, data: '0x1234', gasLimit: 50_000n });
    expect(verifyTx(call, params).gas).toBe(21_000 + 2 * 4 * 10); // the EIP-7623 floor is above 21000 + 2 * 16
    const create = await signed({ ...base, to: null, type: 2, maxFeePerGas: 9n, maxPriorityFeePerGas: 2n, data: '0x00', gasLimit: 60_000n });
    expect(verifyTx(create, params).gas).toBe(21_000 + 32_000 + 4 + 2);
    const starved = await signed({ ...base, to: null, type: 2, maxFeePerGas: 9n, maxPriorityFeePerGas: 2n, data: '0x00', gasLimit: 50_000n });
    expect(code(() => verifyTx(starved, params))).toBe('GAS_TOO_LOW');
    const floor = await signed({ ...base, type: 2, maxFeePerGas: 9n, maxPriorityFeePerGas: 2n, data: '0x' + 'ff'.repeat(1000), gasLimit: 21_000n + 16_000n });
    expect(code(() => verifyTx(floor, params))).toBe('GAS_TOO_LOW');
    const huge = await signed({ ...base, to: null, type: 2, maxFeePerGas: 9n, maxPriorityFeePerGas: 2n, data: '0x' + '00'.repeat(49_153), gasLimit: 5_000_000n });
    expect(code(() => verifyTx(huge, params))).toBe('MALFORMED_PAYLOAD');
    const preEip155 = fromHex(Transaction.from({ ...base, chainId: 0n, type: 0, gasPrice: 5n, signature: wallet.signingKey.sign(Transaction.from({ ...base, chainId: 0n, type: 0, gasPrice: 5n }).unsignedHash) }).serialized);
    expect(code(() => verifyTx(preEip155, params))).toBe('WRONG_CHAIN');
    const low = await signed({ ...base, type: 0, gasPrice: 0n });
    expect(code(() => verifyTx(low, params))).toBe('GAS_PRICE_TOO_LOW');
  });

  it('refuses an EIP-1559 tip above the fee cap, and a fee cap whose total overflows 256 bits, as Ethereum does', async () => {
    // ethers refuses to sign these itself; build them from a valid one by hand-editing the RLP fields.
    const { Signature, keccak256: ethKeccak, encodeRlp, toBeArray } = await import('ethers');
    const sign1559 = (maxPriority: bigint, maxFee: bigint, gasLimit = 21000n) => {
      const fields = [toBeArray(3012n), toBeArray(7n), toBeArray(maxPriority), toBeArray(maxFee), toBeArray(gasLimit), to, toBeArray(1n), '0x', []];
      const unsigned = '0x02' + encodeRlp(fields).slice(2);
      const sig = Signature.from(wallet.signingKey.sign(ethKeccak(unsigned)));
      return fromHex('0x02' + encodeRlp([...fields, sig.yParity === 0 ? '0x' : '0x01', toBeArray(BigInt(sig.r)), toBeArray(BigInt(sig.s))]).slice(2));
    };
    expect(code(() => verifyTx(sign1559(2n, 9n), params))).toBe('ok');
    expect(code(() => verifyTx(sign1559(10n, 9n), params))).toBe('TIP_ABOVE_FEE_CAP');
    expect(code(() => verifyTx(sign1559(1n, (1n << 256n) - 1n), params))).toBe('FEE_CAP_TOO_HIGH');
  });
});
