// The mainnet profile must bind storage (docs/proofs.md §6): an attacker that deleted any leaf of a
// replica cannot relabel it before the WindowPoSt window closes, with a 2x margin. This recomputes
// the argument from the profile and the genesis parameters, so a change that breaks it fails here.
import { describe, expect, it } from 'vitest';
import { parseGenesis, readGenesisJson } from '../../src/chain/genesis.js';
import { sha256, utf8 } from '../../src/primitives/index.js';
import { MAINNET_ATTACKER, PROOF_PROFILES, WINDOW_LEAD_SLOTS, bindingReport, maxPorepBytes, maxWindowPostBytes, regenerationPath } from '../../src/proofs/index.js';

const genesis = parseGenesis(readGenesisJson('mainnet'));
const chain = genesis.params;
const profile = PROOF_PROFILES[chain.miners.proofProfile];
const windowSlots = chain.miners.provingPeriod / chain.miners.deadlines + WINDOW_LEAD_SLOTS;
const windowSeconds = (windowSlots * chain.slotMs) / 1000;

describe('mainnet binds storage', () => {
  const path = regenerationPath(profile, 1 << 14, sha256(utf8('bcr/binding-test')));

  it('the critical path scales with the node count (so a small graph measures a big one)', () => {
    const bigger = regenerationPath(profile, 1 << 16, sha256(utf8('bcr/binding-test/2')));
    const ratio = bigger.minCompressions / bigger.nodes / (path.minCompressions / path.nodes);
    expect(ratio).toBeGreaterThan(0.97);
    expect(ratio).toBeLessThan(1.03);
  });

  it('relabelling the cheapest leaf of a sector takes the attacker at least twice the WindowPoSt window', () => {
    // The measured path is reduced by 3% for the scaling tolerance above.
    const report = bindingReport(profile, { ...path, minCompressions: path.minCompressions * 0.97 }, MAINNET_ATTACKER, windowSeconds);
    expect(windowSeconds).toBe(600);
    expect(report.margin).toBeGreaterThanOrEqual(2);
  });

  it('the proofs still fit a transaction', () => {
    expect(maxPorepBytes(profile)).toBeLessThan(chain.maxTxBytes - 1024);
    expect(maxWindowPostBytes(profile, profile.windowPostPartitionSectors)).toBeLessThan(chain.maxTxBytes - 1024);
  });

  it('sealing randomness lives long enough for an honest sealing of many hours', () => {
    // maxSealRandAge is in blocks; at one block per 1/f slots on average, 10,000 blocks is ~55 hours.
    const hours = ((chain.miners.maxSealRandAge * Number(chain.miners.activeSlotCoeff.denominator)) / Number(chain.miners.activeSlotCoeff.numerator)) * chain.slotMs / 3_600_000;
    expect(hours).toBeGreaterThan(48);
  });
});
