// The app registry as a system contract: publish, update, buy or subscribe with msg.value (split to
// the payees in the same call), and read apps and licenses. State rules are in state/apps.ts.
import { debit } from '../../accounts.js';
import { appCount, buyApp, FOREVER, getApp, licensedUntil, publishApp, updateApp, type Payee } from '../../apps.js';
import { TxFailure } from '../../errors.js';
import { fromHex, toHex } from '../../../primitives/index.js';
import { APPS_ABI, SYSTEM_ADDRESSES } from './abis.js';
import { READ_GAS, ZERO_ADDRESS, ZERO_HASH, eventLog, requireId, type SystemCall, type SystemContract } from './precompile.js';

const UINT64_MAX = (1n << 64n) - 1n;

const appId = (arg: unknown): number => requireId(arg, `no app ${arg as bigint}`);

/** Licenses that never end read as uint64 max. */
const untilWord = (until: number): bigint => (until === FOREVER ? UINT64_MAX : BigInt(until));

async function buy(call: SystemCall, id: number, user: Uint8Array): Promise<bigint> {
  // msg.value sits in this contract's balance: it leaves to the payees, all of it or (on a revert) none.
  await debit(call.state, call.self, call.value, call.slot);
  const { until } = await buyApp(call.state, id, user, call.value, call.slot);
  call.logs.push(eventLog(appsContract, 'Purchased', { id: BigInt(id), user: toHex(user), payer: toHex(call.caller), price: call.value, licensedUntil: untilWord(until) }));
  return untilWord(until);
}

export const appsContract: SystemContract = {
  address: SYSTEM_ADDRESSES.apps,
  abi: APPS_ABI,
  functions: {
    publish: {
      gas: 100_000,
      writes: true,
      async run(call, [name, version, contentHash, uri, price, periodSlots, payees]) {
        const period = periodSlots as bigint;
        if (period > BigInt(Number.MAX_SAFE_INTEGER)) throw new TxFailure('BAD_APP', 'period too long');
        const list = (payees as readonly { account: string; shareBps: number }[]).map((p): Payee => ({ account: fromHex(p.account), shareBps: p.shareBps }));
        const id = await publishApp(call.state, call.caller, { name: name as string, version: version as string, contentHash: fromHex(contentHash as string), uri: uri as string, price: price as bigint, periodSlots: Number(period), payees: list }, call.height);
        call.logs.push(eventLog(appsContract, 'Published', { id: BigInt(id), developer: toHex(call.caller), name, version }));
        return BigInt(id);
      },
    },
    update: {
      gas: 50_000,
      writes: true,
      async run(call, [id, version, contentHash, uri, price]) {
        await updateApp(call.state, call.caller, appId(id), { version: version as string, contentHash: fromHex(contentHash as string), uri: uri as string, price: price as bigint }, call.height);
        call.logs.push(eventLog(appsContract, 'Updated', { id, version, price }));
        return undefined;
      },
    },
    buy: { gas: 60_000, payable: true, run: (call, [id]) => buy(call, appId(id), call.caller) },
    buyFor: { gas: 60_000, payable: true, run: (call, [id, user]) => buy(call, appId(id), fromHex(user as string)) },
    getApp: {
      gas: READ_GAS,
      async run(call, [id]) {
        const app = await getApp(call.state, appId(id));
        if (!app) return { exists: false, developer: ZERO_ADDRESS, name: '', version: '', contentHash: ZERO_HASH, uri: '', price: 0n, periodSlots: 0n, payees: [], sales: 0n, publishedHeight: 0n, updatedHeight: 0n };
        return { exists: true, developer: toHex(app.developer), name: app.name, version: app.version, contentHash: toHex(app.contentHash), uri: app.uri, price: app.price, periodSlots: BigInt(app.periodSlots), payees: app.payees.map((p) => ({ account: toHex(p.account), shareBps: p.shareBps })), sales: BigInt(app.sales), publishedHeight: BigInt(app.publishedHeight), updatedHeight: BigInt(app.updatedHeight) };
      },
    },
    licenseOf: { gas: READ_GAS, run: async (call, [id, user]) => untilWord(await licensedUntil(call.state, appId(id), fromHex(user as string))) },
    hasLicense: { gas: READ_GAS, run: async (call, [id, user]) => (await licensedUntil(call.state, appId(id), fromHex(user as string))) > call.slot },
    appCount: { gas: READ_GAS, run: async (call) => BigInt(await appCount(call.state)) },
  },
};
