// Proofs benchmark: the CPU's SHA-256 limit (native batch, openssl, node:crypto) next to our
// Merkle verification (single thread and worker pool), merkletreejs as a peer, WindowPoSt and PoRep
// verification, sealing and tree-building throughput, and the regeneration-vs-deadline margin.
import { execFileSync } from 'node:child_process';
import { createHash, hash as nodeHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { MerkleTree } from 'merkletreejs';
import { hashPair, hashPairsInto, sha256, uintToBytesBE } from '../src/primitives/index.js';
import {
  PROOF_PROFILES,
  TreeReader,
  WorkerPoolVerifier,
  bufferSource,
  buildTreeCache,
  commROf,
  createMultiproof,
  fileSource,
  MAINNET_ATTACKER,
  bindingReport,
  generateLabels,
  generateLabelsMany,
  parentTable,
  leafCount,
  regenerationPath,
  sealFile,
  merkleRoot,
  postChallenges,
  postProofCodec,
  provePorep,
  replicaIdOf,
  sealInMemory,
  uniqueSorted,
  verifyMultiproofs,
  verifyPorep,
  verifyPost,
  packJobs,
  verifyPacked,
  type MultiproofJob,
  type NodeReader,
  type PackedJobs,
  type ProofParams,
} from '../src/proofs/index.js';
import { encode } from '../src/primitives/index.js';
import { msSince, opsPerSecond, type BenchArea, type BenchRow } from './report.js';

const require = createRequire(import.meta.url);

function nativeBatchLimit(): number {
  const hashtree = require('@chainsafe/hashtree') as { hashInto(input: Uint8Array, output: Uint8Array): void };
  const input = new Uint8Array(4096 * 64);
  const output = new Uint8Array(4096 * 32);
  randomFillSync(input);
  return opsPerSecond(() => hashtree.hashInto(input, output), 4096, 1500);
}

function opensslRate(bytes = 64): number {
  try {
    const out = execFileSync('openssl', ['speed', '-evp', 'sha256', '-bytes', String(bytes), '-seconds', '2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const line = out.split('\n').find((l) => l.startsWith('sha256'));
    const kbytes = Number(line?.trim().split(/\s+/).pop()?.replace(/k$/, ''));
    return Number.isFinite(kbytes) ? (kbytes * 1000) / bytes : 0;
  } catch {
    return 0;
  }
}

/** A tree of the given depth where only the paths to `indices` are real; other nodes are derived. */
function sparseTree(depth: number, indices: number[], salt: number): NodeReader & { root: Uint8Array } {
  const memo = new Map<string, Uint8Array>();
  const marked = new Set<string>();
  for (const index of indices) for (let l = 0; l <= depth; l++) marked.add(`${l}:${index >>> l}`);
  const node = (level: number, index: number): Uint8Array => {
    const key = `${level}:${index}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const value = level === 0 || !marked.has(key) ? sha256(uintToBytesBE(salt * 2 ** 40 + level * 2 ** 34 + index, 8)) : hashPair(node(level - 1, index * 2), node(level - 1, index * 2 + 1));
    memo.set(key, value);
    return value;
  };
  return { depth, node, root: node(depth, 0) };
}

function singlePathJobs(depth: number, count: number): MultiproofJob[] {
  const jobs: MultiproofJob[] = [];
  for (let p = 0; p < count; p++) {
    const index = (p * 2654435761) % 2 ** depth;
    const tree = sparseTree(depth, [index], p);
    jobs.push({ root: tree.root, depth, indices: [index], ...createMultiproof(tree, [index]) });
  }
  return jobs;
}

function rate(fn: () => void, perCall: number, ms = 1500): number {
  fn(); // warm up
  return opsPerSecond(fn, perCall, ms);
}

async function poolRate(pool: WorkerPoolVerifier, packed: PackedJobs, ms = 2000): Promise<number> {
  await pool.verifyPacked(packed);
  const start = process.hrtime.bigint();
  let done = 0;
  while (msSince(start) < ms) {
    await pool.verifyPacked(packed);
    done += packed.count;
  }
  return (done * 1000) / msSince(start);
}

function merkletreejsRate(jobs: MultiproofJob[]): number {
  const hashFn = (d: Buffer) => createHash('sha256').update(d).digest();
  const peer = new MerkleTree([Buffer.alloc(32), Buffer.alloc(32, 1)], hashFn, { hashLeaves: false, sortPairs: false });
  const proofs = jobs.slice(0, 512).map((job) => {
    const index = job.indices[0]!;
    const proof = Array.from({ length: job.depth }, (_, l) => ({ position: (index >>> l) & 1 ? ('left' as const) : ('right' as const), data: Buffer.from(job.siblings.subarray(l * 32, l * 32 + 32)) }));
    return { proof, leaf: Buffer.from(job.leaves), root: Buffer.from(job.root) };
  });
  if (!proofs.every((p) => peer.verify(p.proof, p.leaf, p.root))) throw new Error('merkletreejs rejected an honest proof: trees differ');
  let i = 0;
  return rate(() => {
    const p = proofs[i++ % proofs.length]!;
    peer.verify(p.proof, p.leaf, p.root);
  }, 1);
}

/** A WindowPoSt over `sectors` synthetic 1 GiB sectors (depth 25) with real challenges and openings. */
function syntheticWindowPost(params: ProofParams, sectors: number, randomness: Uint8Array) {
  const depth = 25;
  const proofs = [];
  const statement = [];
  for (let s = 0; s < sectors; s++) {
    const indices = uniqueSorted(postChallenges(params, 'window', randomness, s));
    const tree = sparseTree(depth, indices, 1000 + s);
    const commC = sha256(uintToBytesBE(s, 8));
    proofs.push({ commC, commRLast: tree.root, ...createMultiproof(tree, indices) });
    statement.push({ sectorNumber: s, commR: commROf(commC, tree.root) });
  }
  return { proof: encode(postProofCodec, proofs), sectors: statement };
}

/** Labels per second (all lanes together) of K replicas labelled in lockstep, 2 layers. */
function lockstepLabelRate(params: ProofParams, lanes: number, sizeBytes: number): number {
  const p = { ...params, sectorSize: sizeBytes, layers: 2 };
  const ids = Array.from({ length: lanes }, (_, k) => sha256(uintToBytesBE(k + 1, 8)));
  // The parent table is computed once per sector and read by all its layers: not timed here.
  const tables = ids.map((id) => parentTable(id, sizeBytes / 32, p));
  const t = process.hrtime.bigint();
  generateLabelsMany(p, ids, undefined, undefined, tables);
  return (lanes * (sizeBytes / 32) * p.layers * 1000) / msSince(t);
}

/** Sealing a file to disk (one layer in RAM), with the process's peak RSS. */
async function sealFileRun(params: ProofParams, sizeBytes: number): Promise<{ MBps: number; peakRssMiB: number; layerBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bcr-bench-seal-'));
  try {
    const p = { ...params, sectorSize: sizeBytes, layers: 4 };
    const dataPath = join(dir, 'data');
    const fd = openSync(dataPath, 'w');
    const chunk = new Uint8Array(1 << 20);
    for (let at = 0; at < sizeBytes; at += chunk.length) writeSync(fd, randomFillSync(chunk));
    closeSync(fd);
    const t = process.hrtime.bigint();
    await sealFile({ params: p, replicaId: sha256(new Uint8Array([7])), dataPath, dir: join(dir, 's') });
    const ms = msSince(t);
    return { MBps: (sizeBytes * p.layers) / 2 ** 20 / (ms / 1000), peakRssMiB: process.resourceUsage().maxRSS / 1024, layerBytes: sizeBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sealRate(params: ProofParams, sizeBytes: number): { MBps: number; labelsNsPerNode: number } {
  const p = { ...params, sectorSize: sizeBytes };
  const data = new Uint8Array(sizeBytes);
  randomFillSync(data.subarray(0, Math.min(sizeBytes, 1 << 20)));
  const replicaId = replicaIdOf(1, sizeBytes, sha256(new Uint8Array([1])), sha256(new Uint8Array([2])));
  const start = process.hrtime.bigint();
  let labelMs = 0;
  const t = process.hrtime.bigint();
  generateLabels(p, replicaId);
  labelMs = msSince(t);
  const ms = msSince(start);
  void data;
  return { MBps: sizeBytes / 2 ** 20 / (ms / 1000), labelsNsPerNode: (labelMs * 1e6) / ((sizeBytes / 32) * p.layers) };
}

async function treeBuild(sizeBytes: number): Promise<{ MBps: number; peakHeapMB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bcr-bench-tree-'));
  const file = join(dir, 'data.bin');
  const fd = openSync(file, 'w');
  const block = new Uint8Array(1 << 20);
  randomFillSync(block);
  for (let i = 0; i < sizeBytes / block.length; i++) {
    block[0] = i & 0xff;
    block[1] = i >> 8;
    writeSync(fd, block);
  }
  closeSync(fd);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = heapBefore;
  const source = await fileSource(file);
  const start = process.hrtime.bigint();
  await buildTreeCache(source, undefined, () => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  });
  const ms = msSince(start);
  await source.close();
  rmSync(dir, { recursive: true, force: true });
  return { MBps: sizeBytes / 2 ** 20 / (ms / 1000), peakHeapMB: peak / 2 ** 20 };
}

export const proofsBench: BenchArea = {
  name: 'proofs',
  async run(args) {
    const quick = args.includes('--quick');
    const native = nativeBatchLimit();
    const openssl = opensslRate();
    const buf64 = new Uint8Array(64);
    const nodeOneShot = rate(() => nodeHash('sha256', buf64, 'buffer'), 1);
    const a = new Uint8Array(32);
    const pairHash = rate(() => hashPair(a, a), 1);
    const out = new Uint8Array(4096 * 32);
    const batchIn = new Uint8Array(4096 * 64);
    const ourBatch = rate(() => hashPairsInto(batchIn, out), 4096);

    const d20 = singlePathJobs(20, 4096);
    const d30 = singlePathJobs(30, 4096);
    if (!verifyMultiproofs(d30).every(Boolean)) throw new Error('honest proofs failed');
    const verifyD20 = rate(() => verifyMultiproofs(d20), d20.length, 2000);
    const verifyD30 = rate(() => verifyMultiproofs(d30), d30.length, 2000);
    // Packed once (as when a block's proofs are decoded): single thread vs the pool on the same batch.
    const packedD30 = packJobs(d30, true);
    const packedSingle = rate(() => verifyPacked(packedD30), d30.length, 2000);
    const pool = new WorkerPoolVerifier(2);
    const poolD30 = await poolRate(pool, packedD30);
    const peer = merkletreejsRate(d20);

    const mainnet = PROOF_PROFILES.mainnet;
    const randomness = sha256(new Uint8Array([9]));
    const big = { ...mainnet, sectorSize: 2 ** 30 };
    const windowPost = syntheticWindowPost(big, 1000, randomness);
    if (verifyPost(big, 'window', randomness, windowPost.sectors, windowPost.proof) !== null) throw new Error('synthetic WindowPoSt failed');
    const postPerS = rate(() => verifyPost(big, 'window', randomness, windowPost.sectors, windowPost.proof), 1000, 2000);
    await pool.close();

    // PoRep on a real sealed devnet sector (1 MiB).
    const devnet = PROOF_PROFILES.devnet;
    const data = new Uint8Array(devnet.sectorSize);
    randomFillSync(data);
    const commD = merkleRoot(data.slice());
    const replicaId = replicaIdOf(1, 1, sha256(new Uint8Array([3])), commD);
    const sealStart = process.hrtime.bigint();
    const sealed = sealInMemory(devnet, replicaId, data);
    const seal1MiBms = msSince(sealStart);
    const reader = async (bytes: Uint8Array) => new TreeReader(bufferSource(bytes), await buildTreeCache(bufferSource(bytes)));
    const seed = sha256(new Uint8Array([4]));
    const porepProof = await provePorep({ params: devnet, replicaId, commC: sealed.commC, commRLast: sealed.commRLast, data: await reader(data), replica: await reader(sealed.replica), columns: await reader(sealed.columns), layers: sealed.layers.map((l) => bufferSource(l)) }, seed);
    const statement = { params: devnet, replicaId, commD, commR: sealed.commR, seed };
    if (verifyPorep(statement, porepProof) !== null) throw new Error('PoRep failed');
    const porepPerS = rate(() => verifyPorep(statement, porepProof), 1);

    const seal64 = sealRate(devnet, 64 * 2 ** 20);
    const seal256 = quick ? null : sealRate(devnet, 256 * 2 ** 20);
    const tree = await treeBuild(quick ? 256 * 2 ** 20 : 2 ** 30);
    // Label v2 against openssl hashing the 332 bytes a label covers (replica id, layer, node, 9 labels).
    const openssl332 = opensslRate(332);
    const laneSize = quick ? 4 * 2 ** 20 : 16 * 2 ** 20;
    const lockstep = Object.fromEntries([1, 4, 8, 16].map((k) => [k, lockstepLabelRate(devnet, k, laneSize)])) as Record<number, number>;
    const sealDisk = await sealFileRun(devnet, quick ? 32 * 2 ** 20 : 256 * 2 ** 20);
    // A mainnet sector sealed alone on this machine: every layer of every node, at the measured rate.
    const mainnetSealH = (leafCount(mainnet.sectorSize) * mainnet.layers) / lockstep[1]! / 3600;
    const mainnetSeal8H = (8 * leafCount(mainnet.sectorSize) * mainnet.layers) / lockstep[8]! / 3600;
    const binding = bindingReport(mainnet, regenerationPath(mainnet, 1 << 14, sha256(new Uint8Array([5]))), MAINNET_ATTACKER, 600);

    const rows: BenchRow[] = [
      { name: 'SHA-256 64B: @chainsafe/hashtree batch (4096/call)', value: native, unit: 'hash/s', note: 'CPU limit' },
      { name: 'SHA-256 64B: openssl speed -evp sha256', value: openssl, unit: 'hash/s' },
      { name: 'SHA-256 64B: node:crypto one-shot', value: nodeOneShot, unit: 'hash/s' },
      { name: 'our pair hash, one pair per call', value: pairHash, unit: 'hash/s' },
      { name: 'our pair hash, batched level', value: ourBatch, unit: 'hash/s' },
      { name: 'Merkle path verify d20, 1 thread', value: verifyD20, unit: 'proof/s' },
      { name: 'Merkle path verify d30, 1 thread, incl. packing', value: verifyD30, unit: 'proof/s', note: `${((verifyD30 * 30) / 1e6).toFixed(1)}M hash/s = ${((100 * verifyD30 * 30) / native).toFixed(0)}% of native` },
      { name: 'Merkle path verify d30, packed batch, 1 thread', value: packedSingle, unit: 'proof/s', note: `${((packedSingle * 30) / 1e6).toFixed(1)}M hash/s = ${((100 * packedSingle * 30) / native).toFixed(0)}% of native` },
      { name: 'Merkle path verify d30, packed batch, pool (2)', value: poolD30, unit: 'proof/s', note: `${(poolD30 / packedSingle).toFixed(2)}x` },
      { name: 'merkletreejs path verify d20', value: peer, unit: 'proof/s', note: `ours ${(verifyD20 / peer).toFixed(0)}x faster` },
      { name: 'WindowPoSt verify, 1000 x 1 GiB sectors, 10 chall.', value: postPerS, unit: 'sector/s' },
      { name: 'PoRep verify (devnet 1 MiB sector)', value: porepPerS, unit: 'proof/s' },
      { name: 'PoRep proof size (devnet)', value: porepProof.length, unit: 'bytes' },
      { name: 'WindowPoSt proof size per 1 GiB sector', value: windowPost.proof.length / 1000, unit: 'bytes' },
      { name: 'seal 1 MiB (labels + trees)', value: 1 / (seal1MiBms / 1000), unit: 'MB/s' },
      { name: 'seal 64 MiB (labels, 2 layers)', value: seal64.MBps, unit: 'MB/s' },
      ...(seal256 ? [{ name: 'seal 256 MiB (labels, 2 layers)', value: seal256.MBps, unit: 'MB/s' }] : []),
      { name: 'label time per node per layer', value: seal64.labelsNsPerNode, unit: 'ns' },
      { name: `tree build from file (${quick ? '256 MiB' : '1 GiB'})`, value: tree.MBps, unit: 'MB/s', note: `peak heap ${tree.peakHeapMB.toFixed(0)} MiB` },
      { name: 'SHA-256 332B: openssl speed -evp sha256', value: openssl332, unit: 'hash/s', note: 'one label\'s input' },
      ...[1, 4, 8, 16].map((k) => ({ name: `label v2, ${k} replica${k > 1 ? 's' : ''} in lockstep`, value: lockstep[k]!, unit: 'label/s', note: `${(lockstep[k]! / openssl332).toFixed(2)} of openssl 332B` })),
      { name: `sealFile to disk, ${(sealDisk.layerBytes / 2 ** 20).toFixed(0)} MiB x 4 layers`, value: sealDisk.MBps, unit: 'MB/s', note: `peak RSS ${sealDisk.peakRssMiB.toFixed(0)} MiB` },
      { name: 'mainnet sector (16 GiB x 29 layers), sealed alone', value: mainnetSealH, unit: 'h', note: `eight in lockstep: ${mainnetSeal8H.toFixed(1)} h for all eight` },
      { name: 'mainnet: attacker relabels the cheapest leaf', value: binding.regenerationSeconds, unit: 's', note: `${binding.margin.toFixed(2)}x the 600 s window` },
    ];
    return {
      rows,
      json: {
        native_batch_sha256_64B_per_s: Math.round(native),
        openssl_sha256_64B_per_s: Math.round(openssl),
        node_crypto_sha256_64B_per_s: Math.round(nodeOneShot),
        pair_hash_per_s: Math.round(pairHash),
        batched_pair_hash_per_s: Math.round(ourBatch),
        hash_ratio_vs_native: Number(((packedSingle * 30) / native).toFixed(3)),
        hash_ratio_vs_native_incl_packing: Number(((verifyD30 * 30) / native).toFixed(3)),
        merkle_verify_d20_per_s: Math.round(verifyD20),
        merkle_verify_d30_per_s: Math.round(verifyD30),
        packed_merkle_verify_d30_per_s: Math.round(packedSingle),
        pool_merkle_verify_d30_per_s: Math.round(poolD30),
        pool_speedup: Number((poolD30 / packedSingle).toFixed(2)),
        merkletreejs_verify_d20_per_s: Math.round(peer),
        windowpost_sectors_per_s: Math.round(postPerS),
        porep_verify_per_s: Number(porepPerS.toFixed(1)),
        porep_proof_bytes: porepProof.length,
        windowpost_proof_bytes_per_sector: Math.round(windowPost.proof.length / 1000),
        seal_MBps_1MiB: Number((1 / (seal1MiBms / 1000)).toFixed(2)),
        seal_MBps_64MiB: Number(seal64.MBps.toFixed(2)),
        ...(seal256 ? { seal_MBps_256MiB: Number(seal256.MBps.toFixed(2)) } : {}),
        label_ns_per_node: Math.round(seal64.labelsNsPerNode),
        tree_build_MBps: Number(tree.MBps.toFixed(1)),
        tree_build_peak_heap_MiB: Math.round(tree.peakHeapMB),
        openssl_sha256_332B_per_s: Math.round(openssl332),
        ...Object.fromEntries(Object.entries(lockstep).map(([k, v]) => [`label_v2_per_s_lanes_${k}`, Math.round(v)])),
        ...Object.fromEntries(Object.entries(lockstep).map(([k, v]) => [`label_v2_vs_openssl_332B_lanes_${k}`, Number((v / openssl332).toFixed(3))])),
        seal_file_MBps: Number(sealDisk.MBps.toFixed(2)),
        seal_file_peak_rss_MiB: Math.round(sealDisk.peakRssMiB),
        mainnet_seal_hours_alone: Number(mainnetSealH.toFixed(1)),
        mainnet_seal_hours_8_in_lockstep: Number(mainnetSeal8H.toFixed(1)),
        mainnet_attacker_regeneration_s: Math.round(binding.regenerationSeconds),
        mainnet_binding_margin: Number(binding.margin.toFixed(2)),
      },
    };
  },
};
