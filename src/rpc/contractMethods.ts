// Contracts and the app registry for people (the explorer, bcr): what is at an address, who created
// it, its recent logs (decoded for the system contracts), and the apps in the registry.
import { decodeEventLog, type Abi } from 'viem';
import type { ChainStore } from '../chain/index.js';
import { bytesEqual, keccak256, toChecksumAddress, toHex } from '../primitives/index.js';
import { APPS_ABI, ATTESTATIONS_ABI, FOREVER, GOVERNANCE_ABI, MARKET_ABI, MINERS_ABI, SYSTEM_ADDRESSES, SYSTEM_CODE, appCount, getAccount, getApp, getCode, licensedUntil, verifyTx, type App, type EvmLog } from '../state/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor } from './jsonRpc.js';
import { addressParam, uintParam } from './params.js';

/** Blocks a contract's recent logs are looked for in, and logs returned at most. */
const LOG_WINDOW = 10_000;
const MAX_CONTRACT_LOGS = 100;
const MAX_APPS = 100;

const SYSTEM: { name: string; address: Uint8Array; abi: Abi }[] = [
  { name: 'IBcrMarket', address: SYSTEM_ADDRESSES.market, abi: MARKET_ABI },
  { name: 'IBcrMiners', address: SYSTEM_ADDRESSES.miners, abi: MINERS_ABI },
  { name: 'IBcrGovernance', address: SYSTEM_ADDRESSES.governance, abi: GOVERNANCE_ABI },
  { name: 'IBcrAttestations', address: SYSTEM_ADDRESSES.attestations, abi: ATTESTATIONS_ABI },
  { name: 'IBcrApps', address: SYSTEM_ADDRESSES.apps, abi: APPS_ABI },
];

const systemOf = (address: Uint8Array) => SYSTEM.find((s) => bytesEqual(s.address, address)) ?? null;

/** JSON-safe event arguments: big numbers as decimal strings. */
function jsonArgs(args: unknown): unknown {
  if (typeof args === 'bigint') return args.toString();
  if (Array.isArray(args)) return args.map(jsonArgs);
  if (args && typeof args === 'object') return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, jsonArgs(v)]));
  return args;
}

function decoded(abi: Abi | null, log: EvmLog): { event: string; args: unknown } | null {
  if (!abi || log.topics.length === 0) return null;
  try {
    const event = decodeEventLog({ abi, topics: log.topics.map(toHex) as [`0x${string}`, ...`0x${string}`[]], data: toHex(log.data) as `0x${string}` });
    return { event: event.eventName ?? '', args: jsonArgs(event.args) };
  } catch {
    return null;
  }
}

export function appJson(id: number, app: App) {
  return {
    id,
    developer: toChecksumAddress(app.developer),
    name: app.name,
    version: app.version,
    contentHash: toHex(app.contentHash),
    uri: app.uri,
    price: app.price.toString(),
    periodSlots: app.periodSlots,
    payees: app.payees.map((p) => ({ account: toChecksumAddress(p.account), shareBps: p.shareBps })),
    sales: app.sales,
    publishedHeight: app.publishedHeight,
    updatedHeight: app.updatedHeight,
  };
}

export function contractMethods({ chain }: { chain: ChainStore }): MethodDescriptor[] {
  return [
    {
      name: 'bcr_getContract',
      description: 'What is at an address: code size and hash, balance, the creating tx and its sender, or which system contract it is (code null: no contract).',
      params: [addressParam()],
      handler: async ([address]) => {
        const at = address as Uint8Array;
        const system = systemOf(at);
        const state = chain.headState();
        const code = system ? SYSTEM_CODE : (await getCode(state, at)).code;
        const balance = (await getAccount(state, at)).balance;
        if (code.length === 0) return { address: toChecksumAddress(at), code: null, balance: balance.toString() };
        const creation = system ? undefined : await chain.contractCreationTx(at);
        const located = creation ? await chain.getTxLocation(creation) : undefined;
        const creator = located ? (await chain.requireBlock(located.blockId)).txs[located.index] : undefined;
        return {
          address: toChecksumAddress(at),
          code: { size: code.length, hash: toHex(keccak256(code)) },
          balance: balance.toString(),
          system: system?.name ?? null,
          creationTx: creation ? toHex(creation) : null,
          creationHeight: located?.height ?? null,
          creator: creator ? toChecksumAddress(verifyTx(creator, chain.params).sender) : null,
        };
      },
    },
    {
      name: 'bcr_getContractLogs',
      description: `A contract's latest logs (newest first, at most ${MAX_CONTRACT_LOGS}) from the last ${LOG_WINDOW} blocks, decoded for the system contracts.`,
      params: [addressParam(), uintParam('limit', true, MAX_CONTRACT_LOGS)],
      cost: () => 100,
      handler: async ([address, limit]) => {
        const at = address as Uint8Array;
        const head = chain.head.header.height;
        const logs = await chain.getLogs({ fromHeight: Math.max(1, head - LOG_WINDOW + 1, chain.oldestBodyHeight), toHeight: head, addresses: [at], topics: [] }, { maxRange: LOG_WINDOW, maxLogs: 100_000 }).catch((error: unknown) => {
          throw new RpcError(RpcErrorCode.limitExceeded, error instanceof Error ? error.message : String(error));
        });
        const abi = systemOf(at)?.abi ?? null;
        return logs
          .slice(-((limit as number | undefined) ?? 20))
          .reverse()
          .map((l) => ({ height: l.height, txId: toHex(l.txId), logIndex: l.logIndex, topics: l.log.topics.map(toHex), data: toHex(l.log.data), ...(decoded(abi, l.log) ?? { event: null, args: null }) }));
      },
    },
    {
      name: 'bcr_listApps',
      description: `Apps in the registry from id \`from\` on (at most ${MAX_APPS}), with the total.`,
      params: [uintParam('from', true), uintParam('limit', true, MAX_APPS)],
      handler: async ([from, limit]) => {
        const state = chain.headState();
        const total = await appCount(state);
        const first = (from as number | undefined) ?? 0;
        const apps = [];
        for (let id = first; id < Math.min(total, first + ((limit as number | undefined) ?? 20)); id++) apps.push(appJson(id, (await getApp(state, id))!));
        return { total, apps };
      },
    },
    {
      name: 'bcr_getApp',
      description: "An app's listing, and with `user` that user's license (licensedUntil: a slot, 'forever', or null).",
      params: [uintParam('id'), { ...addressParam('user'), optional: true }],
      handler: async ([id, user]) => {
        const state = chain.headState();
        const app = await getApp(state, id as number);
        if (!app) return null;
        if (!user) return appJson(id as number, app);
        const until = await licensedUntil(state, id as number, user as Uint8Array);
        return { ...appJson(id as number, app), user: toChecksumAddress(user as Uint8Array), licensedUntil: until === 0 ? null : until === FOREVER ? 'forever' : until };
      },
    },
  ];
}
