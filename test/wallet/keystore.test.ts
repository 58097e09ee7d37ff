import { describe, expect, it } from 'vitest';
import { decryptKeystore, encryptKeystore } from '../../src/wallet/index.js';
import { addressOf, fromHex, hexKey } from '../../src/primitives/index.js';

// Test vectors from the Web3 Secret Storage definition (password "testpassword").
const SPEC_KEY = '7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';
const scryptVector = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: { dklen: 32, n: 262144, p: 8, r: 1, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};
const pbkdf2Vector = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: { c: 262144, dklen: 32, prf: 'hmac-sha256', salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd' },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};

describe('keystore v3', () => {
  it('decrypts the spec scrypt vector', () => {
    expect(hexKey(decryptKeystore(scryptVector, 'testpassword'))).toBe(SPEC_KEY);
  });
  it('decrypts the spec pbkdf2 vector', () => {
    expect(hexKey(decryptKeystore(pbkdf2Vector, 'testpassword'))).toBe(SPEC_KEY);
  });
  it('round-trips and refuses a wrong password', () => {
    const key = fromHex('0x' + SPEC_KEY);
    const ks = encryptKeystore(key, 'hunter2', { scryptN: 1024 });
    expect(ks.address).toBe(hexKey(addressOf(key)));
    expect(decryptKeystore(JSON.parse(JSON.stringify(ks)), 'hunter2')).toEqual(key);
    expect(() => decryptKeystore(ks, 'hunter3')).toThrow(/wrong password/);
    expect(() => decryptKeystore({ version: 2 }, 'x')).toThrow(/version 3/);
  });
});
