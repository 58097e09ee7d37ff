// Contracts on a real chain store across a reorg: a purchase in the app registry on a branch that
// loses is undone entirely (license, the payees' shares, the buyer's money, the Purchased log in
// the log index), and the winning branch's own contract state stands.
import { Interface } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import { addressOf, encode, fromHex, keccak256, toHex } from '../../src/primitives/index.js';
import { APPS_ABI, SYSTEM_ADDRESSES, evmCallKind, evmCallPayload, getAccount, licensedUntil, signTx } from '../../src/state/index.js';
import { DEV_KEY, nextBlock, nowForSlot, chainStores } from '../helpers/chain.js';

const stores = chainStores('bcr-evm-reorg-');
afterAll(() => stores.closeAll());
const freshChain = () => stores.fresh();

const apps = new Interface(APPS_ABI as never);
const payee = fromHex('0x' + 'a7'.repeat(20));
const buyer = addressOf(DEV_KEY);

/** A BCR-signed EVM call from the dev key. */
function call(nonce: number, data: string, value = 0n): Uint8Array {
  const payload = encode(evmCallPayload, { to: SYSTEM_ADDRESSES.apps, value, data: fromHex(data), accessList: [] });
  return signTx(DEV_KEY, { chainId: 3012, nonce, gasLimit: 1_000_000, gasPrice: 1n, kind: evmCallKind.id, payload });
}

describe('contracts across a reorg', () => {
  it('undoes a purchase made on the losing branch: license, shares and the log index', async () => {
    const a = await freshChain();
    const b = await freshChain();
    const publish = call(0, apps.encodeFunctionData('publish', ['Ledger', '1.0', toHex(keccak256(new Uint8Array([1]))), '', 5_000n, 0n, [{ account: toHex(payee), shareBps: 10_000 }]]));
    const common = await nextBlock(a, 1, [publish]);
    for (const chain of [a, b]) await chain.importBlock(common, nowForSlot(chain, common.header.slot));

    const purchase = await nextBlock(a, 2, [call(1, apps.encodeFunctionData('buy', [0n]), 5_000n)]);
    await a.importBlock(purchase, nowForSlot(a, purchase.header.slot));
    expect(await licensedUntil(a.headState(), 0, buyer)).toBeGreaterThan(0);
    expect((await getAccount(a.headState(), payee)).balance).toBe(5_000n);
    const purchasedTopic = apps.getEvent('Purchased')!.topicHash;
    const filter = { fromHeight: 1, toHeight: a.head.header.height, addresses: [SYSTEM_ADDRESSES.apps], topics: [[fromHex(purchasedTopic)]] };
    expect(await a.getLogs(filter, { maxRange: 100, maxLogs: 100 })).toHaveLength(1);

    // B builds a longer branch from the common block without the purchase; A follows it.
    const longer = [];
    for (let i = 0; i < 3; i++) {
      const block = await nextBlock(b, 40 + i, []);
      await b.importBlock(block, nowForSlot(b, block.header.slot));
      longer.push(block);
    }
    for (const block of longer) await a.importBlock(block, nowForSlot(a, 100_000));
    expect(a.head.id).toEqual(b.head.id);
    expect(await licensedUntil(a.headState(), 0, buyer)).toBe(0);
    expect((await getAccount(a.headState(), payee)).balance).toBe(0n);
    expect(await a.getLogs({ ...filter, toHeight: a.head.header.height }, { maxRange: 100, maxLogs: 100 })).toHaveLength(0);
    // The publish in the common block stands, and its Published log is still indexed.
    const published = await a.getLogs({ fromHeight: 1, toHeight: a.head.header.height, addresses: [SYSTEM_ADDRESSES.apps], topics: [] }, { maxRange: 100, maxLogs: 100 });
    expect(published.map((l) => toHex(l.log.topics[0]!))).toEqual([apps.getEvent('Published')!.topicHash]);
  }, 60_000);
});
