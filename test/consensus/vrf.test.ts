import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { vrfProve, vrfPublicKey, vrfVerify } from '../../src/consensus/vrf.js';
import { setVrfBackend, vrfBackend } from '../../src/consensus/vrfNative.js';
import { concatBytes, fromHex, hexKey } from '../../src/primitives/index.js';

/** A point of order 8 on edwards25519. */
const TORSION_8 = 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a';

// RFC 9381, Appendix B.3 (ECVRF-EDWARDS25519-SHA512-TAI), keys from RFC 8032 section 7.1.
const vectors = [
  {
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    alpha: '',
    pi: '8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805',
    beta: '90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae',
  },
  {
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    alpha: '72',
    pi: 'f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed5933bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02',
    beta: 'eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031',
  },
];

describe('ECVRF-EDWARDS25519-SHA512-TAI', () => {
  it.each(vectors)('matches the RFC 9381 vector for pk $pk', ({ sk, pk, alpha, pi, beta }) => {
    expect(hexKey(vrfPublicKey(fromHex(sk)))).toBe(pk);
    const { proof, output } = vrfProve(fromHex(sk), fromHex(alpha));
    expect(hexKey(proof)).toBe(pi);
    expect(hexKey(output)).toBe(beta);
    expect(hexKey(vrfVerify(fromHex(pk), fromHex(alpha), fromHex(pi))!)).toBe(beta);
  });

  test.prop([fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 15 })(
    'rejects altered proofs, inputs and keys',
    (sk, alpha, at, xor) => {
      const pk = vrfPublicKey(sk);
      const { proof } = vrfProve(sk, alpha);
      expect(vrfVerify(pk, alpha, proof)).not.toBeNull();
      const bad = proof.slice();
      bad[at % 80] ^= xor;
      expect(vrfVerify(pk, alpha, bad)).toBeNull();
      expect(vrfVerify(pk, new Uint8Array([...alpha, 1]), proof)).toBeNull();
      expect(vrfVerify(vrfPublicKey(new Uint8Array(32).fill(7)), alpha, proof)).toBeNull();
    },
  );
});

// Native (libsodium) and @noble/curves verification must agree on every input: valid proofs,
// tampered ones, and points with a torsion component (which libsodium refuses and the native path
// hands back to @noble/curves).
describe('VRF verification backends', () => {
  const both = (publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array) => {
    setVrfBackend('native');
    const native = vrfVerify(publicKey, alpha, proof);
    setVrfBackend('noble');
    const noble = vrfVerify(publicKey, alpha, proof);
    setVrfBackend('native');
    return { native: native && hexKey(native), noble: noble && hexKey(noble) };
  };

  it('uses libsodium here', () => {
    expect(vrfBackend()).toBe('native');
  });

  it.each(vectors)('agree on the RFC 9381 vector for pk $pk', ({ pk, alpha, pi, beta }) => {
    expect(both(fromHex(pk), fromHex(alpha), fromHex(pi))).toEqual({ native: beta, noble: beta });
  });

  test.prop([fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), fc.nat(79), fc.integer({ min: 0, max: 255 })], { numRuns: 60 })('agree on valid and tampered proofs', (sk, alpha, at, flip) => {
    const { proof, output } = vrfProve(sk, alpha);
    const publicKey = vrfPublicKey(sk);
    expect(both(publicKey, alpha, proof)).toEqual({ native: hexKey(output), noble: hexKey(output) });
    const tampered = proof.slice();
    tampered[at]! ^= flip;
    const results = both(publicKey, alpha, tampered);
    expect(results.native).toBe(results.noble);
  });

  test.prop([fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 16 }), fc.integer({ min: 1, max: 7 })], { numRuns: 20 })('agree when Gamma or the key carries a torsion component', (sk, alpha, k) => {
    const { proof } = vrfProve(sk, alpha);
    const publicKey = vrfPublicKey(sk);
    const torsion = ed25519.Point.fromHex(TORSION_8).multiply(BigInt(k));
    const gamma = ed25519.Point.fromBytes(proof.subarray(0, 32)).add(torsion).toBytes();
    const mixedGamma = concatBytes(gamma, proof.subarray(32));
    const mixedKey = ed25519.Point.fromBytes(publicKey).add(torsion).toBytes();
    for (const [key, pi] of [[publicKey, mixedGamma], [mixedKey, proof]] as const) {
      const results = both(key, alpha, pi);
      expect(results.native).toBe(results.noble);
    }
  });
});
