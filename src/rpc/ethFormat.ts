// BCR blocks, txs, receipts and logs in the JSON shapes Ethereum tools read (ethers, viem, web3).
// hash = block id, number = height, miner = the producing miner's owner, baseFeePerGas = the minimum
// gas price, logsBloom = the 2048-bit bloom of the block's logs (the receipts root commits the logs).
import { blockId, type Block } from '../chain/index.js';
import { locateLogs, type LocatedLog } from '../chain/logIndex.js';
import { keccak256, toChecksumAddress, toHex } from '../primitives/index.js';
import { decodeEthTx, isEthTx, revertReason, type EvmLog, type Receipt, type VerifiedTx } from '../state/index.js';

export const q = (n: number | bigint): string => '0x' + n.toString(16);
export const ZERO32 = '0x' + '00'.repeat(32);

/** Ethereum's logs bloom: 3 bits per address and topic, from the first 6 bytes of its keccak. */
export function logsBloom(logs: Iterable<EvmLog>): Uint8Array {
  const bloom = new Uint8Array(256);
  const add = (value: Uint8Array) => {
    const hash = keccak256(value);
    for (let i = 0; i < 6; i += 2) {
      const bit = ((hash[i]! << 8) | hash[i + 1]!) & 2047;
      bloom[255 - (bit >> 3)]! |= 1 << (bit & 7);
    }
  };
  for (const log of logs) {
    add(log.address);
    for (const topic of log.topics) add(topic);
  }
  return bloom;
}

export function* receiptLogs(receipts: Receipt[]): Generator<EvmLog> {
  for (const receipt of receipts) yield* receipt.evm?.logs ?? [];
}

export interface TxPlace {
  block: Block;
  blockId: Uint8Array;
  index: number;
}

export function txJson(tx: VerifiedTx, chainId: number, place: TxPlace | null) {
  const eth = isEthTx(tx.bytes) ? decodeEthTx(tx.bytes) : null;
  const payload = tx.payload as { to?: Uint8Array | null; value?: bigint; data?: Uint8Array };
  const signature = eth?.signature ?? null;
  const yParity = signature ? signature[64]! : 0;
  const type = eth?.fields.type ?? 0;
  return {
    hash: toHex(tx.id),
    nonce: q(tx.body.nonce),
    blockHash: place ? toHex(place.blockId) : null,
    blockNumber: place ? q(place.block.header.height) : null,
    transactionIndex: place ? q(place.index) : null,
    from: toChecksumAddress(tx.sender),
    to: payload.to ? toChecksumAddress(payload.to) : null,
    value: q(payload.value ?? 0n),
    gas: q(tx.body.gasLimit),
    gasPrice: q(tx.body.gasPrice),
    ...(type === 2 && eth ? { maxFeePerGas: q(eth.fields.maxFeePerGas), maxPriorityFeePerGas: q(eth.fields.maxPriorityFeePerGas) } : {}),
    ...(type !== 0 && eth ? { accessList: eth.fields.accessList.map((e) => ({ address: toChecksumAddress(e.address), storageKeys: e.slots.map(toHex) })), yParity: q(yParity) } : {}),
    input: toHex(payload.data ?? new Uint8Array(0)),
    type: q(type),
    chainId: q(chainId),
    v: q(type === 0 ? BigInt(chainId) * 2n + 35n + BigInt(yParity) : BigInt(yParity)),
    r: signature ? toHex(signature.subarray(0, 32)) : ZERO32,
    s: signature ? toHex(signature.subarray(32, 64)) : ZERO32,
  };
}

export function logJson(located: Omit<LocatedLog, 'log'> & { log: EvmLog }, removed = false) {
  return {
    address: toChecksumAddress(located.log.address),
    topics: located.log.topics.map(toHex),
    data: toHex(located.log.data),
    blockNumber: q(located.height),
    blockHash: toHex(located.blockId),
    transactionHash: toHex(located.txId),
    transactionIndex: q(located.txIndex),
    logIndex: q(located.logIndex),
    removed,
  };
}

export function receiptJson(tx: VerifiedTx, place: TxPlace, receipts: Receipt[], txIds: Uint8Array[]) {
  const receipt = receipts[place.index]!;
  const cumulative = receipts.slice(0, place.index + 1).reduce((sum, r) => sum + r.gasUsed, 0);
  const logs = locateLogs(place.block.header.height, place.blockId, receipts, txIds).filter((l) => l.txIndex === place.index);
  const payload = tx.payload as { to?: Uint8Array | null };
  const revertData = receipt.evm?.revertData ?? new Uint8Array(0);
  const reason = revertReason(revertData);
  return {
    transactionHash: toHex(tx.id),
    transactionIndex: q(place.index),
    blockHash: toHex(place.blockId),
    blockNumber: q(place.block.header.height),
    from: toChecksumAddress(tx.sender),
    to: payload.to ? toChecksumAddress(payload.to) : null,
    cumulativeGasUsed: q(cumulative),
    gasUsed: q(receipt.gasUsed),
    effectiveGasPrice: q(tx.body.gasPrice),
    contractAddress: receipt.evm?.contractAddress ? toChecksumAddress(receipt.evm.contractAddress) : null,
    logs: logs.map((l) => logJson(l)),
    logsBloom: toHex(logsBloom(logs.map((l) => l.log))),
    status: receipt.status === 0 ? '0x1' : '0x0',
    type: q(isEthTx(tx.bytes) ? decodeEthTx(tx.bytes).fields.type : 0),
    // Not in Ethereum's receipt: why a failed tx failed, and its revert data and reason.
    ...(receipt.error ? { error: receipt.error } : {}),
    ...(revertData.length > 0 ? { revertData: toHex(revertData) } : {}),
    ...(reason !== null ? { revertReason: reason } : {}),
  };
}

export function blockJson(block: Block, receipts: Receipt[] | null, txs: VerifiedTx[], full: boolean, chainId: number, owner: Uint8Array, blockGasLimit: number, minGasPrice: bigint) {
  const id = blockId(block.header);
  return {
    number: q(block.header.height),
    hash: toHex(id),
    parentHash: toHex(block.header.parentId),
    nonce: '0x0000000000000000',
    sha3Uncles: '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347',
    logsBloom: toHex(logsBloom(receiptLogs(receipts ?? []))),
    transactionsRoot: toHex(block.header.txRoot),
    stateRoot: toHex(block.header.stateRoot),
    receiptsRoot: toHex(block.header.receiptsRoot),
    miner: toChecksumAddress(owner),
    difficulty: '0x0',
    totalDifficulty: '0x0',
    extraData: '0x',
    size: q(block.txs.reduce((s, t) => s + t.length, 600)),
    gasLimit: q(blockGasLimit),
    gasUsed: q((receipts ?? []).reduce((s, r) => s + r.gasUsed, 0)),
    timestamp: q(Math.floor(block.header.timestamp / 1000)),
    transactions: full ? txs.map((t, index) => txJson(t, chainId, { block, blockId: id, index })) : txs.map((t) => toHex(t.id)),
    uncles: [],
    baseFeePerGas: q(minGasPrice),
    mixHash: toHex(block.header.vrfOutput),
  };
}
