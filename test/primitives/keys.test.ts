import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  Domain,
  addressOf,
  bigintToBytes,
  bytesEqual,
  concatBytes,
  bytesToBigint,
  fromHex,
  isBcrError,
  nativeSignatureAvailable,
  parseAddress,
  recoverSigner,
  setSignatureBackend,
  sign,
  signatureBackend,
  toChecksumAddress,
  type DomainTag,
  type SignatureBackend,
} from '../../src/primitives/index.js';

const N = secp256k1.Point.CURVE().n;
const domains = Object.values(Domain) as DomainTag[];
const arbKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => secp256k1.utils.isValidSecretKey(k));
const backends: SignatureBackend[] = nativeSignatureAvailable() ? ['native', 'noble'] : ['noble'];
const initial = signatureBackend();

afterEach(() => setSignatureBackend(initial));

describe('EIP-55 addresses', () => {
  const vectors = [
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
    '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
    '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
  ];
  it.each(vectors)('checksums %s', (vector) => {
    expect(toChecksumAddress(parseAddress(vector.toLowerCase()))).toBe(vector);
  });
  it('rejects a wrong checksum and malformed text', () => {
    expect(() => parseAddress('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD')).toThrow(/checksum/);
    expect(() => parseAddress('0x1234')).toThrow(/20-byte/);
  });
  it('derives the Ethereum address of a key (Hardhat account #0)', () => {
    const key = fromHex('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
    expect(toChecksumAddress(addressOf(key))).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
  });
});

describe.each(backends)('signatures (%s backend)', (backend) => {
  test.prop([arbKey, fc.nat({ max: 2 ** 32 }), fc.constantFrom(...domains), fc.uint8Array({ maxLength: 64 })])(
    'recover the signer for the same chain and domain',
    (key, chainId, domain, body) => {
      setSignatureBackend(backend);
      const signature = sign(key, domain, chainId, body);
      expect(signature.length).toBe(65);
      expect(bytesToBigint(signature.subarray(32, 64)) <= N / 2n).toBe(true);
      expect(recoverSigner(domain, chainId, body, signature)).toEqual(addressOf(key));
    },
  );

  test.prop([arbKey, fc.nat({ max: 2 ** 32 }), fc.nat({ max: 2 ** 32 }), fc.uint8Array({ maxLength: 64 })])(
    'fail for any other chain id',
    (key, chainId, other, body) => {
      fc.pre(chainId !== other);
      setSignatureBackend(backend);
      const signature = sign(key, Domain.tx, chainId, body);
      let recovered: Uint8Array | null = null;
      try {
        recovered = recoverSigner(Domain.tx, other, body, signature);
      } catch (error) {
        expect(isBcrError(error, 'BAD_SIGNATURE')).toBe(true);
      }
      if (recovered) expect(bytesEqual(recovered, addressOf(key))).toBe(false);
    },
  );

  test.prop([arbKey, fc.constantFrom(...domains), fc.constantFrom(...domains), fc.uint8Array({ maxLength: 64 })])(
    'fail for any other domain',
    (key, domain, other, body) => {
      fc.pre(domain !== other);
      setSignatureBackend(backend);
      const signature = sign(key, domain, 7, body);
      let recovered: Uint8Array | null = null;
      try {
        recovered = recoverSigner(other, 7, body, signature);
      } catch (error) {
        expect(isBcrError(error, 'BAD_SIGNATURE')).toBe(true);
      }
      if (recovered) expect(bytesEqual(recovered, addressOf(key))).toBe(false);
    },
  );

  it('rejects the high-s twin of a valid signature', () => {
    setSignatureBackend(backend);
    const key = fromHex('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
    const signature = sign(key, Domain.tx, 1, new Uint8Array([1, 2, 3]));
    const s = bytesToBigint(signature.subarray(32, 64));
    const highS = bigintToBytes(N - s);
    const twin = concatBytes(signature.subarray(0, 32), new Uint8Array(32 - highS.length), highS, new Uint8Array([signature[64]! ^ 1]));
    expect(() => recoverSigner(Domain.tx, 1, new Uint8Array([1, 2, 3]), twin)).toThrow(/not low/);
  });

  it('rejects malformed signatures with BAD_SIGNATURE', () => {
    setSignatureBackend(backend);
    for (const bad of [new Uint8Array(64), new Uint8Array(65), concatBytes(new Uint8Array(64).fill(0xff), new Uint8Array([0]))]) {
      try {
        recoverSigner(Domain.tx, 1, new Uint8Array(), bad);
        expect.unreachable();
      } catch (error) {
        expect(isBcrError(error, 'BAD_SIGNATURE')).toBe(true);
      }
    }
  });
});

it('native and noble backends produce identical signatures and signers', () => {
  if (!nativeSignatureAvailable()) return;
  const key = fromHex('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
  setSignatureBackend('native');
  const a = sign(key, Domain.blockHeader, 3011, new Uint8Array([9]));
  setSignatureBackend('noble');
  const b = sign(key, Domain.blockHeader, 3011, new Uint8Array([9]));
  expect(a).toEqual(b); // RFC 6979 deterministic nonces in both
  expect(recoverSigner(Domain.blockHeader, 3011, new Uint8Array([9]), a)).toEqual(addressOf(key));
});
