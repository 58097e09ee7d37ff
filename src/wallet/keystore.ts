// Web3 Secret Storage (keystore v3): scrypt + aes-128-ctr, MAC = keccak256(dk[16..32] || ciphertext).
// Files are interchangeable with geth, ethers and MetaMask exports. Reads pbkdf2 keystores too.
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes, randomUUID, scryptSync, timingSafeEqual } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { scrypt as nobleScrypt } from '@noble/hashes/scrypt.js';
import { BcrError, addressOf, bytesEqual, concatBytes, fromHex, hexKey, isValidPrivateKey, keccak256, utf8 } from '../primitives/index.js';

export interface KeystoreV3 {
  version: 3;
  id: string;
  /** The account's address (hex, no 0x); absent on VRF key files. */
  address?: string;
  /** BCR's own keys beside account keys: a miner's election (VRF) key, with its public key. */
  bcr?: { kind: 'vrf'; publicKey: string };
  crypto: {
    cipher: 'aes-128-ctr';
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: 'scrypt' | 'pbkdf2';
    kdfparams: ScryptParams | Pbkdf2Params;
    mac: string;
  };
}

interface ScryptParams {
  dklen: number;
  n: number;
  r: number;
  p: number;
  salt: string;
}

interface Pbkdf2Params {
  dklen: number;
  c: number;
  prf: 'hmac-sha256';
  salt: string;
}

/** geth's "standard" scrypt cost; tests pass a lighter n. */
export const STANDARD_SCRYPT_N = 262_144;

function deriveKey(password: string, kdf: string, params: ScryptParams | Pbkdf2Params): Uint8Array {
  const salt = fromHex((params as { salt: string }).salt);
  if (kdf === 'scrypt') {
    const { n, r, p, dklen } = params as ScryptParams;
    const secret = password.normalize('NFKD');
    try {
      return new Uint8Array(scryptSync(secret, salt, dklen, { N: n, r, p, maxmem: 256 * r * (n + p + 2) + 32 * 1024 * 1024 }));
    } catch {
      // OpenSSL refuses N >= 2^(16r) (some published keystores use r = 1); the JS scrypt has no such bound.
      return nobleScrypt(utf8(secret), salt, { N: n, r, p, dkLen: dklen });
    }
  }
  if (kdf === 'pbkdf2') {
    const { c, dklen, prf } = params as Pbkdf2Params;
    if (prf !== 'hmac-sha256') throw new BcrError('BAD_KEYSTORE', `unsupported pbkdf2 prf ${prf}`);
    return new Uint8Array(pbkdf2Sync(password.normalize('NFKD'), salt, c, dklen, 'sha256'));
  }
  throw new BcrError('BAD_KEYSTORE', `unsupported kdf ${kdf}`);
}

export function encryptKeystore(privateKey: Uint8Array, password: string, options: { scryptN?: number } = {}): KeystoreV3 {
  if (!isValidPrivateKey(privateKey)) throw new BcrError('BAD_KEY', 'not a valid secp256k1 private key');
  return { ...encryptSecret(privateKey, password, options), address: hexKey(addressOf(privateKey)) };
}

/** A miner's VRF (ed25519) secret in the same encrypted format, marked with its public key. */
export function encryptVrfKeystore(secret: Uint8Array, password: string, options: { scryptN?: number } = {}): KeystoreV3 {
  if (secret.length !== 32) throw new BcrError('BAD_KEY', 'a VRF secret is 32 bytes');
  return { ...encryptSecret(secret, password, options), bcr: { kind: 'vrf', publicKey: hexKey(ed25519.getPublicKey(secret)) } };
}

function encryptSecret(secret: Uint8Array, password: string, options: { scryptN?: number }): KeystoreV3 {
  const kdfparams: ScryptParams = { dklen: 32, n: options.scryptN ?? STANDARD_SCRYPT_N, r: 8, p: 1, salt: hexKey(randomBytes(32)) };
  const derived = deriveKey(password, 'scrypt', kdfparams);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv);
  const ciphertext = new Uint8Array(Buffer.concat([cipher.update(secret), cipher.final()]));
  const mac = keccak256(concatBytes(derived.subarray(16, 32), ciphertext));
  return {
    version: 3,
    id: randomUUID(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: hexKey(iv) },
      ciphertext: hexKey(ciphertext),
      kdf: 'scrypt',
      kdfparams,
      mac: hexKey(mac),
    },
  };
}

export function decryptKeystore(json: unknown, password: string): Uint8Array {
  const ks = json as KeystoreV3;
  const crypto = ks?.crypto ?? (ks as unknown as { Crypto?: KeystoreV3['crypto'] })?.Crypto;
  if (!ks || ks.version !== 3 || !crypto) throw new BcrError('BAD_KEYSTORE', 'not a version 3 keystore');
  if (crypto.cipher !== 'aes-128-ctr') throw new BcrError('BAD_KEYSTORE', `unsupported cipher ${crypto.cipher}`);
  const derived = deriveKey(password, crypto.kdf, crypto.kdfparams);
  const ciphertext = fromHex(crypto.ciphertext);
  const mac = keccak256(concatBytes(derived.subarray(16, 32), ciphertext));
  const expected = fromHex(crypto.mac);
  if (expected.length !== 32 || !timingSafeEqual(mac, expected)) throw new BcrError('WRONG_PASSWORD', 'wrong password (keystore MAC mismatch)');
  const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), fromHex(crypto.cipherparams.iv));
  const privateKey = new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  if (ks.bcr?.kind === 'vrf') {
    if (!bytesEqual(fromHex(ks.bcr.publicKey), ed25519.getPublicKey(privateKey))) throw new BcrError('BAD_KEYSTORE', 'keystore VRF public key does not match its secret');
  } else if (ks.address && !bytesEqual(fromHex(ks.address), addressOf(privateKey))) {
    throw new BcrError('BAD_KEYSTORE', 'keystore address does not match its key');
  }
  return privateKey;
}
