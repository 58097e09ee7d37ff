import { TreeReader, bufferSource, buildTreeCache, type PorepProver, type ProofParams, type ProvableSector, type SealedInMemory } from '../../src/proofs/index.js';

export async function readerOf(data: Uint8Array, cacheLevel = 3): Promise<TreeReader> {
  const source = bufferSource(data);
  return new TreeReader(source, await buildTreeCache(source, cacheLevel));
}

export async function porepProverOf(params: ProofParams, sealed: SealedInMemory, data: Uint8Array): Promise<PorepProver> {
  return {
    params,
    replicaId: sealed.replicaId,
    commC: sealed.commC,
    commRLast: sealed.commRLast,
    data: await readerOf(data),
    replica: await readerOf(sealed.replica),
    columns: await readerOf(sealed.columns),
    layers: sealed.layers.map((l) => bufferSource(l)),
  };
}

export async function provableOf(sectorNumber: number, sealed: SealedInMemory, replica = sealed.replica, cacheLevel = 3): Promise<ProvableSector> {
  const cache = await buildTreeCache(bufferSource(sealed.replica), cacheLevel);
  return { sectorNumber, commC: sealed.commC, commRLast: sealed.commRLast, replica: new TreeReader(bufferSource(replica), cache) };
}
