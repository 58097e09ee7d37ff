// Sectors sealed and held by other machines (a cluster's workers). The miner asks them for seals and
// proofs and relies on nothing they return unchecked: a PoSt part is verified against the sector's
// CommR before it joins a proof, a PoRep before its prove-commit is sent. The local store and the
// remote holders are proven together, each sector where its replica is.
import { randomBytes } from 'node:crypto';
import { decodePost, encodePost, provePost, replicaIdOf, verifyPorep, type PostKind, type ProofParams, type SectorPostProof } from '../proofs/index.js';
import { toHex } from '../primitives/index.js';
import { provePartition, type PartitionProof, type ReplicaAccess, type SkippedSector } from './windowPost.js';

export interface DueSector {
  number: number;
  commR: Uint8Array;
}

/** What a cluster is doing, for status lines, metrics and the explorer. */
export interface ClusterStatus {
  workers: { name: string; host: string; alive: boolean; badReason: string | null; tasks: string[]; lastSeenMs: number; storage: { path: string; capacityBytes: number; freeBytes: number }[] }[];
  /** Queued and running tasks by task identifier (`windowPost@w2` is one worker's). */
  tasks: { task: string; queued: number; running: number; failing: number }[];
  running: { worker: string; task: string; runningMs: number }[];
  /** Where each of this miner's remotely held sectors is. */
  sectors: { sector: number; worker: string; path: string }[];
}

export interface RemoteSectors {
  status(): Promise<ClusterStatus>;
  /** The worker holding the sector's replica, or null when no worker does. */
  holderOf(sector: number): Promise<string | null>;
  /**
   * Seals a committed-capacity sector on some worker; its CommR and holder. The same `key` names the
   * same task, so a restarted node waits for the seal it asked for instead of asking again.
   */
  sealCommittedCapacity(request: { key: string; sector: number; sealRandomness: Uint8Array; commD: Uint8Array }): Promise<{ commR: Uint8Array; holder: string }>;
  /** The holder's PoRep of the sector on `seed`, unverified (the caller verifies it). */
  provePorep(request: { key: string; holder: string; sector: number; seed: Uint8Array }): Promise<Uint8Array>;
  /**
   * PoSt parts of remotely held sectors, each verified against its CommR; a sector whose holder is
   * down, answers late or answers wrong comes back skipped with the reason.
   */
  provePost(kind: PostKind, randomness: Uint8Array, sectors: DueSector[], timeoutMs: number): Promise<{ proofs: Map<number, SectorPostProof>; skipped: SkippedSector[] }>;
  /**
   * Frees the holder's disk: a sector's sealing scratch once its activation is final, or the whole
   * sector once the chain no longer holds it (then it leaves the sector index). Not waited for.
   */
  release(request: { holder: string; sector: number; what: 'scratch' | 'sector' }): Promise<void>;
  /** A worker returned a proof that does not verify: its later answers are refused. */
  reportBad(worker: string, reason: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A remote seal whose CommR is checked before a pre-commit deposit rides on it: the holder must answer
 * a PoRep on a seed drawn only now. A worker whose check fails is reported (its seals are refused
 * from then on) and the sector is sealed again elsewhere, up to three times.
 */
export async function sealChecked(remote: RemoteSectors, params: ProofParams, minerId: number, request: { key: string; sector: number; sealRandomness: Uint8Array; commD: Uint8Array }): Promise<{ commR: Uint8Array; holder: string }> {
  const { sector, sealRandomness, commD } = request;
  for (let attempt = 0; ; attempt++) {
    const sealed = await remote.sealCommittedCapacity(request);
    const seed = new Uint8Array(randomBytes(32));
    const proof = await remote.provePorep({ key: `porep-check:${minerId}:${sector}:${toHex(seed)}`, holder: sealed.holder, sector, seed });
    const failure = verifyPorep({ params, replicaId: replicaIdOf(minerId, sector, sealRandomness, commD), commD, commR: sealed.commR, seed }, proof);
    if (!failure) return sealed;
    await remote.reportBad(sealed.holder, `its seal of sector ${sector} fails a PoRep check (${failure})`);
    if (attempt >= 2) throw new Error(`sector ${sector}: seals from ${attempt + 1} workers failed their PoRep check`);
  }
}

/** Proves sectors wherever their replicas are: the local store, or the worker holding each. */
export class SectorProver {
  constructor(
    private readonly params: ProofParams,
    private readonly local: ReplicaAccess,
    private readonly remote: RemoteSectors | null,
    private readonly prover: typeof provePost = provePost,
  ) {}

  /** Whether this miner holds the sector's replica somewhere (here or on a worker). */
  async holds(sector: number): Promise<boolean> {
    if (await this.local.has(sector)) return true;
    return this.remote !== null && (await this.remote.holderOf(sector).catch(() => null)) !== null;
  }

  /**
   * A PoSt of `due` in order, the sectors that could not be proven left out and listed as skipped.
   * `timeoutMs` bounds the wait for remote holders (a WinningPoSt has a slot, a WindowPoSt its window).
   */
  async prove(kind: PostKind, randomness: Uint8Array, due: DueSector[], timeoutMs: number, prover = this.prover): Promise<PartitionProof> {
    const remoteDue: DueSector[] = [];
    const localDue: DueSector[] = [];
    // Not here: the cluster answers for it (or says why not), even when its database is unreachable.
    for (const sector of due) (this.remote !== null && !(await this.local.has(sector.number)) ? remoteDue : localDue).push(sector);
    if (remoteDue.length === 0) return provePartition(this.params, randomness, localDue, this.local, prover, kind);
    const [local, remote] = await Promise.all([
      localDue.length > 0 ? provePartition(this.params, randomness, localDue, this.local, prover, kind) : null,
      this.remote!.provePost(kind, randomness, remoteDue, timeoutMs),
    ]);
    const proofs = new Map(remote.proofs);
    if (local) decodePost(local.proof).forEach((proof, i) => proofs.set(local.proven[i]!, proof));
    const proven = due.map((s) => s.number).filter((n) => proofs.has(n));
    return {
      proof: encodePost(proven.map((n) => proofs.get(n)!)),
      proven,
      skipped: [...(local?.skipped ?? []), ...remote.skipped].sort((a, b) => a.sector - b.sector),
    };
  }

  /**
   * Null when the sector's replica answers a random challenge (fresh unless given) with a valid proof;
   * else why not. Always the plain prover: a test's slowed one plays a slow WindowPoSt, not a slow check.
   */
  async check(sector: DueSector, timeoutMs: number, randomness = new Uint8Array(randomBytes(32))): Promise<string | null> {
    const { skipped } = await this.prove('window', randomness, [sector], timeoutMs, provePost);
    return skipped[0]?.reason ?? null;
  }
}
