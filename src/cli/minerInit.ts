// `bcr miner init` that a crash cannot double: the VRF key and the signed createMiner tx are written
// durably (`miner-init--<owner>.json` in the keystore) before the tx leaves; a rerun for the same owner
// finds that record and finishes it (the miner on chain, or the same tx sent again, or, when its nonce
// went to another tx meanwhile, the same registration signed anew) instead of registering a second miner.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../primitives/index.js';
import { createMinerKind, createMinerPayload, txId } from '../state/index.js';
import { writeFileDurableSync } from '../util/durableFile.js';
import { callRpc } from '../client/rpc.js';
import { UsageError } from './io.js';
import { signKindTx, waitForReceipt, type Receipt } from './txSender.js';

export interface MinerRegistration {
  worker: Uint8Array;
  vrfKey: Uint8Array;
  peerId: string;
  multiaddrs: string[];
}

interface PendingInit {
  owner: string;
  vrfKey: string;
  worker: string;
  peerId: string;
  multiaddrs: string[];
  raw: string;
}

const pendingPath = (keystore: string, owner: string) => join(keystore, `miner-init--${owner.toLowerCase()}.json`);

/** The registration an interrupted `miner init` of this owner left (its VRF key is already in the keystore). */
export function pendingRegistration(keystore: string, owner: string): (MinerRegistration & { raw: Uint8Array }) | null {
  const path = pendingPath(keystore, owner);
  if (!existsSync(path)) return null;
  let saved: PendingInit;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as PendingInit;
  } catch (error) {
    throw new UsageError(`${path} is unreadable (${error instanceof Error ? error.message : String(error)}): move it away to start a new registration`);
  }
  return { worker: fromHex(saved.worker), vrfKey: fromHex(saved.vrfKey), peerId: saved.peerId, multiaddrs: saved.multiaddrs, raw: fromHex(saved.raw) };
}

/** The id of this owner's miner whose VRF key is `vrfKey`, if it is on the node's chain. */
export async function minerWithVrfKey(rpc: string, owner: string, vrfKey: Uint8Array): Promise<number | null> {
  const table = await callRpc<{ miners: { miner: number; owner: string }[] }>(rpc, 'bcr_getPowerTable');
  for (const m of table.miners.filter((m) => m.owner.toLowerCase() === owner.toLowerCase()).reverse()) {
    if ((await callRpc<{ vrfKey: string }>(rpc, 'bcr_getMiner', [m.miner])).vrfKey === toHex(vrfKey)) return m.miner;
  }
  return null;
}

/**
 * Registers `registration` for `owner` exactly once: the signed tx is on disk before it is sent, and
 * a registration already on chain is returned as it is.
 */
export async function registerMinerOnce(rpc: string, keystore: string, owner: { address: string; key: Uint8Array }, registration: MinerRegistration, raw: Uint8Array | null): Promise<{ miner: number; tx: string | null; receipt: Receipt | null }> {
  const path = pendingPath(keystore, owner.address);
  const done = await minerWithVrfKey(rpc, owner.address, registration.vrfKey);
  if (done !== null) {
    rmSync(path, { force: true });
    return { miner: done, tx: null, receipt: null };
  }
  const payload = { worker: registration.worker, vrfKey: registration.vrfKey, peerId: registration.peerId, multiaddrs: registration.multiaddrs };
  let signed = raw ?? (await signKindTx(rpc, owner, createMinerKind, createMinerPayload, payload)).raw;
  const record = (bytes: Uint8Array) => writeFileDurableSync(path, JSON.stringify({ owner: owner.address, vrfKey: toHex(registration.vrfKey), worker: toHex(registration.worker), peerId: registration.peerId, multiaddrs: registration.multiaddrs, raw: toHex(bytes) } satisfies PendingInit, null, 1));
  record(signed);
  const sent = await callRpc<string>(rpc, 'bcr_sendRawTransaction', [toHex(signed)]).catch(async (error: unknown) => {
    // Already pooled or included: wait for it. Its nonce taken by another tx: sign the same registration anew.
    const message = error instanceof Error ? error.message : String(error);
    if (/already|known/i.test(message)) return toHex(txId(signed));
    if (!/NONCE_TOO_LOW/.test(message)) throw error;
    const landed = await callRpc<Receipt | null>(rpc, 'bcr_getTransactionReceipt', [toHex(txId(signed))]);
    if (landed) return toHex(txId(signed));
    signed = (await signKindTx(rpc, owner, createMinerKind, createMinerPayload, payload)).raw;
    record(signed);
    return callRpc<string>(rpc, 'bcr_sendRawTransaction', [toHex(signed)]);
  });
  const receipt = await waitForReceipt(rpc, sent);
  if (receipt.status !== 'ok') throw new UsageError(`createMiner tx ${sent} failed in block ${receipt.height}: ${receipt.error}`);
  const miner = await minerWithVrfKey(rpc, owner.address, registration.vrfKey);
  if (miner === null) throw new UsageError(`createMiner landed (tx ${sent}) but no miner with this VRF key is on the node's chain yet`);
  rmSync(path, { force: true });
  return { miner, tx: sent, receipt };
}
