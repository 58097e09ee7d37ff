// Attestations and proofs at a block: a test-network chain whose blocks carry attestation txs (made
// by the real miner loop), then the cost of what a light client asks for: the proofs of a hash's
// complete record list at the head and at the finalized block (the state rolled back through
// `finality` blocks of undo data), and the client-side check of those proofs. Reference in the same
// run: one account proof at the head (the smallest question a node answers with a proof).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slotStart } from '../src/consensus/index.js';
import { DEV_PRIVATE_KEY } from '../src/node.js';
import { encode, fromHex, sha256, uintToBytesBE, utf8 } from '../src/primitives/index.js';
import { accountKey, attestKind, attestPayload, attestationIdsOfHash, attestationProofKeys, signTx, verifyAttestationProofs } from '../src/state/index.js';
import { startBenchMiner } from './benchChain.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

const HASHES = 20;

export const attestBench: BenchArea = {
  name: 'attest',
  async run(args) {
    const blocks = args.includes('--quick') ? 30 : 60;
    const perBlock = 40;
    const dir = mkdtempSync(join(tmpdir(), 'bcr-bench-attest-'));
    try {
      const { chain, db, mempool, miner, clock } = await startBenchMiner(dir, 10_000);
      const dev = fromHex(DEV_PRIVATE_KEY);
      let nonce = 0;
      const hashOf = (n: number) => sha256(utf8(`product ${n % HASHES}`));
      const start = process.hrtime.bigint();
      for (let slot = 1; chain.head.header.height < blocks; slot++) {
        clock.t = slotStart(chain.params, slot);
        while (mempool.size < perBlock) {
          const payload = encode(attestPayload, { hash: hashOf(nonce), tag: 'lot/v1', ref: null, meta: uintToBytesBE(nonce, 8) });
          await mempool.add(signTx(dev, { chainId: chain.params.chainId, nonce: nonce++, gasLimit: attestKind.gas(attestKind.decodePayload(payload)), gasPrice: 1n, kind: attestKind.id, payload }));
        }
        await miner.onSlot(slot);
      }
      const buildMs = msSince(start);
      await miner.stop();
      const hash = hashOf(0);
      const ids = await attestationIdsOfHash(chain.headState(), hash);
      const keys = attestationProofKeys(hash, ids);
      const time = async (runs: number, fn: () => Promise<unknown>) => {
        const t = process.hrtime.bigint();
        for (let i = 0; i < runs; i++) await fn();
        return msSince(t) / runs;
      };
      const accountMs = await time(50, () => chain.proveAt('latest', [accountKey(fromHex('0x70997970C51812dc3A010C7d01b50e0d17dc79C8'))]));
      const headMs = await time(50, () => chain.proveAt('latest', keys));
      const finalMs = await time(20, () => chain.proveAt('finalized', keys));
      const { header, proofs } = await chain.proveAt('finalized', keys);
      const t = process.hrtime.bigint();
      let checks = 0;
      while (msSince(t) < 1000) {
        verifyAttestationProofs(header.stateRoot, hash, proofs);
        checks++;
      }
      const verifyMs = msSince(t) / checks;
      await db.close();
      const rows: BenchRow[] = [
        { name: 'chain', value: blocks, unit: 'blocks', note: `${nonce} attestations over ${HASHES} hashes, built in ${(buildMs / 1000).toFixed(1)} s` },
        { name: 'records of one hash', value: ids.length, unit: 'records', note: `${keys.length} state keys to prove` },
        { name: 'account proof at head (reference)', value: accountMs, unit: 'ms' },
        { name: 'hash proofs at head', value: headMs, unit: 'ms' },
        { name: `hash proofs at finalized (${chain.params.finality} blocks back)`, value: finalMs, unit: 'ms' },
        { name: 'client check of the hash proofs', value: verifyMs, unit: 'ms' },
      ];
      return { rows, json: { blocks, attestations: nonce, recordsPerHash: ids.length, accountProofMs: accountMs, headProofMs: headMs, finalizedProofMs: finalMs, verifyMs, finality: chain.params.finality } };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
