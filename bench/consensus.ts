// Consensus benchmark: a 1,000-block test-network chain made by the real miner loop (VRF tickets,
// WinningPoSt, WindowPoSt txs, transfers), then imported into a fresh node: blocks/s and where
// validation spends its time (VRF, WinningPoSt, txs, state root, write).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockId, signHeader } from '../src/chain/index.js';
import { setVrfBackend, slotStart, vrfBackend, vrfProve, vrfPublicKey, vrfVerify, type VrfBackend } from '../src/consensus/index.js';
import { sha256, uintToBytesBE, utf8 } from '../src/primitives/index.js';
import { buildBenchChain, openBenchChain } from './benchChain.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

/** Milliseconds per ECVRF verification with one backend (200 distinct proofs of one key). */
function vrfVerifyMs(backend: VrfBackend): number {
  const secret = sha256(utf8('bench vrf key'));
  const publicKey = vrfPublicKey(secret);
  const items = Array.from({ length: 200 }, (_, i) => {
    const alpha = uintToBytesBE(i, 8);
    return { alpha, proof: vrfProve(secret, alpha).proof };
  });
  const previous = vrfBackend();
  setVrfBackend(backend);
  try {
    const start = process.hrtime.bigint();
    for (const { alpha, proof } of items) if (!vrfVerify(publicKey, alpha, proof)) throw new Error('VRF proof refused');
    return msSince(start) / items.length;
  } finally {
    setVrfBackend(previous);
  }
}

export const consensusBench: BenchArea = {
  name: 'consensus',
  async run(args) {
    const target = args.includes('--quick') ? 200 : 1000;
    const root = mkdtempSync(join(tmpdir(), 'bcr-bench-consensus-'));
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    const { blocks, txs, windowPostTxs: postTxs, headSlot, buildMs } = await buildBenchChain(join(root, 'a'), target);

    const importer = await openBenchChain(join(root, 'b'));
    const now = slotStart(importer.chain.params, headSlot + 10);
    const start = process.hrtime.bigint();
    for (const block of blocks) await importer.chain.importBlock(block, now);
    const importMs = msSince(start);
    // A flood of side blocks beside the head, signed by a key that is no miner's worker: each must be
    // refused by the cheap checks (nothing stored, nothing executed).
    const forgedCount = 2000;
    const parent = blocks[blocks.length - 2]!.header;
    const { signature: _signature, ...unsigned } = blocks[blocks.length - 1]!.header;
    const randomKey = sha256(utf8('not a worker key'));
    const forged = Array.from({ length: forgedCount }, (_, i) => ({ header: signHeader(randomKey, importer.chain.params.chainId, { ...unsigned, parentId: blockId(parent), vrfOutput: sha256(uintToBytesBE(i, 8)) }), txs: [] }));
    const forgedStart = process.hrtime.bigint();
    let refused = 0;
    for (const block of forged) await importer.chain.importBlock(block, now).catch(() => refused++);
    const forgedMs = msSince(forgedStart);
    if (refused !== forgedCount) throw new Error(`${forgedCount - refused} forged blocks were accepted`);
    const s = importer.chain.stats;
    const vrfNoble = vrfVerifyMs('noble');
    const vrfNative = vrfBackend() === 'native' ? vrfVerifyMs('native') : null;
    await importer.db.close();
    rmSync(root, { recursive: true, force: true });
    const per = (ms: number) => ms / s.blocks;
    const rows: BenchRow[] = [
      { name: `chain built by the miner loop (${target} blocks)`, value: (target * 1000) / buildMs, unit: 'block/s', note: `${txs} txs, ${postTxs} WindowPoSt` },
      { name: 'import into a fresh node', value: (target * 1000) / importMs, unit: 'block/s' },
      { name: 'validation per block: VRF verify', value: per(s.vrfMs), unit: 'ms' },
      { name: 'validation per block: WinningPoSt verify', value: per(s.winningPostMs), unit: 'ms' },
      { name: 'validation per block: txs (incl. PoSt/PoRep)', value: per(s.txsMs), unit: 'ms' },
      { name: 'validation per block: state root', value: per(s.stateRootMs), unit: 'ms' },
      { name: 'import per block: LevelDB write (sync)', value: per(s.writeMs), unit: 'ms' },
      { name: 'import per block: total', value: importMs / target, unit: 'ms' },
      { name: 'ECVRF verify, @noble/curves (BigInt JS)', value: vrfNoble, unit: 'ms' },
      { name: 'ECVRF verify, libsodium group ops (the node default)', value: vrfNative ?? Number.NaN, unit: 'ms', note: vrfNative ? `${(vrfNoble / vrfNative).toFixed(1)}x faster` : 'sodium-native not available' },
      { name: 'forged side blocks refused (random key)', value: (forgedCount * 1000) / forgedMs, unit: 'block/s', note: 'cheap checks only: nothing stored or executed' },
    ];
    return {
      rows,
      json: {
        blocks: target,
        txs,
        windowpost_txs: postTxs,
        build_blocks_per_s: Number(((target * 1000) / buildMs).toFixed(1)),
        import_blocks_per_s: Number(((target * 1000) / importMs).toFixed(1)),
        vrf_ms_per_block: Number(per(s.vrfMs).toFixed(3)),
        winning_post_ms_per_block: Number(per(s.winningPostMs).toFixed(3)),
        txs_ms_per_block: Number(per(s.txsMs).toFixed(3)),
        state_root_ms_per_block: Number(per(s.stateRootMs).toFixed(3)),
        write_ms_per_block: Number(per(s.writeMs).toFixed(3)),
        import_ms_per_block: Number((importMs / target).toFixed(3)),
        vrf_verify_noble_ms: Number(vrfNoble.toFixed(3)),
        ...(vrfNative === null ? {} : { vrf_verify_native_ms: Number(vrfNative.toFixed(3)) }),
        forged_blocks_refused_per_s: Number(((forgedCount * 1000) / forgedMs).toFixed(1)),
      },
    };
  },
};
