// Native fast paths and their portable fallbacks must agree bit for bit.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { hashPairsInto, jsHashPairsInto, pairHashBackend } from '../../src/primitives/index.js';

const CHECK = fileURLToPath(new URL('../fixtures/fallbackCheck.ts', import.meta.url));

function runCheck(env: Record<string, string>): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', CHECK], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('backends', () => {
  test.prop([fc.uint8Array({ minLength: 64, maxLength: 64 * 40 }).map((a) => a.subarray(0, a.length - (a.length % 64)))])('the JS pair hasher equals the live one', (input) => {
    const a = new Uint8Array(input.length / 2);
    const b = new Uint8Array(input.length / 2);
    hashPairsInto(input, a);
    jsHashPairsInto(input, b);
    expect(a).toEqual(b);
  });

  it('sealing, PoRep, PoSt, signatures and the VRF give the same results on the fallbacks as on the native paths', () => {
    const native = runCheck({});
    const fallback = runCheck({ BCR_HASH_BACKEND: 'js', BCR_SECP_BACKEND: 'noble', BCR_VRF_BACKEND: 'noble' });
    expect(fallback).toMatchObject({ hash: 'js', secp: 'noble', vrf: 'noble', porep: null, post: null, signer: true });
    expect(fallback.vrfOutput).toMatch(/^[0-9a-f]{128}$/);
    expect(native).toMatchObject({ porep: null, post: null, signer: true, commR: fallback.commR, vrfOutput: fallback.vrfOutput });
    expect(['native', 'js']).toContain(pairHashBackend);
  }, 60_000);
});
