// Node-side signing: keys the operator unlocked at start (keystore + password file) sign txs on
// request. Listing them is read; signing needs the `sign` permission.
import type { ChainStore } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { BcrError, addressOf, bytesEqual, encode, toChecksumAddress, toHex } from '../primitives/index.js';
import { FOUNDATION_ADDRESS, TRANSFER_GAS, signTx, transferPayload } from '../state/index.js';
import { suggestedGasPrice } from './fees.js';
import { RpcError, RpcErrorCode, type MethodDescriptor } from './jsonRpc.js';
import { addressParam, attoParam } from './params.js';

export function walletMethods({ chain, mempool, keys }: { chain: ChainStore; mempool: Mempool; keys: Uint8Array[] }): MethodDescriptor[] {
  const keyFor = (address: Uint8Array) => {
    if (bytesEqual(address, FOUNDATION_ADDRESS)) throw new BcrError('GOVERNED_FUNDS', 'no key signs for the foundation reserve: it moves only by an executed council proposal (bcr gov)');
    const key = keys.find((k) => bytesEqual(addressOf(k), address));
    if (!key) throw new RpcError(RpcErrorCode.notFound, `no unlocked key for ${toChecksumAddress(address)} on this node`);
    return key;
  };
  return [
    {
      name: 'bcr_accounts',
      description: 'Addresses whose keys this node holds unlocked (node-side signing).',
      params: [],
      handler: async () => keys.map((k) => toChecksumAddress(addressOf(k))),
    },
    {
      name: 'bcr_sendTransaction',
      description: 'Signs a transfer with a key held by the node and submits it; returns its id. Needs `sign`.',
      permission: 'sign',
      params: [addressParam('from'), addressParam('to'), attoParam('value')],
      handler: async ([from, to, value]) => {
        const key = keyFor(from as Uint8Array);
        const nonce = mempool.nextPendingNonce(from as Uint8Array, (await chain.getAccount(from as Uint8Array)).nonce);
        const raw = signTx(key, { chainId: chain.params.chainId, nonce, gasLimit: TRANSFER_GAS, gasPrice: await suggestedGasPrice(chain), kind: 0, payload: encode(transferPayload, { to: to as Uint8Array, value: value as bigint }) });
        return toHex((await mempool.add(raw)).id);
      },
    },
  ];
}

